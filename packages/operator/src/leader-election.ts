import type { KubeConfig } from '@kubernetes/client-node';
import { alwaysLeader, kubeLeaseApi, leaderTerms, leaseElection, systemClock, type Clock } from '@tsdapr/kube';
import type { Logger, Runner } from '@tsdapr/runtime';
import { Gauge, type Registry } from 'prom-client';
import type { LeaderElectionOptions } from './options.js';

export interface LeaderOnlyOptions {
  readonly election: LeaderElectionOptions;
  /** The control-plane namespace, where the Lease lives. */
  readonly namespace: string;
  readonly kubeConfig: KubeConfig;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly clock?: Clock;
}

/**
 * Wraps the runners that write to the API server so that they run only while
 * this replica holds the Lease (upstream: `operator.dapr.io`, as
 * controller-runtime's manager): started when it is won, aborted when it is
 * lost, started afresh when it is won back. Returns the runners to add to
 * the operator's group instead of the writers.
 */
export function leaderOnly(writers: readonly Runner[], options: LeaderOnlyOptions): Runner[] {
  const { election, namespace } = options;
  const logger = options.logger.child({ component: 'leader-election', lease: `${namespace}/${election.leaseName}` });
  const leaderGauge = new Gauge({
    name: 'dapr_operator_leader_status',
    help: '1 while this replica holds the Lease and runs the writers (Service reconciler, Component status, webhook registration), else 0.',
    registers: [options.registry],
  });
  leaderGauge.set(0);
  const terms = leaderTerms({ runners: writers, logger, onLeaderChange: (leading) => leaderGauge.set(leading ? 1 : 0) });
  if (!election.enabled) {
    logger.warn('leader election is off: this replica writes as if it were the only one');
    return [terms.runner, alwaysLeader(terms.callbacks)];
  }
  const electionRunner = leaseElection({
    api: kubeLeaseApi({ kubeConfig: options.kubeConfig, namespace, name: election.leaseName, requestTimeoutMs: election.retryPeriodMs * 2 }),
    identity: election.identity,
    timings: election,
    clock: options.clock ?? systemClock,
    logger,
    ...terms.callbacks,
  });
  return [terms.runner, electionRunner];
}
