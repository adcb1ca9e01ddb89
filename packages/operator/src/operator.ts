import type { KubeConfig } from '@kubernetes/client-node';
import { TlsMaterial, controlPlaneSpiffeId, grpcServer, operatorService, serverCredentials } from '@tsdapr/grpc';
import { loadKubeConfig } from '@tsdapr/kube';
import { Readiness, untilAborted, adminServer, createMetricsRegistry, healthRoutes, metricsRoutes, runAll, type Logger, type Runner } from '@tsdapr/runtime';
import { createOperatorApi } from './api/operator-api.js';
import { createAppServiceController } from './controllers/app-service/app-service-controller.js';
import { fileIdentityProvider, sentryIdentityProvider, type IdentityProvider } from './identity/file-identity.js';
import { leaderOnly } from './leader-election.js';
import { createOperatorMetrics } from './metrics.js';
import { webhookServer } from './webhooks/webhook-server.js';
import type { OperatorOptions } from './options.js';
import { createResourceCaches, kubernetesSecretReader } from './resources/resource-caches.js';

export interface OperatorDeps {
  readonly logger: Logger;
  readonly kubeConfig?: KubeConfig;
  /** Where the operator's SVID comes from; defaults to the --tls-*-file flags. */
  readonly identity?: (tls: TlsMaterial) => IdentityProvider;
}

export interface Operator {
  run(signal: AbortSignal): Promise<void>;
}

/** Largest message a sidecar sends: requests are a namespace and a name. */
const MAX_RECEIVE_BYTES = 64 * 1024;

export function createOperator(options: OperatorOptions, deps: OperatorDeps): Operator {
  const logger = deps.logger;
  const kubeConfig = deps.kubeConfig ?? loadKubeConfig(options.kubeconfigPath);
  const registry = createMetricsRegistry();
  const metrics = createOperatorMetrics(registry);
  const readiness = new Readiness();
  const cachesReady = readiness.part('informer-caches');
  const identityReady = readiness.part('identity');
  const spiffeId = controlPlaneSpiffeId(options.trustDomain, options.namespace, 'operator');
  const tls = new TlsMaterial();
  const identity = deps.identity
    ? deps.identity(tls)
    : options.identity.source === 'files'
      ? fileIdentityProvider({ ...options.identity, tls, expectedSpiffeId: spiffeId, logger: logger.child({ component: 'identity' }) })
      : sentryIdentityProvider({ ...options.identity, tls, trustDomain: options.trustDomain, namespace: options.namespace, logger: logger.child({ component: 'identity' }) });
  const resources = createResourceCaches(kubeConfig, logger.child({ component: 'cache' }), options.watchNamespace);
  // Controllers, registered explicitly.
  const controllers: Runner[] = [];
  const appService = options.serviceReconciler.enabled ? createAppServiceController({ kubeConfig, metrics, logger, workers: options.serviceReconciler.workers, watchNamespace: options.watchNamespace }) : undefined;
  if (appService) controllers.push(...appService.runners);
  const readSecret = kubernetesSecretReader(kubeConfig);
  const webhooks: Runner = async (webhookSignal) => {
    // A runner that ends stops the group: with webhooks off, idle until shutdown.
    if (!options.webhook.enabled) return untilAborted(webhookSignal);
    if (!(await identity.waitUntilReady(webhookSignal))) return;
    await webhookServer({
      host: options.webhook.host || undefined,
      port: options.webhook.port,
      tls,
      deps: { logger: logger.child({ component: 'webhook' }), readSecret, appIds: (namespace) => appService?.appIds(namespace) ?? new Set() },
    })(webhookSignal);
  };

  return {
    async run(signal) {
      const admin: Runner[] = [adminServer({ name: 'healthz', host: options.healthz.host || undefined, port: options.healthz.port, logger, routes: healthRoutes(readiness) })];
      if (options.metrics.enabled) admin.push(adminServer({ name: 'metrics', host: options.metrics.host || undefined, port: options.metrics.port, logger, routes: metricsRoutes(registry) }));

      // The API starts once the caches and the identity are ready: a List
      // served from an empty cache would tell daprd it has no components.
      const api: Runner = async (apiSignal) => {
        if (!(await identity.waitUntilReady(apiSignal))) return;
        identityReady(true);
        if (!(await resources.waitUntilReady(apiSignal))) return;
        cachesReady(true);
        await grpcServer({
          name: 'operator-api',
          address: `${options.api.host || '0.0.0.0'}:${options.api.port}`,
          credentials: serverCredentials(tls, { requireClientCert: true }),
          services: [
            {
              service: operatorService().service,
              implementation: createOperatorApi({
                stores: resources.stores,
                feeds: resources.feeds,
                readSecret,
                metrics,
                logger: logger.child({ component: 'api' }),
                signal: apiSignal,
              }),
            },
          ],
          channelOptions: { 'grpc.max_receive_message_length': MAX_RECEIVE_BYTES, 'grpc.keepalive_permit_without_calls': 1 },
          logger,
          drainMs: 2000,
        })(apiSignal);
      };

      logger.info({ spiffeId, watchNamespace: options.watchNamespace ?? '(all)' }, 'starting operator');
      await runAll(signal, [...admin, identity.runner, ...resources.caches.map((cache) => cache.runner), api, webhooks, ...leaderOnly(controllers, { election: options.leaderElection, namespace: options.namespace, kubeConfig, registry, logger })]);
    },
  };
}
