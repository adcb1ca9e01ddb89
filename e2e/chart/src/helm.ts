import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryPath, repoRoot } from '@tsdapr/e2e-harness';
import yaml from 'js-yaml';

/** The chart under test. */
export function chartDir(): string {
  return join(repoRoot(), 'charts', 'tsdapr');
}

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the pinned helm build (scripts/build-go-binaries.sh); never throws on a non-zero exit. */
export function helm(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<HelmResult> {
  const command = binaryPath('helm');
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, HELM_CACHE_HOME: join(tmpdir(), 'tsdapr-helm-cache'), HELM_CONFIG_HOME: join(tmpdir(), 'tsdapr-helm-config'), HELM_DATA_HOME: join(tmpdir(), 'tsdapr-helm-data') } }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(new Error(`cannot run ${command}: ${err.message}`, { cause: err }));
        return;
      }
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

/** helm that must succeed; the error quotes helm's stderr. */
export async function helmOk(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<string> {
  const result = await helm(args, options);
  if (result.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Values as a file for `-f`, removed by the returned cleanup. */
export function valuesFile(values: Record<string, unknown>): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tsdapr-values-'));
  const path = join(dir, 'values.yaml');
  writeFileSync(path, yaml.dump(values));
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A Kubernetes object as rendered: only what the tests look at is typed. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [key: string]: unknown;
}

export interface RenderOptions {
  readonly namespace?: string;
  readonly kubeVersion?: string;
  readonly extraArgs?: readonly string[];
}

/** `helm template` with the values; the result of a failed render carries helm's message. */
export async function renderChart(values: Record<string, unknown> = {}, options: RenderOptions = {}): Promise<{ ok: true; objects: K8sObject[] } | { ok: false; message: string }> {
  const file = valuesFile(values);
  try {
    const result = await helm([
      'template',
      'tsdapr',
      chartDir(),
      '--namespace',
      options.namespace ?? 'dapr-system',
      '--kube-version',
      options.kubeVersion ?? '1.34.0',
      '-f',
      file.path,
      ...(options.extraArgs ?? []),
    ]);
    if (result.code !== 0) return { ok: false, message: result.stderr };
    return { ok: true, objects: parseManifests(result.stdout) };
  } finally {
    file.cleanup();
  }
}

/** Renders and fails the test when the chart does not render. */
export async function render(values: Record<string, unknown> = {}, options: RenderOptions = {}): Promise<Manifest> {
  const result = await renderChart(values, options);
  if (!result.ok) throw new Error(`helm template failed: ${result.message}`);
  return new Manifest(result.objects);
}

export function parseManifests(text: string): K8sObject[] {
  return yaml.loadAll(text).filter((doc): doc is K8sObject => typeof doc === 'object' && doc !== null && 'kind' in doc);
}

/** Lookup over rendered objects. */
export class Manifest {
  constructor(readonly objects: readonly K8sObject[]) {}

  find(kind: string, name: string): K8sObject | undefined {
    return this.objects.find((o) => o.kind === kind && o.metadata.name === name);
  }

  get<T = K8sObject>(kind: string, name: string): T {
    const found = this.find(kind, name);
    if (!found) throw new Error(`no ${kind} ${name} among: ${this.objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
    return found as unknown as T;
  }

  ofKind(kind: string): K8sObject[] {
    return this.objects.filter((o) => o.kind === kind);
  }
}
