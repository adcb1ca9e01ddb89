import type { KubeConfig } from '@kubernetes/client-node';
import { TlsMaterial } from '@tsdapr/grpc';
import { loadKubeConfig } from '@tsdapr/kube';
import { Readiness, adminServer, createMetricsRegistry, healthRoutes, metricsRoutes, runAll, type Logger, type Runner } from '@tsdapr/runtime';
import { caBundleController } from './controllers/ca-bundle-controller.js';
import { apiServerSupportsNativeSidecars, resolveServiceAccountUids } from './controllers/cluster-facts.js';
import { missedInjectionController } from './controllers/missed-injection/missed-injection-controller.js';
import { mtlsSetting } from './controllers/mtls-config.js';
import { pluggableComponents } from './controllers/pluggable-components.js';
import { createInjectorMetrics } from './metrics.js';
import type { InjectorOptions } from './options.js';
import type { InjectorSettings } from './patch/injector-settings.js';
import { trustAnchorsFile } from './trust-anchors/trust-anchors-file.js';
import { selfSignedServingCertificate, servingCertificateFileWatch, servingCertificateFromFiles, type ServingCertificate } from './webhook/serving-certificate.js';
import { BUILT_IN_ALLOWED_SERVICE_ACCOUNTS, isAuthorizedUser, serviceAccountMatcher } from './webhook/service-account-matcher.js';
import { webhookServer } from './webhook/webhook-server.js';

export interface InjectorDeps {
  readonly logger: Logger;
  /** Defaults to the kubeconfig from options, else in-cluster. */
  readonly kubeConfig?: KubeConfig;
  /**
   * The serving certificate, when neither files nor a self-signed one are
   * wanted. This is the seam for the Sentry-issued SVID: a caller that holds
   * one passes it here, or keeps `tls` current itself.
   */
  readonly servingCertificate?: ServingCertificate;
  /** Serving material to use and keep; its identity and CA bundle may change at run time. */
  readonly tls?: TlsMaterial;
  /** Called with the webhook's bound port (useful with --port 0). */
  readonly onWebhookListening?: (port: number) => void;
}

export interface Injector {
  run(signal: AbortSignal): Promise<void>;
}

/**
 * The sidecar injector: the admission webhook on `--port` (4000), health on
 * `--healthz-port` (8080), metrics on `--metrics-port` (9090), the trust
 * anchors file watch, the `daprsystem` mTLS watch, the controller that keeps
 * the MutatingWebhookConfiguration's caBundle current, and the one that
 * reports pods created without their sidecar. The admission path only reads
 * memory; it never calls the API server or Sentry.
 */
export function createInjector(options: InjectorOptions, deps: InjectorDeps): Injector {
  const logger = deps.logger;
  const registry = createMetricsRegistry();
  const metrics = createInjectorMetrics(registry);
  const readiness = new Readiness();
  const anchorsReady = readiness.part('trust-anchors');
  const webhookReady = readiness.part('webhook');
  const caBundleReady = options.patchWebhookCaBundle ? readiness.part('webhook-configuration') : undefined;
  const allowList = [...BUILT_IN_ALLOWED_SERVICE_ACCOUNTS, ...options.allowedServiceAccounts];
  const matcher = serviceAccountMatcher(allowList);
  const tls = deps.tls ?? new TlsMaterial();

  return {
    async run(signal) {
      const kubeConfig = deps.kubeConfig ?? loadKubeConfig(options.kubeconfigPath);
      const anchors = trustAnchorsFile({ path: options.trustAnchorsFile, logger: logger.child({ component: 'trust-anchors' }) });
      anchors.onChange(() => anchorsReady(true));
      const mtls = mtlsSetting({ kubeConfig, namespace: options.namespace, logger: logger.child({ component: 'mtls-config' }) });
      const components = pluggableComponents({ kubeConfig, logger: logger.child({ component: 'components' }) });

      if (!tls.currentIdentity) {
        const serving = await servingCertificate(options, deps);
        tls.setIdentity(serving.identity);
        tls.setTrustAnchors(serving.caBundlePem);
      }
      const nativeSidecarsSupported = await apiServerSupportsNativeSidecars(kubeConfig, logger, signal);
      const allowedUids = await resolveServiceAccountUids(kubeConfig, allowList, logger, signal);

      const settings = (): InjectorSettings => ({
        ...options.sidecar,
        trustAnchorsPem: anchors.current() ?? '',
        mtlsEnabled: mtls.enabled(),
        nativeSidecarsSupported,
      });

      const runners: Runner[] = [
        adminServer({ name: 'healthz', host: options.healthz.host || undefined, port: options.healthz.port, logger, routes: healthRoutes(readiness) }),
        anchors.runner,
        mtls.cache.runner,
        components.cache.runner,
        async (abort) => {
          // Upstream serves only once the anchors are known: a sidecar without them cannot start.
          if (!(await anchors.waitUntilLoaded(abort))) return;
          await webhookServer({
            host: options.listenAddress || undefined,
            port: options.port,
            tls,
            metrics,
            logger: logger.child({ component: 'webhook' }),
            handler: {
              settings,
              isAuthorized: (request) => isAuthorizedUser(request.userInfo, matcher, allowedUids),
              componentContainers: components.containers,
              metrics,
              logger: logger.child({ component: 'admission' }),
            },
            onListening: (port) => {
              webhookReady(true);
              deps.onWebhookListening?.(port);
            },
          })(abort);
        },
      ];
      if (options.metrics.enabled) {
        runners.push(adminServer({ name: 'metrics', host: options.metrics.host || undefined, port: options.metrics.port, logger, routes: metricsRoutes(registry) }));
      }
      if (caBundleReady) {
        runners.push(
          caBundleController({
            kubeConfig,
            name: options.webhookConfigurationName,
            caBundle: () => tls.trustAnchorsPem,
            onCaBundleChange: (listener) => {
              const onCa = (): void => listener();
              tls.addCaCertificateListener(onCa);
              return () => tls.removeCaCertificateListener(onCa);
            },
            logger,
            metrics,
            setReady: caBundleReady,
          }),
        );
      }
      if (options.tls && !deps.tls && !deps.servingCertificate) {
        runners.push(servingCertificateFileWatch({ ...options.tls, tls, logger: logger.child({ component: 'serving-certificate' }) }));
      }
      if (options.reportMissedInjections) runners.push(missedInjectionController({ kubeConfig, logger, metrics }).runner);
      logger.info(
        { namespace: options.namespace, sidecarImage: options.sidecar.sidecarImage, trustAnchorsFile: options.trustAnchorsFile, nativeSidecarsSupported, allowList: allowList.length },
        'starting the sidecar injector',
      );
      await runAll(signal, runners);
    },
  };
}

async function servingCertificate(options: InjectorOptions, deps: InjectorDeps): Promise<ServingCertificate> {
  if (deps.servingCertificate) return deps.servingCertificate;
  if (options.tls) return servingCertificateFromFiles(options.tls.certFile, options.tls.keyFile, options.tls.caFile);
  const service = `dapr-sidecar-injector.${options.namespace}.svc`;
  deps.logger.warn('no --tls-cert-file given: serving with a self-signed certificate (the caBundle follows it)');
  return selfSignedServingCertificate({ dnsNames: [service, `${service}.${options.sidecar.kubeClusterDomain}`, 'localhost'], ipAddresses: ['127.0.0.1', '::1'] });
}
