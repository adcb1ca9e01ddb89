// Follows upstream's checks closely: dapr/dapr:pkg/sentry/server/validator/kubernetes/kubernetes.go@v1.17.5 (Apache-2.0, The Dapr Authors; see NOTICE). No code is copied.
import {
  AuthenticationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type V1Pod,
} from '@kubernetes/client-node';
import { formatSpiffeId } from '@tsdapr/grpc';
import { KubeApiError, createInformerCache, isNotFound, requestOptions, type InformerCache } from '@tsdapr/kube';
import { runAll, type Logger, type Runner } from '@tsdapr/runtime';
import { DEFAULT_TRUST_DOMAIN, checkCommon, validatedIdentity } from './common.js';
import { decodeJwt, kubernetesTokenClaims, type KubernetesTokenClaims } from './jwt.js';
import {
  LEGACY_SENTRY_AUDIENCE,
  checkExpectedId,
  configurationName,
  expectedPodIdentity,
  parseServiceAccountUsername,
  trustDomainFromConfiguration,
  type ConfigurationObject,
  type ServiceAccountRef,
} from './kubernetes-identity.js';
import { ValidationError, type SignRequestIdentity, type ValidatedIdentity, type Validator } from './validator.js';

export const CONFIGURATION_GROUP = 'dapr.io';
export const CONFIGURATION_VERSION = 'v1alpha1';
export const CONFIGURATION_PLURAL = 'configurations';

export interface KubernetesValidatorOptions {
  readonly kubeConfig: KubeConfig;
  /** The namespace sentry (and the control plane) runs in. */
  readonly sentryNamespace: string;
  readonly controlPlaneTrustDomain: string;
  readonly logger: Logger;
  /** A pod cache shared with other components; its owner runs it. Default: one of our own, run by `runner`. */
  readonly podCache?: InformerCache<V1Pod>;
  /** Likewise for Configurations. */
  readonly configurationCache?: InformerCache<ConfigurationObject>;
  /** Timeout of each API call (TokenReview, direct GETs). Default 10 s. */
  readonly requestTimeoutMs?: number;
}

/** A cluster-wide cache of pods (what the Kubernetes validator reads). Needs list/watch on pods. */
export function createPodCache(kubeConfig: KubeConfig, logger: Logger): InformerCache<V1Pod> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return createInformerCache<V1Pod>({
    kubeConfig,
    name: 'pods',
    path: '/api/v1/pods',
    logger,
    list: (signal) => core.listPodForAllNamespaces({}, requestOptions({ signal })),
  });
}

/** A cluster-wide cache of dapr.io/v1alpha1 Configurations. Needs list/watch on configurations.dapr.io. */
export function createConfigurationCache(kubeConfig: KubeConfig, logger: Logger): InformerCache<ConfigurationObject> {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  return createInformerCache<ConfigurationObject>({
    kubeConfig,
    name: 'configurations',
    path: `/apis/${CONFIGURATION_GROUP}/${CONFIGURATION_VERSION}/${CONFIGURATION_PLURAL}`,
    logger,
    list: async (signal) =>
      (await custom.listClusterCustomObject(
        { group: CONFIGURATION_GROUP, version: CONFIGURATION_VERSION, plural: CONFIGURATION_PLURAL },
        requestOptions({ signal }),
      )) as KubernetesListObject<ConfigurationObject>,
  });
}

/**
 * The Kubernetes validator (spec 2.3). Per request: common checks; a
 * TokenReview with audiences `dapr.io/sentry` and sentry's SPIFFE ID; the
 * service account from the reviewed username; the pod named in the token's
 * `kubernetes.io` claim, looked up in the service account's namespace; then
 * namespace, service account, pod UID and expected-id checks; finally the
 * trust domain, from the control plane or from the pod's Configuration.
 *
 * RBAC: create tokenreviews; get/list/watch pods and configurations.dapr.io.
 *
 * Differences from upstream, all stricter or more available:
 * - A pod or Configuration missing from the cache is fetched directly, so a
 *   pod created a moment ago gets its certificate; upstream fails the request
 *   ("failed to get pod of identity") until its cache catches up. For the
 *   same reason requests are served before the caches have synced.
 * - A token whose pod UID claim differs from the pod's UID (the pod was
 *   deleted and recreated under the same name) is refused (`pod_uid_mismatch`).
 */
