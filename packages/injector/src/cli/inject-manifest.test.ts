import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import yaml from 'js-yaml';
import { defaultInjectorSettings } from '../patch/injector-settings.js';
import type { Container } from '../patch/pod-types.js';
import { injectManifest } from './inject-manifest.js';

const SETTINGS = defaultInjectorSettings({ trustAnchorsPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' });

const MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: { app: orders }
  template:
    metadata:
      labels: { app: orders }
      annotations:
        dapr.io/enabled: "true"
        dapr.io/app-id: orders
        dapr.io/app-port: "8080"
    spec:
      containers:
        - name: orders
          image: example.com/orders:1
---
apiVersion: v1
kind: Service
metadata:
  name: orders
spec:
  ports: [{ port: 80 }]
---
apiVersion: v1
kind: Pod
metadata:
  name: plain
spec:
  containers: [{ name: app, image: example.com/app:1 }]
`;

interface Workload {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[]; volumes?: { name: string }[] } } };
}

void describe('injectManifest', () => {
  void test('adds daprd to workload templates only where enabled, leaving other documents as they are', () => {
    const result = injectManifest(MANIFEST, { settings: SETTINGS, defaultNamespace: 'default' });
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.warnings, []);
    assert.equal(result.injected, 1);
    const docs = yaml.loadAll(result.yaml) as Workload[];
    assert.deepEqual(docs.map((d) => d.kind), ['Deployment', 'Service', 'Pod']);
    const template = docs[0]!.spec.template;
    assert.deepEqual(template.spec.containers.map((c) => c.name), ['orders', 'daprd']);
    const daprd = template.spec.containers[1]!;
    assert.ok(daprd.args?.includes('--app-port'));
    assert.deepEqual(daprd.env?.[0], { name: 'NAMESPACE', value: 'shop' });
    assert.deepEqual(daprd.env?.[1], { name: 'DAPR_TRUST_ANCHORS', value: SETTINGS.trustAnchorsPem });
    assert.equal(template.metadata.labels['dapr.io/app-id'], 'orders');
    assert.deepEqual(template.spec.volumes?.map((v) => v.name), ['dapr-identity-token']);
    assert.deepEqual(docs[1], yaml.loadAll(MANIFEST)[1]);
    assert.deepEqual(docs[2], yaml.loadAll(MANIFEST)[2]);
  });

  void test('running it twice changes nothing more', () => {
    const once = injectManifest(MANIFEST, { settings: SETTINGS, defaultNamespace: 'default' });
    const twice = injectManifest(once.yaml, { settings: SETTINGS, defaultNamespace: 'default' });
    assert.equal(twice.yaml, once.yaml);
    assert.equal(twice.injected, 0);
  });

  void test('a template without an app id is an error, as the webhook would deny its pods', () => {
    const result = injectManifest(MANIFEST.replace('        dapr.io/app-id: orders\n', ''), { settings: SETTINGS, defaultNamespace: 'default' });
    assert.equal(result.errors.length, 1);
    assert.match(result.errors[0] ?? '', /^Deployment\/orders: dapr\.io\/app-id is not set and the pod has no name yet/);
  });

  void test('warnings name the object', () => {
    const result = injectManifest(MANIFEST.replace('dapr.io/app-port: "8080"', 'dapr.io/app_port: "8080"'), { settings: SETTINGS, defaultNamespace: 'default' });
    assert.deepEqual(result.warnings, ['Deployment/orders: dapr.io/app_port is not a Dapr annotation and is ignored: did you mean dapr.io/app-port?']);
  });

  void test('CronJob templates, bare pods and Lists', () => {
    const cron = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c' }, spec: { jobTemplate: { spec: { template: { metadata: { annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'c' } }, spec: { containers: [{ name: 'job' }] } } } } } };
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { 'dapr.io/enabled': 'true' } }, spec: { containers: [{ name: 'app' }] } };
    const list = { apiVersion: 'v1', kind: 'List', items: [cron, pod] };
    const result = injectManifest(yaml.dump(list), { settings: SETTINGS, defaultNamespace: 'default' });
    assert.equal(result.injected, 2);
    assert.match(result.warnings[0] ?? '', /^Pod\/p: dapr\.io\/app-id is not set: the app id defaults to the pod name "p"/);
  });

  void test('invalid YAML is a clear error', () => {
    assert.throws(() => injectManifest('a: [', { settings: SETTINGS, defaultNamespace: 'default' }), /the manifest is not valid YAML/);
  });
});

void describe('tsdapr inject command', () => {
  const cli = fileURLToPath(new URL('./tsdapr-cli.js', import.meta.url));

  void test('prints the injected manifest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsdapr-cli-'));
    try {
      const file = join(dir, 'deploy.yaml');
      const anchors = join(dir, 'ca.crt');
      writeFileSync(file, MANIFEST);
      writeFileSync(anchors, SETTINGS.trustAnchorsPem);
      const out = execFileSync(process.execPath, [cli, 'inject', '-f', file, '--trust-anchors-file', anchors, '--sidecar-image', 'example.com/daprd:dev'], { encoding: 'utf8' });
      const deployment = (yaml.loadAll(out) as Workload[])[0]!;
      assert.equal(deployment.spec.template.spec.containers[1]?.image, 'example.com/daprd:dev');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void test('exits 1 with the reason when the webhook would deny', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsdapr-cli-'));
    try {
      const file = join(dir, 'deploy.yaml');
      writeFileSync(file, MANIFEST.replace('dapr.io/app-port: "8080"', 'dapr.io/app-protocol: tcp'));
      const run = spawnSync(process.execPath, [cli, 'inject', '-f', file], { encoding: 'utf8' });
      assert.equal(run.status, 1);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /error: Deployment\/orders: dapr\.io\/app-protocol: "tcp" is not an app protocol/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
