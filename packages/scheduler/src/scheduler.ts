import { ServerCredentials } from '@grpc/grpc-js';
import { grpcServer, schedulerService, serverCredentials } from '@tsdapr/grpc';
import { createSvidSource, type SvidSource } from '@tsdapr/identity';
import { Readiness, adminServers, createMetricsRegistry, runAll, untilAborted, type Logger, type Runner } from '@tsdapr/runtime';
import type { Registry } from 'prom-client';
import { broadcastAddress } from './broadcast-address.js';
import { ConnectionPool } from './engine/connection-pool.js';
import { membership, type MembershipView } from './engine/membership.js';
import { createTriggerEngine } from './engine/trigger-engine.js';
import { createEtcdClient } from './etcd/etcd-client.js';
import { embeddedEtcd } from './etcd/embedded-etcd.js';
import { createSchedulerMetrics } from './metrics.js';
import type { SchedulerOptions } from './options.js';
import { schedulerApi } from './server/scheduler-api.js';
import { JobStore } from './store/job-store.js';

export interface SchedulerDeps {
  readonly logger: Logger;
  readonly registry?: Registry;
  /** Where the serving SVID comes from with mTLS on; defaults to Sentry per the options. */
  readonly svidSource?: SvidSource;
  /** Told the bound ports (useful with port 0 in tests). */
  readonly onListening?: (server: 'grpc' | 'healthz' | 'metrics', port: number) => void;
}

export interface Scheduler {
  run(signal: AbortSignal): Promise<void>;
}

/**
 * The scheduler: the gRPC API in front of a job store in etcd, a trigger
 * engine per replica for the buckets it owns, membership that shares the
 * buckets among the replicas, and the admin servers.
 */
export function createScheduler(options: SchedulerOptions, deps: SchedulerDeps): Scheduler {
  const logger = deps.logger;
  const registry = deps.registry ?? createMetricsRegistry();
  const metrics = createSchedulerMetrics(registry);
  const readiness = new Readiness();
  const serverReady = readiness.part('scheduler-server');
  const etcdReady = readiness.part('scheduler-etcd');
  const membershipReady = readiness.part('scheduler-membership');
  const securityReady = options.tls.enabled ? readiness.part('security-provider') : undefined;

  const embedded = options.etcd.embed ? embeddedEtcd(options.etcd.embedded, logger.child({ component: 'embedded-etcd' })) : undefined;
  const connection = options.etcd.embed
    ? { endpoints: [embedded?.endpoint ?? ''] }
    : { endpoints: options.etcd.endpoints, ...(options.etcd.username ? { username: options.etcd.username } : {}), ...(options.etcd.password ? { password: options.etcd.password } : {}) };
  // Two connections: a flood of API writes never queues in front of the engine's reads and writes.
  const apiClient = createEtcdClient(connection);
  const engineClient = createEtcdClient(connection);
  const store = new JobStore(apiClient, options.keyPrefix);
  const engineStore = new JobStore(engineClient, options.keyPrefix);
  const pool = new ConnectionPool();
  const engine = createTriggerEngine({
    client: engineClient,
    store: engineStore,
    pool,
    metrics,
    logger: logger.child({ component: 'engine' }),
    maxLoaded: options.maxLoadedTriggers,
    lookaheadMs: options.lookaheadMs,
  });

  let view: MembershipView = { members: [], agreed: false, index: -1 };
  const hostListeners = new Set<() => void>();
  let shuttingDown = false;

  const svid = options.tls.enabled
    ? (deps.svidSource ??
      createSvidSource({
        sentryAddress: options.tls.sentryAddress,
        trustAnchors: { file: options.tls.trustAnchorsFile },
        controlPlaneTrustDomain: options.tls.trustDomain,
        controlPlaneNamespace: options.namespace,
        appId: 'dapr-scheduler',
        namespace: options.namespace,
        ...(options.tls.sentryTokenFile ? { tokenFile: options.tls.sentryTokenFile } : {}),
        logger: logger.child({ component: 'svid' }),
      }))
    : undefined;

  const api = schedulerApi({
    store,
    pool,
    metrics,
    logger: logger.child({ component: 'api' }),
    mtls: options.tls.enabled,
    hosts: () => (view.agreed && view.index >= 0 ? view.members : undefined),
    onHostsChange: (listener) => {
      hostListeners.add(listener);
      return () => hostListeners.delete(listener);
    },
    shuttingDown: () => shuttingDown,
  });

  return {
    async run(signal) {
      logger.info({ id: options.id, mode: options.mode, port: options.port, tls: options.tls.enabled, etcd: options.etcd.embed ? 'embedded' : options.etcd.endpoints }, 'starting scheduler');
      if (options.ignoredFlags.length > 0) logger.info({ flags: options.ignoredFlags }, 'upstream flags accepted and ignored');

      let announce: (address: string) => void = () => undefined;
      const address = new Promise<string>((resolve) => (announce = resolve));

      const runners: Runner[] = [
        ...adminServers({ endpoints: options, readiness, registry, logger, onListening: (server, port) => deps.onListening?.(server, port) }),
        async (group) => {
          if (svid) {
            // Serve only with an SVID: wait for the first one.
            if (!(await svid.waitUntilReady(group))) return;
            securityReady?.(true);
          }
          await grpcServer({
            name: 'scheduler',
            address: `${options.listenAddress || '0.0.0.0'}:${options.port}`,
            credentials: svid ? serverCredentials(svid.material, { requireClientCert: true }) : ServerCredentials.createInsecure(),
            services: [{ service: schedulerService().service, implementation: api.implementation }],
            logger,
            channelOptions: {
              'grpc.max_receive_message_length': 2 ** 31 - 1,
              'grpc.max_send_message_length': 2 ** 31 - 1,
              // As upstream: ping sidecars every 3 s, drop one silent for 5 s; daprd pings every 3 s too.
              'grpc.keepalive_time_ms': 3000,
              'grpc.keepalive_timeout_ms': 5000,
              'grpc.keepalive_permit_without_calls': 1,
            },
            onBound: (port) => {
              serverReady(true);
              deps.onListening?.('grpc', port);
              announce(broadcastAddress({ override: options.broadcastAddress, listenAddress: options.listenAddress, hostIp: options.hostIp, port }));
            },
          })(group);
        },
        async (group) => {
          if (embedded) await embedded.waitHealthy(group);
          if (group.aborted) return;
          etcdReady(true);
          const announced = await Promise.race([address, untilAborted(group).then(() => undefined)]);
          if (announced === undefined) return;
          await runAll(group, [
            engine.runner,
            membership({
              client: engineClient,
              prefix: options.keyPrefix,
              id: options.id,
              address: announced,
              ttlMs: options.memberTtlMs,
              logger: logger.child({ component: 'membership' }),
              onChange(next) {
                view = next;
                membershipReady(next.agreed && next.index >= 0);
                engine.setView(next);
                for (const listener of hostListeners) listener();
              },
            }),
          ]);
        },
        // On the way down: not ready, then every stream ended so the gRPC server drains at once.
        async (group) => {
          await untilAborted(group);
          shuttingDown = true;
          serverReady(false);
          api.closeStreams();
        },
      ];
      if (embedded) runners.push(embedded.runner);
      if (svid) runners.push(svid.runner);
      try {
        await runAll(signal, runners);
      } finally {
        apiClient.close();
        engineClient.close();
      }
    },
  };
}

