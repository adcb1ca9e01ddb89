import { formatDuration, type Logger } from '@tsdapr/runtime';
import { PlacementError } from '../errors.js';
import { HostStore } from '../table/host-store.js';
import type { Host, PlacementOrder } from '../table/messages.js';
import type { Clock, Timer } from '@tsdapr/kube';
import { EventLoop } from './event-loop.js';
import { unreachable, type AckOperation, type LoopObserver, type NamespaceEvent, type Phase, type RoundOutcome, type StreamHandle } from './events.js';

export interface NamespaceLoopOptions {
  readonly namespace: string;
  readonly replicationFactor: number;
  /** The whole LOCK → UNLOCK sequence must finish within this, or laggards are cut. */
  readonly disseminateTimeoutMs: number;
  /** After a round, hold churn for this long so that it folds into one round. 0: off. */
  readonly coalesceWindowMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer: LoopObserver;
  /** Told (once per event) when the namespace has no stream left, so its owner can discard it. */
  readonly onIdle: (namespace: string) => void;
}

interface StreamState {
  readonly handle: StreamHandle;
  /** The last phase this stream acked in the current round; REPORT means none yet. */
  acked: Phase;
  hasActors: boolean;
  /**
   * Set while the stream digests a one-stream burst (lock, update, unlock at
   * this version); its acks of that burst are not acks of a namespace round.
   */
  burstVersion: number | undefined;
}

interface WaitingStream {
  readonly handle: StreamHandle;
  host: Host;
}

/**
 * One namespace's dissemination loop: it owns the namespace's streams, host
 * store and round version, and runs upstream 1.17+'s three-phase rounds
 * (dapr/dapr:pkg/placement/internal/loops/disseminator/disseminator.go@v1.17.5): LOCK → UPDATE (the full table) → UNLOCK, each phase acked by
 * every stream before the next is sent.
 *
 * Where upstream leaves a gap, this loop is stricter (each noted at the code):
 * an ack counts only for the phase in progress; an ack for a version not yet
 * sent ends the stream; a REPORT that arrives during a round waits for the
 * round's end instead of restarting it; a round whose last laggard leaves
 * completes at once.
 */
export class NamespaceLoop {
  readonly namespace: string;
  private readonly loop: EventLoop<NamespaceEvent>;
  private readonly store: HostStore;
  private readonly streams = new Map<number, StreamState>();
  /** New streams that arrived during a round or coalesce window, in arrival order. */
  private readonly waiting = new Map<number, WaitingStream>();
  /** REPORTs of admitted streams held until the round in progress ends. */
  private readonly pendingReports = new Map<number, Host>();
  /** Closed streams whose hosts are still in the table. */
  private deferredDeletes: number[] = [];
  private actorStreams = 0;

  private phase: Phase = 'REPORT';
  private version = 0;
  private ackedCount = 0;
  private roundStartedAt = 0;
  private phaseStartedAt = 0;
  private timeoutTimer: Timer | undefined;
  private coalesceTimer: Timer | undefined;
  private closedWith: PlacementError | undefined;

  constructor(private readonly options: NamespaceLoopOptions) {
    this.namespace = options.namespace;
    this.store = new HostStore(options.replicationFactor);
    this.loop = new EventLoop<NamespaceEvent>(
      (event) => this.handle(event),
      (err, event) => options.logger.error({ err, event: event.type }, 'namespace loop failed to handle an event'),
    );
  }

  enqueue(event: NamespaceEvent): void {
    this.loop.enqueue(event);
  }

  /** No stream admitted or waiting. */
  get idle(): boolean {
    return this.streams.size === 0 && this.waiting.size === 0;
  }

  private handle(event: NamespaceEvent): void {
    if (this.closedWith) {
      if (event.type === 'stream-connected') event.stream.close(this.closedWith);
      if (event.type === 'table-requested') event.reply(this.store.stateTable(this.version));
      return;
    }
    switch (event.type) {
      case 'stream-connected':
        this.onConnected(event.stream, event.host);
        break;
      case 'host-reported':
        this.onReport(event.streamId, event.host);
        break;
      case 'ack':
        this.onAck(event.streamId, event.operation, event.version, event.host);
        break;
      case 'stream-closed':
        this.onClosed(event.streamId);
        break;
      case 'dissemination-timeout':
        this.onTimeout(event.version);
        break;
      case 'coalesce-tick':
        this.onCoalesceTick();
        break;
      case 'table-requested':
        event.reply(this.store.stateTable(this.version));
        break;
      case 'shutdown':
        this.onShutdown(event.error);
        break;
      default:
        unreachable(event);
    }
    if (this.idle) this.options.onIdle(this.namespace);
  }