export function createKubernetesValidator(options: KubernetesValidatorOptions): Validator {
  const logger = options.logger.child({ validator: 'kubernetes' });
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const sentryAudience = formatSpiffeId({
    trustDomain: options.controlPlaneTrustDomain,
    namespace: options.sentryNamespace,
    id: 'dapr-sentry',
  });
  const auth = options.kubeConfig.makeApiClient(AuthenticationV1Api);
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const custom = options.kubeConfig.makeApiClient(CustomObjectsApi);

  const owned: Runner[] = [];
  let podCache = options.podCache;
  if (!podCache) {
    podCache = createPodCache(options.kubeConfig, logger);
    owned.push(podCache.runner);
  }
  let configurationCache = options.configurationCache;
  if (!configurationCache) {
    configurationCache = createConfigurationCache(options.kubeConfig, logger);
    owned.push(configurationCache.runner);
  }
  const pods = podCache;
  const configurations = configurationCache;

  async function tokenReview(token: string, signal: AbortSignal | undefined): Promise<ServiceAccountRef> {
    let review;
    try {
      review = await auth.createTokenReview(
        {
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenReview',
            spec: { token, audiences: [LEGACY_SENTRY_AUDIENCE, sentryAudience] },
          },
        },
        requestOptions({ signal, timeoutMs }),
      );
    } catch (err) {
      const apiErr = KubeApiError.from(err, 'create TokenReview');
      throw new ValidationError('token_review_failed', `token review failed: ${apiErr.message}`, { cause: apiErr });
    }
    const status = review.status;
    if (status?.error) throw new ValidationError('token_not_authenticated', `invalid token: ${status.error}`);
    if (!status?.authenticated) throw new ValidationError('token_not_authenticated', 'authentication failed');
    return parseServiceAccountUsername(status.user?.username ?? '');
  }

  async function getPod(namespace: string, name: string, signal: AbortSignal | undefined): Promise<V1Pod> {
    try {
      return await core.readNamespacedPod({ namespace, name }, requestOptions({ signal, timeoutMs }));
    } catch (err) {
      if (isNotFound(err)) {
        throw new ValidationError('pod_not_found', `failed to get pod of identity: pod ${namespace}/${name} does not exist`, { cause: err });
      }
      const apiErr = KubeApiError.from(err, `get pod ${namespace}/${name}`);
      throw new ValidationError('pod_lookup_failed', `failed to get pod of identity: ${apiErr.message}`, { cause: apiErr });
    }
  }

  /** The pod the token was issued for: from the cache, else (or when the cache has an older pod of that name) from the API. */
  async function podOfToken(namespace: string, claims: KubernetesTokenClaims & { podName: string }, signal: AbortSignal | undefined): Promise<V1Pod> {
    const cached = pods.get(namespace, claims.podName);
    let pod = cached;
    if (!pod) {
      logger.debug({ namespace, pod: claims.podName }, 'pod not in cache; reading it from the API');
      pod = await getPod(namespace, claims.podName, signal);
    }
    if (claims.podUid !== undefined && pod.metadata?.uid !== claims.podUid && cached) {
      // The cache may lag behind a pod recreated under the same name.
      pod = await getPod(namespace, claims.podName, signal);
    }
    if (claims.podUid !== undefined && pod.metadata?.uid !== claims.podUid) {
      throw new ValidationError(
        'pod_uid_mismatch',
        `the token was issued for pod ${namespace}/${claims.podName} with UID ${claims.podUid}, but that pod now has UID ${pod.metadata?.uid ?? '(none)'} ` +
          '(it was deleted and recreated); the new pod must use its own token',
      );
    }
    return pod;
  }

  async function trustDomainOfPod(pod: V1Pod, namespace: string, signal: AbortSignal | undefined): Promise<string> {
    const name = configurationName(pod);
    if (name === undefined) return DEFAULT_TRUST_DOMAIN;
    let config = configurations.get(namespace, name);
    if (!config) {
      try {
        config = (await custom.getNamespacedCustomObject(
          { group: CONFIGURATION_GROUP, version: CONFIGURATION_VERSION, namespace, plural: CONFIGURATION_PLURAL, name },
          requestOptions({ signal, timeoutMs }),
        )) as ConfigurationObject;
      } catch (err) {
        if (isNotFound(err)) {
          throw new ValidationError(
            'configuration_not_found',
            `failed to get configuration "${name}" in namespace "${namespace}" (named by the pod's dapr.io/config annotation): it does not exist`,
            { cause: err },
          );
        }
        const apiErr = KubeApiError.from(err, `get configuration ${namespace}/${name}`);
        throw new ValidationError('configuration_lookup_failed', `failed to get configuration: ${apiErr.message}`, { cause: apiErr });
      }
    }
    return trustDomainFromConfiguration(config);
  }

  async function validate(req: SignRequestIdentity, signal?: AbortSignal): Promise<ValidatedIdentity> {
    // The request's trust_domain is ignored: the cluster decides it.
    checkCommon(req);
    if (req.token === '') throw new ValidationError('token_missing', 'the request does not contain a token');

    const serviceAccount = await tokenReview(req.token, signal);

    // The apiserver has verified the token, so its claims can be read without a key.
    const claims = kubernetesTokenClaims(decodeJwtForClaims(req.token));
    const podName = claims.podName;
    if (podName === undefined) {
      throw new ValidationError(
        'token_pod_claim_missing',
        'kubernetes.io/pod/name claim is missing from Kubernetes token (the token must be bound to a pod: use a projected service-account token)',
      );
    }
    const pod = await podOfToken(serviceAccount.namespace, { ...claims, podName }, signal);

    if (serviceAccount.namespace !== req.namespace) {
      throw new ValidationError('namespace_mismatch', `namespace mismatch; received namespace: ${req.namespace}`);
    }
    const podServiceAccount = pod.spec?.serviceAccountName ?? 'default';
    if (podServiceAccount !== serviceAccount.name) {
      throw new ValidationError(
        'service_account_mismatch',
        `pod service account mismatch: pod ${req.namespace}/${podName} runs as "${podServiceAccount}", the token is for "${serviceAccount.name}"`,
      );
    }

    const expected = expectedPodIdentity(pod, options.sentryNamespace);
    checkExpectedId(expected.id, req.id);

    const trustDomain = expected.controlPlane ? options.controlPlaneTrustDomain : await trustDomainOfPod(pod, req.namespace, signal);
    return validatedIdentity(trustDomain, req.namespace, req.id);
  }

  return {
    name: 'kubernetes',
    validate,
    ready: () => pods.ready() && configurations.ready(),
    ...(owned.length > 0 ? { runner: (signal: AbortSignal) => runAll(signal, owned) } : {}),
  };
}

/** The payload of a token the apiserver accepted; a token that is not a JWT has no pod claim. */
function decodeJwtForClaims(token: string): Readonly<Record<string, unknown>> {
  try {
    return decodeJwt(token).payload;
  } catch (err) {
    throw new ValidationError('token_pod_claim_missing', 'kubernetes.io/pod/name claim is missing from Kubernetes token (it is not a JWT)', {
      cause: err,
    });
  }
}
