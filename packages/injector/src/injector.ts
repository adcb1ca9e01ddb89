import type { KubeConfig } from '@kubernetes/client-node';
import { TlsMaterial } from '@tsdapr/grpc';
import { createSvidSource, trustAnchorsFile } from '@tsdapr/identity';
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
import { selfSignedServingCertificate, servingCertificateFileWatch, servingCertificateFromFiles, type ServingCertificate } from './webhook/serving-certificate.js';
import { podSidecarVersion } from './patch/sidecar-patch.js';
import { uidAllowList, versionedAuthorizer } from './webhook/service-account-matcher.js';
import { webhookServer } from './webhook/webhook-server.js';

export interface InjectorDeps {
  readonly logger: Logger;
  /** Defaults to the kubeconfig from options, else in-cluster. */
  readonly kubeConfig?: KubeConfig;
  /** A fixed serving certificate, instead of what options say (tests). */
  readonly servingCertificate?: ServingCertificate;
  /** Serving material kept current by the caller; its identity and CA bundle may change at run time. */
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
  const allow = { serviceAccounts: options.allowedServiceAccounts, prefixNames: options.allowedServiceAccountsPrefixNames };
  const uidList = uidAllowList(allow);
  // Fails early on a malformed entry, as upstream does at start.
  versionedAuthorizer(allow, new Set());

  return {
    async run(signal) {
      const kubeConfig = deps.kubeConfig ?? loadKubeConfig(options.kubeconfigPath);
      // Polled every second as before; the directory watch usually sees a change first.
      const anchors = trustAnchorsFile({ path: options.trustAnchorsFile, logger: logger.child({ component: 'trust-anchors' }), pollMs: 1_000 });
      anchors.onChange(() => anchorsReady(true));
      const mtls = mtlsSetting({ kubeConfig, namespace: options.namespace, logger: logger.child({ component: 'mtls-config' }) });
      const components = pluggableComponents({ kubeConfig, logger: logger.child({ component: 'components' }) });

      const serving = await servingMaterial(options, deps);
      const tls = serving.tls;
      const nativeSidecarsSupported = await apiServerSupportsNativeSidecars(kubeConfig, logger, signal);
      const allowedUids = await resolveServiceAccountUids(kubeConfig, uidList, logger, signal);
      const authorized = versionedAuthorizer(allow, allowedUids);

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
          // Upstream serves only once the anchors are known (a sidecar without
          // them cannot start) and it holds its serving certificate.
          if (!(await anchors.waitUntilLoaded(abort))) return;
          if (!(await hasIdentity(tls, abort))) return;
          await webhookServer({
            host: options.listenAddress || undefined,
            port: options.port,
            tls,
            metrics,
            logger: logger.child({ component: 'webhook' }),
            handler: {
              settings,
              isAuthorized: (request, minor) => authorized(request.userInfo, minor),
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
      if (serving.runner) runners.push(serving.runner);
      if (options.reportMissedInjections) runners.push(missedInjectionController({ kubeConfig, logger, metrics }).runner);
      const defaultVersion = podSidecarVersion({}, settings());
      if (defaultVersion.fallbackReason) {
        logger.warn({ sidecarImage: options.sidecar.sidecarImage, shape: defaultVersion.minor }, 'SIDECAR_IMAGE has no daprd version the injector knows (set --sidecar-version for a digest); its sidecars are built as for the newest known version');
      }
      logger.info(
        { namespace: options.namespace, sidecarImage: options.sidecar.sidecarImage, sidecarShape: defaultVersion.minor, trustAnchorsFile: options.trustAnchorsFile, nativeSidecarsSupported },
        'starting the sidecar injector',
      );
      await runAll(signal, runners);
    },
  };
}

/** The serving material and, when it renews itself, the runner that does so. */
async function servingMaterial(options: InjectorOptions, deps: InjectorDeps): Promise<{ tls: TlsMaterial; runner?: Runner }> {
  if (deps.tls) return { tls: deps.tls };
  const logger = deps.logger.child({ component: 'serving-certificate' });
  const fixed = (serving: ServingCertificate): TlsMaterial => new TlsMaterial({ identity: serving.identity, trustAnchorsPem: serving.caBundlePem });
  if (deps.servingCertificate) return { tls: fixed(deps.servingCertificate) };
  const source = options.servingTls;
  switch (source.source) {
    case 'files': {
      const tls = fixed(await servingCertificateFromFiles(source.certFile, source.keyFile, source.caFile));
      return { tls, runner: servingCertificateFileWatch({ certFile: source.certFile, keyFile: source.keyFile, caFile: source.caFile, tls, logger }) };
    }
    case 'sentry': {
      // Upstream's way: the dapr-injector SVID (DNS SAN dapr-sidecar-injector.<ns>.svc),
      // trusted through the anchors, which the caBundle controller then publishes.
      const svid = createSvidSource({
        sentryAddress: source.sentryAddress,
        trustAnchors: { file: options.trustAnchorsFile },
        controlPlaneTrustDomain: options.sidecar.controlPlaneTrustDomain,
        controlPlaneNamespace: options.namespace,
        appId: 'dapr-injector',
        namespace: options.namespace,
        ...(source.tokenFile ? { tokenFile: source.tokenFile } : {}),
        keyAlgorithm: source.keyAlgorithm,
        logger,
      });
      return { tls: svid.material, runner: svid.runner };
    }
    case 'self-signed': {
      const service = `dapr-sidecar-injector.${options.namespace}.svc`;
      logger.warn('no --tls-cert-file and no Sentry address: serving with a self-signed certificate (the caBundle follows it)');
      return { tls: fixed(await selfSignedServingCertificate({ dnsNames: [service, `${service}.${options.sidecar.kubeClusterDomain}`, 'localhost'], ipAddresses: ['127.0.0.1', '::1'] })) };
    }
  }
}

/** Resolves true once the material holds a serving identity, false if the signal aborts first. */
function hasIdentity(tls: TlsMaterial, signal: AbortSignal): Promise<boolean> {
  if (tls.currentIdentity) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean): void => {
      tls.removeIdentityCertificateListener(onIdentity);
      signal.removeEventListener('abort', onAbort);
      resolve(ready);
    };
    const onIdentity = (update: unknown): void => {
      if (update) done(true);
    };
    const onAbort = (): void => done(false);
    tls.addIdentityCertificateListener(onIdentity);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
