import { AdmissionregistrationV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, isNotFound, requestOptions, syncLoop } from '@tsdapr/kube';
import type { SyncState } from '@tsdapr/kube';
import type { Logger, Runner } from '@tsdapr/runtime';
import type { InjectorMetrics } from '../metrics.js';

/** Upstream's MutatingWebhookConfiguration name (chart `dapr_sidecar_injector`). */
export const WEBHOOK_CONFIGURATION_NAME = 'dapr-sidecar-injector';

export interface CaBundleControllerOptions {
  readonly kubeConfig: KubeConfig;
  /** The MutatingWebhookConfiguration to keep current; its first webhook is the injector's. */
  readonly name: string;
  /** The PEM the API server must trust to call the webhook; undefined while unknown. */
  readonly caBundle: () => string | undefined;
  /** Subscribes to changes of the CA bundle; returns an unsubscribe function. */
  readonly onCaBundleChange: (listener: () => void) => () => void;
  readonly logger: Logger;
  readonly metrics: InjectorMetrics;
  /** Set true once the configuration carries the current bundle. */
  readonly setReady: (ready: boolean) => void;
  /** Re-check even without a change, so a bundle reset by hand is put back. Default 5 min. */
  readonly resyncMs?: number;
}

/**
 * Keeps `webhooks[0].clientConfig.caBundle` of the injector's
 * MutatingWebhookConfiguration equal to the CA bundle, as upstream does at
 * startup and whenever the trust anchors change. Level-triggered: it reads
 * the object and writes only when the bundle differs; failures (including a
 * configuration that does not exist yet) are retried with backoff by the
 * shared sync loop.
 */
export function caBundleController(options: CaBundleControllerOptions): Runner {
  const api = options.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const logger = options.logger.child({ controller: 'ca-bundle', webhookConfiguration: options.name });

  const reconcile = async (signal: AbortSignal): Promise<SyncState> => {
    const pem = options.caBundle();
    if (pem === undefined) return 'waiting';
    const desired = Buffer.from(pem).toString('base64');
    const current = await api.readMutatingWebhookConfiguration({ name: options.name }, requestOptions({ signal, timeoutMs: 10_000 }));
    const webhook = current.webhooks?.[0];
    if (!webhook) throw new Error(`MutatingWebhookConfiguration ${options.name} has no webhooks`);
    if (webhook.clientConfig.caBundle === desired) return 'synced';
    await api.patchMutatingWebhookConfiguration(
      { name: options.name, body: [{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: desired }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch, requestOptions({ signal, timeoutMs: 10_000 })),
    );
    options.metrics.caBundlePatches.inc({ result: 'patched' });
    logger.info('caBundle updated');
    return 'synced';
  };

  return syncLoop({
    sync: reconcile,
    onChange: options.onCaBundleChange,
    setReady: options.setReady,
    ...(options.resyncMs === undefined ? {} : { resyncMs: options.resyncMs }),
    onError: (err, attempt, delayMs) => {
      options.metrics.caBundlePatches.inc({ result: 'error' });
      const wrapped = KubeApiError.from(err, `update caBundle of MutatingWebhookConfiguration ${options.name}`);
      if (isNotFound(err)) logger.warn({ attempt, delayMs }, 'the MutatingWebhookConfiguration does not exist yet; retrying');
      else logger.error({ err: wrapped, attempt, delayMs }, 'cannot update the caBundle; retrying');
    },
  });
}
