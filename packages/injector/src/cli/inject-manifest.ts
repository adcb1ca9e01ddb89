import yaml from 'js-yaml';
import { TsdaprError } from '@tsdapr/runtime';
import type { InjectorSettings } from '../patch/injector-settings.js';
import { applyJsonPatch } from '../patch/json-patch.js';
import type { Pod } from '../patch/pod-types.js';
import { buildSidecarPatch } from '../patch/sidecar-patch.js';

export class InjectManifestError extends TsdaprError {}

export interface InjectManifestOptions {
  readonly settings: InjectorSettings;
  /** Namespace for objects that name none. */
  readonly defaultNamespace: string;
}

export interface InjectManifestResult {
  readonly yaml: string;
  /** `Kind/name: message` lines for the person running the command. */
  readonly warnings: readonly string[];
  /** Pods (or templates) that the webhook would deny; nothing should be applied when there are any. */
  readonly errors: readonly string[];
  readonly injected: number;
}

type Doc = Record<string, unknown>;

/** Where each workload kind keeps its pod template. */
const TEMPLATE_PATHS: Record<string, readonly string[]> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/**
 * `tsdapr inject`: adds the daprd sidecar to every Pod and workload pod
 * template in a (multi-document) manifest with the webhook's own patch code,
 * so what is reviewed or committed is what the cluster would run. Other
 * documents pass through unchanged.
 */
export function injectManifest(text: string, options: InjectManifestOptions): InjectManifestResult {
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text);
  } catch (err) {
    throw new InjectManifestError('manifest_invalid', `the manifest is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const warnings: string[] = [];
  const errors: string[] = [];
  let injected = 0;

  const visit = (doc: unknown): unknown => {
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return doc;
    const object = doc as Doc;
    const kind = typeof object.kind === 'string' ? object.kind : '';
    const metadata = (object.metadata ?? {}) as { name?: string; namespace?: string };
    const label = `${kind || 'object'}/${metadata.name ?? '(unnamed)'}`;
    if (kind === 'List' && Array.isArray(object.items)) return { ...object, items: object.items.map(visit) };

    const namespace = metadata.namespace ?? options.defaultNamespace;
    if (kind === 'Pod') return injectPod(object, namespace, label, false);
    const path = TEMPLATE_PATHS[kind];
    if (!path) return doc;
    const template = getPath(object, path);
    if (typeof template !== 'object' || template === null) return doc;
    const updated = injectPod(template as Pod, namespace, label, true);
    return setPath(object, path, updated);
  };

  const injectPod = (pod: Pod, namespace: string, label: string, fromTemplate: boolean): Pod => {
    // A template's pods get their names from the controller: as at admission, there is none yet.
    const subject: Pod = fromTemplate
      ? { ...pod, metadata: { ...pod.metadata, name: '', ownerReferences: [{ kind: 'Controller', controller: true }] } }
      : pod;
    const result = buildSidecarPatch({ pod: subject, namespace, settings: options.settings });
    for (const warning of result.warnings) warnings.push(`${label}: ${warning.message}`);
    switch (result.kind) {
      case 'skip':
        return pod;
      case 'deny':
        for (const denial of result.denials) errors.push(`${label}: ${denial.message}`);
        return pod;
      case 'patch':
        injected += 1;
        return applyJsonPatch(pod, result.patch);
    }
  };

  const out = docs.map(visit);
  const rendered = out
    .filter((doc) => doc !== null && doc !== undefined)
    .map((doc) => yaml.dump(doc, { noRefs: true, lineWidth: -1, quotingType: '"' }))
    .join('---\n');
  return { yaml: rendered, warnings, errors, injected };
}

function getPath(object: Doc, path: readonly string[]): unknown {
  let node: unknown = object;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Doc)[key];
  }
  return node;
}

function setPath(object: Doc, path: readonly string[], value: unknown): Doc {
  const [head, ...rest] = path;
  if (head === undefined) return value as Doc;
  const child = (object[head] ?? {}) as Doc;
  return { ...object, [head]: rest.length === 0 ? value : setPath(child, rest, value) };
}
