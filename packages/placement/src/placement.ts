import type { KubeConfig } from '@kubernetes/client-node';
import { controlPlaneSpiffeId } from '@tsdapr/grpc';
import { kubeLeaseApi, leaseElection, loadKubeConfig, systemClock, type Clock } from '@tsdapr/kube';
import { Readiness, adminServers, createMetricsRegistry, runAll, untilAborted, type AdminServerOptions, type Logger, type Runner } from '@tsdapr/runtime';
import type { Registry } from 'prom-client';
import { PlacementError } from './errors.js';
import { alwaysLeader, type LeadershipCallbacks } from './leadership/leadership.js';
import { Namespaces } from './loops/namespaces.js';
import { createPlacementMetrics } from './metrics.js';
import type { PlacementOptions } from './options.js';
import { DEFAULT_FLOOD_LIMITS, type FloodLimits } from './server/flood-guard.js';
import { placementServer } from './server/placement-server.js';
import { reportDaprStatusHandler } from './server/report-dapr-status.js';
import { fileServingIdentity, sentryServingIdentity, type ServingIdentity } from './server/serving-identity.js';
import { stateTablesJson } from './state-json.js';
import type { StatePlacementTables } from './table/messages.js';

export interface PlacementDeps {
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Defaults to the kubeconfig from options (or in-cluster) in Kubernetes mode. */
  readonly kubeConfig?: KubeConfig;
  readonly registry?: Registry;
  /** Where the serving certificate comes from with mTLS on; defaults to the files named by the options. */
  readonly servingIdentity?: ServingIdentity;
  readonly floodLimits?: FloodLimits;
  /** Replaces the election of the mode (the Lease, or always-leader): for tests. */
  readonly election?: (callbacks: LeadershipCallbacks) => Runner;
  /** Told the bound ports (useful with port 0 in tests). */
  readonly onListening?: (server: 'grpc' | 'healthz' | 'metrics', port: number) => void;
}

export interface Placement {
  run(signal: AbortSignal): Promise<void>;
  /** True while this replica leads and serves streams. */
  isLeader(): boolean;
  /** Every namespace's stored hosts and version; rejects on a follower. */
  stateTables(): Promise<StatePlacementTables>;
}

/**
 * Placement: the gRPC server in front of the namespace loops, the leader
 * election that decides whether it serves, and the admin servers. Each
 * leadership term gets fresh namespace loops: nothing carries over, the
 * sidecars' reconnecting reports rebuild the tables (dapr/dapr:pkg/placement/placement.go and pkg/placement/internal/loops@v1.17.5).
 */
