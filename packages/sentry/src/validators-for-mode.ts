import type { KubeConfig } from '@kubernetes/client-node';
import { InvalidInputError, parseDuration, type Logger } from '@tsdapr/runtime';
import type { SentryConfig } from './config/sentry-config.js';
import { createInsecureValidator, createJwksValidator, createKubernetesValidator, type TokenValidatorName, type Validator } from './validators/index.js';

/**
 * The validators a mode enables (spec 2.2, 2.4): Kubernetes mode always has
 * the Kubernetes validator; configured token validators (JWKS) are added; the
 * insecure one exists only in standalone mode with no validator configured.
 */
export function createValidators(input: {
  mode: 'kubernetes' | 'standalone';
  config: SentryConfig;
  kubeConfig: KubeConfig | undefined;
  sentryNamespace: string;
  trustDomain: string;
  sentrySpiffeId: string;
  insecureEnabled: boolean;
  logger: Logger;
}): Map<TokenValidatorName, Validator> {
  const validators = new Map<TokenValidatorName, Validator>();
  if (input.mode === 'kubernetes') {
    if (!input.kubeConfig) throw new Error('kubernetes mode needs a kubeconfig');
    validators.set('kubernetes', createKubernetesValidator({ kubeConfig: input.kubeConfig, sentryNamespace: input.sentryNamespace, controlPlaneTrustDomain: input.trustDomain, logger: input.logger }));
  }
  for (const configured of input.config.tokenValidators) {
    if (configured.name !== 'jwks') {
      throw new InvalidInputError('config_invalid', `spec.mtls.tokenValidators: unknown validator "${configured.name}"; the only one that can be configured is "jwks"`);
    }
    const { source, caCertificate, minRefreshInterval, requestTimeout, allowInsecureHttp } = configured.options;
    if (!source) throw new InvalidInputError('config_invalid', 'spec.mtls.tokenValidators[jwks].options.source is required (a URL, a file path or an inline JWKS)');
    validators.set(
      'jwks',
      createJwksValidator({
        source,
        sentrySpiffeId: input.sentrySpiffeId,
        ...(caCertificate ? { caCertificate } : {}),
        ...(allowInsecureHttp === 'true' ? { allowInsecureHttp: true } : {}),
        ...(minRefreshInterval ? { minRefreshIntervalMs: parseDuration(minRefreshInterval) } : {}),
        ...(requestTimeout ? { requestTimeoutMs: parseDuration(requestTimeout) } : {}),
        logger: input.logger,
      }),
    );
  }
  if (input.mode === 'standalone' && input.config.tokenValidators.length === 0 && input.insecureEnabled) {
    validators.set('insecure', createInsecureValidator());
  }
  return validators;
}
