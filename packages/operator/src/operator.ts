import type { KubeConfig } from '@kubernetes/client-node';
import { TlsMaterial, controlPlaneSpiffeId, grpcServer, operatorService, serverCredentials } from '@tsdapr/grpc';
import { loadKubeConfig } from '@tsdapr/kube';
import { Readiness, untilAborted, adminServer, createMetricsRegistry, healthRoutes, metricsRoutes, runAll, type Logger, type Runner } from '@tsdapr/runtime';
import { createOperatorApi } from './api/operator-api.js';
import { createAppServiceController } from './controllers/app-service/app-service-controller.js';
import { fileIdentityProvider, sentryIdentityProvider, type IdentityProvider } from './identity/file-identity.js';
import { leaderOnly } from './leader-election.js';
import { createOperatorMetrics } from './metrics.js';
import { componentStatusController } from './controllers/component-status/component-status-controller.js';
import { localServingCertificate } from './webhooks/local-serving-certificate.js';
import { webhookRegistrationRunners } from './webhooks/webhook-registration.js';
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
  const resources = createResourceCaches(kubeConfig, logger.child({ component: 'cache' }), options.watchNamespace, (cache, reason) => metrics.watchEnds.inc({ cache, reason }));
  // The workload caches also feed the Component status's app ids, so
  // they run even with the Service reconciler off.
  const appService = createAppServiceController({ kubeConfig, metrics, logger, workers: options.serviceReconciler.workers, watchNamespace: options.watchNamespace });
  const readSecret = kubernetesSecretReader(kubeConfig);
  const clusterFacts = { appIds: (namespace: string) => appService.appIds(namespace), secretExists: async (namespace: string, name: string) => (await readSecret(namespace, name)) !== undefined };
  const registration = options.webhook.registration;
  // With --webhook-registration=url the webhooks serve a local certificate (see local-serving-certificate.ts).
  const webhookTls = registration.mode === 'url' ? localWebhookTls(registration.baseUrl, options.namespace) : tls;
  const webhooks: Runner = async (webhookSignal) => {
    // A runner that ends stops the group: with webhooks off, idle until shutdown.
    if (!options.webhook.enabled) return untilAborted(webhookSignal);
    if (!(await identity.waitUntilReady(webhookSignal))) return;
    await webhookServer({
      host: options.webhook.host || undefined,
      port: options.webhook.port,
      tls: webhookTls,
      deps: { logger: logger.child({ component: 'webhook' }) },
    })(webhookSignal);
  };

  // Every runner that writes to the API server; only the leader runs them.
  const writers: Runner[] = [];
  if (options.serviceReconciler.enabled) writers.push(appService.reconciler);
  if (registration.mode !== 'none') {
    writers.push(
      ...webhookRegistrationRunners({
        kubeConfig,
        registration,
        namespace: options.namespace,
        watchNamespace: options.watchNamespace,
        caBundle: () => webhookTls.trustAnchorsPem,
        onCaBundleChange: (listener) => {
          const onCa = (): void => listener();
          webhookTls.addCaCertificateListener(onCa);
          return () => webhookTls.removeCaCertificateListener(onCa);
        },
        logger,
        onError: (code) => metrics.reconcileErrors.inc({ controller: 'webhook-registration', code }),
        resyncMs: registration.resyncMs,
      }),
    );
  }
  if (options.componentStatus.enabled) {
    writers.push(
      componentStatusController({
        kubeConfig,
        components: resources.stores.Component,
        feed: resources.feeds.Component,
        facts: clusterFacts,
        runningAppIds: (namespace) => appService.appIds(namespace, { running: true }),
        onWorkloadChange: (listener) => appService.onWorkloadChange(listener),
        waitUntilReady: async (readySignal) => (await resources.waitUntilReady(readySignal)) && (await appService.waitUntilReady(readySignal)),
        resyncMs: options.componentStatus.resyncMs,
        metrics,
        logger,
      }),
    );
  }

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
      await runAll(signal, [...admin, identity.runner, ...resources.caches.map((cache) => cache.runner), ...appService.caches, api, webhooks, ...leaderOnly(writers, { election: options.leaderElection, namespace: options.namespace, kubeConfig, registry, logger })]);
    },
  };
}

function localWebhookTls(baseUrl: string, namespace: string): TlsMaterial {
  const serving = localServingCertificate(new URL(baseUrl).hostname, namespace);
  return new TlsMaterial({ identity: serving.identity, trustAnchorsPem: serving.caBundlePem });
}