  // ---- events -------------------------------------------------------------

  private onConnected(stream: StreamHandle, host: Host): void {
    if (this.phase !== 'REPORT' || this.coalesceTimer) {
      // Waits, unread in effect, until the round (or window) ends; then all
      // waiting streams are admitted in one batch.
      this.waiting.set(stream.id, { handle: stream, host });
      return;
    }
    const tableChangedByDeletes = this.applyDeferredDeletes();
    this.admit(stream, host);
    const changed = this.store.set(stream.id, host) || tableChangedByDeletes;
    this.afterReport(stream.id, changed);
  }

  private onReport(streamId: number, host: Host): void {
    const waiting = this.waiting.get(streamId);
    if (waiting) {
      waiting.host = host;
      return;
    }
    const state = this.streams.get(streamId);
    if (!state) return;
    this.setHasActors(state, host.entities.length > 0);
    if (this.phase !== 'REPORT' || this.coalesceTimer) {
      // Stricter than upstream, which restarts the round at once: a round
      // that keeps restarting (a flapping sidecar) would never reach UPDATE
      // inside v1.17's 5 s. The report joins the next round instead.
      this.pendingReports.set(streamId, host);
      return;
    }
    this.afterReport(streamId, this.store.set(streamId, host));
  }

  private onAck(streamId: number, operation: AckOperation, version: number | undefined, host: Host): void {
    const state = this.streams.get(streamId);
    if (!state) return; // waiting streams have nothing to ack; closed ones are gone
    if (operation === 'UNKNOWN' && this.phase === 'REPORT') {
      // A ≤1.16 heartbeat outside a round carries the full host: a report.
      this.onReport(streamId, host);
      return;
    }
    const phase = operation === 'UNKNOWN' ? this.phase : operation;
    if (version !== undefined) {
      if (version < this.version) return; // an ack of an earlier round
      if (version > this.version) {
        this.removeStream(streamId, new PlacementError('version_ahead', `acknowledged version ${version}, but the current version is ${this.version}`));
        return;
      }
      if (state.burstVersion === version) {
        if (phase === 'UNLOCK') state.burstVersion = undefined;
        return;
      }
    }
    // Stricter than upstream: only an ack of the phase in progress counts, so
    // a repeated or out-of-order ack cannot push a round forward.
    if (this.phase === 'REPORT' || phase !== this.phase) return;
    if (state.acked !== phase) {
      state.acked = phase;
      this.ackedCount++;
      this.options.observer.acked(this.namespace, phase, this.options.clock.now() - this.phaseStartedAt);
    }
    if (this.ackedCount >= this.streams.size) this.advance();
  }

  private onClosed(streamId: number): void {
    if (this.waiting.delete(streamId)) return;
    this.removeStream(streamId, undefined);
  }

  private onTimeout(version: number): void {
    if (version !== this.version || this.phase === 'REPORT') return;
    const target = this.phase;
    const error = new PlacementError('dissemination_timeout', `dissemination timeout after ${formatDuration(this.options.disseminateTimeoutMs)} for version ${version}`);
    const laggards = [...this.streams.values()].filter((state) => state.acked !== target);
    this.options.logger.warn({ version, phase: target, laggards: laggards.length, streams: this.streams.size }, 'dissemination timed out; closing streams that did not ack');
    for (const laggard of laggards) {
      const id = laggard.handle.id;
      this.streams.delete(id);
      this.pendingReports.delete(id);
      this.store.delete(id);
      if (laggard.hasActors) this.actorStreams--;
      laggard.handle.close(error);
      this.options.observer.streamClosed(this.namespace, error);
    }
    this.endRound('timeout');
    this.applyDeferredDeletes();
    // Streams that waited are not punished for others' slowness: they join
    // the fresh round (upstream does the same), which runs even when the
    // table did not change so that every survivor ends unlocked.
    for (const { handle, host } of this.takeWaiting()) {
      this.admit(handle, host);
      this.store.set(handle.id, host);
    }
    this.applyPendingReports();
    this.reportRuntimes();
    if (this.streams.size > 0) this.startRound();
  }

