import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1ValidatingWebhook,
  type V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { isNotFound, KubeApiError, requestOptions, syncLoop, type SyncState } from '@tsdapr/kube';
import type { Logger, Runner } from '@tsdapr/runtime';
import { DAPR_GROUP } from '../crds/crd.js';
import type { WebhookRegistration } from '../options.js';

export const SUBSCRIPTIONS_CRD = `subscriptions.${DAPR_GROUP}`;
export const COMPONENT_WEBHOOK_NAME = `components.validation.${DAPR_GROUP}`;
const WEBHOOK_SERVICE_PORT = 443;
const REQUEST_TIMEOUT_MS = 10_000;

export interface WebhookClientConfig {
  readonly url?: string;
  readonly service?: { readonly namespace: string; readonly name: string; readonly path: string; readonly port: number };
  readonly caBundle: string;
}

/** Where the API server sends a webhook call for `path`, trusting `caBundlePem`. */
export function webhookClientConfig(registration: Exclude<WebhookRegistration, { mode: 'none' }>, namespace: string, path: string, caBundlePem: string): WebhookClientConfig {
  const caBundle = Buffer.from(caBundlePem).toString('base64');
  return registration.mode === 'service'
    ? { service: { namespace, name: registration.serviceName, path, port: WEBHOOK_SERVICE_PORT }, caBundle }
    : { url: `${registration.baseUrl}${path}`, caBundle };
}

/**
 * The operator's ValidatingWebhookConfiguration: Component creates and
 * updates go to `/validate`. failurePolicy Ignore: a stopped operator must
 * not block users from applying Components; the CRD's CEL rules still hold.
 * With --watch-namespace only that namespace is sent, since the webhook's
 * facts (the app ids of running workloads) come from that namespace only.
 * Every field the API server would default is set, so that comparing the
 * stored object with this one is exact.
 */