export function createPlacement(options: PlacementOptions, deps: PlacementDeps): Placement {
  const logger = deps.logger;
  const clock = deps.clock ?? systemClock;
  const registry = deps.registry ?? createMetricsRegistry();
  const metrics = createPlacementMetrics(registry);
  const readiness = new Readiness();
  const grpcReady = readiness.part('placement-grpc-server');

  let term: Namespaces | undefined;
  let shuttingDown = false;

  const leadership: LeadershipCallbacks = {
    onStartedLeading() {
      term = new Namespaces({
        replicationFactor: options.replicationFactor,
        disseminateTimeoutMs: options.disseminateTimeoutMs,
        coalesceWindowMs: options.coalesceWindowMs,
        clock,
        logger: logger.child({ component: 'loops' }),
        observer: metrics.observer,
      });
      metrics.leader(true);
      logger.info({ id: options.id }, 'acquired leadership: serving placement streams');
    },
    onStoppedLeading(reason) {
      const ended = term;
      term = undefined;
      metrics.leader(false);
      const error = shuttingDown || reason === 'shutting down'
        ? new PlacementError('shutting_down', 'placement server is shutting down')
        : new PlacementError('leadership_lost', `node id=${options.id} lost leadership (${reason}); reconnect to the new leader`);
      if (!ended) return;
      ended.enqueue({ type: 'shutdown', error });
      logger.info({ id: options.id, reason }, 'no longer the leader: streams closed');
    },
  };

  const kubeConfig = options.mode === 'kubernetes' && !deps.election ? (deps.kubeConfig ?? loadKubeConfig(options.kubeconfigPath)) : undefined;
  const election: Runner = deps.election
    ? deps.election(leadership)
    : kubeConfig
    ? leaseElection({
        api: kubeLeaseApi({
          kubeConfig,
          namespace: options.namespace,
          name: options.leaderElection.leaseName,
          requestTimeoutMs: options.leaderElection.retryPeriodMs * 2,
        }),
        identity: options.id,
        timings: options.leaderElection,
        clock,
        logger: logger.child({ component: 'leader-election', lease: `${options.namespace}/${options.leaderElection.leaseName}` }),
        ...leadership,
      })
    : alwaysLeader(leadership);

  const identity = options.tls.enabled
    ? (deps.servingIdentity ??
      (options.tls.certFile
        ? fileServingIdentity({
            certFile: options.tls.certFile,
            keyFile: options.tls.keyFile,
            trustAnchorsFile: options.tls.trustAnchorsFile,
            expectedSpiffeId: controlPlaneSpiffeId(options.tls.trustDomain, options.namespace, 'placement'),
            logger: logger.child({ component: 'serving-identity' }),
          })
        : sentryServingIdentity({
            sentryAddress: options.tls.sentryAddress,
            trustAnchors: { file: options.tls.trustAnchorsFile },
            controlPlaneTrustDomain: options.tls.trustDomain,
            controlPlaneNamespace: options.namespace,
            namespace: options.namespace,
            ...(options.tls.sentryTokenFile ? { tokenFile: options.tls.sentryTokenFile } : {}),
            logger: logger.child({ component: 'serving-identity' }),
          })))
    : undefined;

  const handler = reportDaprStatusHandler({
    serving: () => term,
    shuttingDown: () => shuttingDown,
    nodeId: options.id,
    mtls: options.tls.enabled,
    floodLimits: deps.floodLimits ?? DEFAULT_FLOOD_LIMITS,
    clock,
    logger: logger.child({ component: 'stream' }),
    onRefused: (error) => metrics.refused(error),
  });

  const stateTables = (): Promise<StatePlacementTables> => {
    if (!term) return Promise.reject(new PlacementError('not_leader', `node id=${options.id} is not a leader. Only the leader can serve requests`));
    return term.stateTables();
  };

  return {
    isLeader: () => term !== undefined,
    stateTables,
    async run(signal) {
      logger.info(
        { id: options.id, mode: options.mode, port: options.port, tls: options.tls.enabled, disseminateTimeoutMs: options.disseminateTimeoutMs, coalesceWindowMs: options.coalesceWindowMs },
        'starting placement',
      );
      if (options.ignoredFlags.length > 0) logger.info({ flags: options.ignoredFlags }, 'upstream raft and api-level flags are accepted and ignored');
      if (identity) await identity.load();

      const healthzRoutes: AdminServerOptions['routes'] = {};
      if (options.metadataEnabled) {
        healthzRoutes['/placement/state'] = async (_req, res) => {
          try {
            const body = JSON.stringify(stateTablesJson(await stateTables()));
            res.writeHead(200, { 'content-type': 'application/json' }).end(body);
          } catch (err) {
            res.writeHead(503, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
          }
        };
      }
      const runners: Runner[] = [
        ...adminServers({ endpoints: options, readiness, registry, logger, healthzRoutes, onListening: (server, port) => deps.onListening?.(server, port) }),
        placementServer({
          address: `${options.listenAddress || '0.0.0.0'}:${options.port}`,
          tls: identity?.material,
          keepaliveTimeMs: options.keepaliveTimeMs,
          keepaliveTimeoutMs: options.keepaliveTimeoutMs,
          handler,
          logger,
          onBound: (port) => {
            grpcReady(true);
            deps.onListening?.('grpc', port);
          },
        }),
        election,
        // On the way down, end every stream with UNAVAILABLE before the gRPC
        // server drains, so sidecars move to another replica at once.
        async (group) => {
          await untilAborted(group);
          shuttingDown = true;
          grpcReady(false);
          if (term) leadership.onStoppedLeading('shutting down');
        },
      ];
      if (identity) runners.push(identity.runner);
      await runAll(signal, runners);
    },
  };
}
