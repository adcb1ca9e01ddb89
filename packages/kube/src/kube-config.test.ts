import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfigError, loadKubeConfig } from './kube-config.js';

function kubeconfig(opts: { cluster: string; server: string; context?: string; current?: string }): string {
  const context = opts.context ?? opts.cluster;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${opts.cluster}`,
    '  cluster:',
    `    server: ${opts.server}`,
    '    certificate-authority: ca.crt',
    'users:',
    `- name: ${opts.cluster}-admin`,
    '  user:',
    '    token: abc',
    'contexts:',
    `- name: ${context}`,
    '  context:',
    `    cluster: ${opts.cluster}`,
    `    user: ${opts.cluster}-admin`,
    opts.current === undefined ? '' : `current-context: ${opts.current}`,
    '',
  ].join('\n');
}

const dir = mkdtempSync(join(tmpdir(), 'tsdapr-kubeconfig-'));

test('loads an explicit file and makes relative paths absolute', () => {
  const file = join(dir, 'one.yaml');
  writeFileSync(file, kubeconfig({ cluster: 'one', server: 'https://127.0.0.1:6443', current: 'one' }));
  const config = loadKubeConfig(file);
  assert.equal(config.getCurrentCluster()?.server, 'https://127.0.0.1:6443');
  assert.equal(config.getCurrentCluster()?.caFile, join(dir, 'ca.crt'));
});

test('merges a KUBECONFIG-style list, first file wins', () => {
  const a = join(dir, 'a.yaml');
  const b = join(dir, 'b.yaml');
  writeFileSync(a, kubeconfig({ cluster: 'a', server: 'https://a:6443' }));
  writeFileSync(b, kubeconfig({ cluster: 'b', server: 'https://b:6443', current: 'b' }));
  const config = loadKubeConfig(`${a}${delimiter}${b}`);
  assert.equal(config.getCurrentContext(), 'b');
  assert.equal(config.getCurrentCluster()?.server, 'https://b:6443');
  assert.deepEqual(
    config.getClusters().map((c) => c.name),
    ['a', 'b'],
  );
});

test('a missing file, a file without current-context and no in-cluster credentials are clear errors', () => {
  assert.throws(() => loadKubeConfig(join(dir, 'nope.yaml')), (err: unknown) => {
    assert.ok(err instanceof KubeConfigError);
    assert.equal(err.code, 'kubeconfig_not_found');
    assert.match(err.message, /nope\.yaml" does not exist/);
    return true;
  });
  const noCurrent = join(dir, 'nocurrent.yaml');
  writeFileSync(noCurrent, kubeconfig({ cluster: 'c', server: 'https://c:6443' }));
  assert.throws(() => loadKubeConfig(noCurrent), { code: 'kubeconfig_invalid' });
  assert.throws(() => loadKubeConfig(undefined, { inClusterPathPrefix: join(dir, 'no-such-root') }), {
    code: 'kubeconfig_not_found',
  });
  assert.throws(() => loadKubeConfig('', { inClusterPathPrefix: join(dir, 'no-such-root') }), { code: 'kubeconfig_not_found' });
});

test('in-cluster: reads the service-account files under the prefix', () => {
  const root = join(dir, 'pod');
  const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
  mkdirSync(sa, { recursive: true });
  writeFileSync(join(sa, 'token'), 'token');
  writeFileSync(join(sa, 'ca.crt'), '');
  writeFileSync(join(sa, 'namespace'), 'dapr-system');
  const saved = { host: process.env['KUBERNETES_SERVICE_HOST'], port: process.env['KUBERNETES_SERVICE_PORT'] };
  process.env['KUBERNETES_SERVICE_HOST'] = '10.0.0.1';
  process.env['KUBERNETES_SERVICE_PORT'] = '443';
  try {
    const config = loadKubeConfig(undefined, { inClusterPathPrefix: root });
    assert.equal(config.getCurrentCluster()?.server, 'https://10.0.0.1:443');
    delete process.env['KUBERNETES_SERVICE_HOST'];
    assert.throws(() => loadKubeConfig(undefined, { inClusterPathPrefix: root }), /KUBERNETES_SERVICE_HOST/);
  } finally {
    for (const [key, value] of [
      ['KUBERNETES_SERVICE_HOST', saved.host],
      ['KUBERNETES_SERVICE_PORT', saved.port],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
});
