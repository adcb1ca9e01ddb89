import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1ValidatingWebhook,
  type V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { isNotFound, KubeApiError, requestOptions, syncLoop, worthWarning, type SyncState } from '@tsdapr/kube';
import { TsdaprError, type Logger, type Runner } from '@tsdapr/runtime';
import { DAPR_GROUP } from '../crds/crd.js';
import type { WebhookRegistration } from '../options.js';

export const SUBSCRIPTIONS_CRD = `subscriptions.${DAPR_GROUP}`;
export const COMPONENT_WEBHOOK_NAME = `components.validation.${DAPR_GROUP}`;
const WEBHOOK_SERVICE_PORT = 443;
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * `validating_webhook_configuration_missing`: in service mode the chart's
 * configuration does not exist (not installed by the chart, or uninstalled);
 * `validating_webhook_missing`: it exists without the Components webhook.
 */
export class WebhookRegistrationError extends TsdaprError {
  constructor(code: 'validating_webhook_configuration_missing' | 'validating_webhook_missing', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

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
 * stored object with this one is exact. In url mode the operator creates it;
 * in service mode the chart's template
 * (charts/tsdapr/templates/operator/validating-webhook-configuration.yaml)
 * renders the same webhook, which an integration test compares.
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

/** One JSON Patch operation (RFC 6902), as the API server takes them. */
export type JsonPatchOperation = { readonly op: 'test' | 'add'; readonly path: string; readonly value: unknown };

/**
 * Service mode: the JSON Patch that sets the caBundle of the Components
 * webhook in a configuration the chart created, or undefined when it is
 * already current. The webhook is found by name, and the patch first tests
 * that name at that index, so a configuration reordered in between is
 * refused (and retried) rather than patched in the wrong webhook.
 */
export function caBundlePatch(configuration: V1ValidatingWebhookConfiguration, caBundle: string): JsonPatchOperation[] | undefined {
  const index = (configuration.webhooks ?? []).findIndex((webhook) => webhook.name === COMPONENT_WEBHOOK_NAME);
  const webhook = configuration.webhooks?.[index];
  if (!webhook) {
    throw new WebhookRegistrationError('validating_webhook_missing', `ValidatingWebhookConfiguration ${configuration.metadata?.name ?? ''} has no webhook ${COMPONENT_WEBHOOK_NAME}; the chart's template defines it`);
  }
  if (webhook.clientConfig.caBundle === caBundle) return undefined;
  return [
    { op: 'test', path: `/webhooks/${index}/name`, value: COMPONENT_WEBHOOK_NAME },
    { op: 'add', path: `/webhooks/${index}/clientConfig/caBundle`, value: caBundle },
  ];
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
 * ValidatingWebhookConfiguration for Components (in service mode the chart's,
 * whose caBundle alone is patched; in url mode created and kept whole), both
 * kept equal to the current CA bundle and re-synced when it changes.
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

  // url mode (local runs, no chart): the operator owns the whole configuration.
  const syncOwnedValidation = async (signal: AbortSignal, pem: string): Promise<SyncState> => {
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

  // service mode: the chart owns the configuration (so `helm uninstall`
  // removes it); the operator only patches its caBundle and never creates
  // it, so an operator still terminating after an uninstall cannot bring it back.
  const patchChartValidationCaBundle = async (signal: AbortSignal, pem: string): Promise<SyncState> => {
    let current: V1ValidatingWebhookConfiguration;
    try {
      current = await admission.readValidatingWebhookConfiguration({ name: configurationName }, requestOptions({ signal, timeoutMs: REQUEST_TIMEOUT_MS }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      throw new WebhookRegistrationError('validating_webhook_configuration_missing', `ValidatingWebhookConfiguration ${configurationName} does not exist`, { cause: err });
    }
    const patch = caBundlePatch(current, Buffer.from(pem).toString('base64'));
    if (!patch) return 'synced';
    await admission.patchValidatingWebhookConfiguration(
      { name: configurationName, body: patch },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch, requestOptions({ signal, timeoutMs: REQUEST_TIMEOUT_MS })),
    );
    logger.info({ validatingWebhookConfiguration: configurationName }, 'validating webhook caBundle updated');
    return 'synced';
  };

  const syncValidation = async (signal: AbortSignal): Promise<SyncState> => {
    const pem = options.caBundle();
    if (pem === undefined) return 'waiting';
    return options.registration.mode === 'service' ? patchChartValidationCaBundle(signal, pem) : syncOwnedValidation(signal, pem);
  };

  /** `notFound`: what a 404 from the API server means for this writer, worth a warning rather than an error. */
  const loop = (what: string, sync: (signal: AbortSignal) => Promise<SyncState>, notFound?: string): Runner =>
    syncLoop({
      sync,
      onChange: options.onCaBundleChange,
      ...(options.resyncMs === undefined ? {} : { resyncMs: options.resyncMs }),
      onError: (err, attempt, delayMs) => {
        if (err instanceof WebhookRegistrationError) {
          options.onError(err.code);
          if (!worthWarning(attempt)) logger.debug({ code: err.code, attempt, delayMs }, err.message);
          else if (err.code === 'validating_webhook_configuration_missing') {
            logger.warn(
              { code: err.code, validatingWebhookConfiguration: configurationName, attempt, delayMs },
              `${err.message}: the chart creates it and the operator (--webhook-registration=service) only keeps its caBundle current; until it exists Components are admitted without the webhook's checks (the CRD's CEL rules still apply); retrying`,
            );
          } else logger.warn({ code: err.code, attempt, delayMs }, `${err.message}; retrying`);
          return;
        }
        const wrapped = KubeApiError.from(err, `register the ${what}`);
        options.onError(wrapped.code);
        if (isNotFound(err) && notFound !== undefined) logger.warn({ attempt, delayMs }, `cannot register the ${what}: ${notFound}; retrying`);
        else logger.error({ err: wrapped, attempt, delayMs }, `cannot register the ${what}; retrying`);
      },
    });
  return [loop('conversion webhook', syncConversion, `${SUBSCRIPTIONS_CRD} does not exist yet`), loop('validating webhook', syncValidation)];
}
