import { runAll, untilAborted, type Logger, type Runner } from '@tsdapr/runtime';
import type { LeadershipCallbacks } from './lease-election.js';

/** Standalone mode, or leader election turned off: a single replica, the leader while it runs. */
export function alwaysLeader(callbacks: LeadershipCallbacks): Runner {
  return async (signal) => {
    callbacks.onStartedLeading();
    await untilAborted(signal);
    callbacks.onStoppedLeading('shutting down');
  };
}

export interface LeaderTermsOptions {
  /** What only the leader may run (everything that writes to the API server). */
  readonly runners: readonly Runner[];
  readonly logger: Logger;
  /** Told each change, e.g. for a leader gauge. */
  readonly onLeaderChange?: (leading: boolean) => void;
}

export interface LeaderTerms {
  /** Hand these to the election. */
  readonly callbacks: LeadershipCallbacks;
  /**
   * Runs one term of `runners` per leadership term until the signal aborts:
   * started when leadership starts, aborted when it ends, started afresh when
   * it is regained. Rejects when a term's runners fail on their own, so the
   * process stops as it would without an election.
   */
  readonly runner: Runner;
  isLeader(): boolean;
}

/**
 * Leader-only runners: the glue between an election's callbacks and a group
 * of runners. A new term waits until the previous one has wound down, so two
 * terms of the same writers never overlap in one process.
 */
export function leaderTerms(options: LeaderTermsOptions): LeaderTerms {
  const { logger } = options;
  let leading = false;
  let term: AbortController | undefined;
  let previous: Promise<void> = Promise.resolve();
  let failTerms: ((err: unknown) => void) | undefined;
  let endTerms: (() => void) | undefined;
  let outer: AbortSignal | undefined;

  const startTerm = (): void => {
    if (!outer || outer.aborted) return;
    const controller = new AbortController();
    term = controller;
    const signal = AbortSignal.any([outer, controller.signal]);
    const after = previous;
    previous = (async () => {
      await after;
      if (signal.aborted) return;
      logger.info({ runners: options.runners.length }, 'leader term started');
      try {
        await runAll(signal, options.runners);
      } catch (err) {
        if (!signal.aborted) failTerms?.(err);
        else logger.warn({ err }, 'leader-only runner failed while its term ended');
        return;
      }
      // Runners return on their own only when something ended them for good.
      if (!signal.aborted) endTerms?.();
      else logger.info('leader term ended');
    })();
  };

  const callbacks: LeadershipCallbacks = {
    onStartedLeading() {
      if (leading) return;
      leading = true;
      options.onLeaderChange?.(true);
      startTerm();
    },
    onStoppedLeading(reason) {
      if (!leading) return;
      leading = false;
      options.onLeaderChange?.(false);
      logger.warn({ reason }, 'stopping leader-only runners');
      term?.abort();
      term = undefined;
    },
  };

  const runner: Runner = async (signal) => {
    outer = signal;
    try {
      await new Promise<void>((resolve, reject) => {
        failTerms = reject;
        endTerms = resolve;
        if (signal.aborted) return resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
        // The election may have called back before this runner started.
        if (leading && !term) startTerm();
      });
    } finally {
      term?.abort();
      await previous;
      failTerms = undefined;
      endTerms = undefined;
    }
  };

  return { callbacks, runner, isLeader: () => leading };
}