  private onCoalesceTick(): void {
    this.coalesceTimer = undefined;
    if (this.phase !== 'REPORT') return;
    const tableChanged = this.applyDeferredDeletes();
    this.admitWaiting(tableChanged);
  }

  private onShutdown(error: PlacementError): void {
    this.closedWith = error;
    this.cancelTimers();
    for (const { handle } of this.waiting.values()) handle.close(error);
    for (const { handle } of this.streams.values()) handle.close(error);
    this.waiting.clear();
    this.streams.clear();
    this.pendingReports.clear();
    this.deferredDeletes = [];
    this.actorStreams = 0;
    this.reportRuntimes();
  }

  // ---- rounds -------------------------------------------------------------

  /** After a stream's report was stored: a round if the table changed, else the table for that stream alone if it hosts no actors. */
  private afterReport(streamId: number, changed: boolean): void {
    if (changed) this.startRound();
    else if (!this.store.has(streamId)) this.sendBurst(streamId);
  }

  private startRound(): void {
    this.cancelCoalesce();
    this.version++;
    this.phase = 'LOCK';
    this.ackedCount = 0;
    const now = this.options.clock.now();
    this.roundStartedAt = now;
    this.phaseStartedAt = now;
    this.timeoutTimer?.cancel();
    const version = this.version;
    this.timeoutTimer = this.options.clock.setTimer(this.options.disseminateTimeoutMs, () => this.enqueue({ type: 'dissemination-timeout', version }));
    this.options.logger.debug({ version, streams: this.streams.size, hosts: this.store.size }, 'round started');
    this.broadcast({ operation: 'lock', version }, (state) => {
      state.acked = 'REPORT';
      state.burstVersion = undefined;
    });
  }

  private advance(): void {
    switch (this.phase) {
      case 'LOCK':
        this.phase = 'UPDATE';
        this.ackedCount = 0;
        this.phaseStartedAt = this.options.clock.now();
        this.broadcast({ operation: 'update', version: this.version, tables: this.store.placementTables(this.version) });
        break;
      case 'UPDATE':
        this.phase = 'UNLOCK';
        this.ackedCount = 0;
        this.phaseStartedAt = this.options.clock.now();
        this.broadcast({ operation: 'unlock', version: this.version });
        break;
      case 'UNLOCK':
        this.endRound('completed');
        this.afterRound();
        break;
      case 'REPORT':
        break;
      default:
        unreachable(this.phase);
    }
  }

  private endRound(outcome: RoundOutcome): void {
    this.timeoutTimer?.cancel();
    this.timeoutTimer = undefined;
    const durationMs = this.options.clock.now() - this.roundStartedAt;
    this.options.observer.roundEnded(this.namespace, outcome, durationMs);
    this.options.logger.debug({ version: this.version, outcome, durationMs, streams: this.streams.size }, 'round ended');
    this.phase = 'REPORT';
    this.ackedCount = 0;
  }

  /** After UNLOCK (upstream: pkg/placement/internal/loops/disseminator/disseminator.go): deferred deletions first (their own round), else the waiting streams in one batch. */
  private afterRound(): void {
    if (this.options.coalesceWindowMs > 0) {
      // Always, even with nothing queued: churn that arrives inside the
      // window then folds into the one round the tick starts.
      this.coalesceTimer = this.options.clock.setTimer(this.options.coalesceWindowMs, () => this.enqueue({ type: 'coalesce-tick' }));
      return;
    }
    if (this.applyDeferredDeletes()) {
      if (this.streams.size > 0) this.startRound();
      return;
    }
    this.admitWaiting(false);
  }

  /**
   * Admits every waiting stream and applies held reports. One round covers
   * them all if the table changed (or `force`); otherwise the newcomers that
   * host no actors get the current table by burst.
   */
  private admitWaiting(force: boolean): void {
    let changed = force;
    const newcomers: number[] = [];
    for (const { handle, host } of this.takeWaiting()) {
      this.admit(handle, host);
      if (this.store.set(handle.id, host)) changed = true;
      newcomers.push(handle.id);
    }
    for (const [streamId, host] of this.pendingReports) {
      if (this.store.set(streamId, host)) changed = true;
      newcomers.push(streamId);
    }
    this.pendingReports.clear();
    if (this.streams.size === 0) return;
    if (changed) {
      this.startRound();
      return;
    }
    for (const streamId of newcomers) if (!this.store.has(streamId)) this.sendBurst(streamId);
  }

