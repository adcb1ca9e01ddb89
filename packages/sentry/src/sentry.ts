import { basename } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { TlsMaterial, controlPlaneSpiffeId, grpcServer, sentryService, serverCredentials } from '@tsdapr/grpc';
import { loadKubeConfig } from '@tsdapr/kube';
import { Readiness, adminServers, createMetricsRegistry, runAll, type Logger, type Runner } from '@tsdapr/runtime';
import { createTrustBundleManager } from './bundle/trust-bundle-manager.js';
import { fileBundleStore } from './bundle/file-bundle-store.js';
import { kubernetesBundleStore } from './bundle/kubernetes-bundle-store.js';
import { createCertificateAuthority } from './ca/certificate-authority.js';
import { loadFileSentryConfig, loadKubernetesSentryConfig } from './config/load-sentry-config.js';
import type { SentryConfig } from './config/sentry-config.js';
import { createSentryMetrics } from './metrics.js';
import { oidcServer } from './oidc/oidc-server.js';
import type { SentryOptions } from './options.js';
import { servingIdentity } from './server/serving-identity.js';
import { signCertificateHandler } from './server/sign-certificate.js';
import { createValidators } from './validators-for-mode.js';

export interface SentryDeps {
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Defaults to the kubeconfig from options (or in-cluster) in Kubernetes mode. */
  readonly kubeConfig?: KubeConfig;
}

export interface Sentry {
  run(signal: AbortSignal): Promise<void>;
}

/** gRPC hard cap: a SignCertificate request is a few KiB; anything near this is hostile. */
const MAX_MESSAGE_BYTES = 256 * 1024;

export function createSentry(options: SentryOptions, deps: SentryDeps): Sentry {
  const logger = deps.logger;
  const jwtOidcRequested = options.oidc.requested;
  const now = deps.now ?? (() => new Date());
  const registry = createMetricsRegistry();
  const metrics = createSentryMetrics(registry);
  const readiness = new Readiness();
  const bundleReady = readiness.part('trust-bundle');
  const spiffeId = controlPlaneSpiffeId(options.trustDomain, options.namespace, 'sentry');
  const kubeConfig = options.mode === 'kubernetes' ? (deps.kubeConfig ?? loadKubeConfig(options.kubeconfigPath)) : undefined;

  const jwt = options.jwt;
  // In Kubernetes mode the Secret keys are the files' base names (upstream pkg/sentry/server/ca/kube.go).
  const store = kubeConfig
    ? kubernetesBundleStore({
        kubeConfig,
        namespace: options.namespace,
        name: options.trustBundleName,
        keys: options.bundleKeys,
        logger: logger.child({ component: 'trust-bundle' }),
        ...(jwt.enabled ? { jwtKeys: { signingKey: basename(jwt.keyFilename), jwks: basename(jwt.jwksFilename) } } : {}),
      })
    : fileBundleStore(options.credentialsDir, options.bundleKeys, logger.child({ component: 'trust-bundle' }), jwt.enabled ? { keyFilename: jwt.keyFilename, jwksFilename: jwt.jwksFilename } : undefined);

  let config: SentryConfig | undefined;
  const tls = new TlsMaterial();
  const bundle = createTrustBundleManager({
    store,
    trustDomain: options.trustDomain,
    sentrySpiffeId: spiffeId,
    algorithm: options.rootKeyAlgorithm,
    metrics,
    logger: logger.child({ component: 'trust-bundle' }),
    now,
    expiryWarningWindowMs: options.expiryWarningWindowMs,
    ...(jwt.enabled ? { jwt: { algorithm: jwt.algorithm, keyId: jwt.keyId, issuer: jwt.issuer } } : {}),
    onIssuer: () => identity.issue(),
  });
  const ca = createCertificateAuthority({
    issuer: () => bundle.current(),
    config: () => {
      if (!config) throw new Error('configuration not loaded');
      return config;
    },
    now,
  });
  const identity = servingIdentity({ ca, spiffeId, tls, metrics, logger: logger.child({ component: 'serving-identity' }), now });

  return {
    async run(signal) {
      config = kubeConfig
        ? await loadKubernetesSentryConfig(kubeConfig, options.namespace, options.configName, logger)
        : await loadFileSentryConfig(options.configName, logger);
      logger.info({ workloadCertTTL: config.workloadCertTtlMs, allowedClockSkew: config.allowedClockSkewMs, validators: config.tokenValidators.map((v) => v.name) }, 'configuration loaded');
      const validators = createValidators({ mode: options.mode, config, kubeConfig, sentryNamespace: options.namespace, trustDomain: options.trustDomain, sentrySpiffeId: spiffeId, insecureEnabled: options.insecureValidatorEnabled, logger: logger.child({ component: 'validator' }) });
      // The first load happens before serving: a bundle that cannot be used
      // is a startup error that names the problem.
      await bundle.reload();
      bundleReady(true);

      const admin: Runner[] = adminServers({ endpoints: options, readiness, registry, logger });
      if (options.oidc.enabled) admin.push(oidcServer({ options: options.oidc, jwksJson: () => bundle.currentJwt()?.jwksJson, algorithm: () => bundle.currentJwt()?.algorithm, issuer: jwt.issuer, logger: logger.child({ component: 'oidc' }) }));
      else if (options.oidc.enabled !== jwtOidcRequested) logger.info('OIDC HTTP server is disabled (it needs --jwt-enabled)');
      const validatorRunners = [...validators.values()].flatMap((validator) => (validator.runner ? [validator.runner] : []));
      // Validator caches are not a readiness gate, unlike upstream: a cache
      // miss falls back to a direct read, so requests are served correctly
      // while the caches warm up (or while the Configuration CRD is absent).
      await runAll(signal, [
        ...admin,
        bundle.runner,
        identity.runner,
        ...validatorRunners,
        grpcServer({
          name: 'sentry',
          address: `${options.listenAddress || '0.0.0.0'}:${options.port}`,
          credentials: serverCredentials(tls, { requireClientCert: false }),
          services: [
            {
              service: sentryService().service,
              implementation: {
                SignCertificate: signCertificateHandler({
                  ca,
                  validators,
                  mode: options.mode,
                  sentryNamespace: options.namespace,
                  trustAnchorsPem: () => bundle.current()?.trustAnchorsPem ?? '',
                  metrics,
                  logger: logger.child({ component: 'sign' }),
                  ...(jwt.enabled
                    ? {
                        jwt: {
                          issuer: () => bundle.currentJwt(),
                          ttlMs: jwt.ttlMs,
                          allowedClockSkewMs: () => config?.allowedClockSkewMs ?? 0,
                          now,
                        },
                      }
                    : {}),
                }),
              },
            },
          ],
          channelOptions: { 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES },
          logger,
        }),
      ]);
    },
  };
}
