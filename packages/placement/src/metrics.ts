import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PlacementError } from './errors.js';
import type { LoopObserver } from './loops/events.js';

/** Upstream's metric names (dapr_placement_*), plus tsdapr's own (tsdapr_placement_*). */
export interface PlacementMetrics {
  readonly observer: LoopObserver;
  leader(isLeader: boolean): void;
  /** A stream the server edge refused or closed, by reason. */
  refused(error: PlacementError): void;
}

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createPlacementMetrics(registry: Registry): PlacementMetrics {
  const registers = [registry];
  const runtimes = new Gauge({ name: 'dapr_placement_runtimes_total', help: 'The total number of runtimes reported to placement service.', labelNames: ['host_namespace'], registers });
  const actorRuntimes = new Gauge({
    name: 'dapr_placement_actor_runtimes_total',
    help: 'The total number of actor runtimes reported to placement service.',
    labelNames: ['host_namespace'],
    registers,
  });
  const leaderStatus = new Gauge({ name: 'dapr_placement_leader_status', help: 'Placement server leadership status (1 for leader, 0 for not leader).', registers });
  // Upstream records this beside leader_status from its raft node; tsdapr has
  // no raft, so it mirrors the Lease leadership for dashboards that use it.
  const raftLeaderStatus = new Gauge({ name: 'dapr_placement_raft_leader_status', help: 'Raft server leadership status (1 for leader, 0 for not leader); tsdapr: the Lease leadership.', registers });
  const roundDuration = new Histogram({
    name: 'tsdapr_placement_round_duration_seconds',
    help: 'Time from LOCK to the last UNLOCK ack of a dissemination round, by outcome (completed, timeout, abandoned).',
    labelNames: ['host_namespace', 'outcome'],
    buckets: SECONDS,
    registers,
  });
  const ackDuration = new Histogram({
    name: 'tsdapr_placement_ack_duration_seconds',
    help: "Time from sending a round phase to one stream's ack of it, by phase.",
    labelNames: ['phase'],
    buckets: SECONDS,
    registers,
  });
  const streamsClosed = new Counter({
    name: 'tsdapr_placement_streams_closed_total',
    help: 'Streams placement refused or ended itself, by reason (not_leader, dissemination_timeout, invalid_host, ...).',
    labelNames: ['reason'],
    registers,
  });
  leaderStatus.set(0);
  raftLeaderStatus.set(0);
  // Bound once: an ack is observed three times per stream per round.
  const ackByPhase = { LOCK: ackDuration.labels('lock'), UPDATE: ackDuration.labels('update'), UNLOCK: ackDuration.labels('unlock') };

  return {
    observer: {
      runtimes(namespace, total, withActors) {
        runtimes.set({ host_namespace: namespace }, total);
        actorRuntimes.set({ host_namespace: namespace }, withActors);
      },
      roundEnded(namespace, outcome, durationMs) {
        roundDuration.observe({ host_namespace: namespace, outcome }, durationMs / 1000);
      },
      acked(_namespace, phase, latencyMs) {
        ackByPhase[phase].observe(latencyMs / 1000);
      },
      streamClosed(_namespace, error) {
        streamsClosed.inc({ reason: error.code });
      },
    },
    leader(isLeader) {
      leaderStatus.set(isLeader ? 1 : 0);
      raftLeaderStatus.set(isLeader ? 1 : 0);
    },
    refused(error) {
      streamsClosed.inc({ reason: error.code });
    },
  };
}