  /**
   * The current table to one stream as lock, update, unlock at the current
   * version (which may be 0), outside any namespace round.
   */
  private sendBurst(streamId: number): void {
    const state = this.streams.get(streamId);
    if (!state) return;
    const version = this.version;
    state.burstVersion = version;
    state.handle.send({ operation: 'lock', version });
    state.handle.send({ operation: 'update', version, tables: this.store.placementTables(version) });
    state.handle.send({ operation: 'unlock', version });
  }

  // ---- streams ------------------------------------------------------------

  private admit(handle: StreamHandle, host: Host): void {
    const state: StreamState = { handle, acked: 'REPORT', hasActors: false, burstVersion: undefined };
    this.streams.set(handle.id, state);
    this.setHasActors(state, host.entities.length > 0);
    this.reportRuntimes();
  }

  /** Removes an admitted stream (closing it when `error` is given) and moves the round on if it was the last one pending. */
  private removeStream(streamId: number, error: PlacementError | undefined): void {
    const state = this.streams.get(streamId);
    if (!state) return;
    this.streams.delete(streamId);
    this.pendingReports.delete(streamId);
    if (state.hasActors) this.actorStreams--;
    if (this.phase !== 'REPORT' && state.acked === this.phase) this.ackedCount--;
    if (error) {
      state.handle.close(error);
      this.options.observer.streamClosed(this.namespace, error);
    }
    this.reportRuntimes();
    const wasStored = this.store.has(streamId);
    if (wasStored) this.deferredDeletes.push(streamId);

    if (this.streams.size === 0) {
      // Nobody left to tell: drop the round and the table's dead hosts, then
      // let waiting streams in (stricter than upstream, which waits for the
      // timeout here).
      if (this.phase !== 'REPORT') this.endRound('abandoned');
      this.applyDeferredDeletes();
      if (!this.coalesceTimer) this.admitWaiting(false);
      return;
    }
    if (this.phase !== 'REPORT') {
      // The deletion waits for the round's end; this stream may have been
      // the last one the phase waited for (upstream skips this check for
      // streams without actors and waits for the timeout).
      if (this.ackedCount >= this.streams.size) this.advance();
      return;
    }
    if (!wasStored || this.coalesceTimer) return;
    this.applyDeferredDeletes();
    this.startRound();
  }

  private takeWaiting(): WaitingStream[] {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    return waiting;
  }

  /** Applies deletions of closed streams' hosts; says whether the table changed. */
  private applyDeferredDeletes(): boolean {
    let changed = false;
    for (const streamId of this.deferredDeletes) if (this.store.delete(streamId)) changed = true;
    this.deferredDeletes = [];
    return changed;
  }

  private applyPendingReports(): void {
    for (const [streamId, host] of this.pendingReports) this.store.set(streamId, host);
    this.pendingReports.clear();
  }

  private broadcast(order: PlacementOrder, each?: (state: StreamState) => void): void {
    for (const state of this.streams.values()) {
      each?.(state);
      state.handle.send(order);
    }
  }

  private setHasActors(state: StreamState, hasActors: boolean): void {
    if (state.hasActors === hasActors) return;
    state.hasActors = hasActors;
    this.actorStreams += hasActors ? 1 : -1;
    this.reportRuntimes();
  }

  private reportRuntimes(): void {
    this.options.observer.runtimes(this.namespace, this.streams.size, this.actorStreams);
  }

  private cancelCoalesce(): void {
    this.coalesceTimer?.cancel();
    this.coalesceTimer = undefined;
  }

  private cancelTimers(): void {
    this.timeoutTimer?.cancel();
    this.timeoutTimer = undefined;
    this.cancelCoalesce();
  }

  /** Stops timers without touching streams: for a loop its owner discards once idle. */
  dispose(): void {
    this.closedWith ??= new PlacementError('shutting_down', `namespace ${this.namespace} has no streams left`);
    this.cancelTimers();
    this.options.observer.runtimes(this.namespace, 0, 0);
  }
}
