import { loadKubeConfig } from '@tsdapr/kube';
import { collectStatus } from './collect-status.js';
import { formatJson, formatTable } from './format-status.js';
import type { StatusOptions } from './options.js';
import type { ClusterStatus } from './status-model.js';

/** Collects the status of the kubeconfig's current cluster and renders it as asked. */
export async function runStatus(options: StatusOptions, now: Date = new Date()): Promise<{ status: ClusterStatus; text: string }> {
  const kc = loadKubeConfig(options.kubeconfigPath);
  const status = await collectStatus(kc, {
    controlPlaneNamespace: options.controlPlaneNamespace,
    expiryWarningWindowMs: options.expiryWarningWindowMs,
    requestTimeoutMs: options.requestTimeoutMs,
    now,
  });
  return { status, text: options.output === 'json' ? formatJson(status) : formatTable(status) };
}
