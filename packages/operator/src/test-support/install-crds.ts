import type { KubeConfig } from '@kubernetes/client-node';
import { pollUntil } from '@tsdapr/e2e-harness';
import { allCrds } from '../crds/all-crds.js';
import type { CustomResourceDefinition } from '../crds/crd.js';
import { kubeRequest, statusMessage } from './kube-http.js';

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/** Creates or replaces every generated CRD (raw JSON, see kube-http.ts) and waits until each is established. */
export async function installCrds(kubeConfig: KubeConfig, patch: (crd: CustomResourceDefinition) => CustomResourceDefinition = (crd) => crd): Promise<void> {
  for (const crd of allCrds().map(patch)) {
    const name = crd.metadata.name;
    let response = await kubeRequest(kubeConfig, 'POST', CRDS, crd);
    for (let attempt = 0; response.status === 409 && attempt < 5; attempt++) {
      const current = await kubeRequest(kubeConfig, 'GET', `${CRDS}/${name}`);
      const live = current.body as { metadata?: { resourceVersion?: string }; spec?: { conversion?: { webhook?: { clientConfig?: { caBundle?: string } } } } };
      // Keep a conversion client an operator registered: test files run in parallel.
      const conversion = live.spec?.conversion?.webhook?.clientConfig?.caBundle ? live.spec.conversion : crd.spec.conversion;
      response = await kubeRequest(kubeConfig, 'PUT', `${CRDS}/${name}`, { ...crd, metadata: { ...crd.metadata, resourceVersion: live.metadata?.resourceVersion }, spec: { ...crd.spec, ...(conversion ? { conversion } : {}) } });
    }
    if (response.status >= 300) throw new Error(`installing CRD ${name}: HTTP ${response.status}: ${statusMessage(response)}`);
    await pollUntil(`CRD ${name} established`, async () => {
      const current = await kubeRequest(kubeConfig, 'GET', `${CRDS}/${name}`);
      const conditions = (current.body as { status?: { conditions?: Array<{ type: string; status: string }> } }).status?.conditions ?? [];
      return conditions.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    }, { timeoutMs: 20_000 });
  }
}