export function desiredValidatingWebhookConfiguration(name: string, clientConfig: WebhookClientConfig, watchNamespace?: string): V1ValidatingWebhookConfiguration {
  const webhook: V1ValidatingWebhook = {
    name: COMPONENT_WEBHOOK_NAME,
    clientConfig: { ...clientConfig, ...(clientConfig.service ? { service: { ...clientConfig.service } } : {}) },
    rules: [{ apiGroups: [DAPR_GROUP], apiVersions: ['v1alpha1'], resources: ['components'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' }],
    failurePolicy: 'Ignore',
    matchPolicy: 'Equivalent',
    sideEffects: 'None',
    timeoutSeconds: 5,
    admissionReviewVersions: ['v1'],
    namespaceSelector: watchNamespace ? { matchLabels: { 'kubernetes.io/metadata.name': watchNamespace } } : {},
    objectSelector: {},
  };
  return { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name, labels: { 'app.kubernetes.io/part-of': 'dapr', 'app.kubernetes.io/managed-by': 'dapr-operator' } }, webhooks: [webhook] };
}

/** The fields of a webhook the operator owns, in a stable order, for comparison. */
export function ownedWebhookFields(webhooks: readonly V1ValidatingWebhook[] | undefined): string {
  return JSON.stringify(
    (webhooks ?? []).map((w) => [
      w.name,
      w.clientConfig.url ?? null,
      w.clientConfig.service ? [w.clientConfig.service.namespace, w.clientConfig.service.name, w.clientConfig.service.path ?? null, w.clientConfig.service.port ?? null] : null,
      w.clientConfig.caBundle ?? null,
      (w.rules ?? []).map((r) => [r.apiGroups, r.apiVersions, r.resources, r.operations, r.scope ?? null]),
      w.failurePolicy ?? null,
      w.matchPolicy ?? null,
      w.sideEffects,
      w.timeoutSeconds ?? null,
      w.admissionReviewVersions,
      w.namespaceSelector?.matchLabels ?? {},
      w.namespaceSelector?.matchExpressions ?? [],
    ]),
  );
}

export interface WebhookRegistrationOptions {
  readonly kubeConfig: KubeConfig;
  readonly registration: Exclude<WebhookRegistration, { mode: 'none' }>;
  /** The control-plane namespace (the Service's). */
  readonly namespace: string;
  readonly watchNamespace?: string | undefined;
  /** The PEM the API server must trust to call the webhooks; undefined while unknown. */
  readonly caBundle: () => string | undefined;
  readonly onCaBundleChange: (listener: () => void) => () => void;
  readonly logger: Logger;
  readonly onError: (code: string) => void;
  readonly resyncMs?: number;
}

/**
 * Two writers, as upstream plus one: the conversion client of the
 * `subscriptions.dapr.io` CRD (service or URL, and caBundle) and the
 * ValidatingWebhookConfiguration for Components, both kept equal to the
 * current CA bundle and re-synced when it changes.
 */
export function webhookRegistrationRunners(options: WebhookRegistrationOptions): Runner[] {
  const extensions = options.kubeConfig.makeApiClient(ApiextensionsV1Api);
  const admission = options.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const logger = options.logger.child({ controller: 'webhook-registration' });
  const configurationName = options.registration.validatingConfigurationName;

  const syncConversion = async (signal: AbortSignal): Promise<SyncState> => {
    const pem = options.caBundle();
    if (pem === undefined) return 'waiting';
    const desired = webhookClientConfig(options.registration, options.namespace, '/convert', pem);
    const crd = await extensions.readCustomResourceDefinition({ name: SUBSCRIPTIONS_CRD }, requestOptions({ signal, timeoutMs: REQUEST_TIMEOUT_MS }));
    const current = crd.spec.conversion?.webhook?.clientConfig;
    const same =
      crd.spec.conversion?.strategy === 'Webhook' &&
      current?.caBundle === desired.caBundle &&
      (current.url ?? null) === (desired.url ?? null) &&
      JSON.stringify(current.service ? [current.service.namespace, current.service.name, current.service.path, current.service.port] : null) ===
        JSON.stringify(desired.service ? [desired.service.namespace, desired.service.name, desired.service.path, desired.service.port] : null);
    if (same) return 'synced';
    // A merge patch: `null` removes the other way of reaching the webhook.
    const clientConfig = { url: desired.url ?? null, service: desired.service ?? null, caBundle: desired.caBundle };
    await extensions.patchCustomResourceDefinition(
      { name: SUBSCRIPTIONS_CRD, body: { spec: { conversion: { strategy: 'Webhook', webhook: { clientConfig, conversionReviewVersions: ['v1'] } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch, requestOptions({ signal, timeoutMs: REQUEST_TIMEOUT_MS })),
    );
    logger.info({ crd: SUBSCRIPTIONS_CRD, url: desired.url, service: desired.service?.name }, 'conversion webhook registered');
    return 'synced';
  };

  const syncValidation = async (signal: AbortSignal): Promise<SyncState> => {
    const pem = options.caBundle();
    if (pem === undefined) return 'waiting';
    const desired = desiredValidatingWebhookConfiguration(configurationName, webhookClientConfig(options.registration, options.namespace, '/validate', pem), options.watchNamespace);
    let current: V1ValidatingWebhookConfiguration | undefined;
    try {
      current = await admission.readValidatingWebhookConfiguration({ name: configurationName }, requestOptions({ signal, timeoutMs: REQUEST_TIMEOUT_MS }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!current) {
      await admission.createValidatingWebhookConfiguration({ body: desired }, requestOptions({ signal, timeoutMs: REQUEST_TIMEOUT_MS }));
      logger.info({ validatingWebhookConfiguration: configurationName }, 'validating webhook registered');
      return 'synced';
    }
    if (ownedWebhookFields(current.webhooks) === ownedWebhookFields(desired.webhooks)) return 'synced';
    await admission.replaceValidatingWebhookConfiguration(
      { name: configurationName, body: { ...desired, metadata: { ...current.metadata, labels: { ...current.metadata?.labels, ...desired.metadata?.labels } } } },
      requestOptions({ signal, timeoutMs: REQUEST_TIMEOUT_MS }),
    );
    logger.info({ validatingWebhookConfiguration: configurationName }, 'validating webhook updated');
    return 'synced';
  };

  const loop = (what: string, sync: (signal: AbortSignal) => Promise<SyncState>): Runner =>
    syncLoop({
      sync,
      onChange: options.onCaBundleChange,
      ...(options.resyncMs === undefined ? {} : { resyncMs: options.resyncMs }),
      onError: (err, attempt, delayMs) => {
        const wrapped = KubeApiError.from(err, `register the ${what}`);
        options.onError(wrapped.code);
        if (isNotFound(err)) logger.warn({ attempt, delayMs }, `cannot register the ${what}: ${SUBSCRIPTIONS_CRD} does not exist yet; retrying`);
        else logger.error({ err: wrapped, attempt, delayMs }, `cannot register the ${what}; retrying`);
      },
    });
  return [loop('conversion webhook', syncConversion), loop('validating webhook', syncValidation)];
}
