import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '@tsdapr/e2e-harness';
import yaml from 'js-yaml';
import { chartDir, helm, renderChart, valuesFile } from './helm.js';

describe('helm lint', () => {
  for (const [name, values] of [
    ['default values', {}],
    ['HA values', { global: { ha: { enabled: true } } }],
  ] as const) {
    test(name, async () => {
      const file = valuesFile(values);
      try {
        const result = await helm(['lint', '--strict', chartDir(), '-f', file.path]);
        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      } finally {
        file.cleanup();
      }
    });
  }
});

describe('values.schema.json', () => {
  const cases: { name: string; values: Record<string, unknown>; message: RegExp }[] = [
    { name: 'an unknown global key', values: { global: { bogus: true } }, message: /\/global.*additional properties 'bogus' not allowed/ },
    { name: 'an unknown component key', values: { dapr_sentry: { replicas: 2 } }, message: /\/dapr_sentry.*additional properties 'replicas' not allowed/ },
    { name: 'an unknown top-level block', values: { dapr_daprd: { enabled: false } }, message: /additional properties 'dapr_daprd' not allowed/ },
    { name: 'an unknown key in an upstream block', values: { dapr_rbac: { secretReader: { enabled: false, name: 'reader' } } }, message: /\/dapr_rbac\/secretReader.*additional properties 'name' not allowed/ },
    { name: 'an unknown scheduler key', values: { dapr_scheduler: { replicas: 3 } }, message: /\/dapr_scheduler.*additional properties 'replicas' not allowed/ },
    { name: 'an unknown key of an upstream image value', values: { dapr_scheduler: { image: { name: 'scheduler', tag: '1.17.5' } } }, message: /\/dapr_scheduler\/image.*additional properties 'tag' not allowed/ },
    { name: 'an unknown scheduler storage key', values: { dapr_scheduler: { cluster: { etcdDataDirWinPathname: 'C:\\dapr' } } }, message: /\/dapr_scheduler\/cluster.*additional properties 'etcdDataDirWinPathname' not allowed/ },
    { name: 'a scheduler with no replicas', values: { dapr_scheduler: { replicaCount: 0 } }, message: /\/dapr_scheduler\/replicaCount/ },
    { name: 'a bad etcd compaction mode', values: { dapr_scheduler: { etcdCompactionMode: 'sometimes' } }, message: /etcdCompactionMode/ },
    { name: 'an external etcd endpoint without a scheme', values: { dapr_scheduler: { etcdEmbed: false, etcdClientEndpoints: ['etcd:2379'] } }, message: /etcdClientEndpoints/ },
    { name: 'a string for a boolean', values: { global: { ha: { enabled: 'yes' } } }, message: /\/global\/ha\/enabled.*got string, want boolean/ },
    { name: 'a string for a port', values: { global: { prometheus: { port: 'ninety' } } }, message: /\/global\/prometheus\/port.*got string, want integer/ },
    { name: 'a bad enum', values: { dapr_sidecar_injector: { webhookFailurePolicy: 'Sometimes' } }, message: /webhookFailurePolicy/ },
    { name: 'a bad duration', values: { dapr_placement: { keepAliveTime: 'two seconds' } }, message: /keepAliveTime/ },
  ];
  for (const c of cases) {
    test(`rejects ${c.name}`, async () => {
      const result = await renderChart(c.values);
      assert.equal(result.ok, false, 'the render should fail');
      if (!result.ok) assert.match(result.message, c.message);
    });
  }
});

describe('impossible combinations fail with a message', () => {
  const cases: { name: string; values: Record<string, unknown>; kubeVersion?: string; message: RegExp }[] = [
    { name: 'HA with one replica', values: { global: { ha: { enabled: true, replicaCount: 1 } } }, message: /global\.ha\.enabled needs global\.ha\.replicaCount of at least 2 \(got 1\)/ },
    { name: 'placement HA with one replica', values: { global: { ha: { replicaCount: 1 } }, dapr_placement: { ha: true } }, message: /dapr_placement\.ha needs global\.ha\.replicaCount of at least 2/ },
    { name: 'placement scaled to zero in HA', values: { global: { ha: { enabled: true } }, dapr_placement: { scaleZero: true } }, message: /dapr_placement\.scaleZero cannot be combined with HA/ },
    { name: 'native sidecars on Kubernetes 1.28', values: { dapr_sidecar_injector: { nativeSidecar: true } }, kubeVersion: '1.28.5', message: /nativeSidecar needs Kubernetes 1\.29 or newer.*v1\.28\.5/ },
    { name: 'half a trust bundle', values: { dapr_sentry: { tls: { root: { certPEM: '-----BEGIN CERTIFICATE-----\n' } } } }, message: /go together: give all three or none/ },
    { name: 'health and metrics on one port', values: { dapr_placement: { healthzPort: 9090 } }, message: /dapr_placement\.healthzPort and global\.prometheus\.port are both 9090/ },
    { name: 'scheduler health and metrics on one port', values: { dapr_scheduler: { healthzPort: 9090 } }, message: /dapr_scheduler\.healthzPort and global\.prometheus\.port are both 9090/ },
    { name: 'embedded etcd with external endpoints', values: { dapr_scheduler: { etcdClientEndpoints: ['http://etcd:2379'] } }, message: /dapr_scheduler\.etcdClientEndpoints is for an external etcd: it cannot be combined with dapr_scheduler\.etcdEmbed=true/ },
    { name: 'embedded etcd with an external password', values: { dapr_scheduler: { etcdClientPassword: 'secret' } }, message: /dapr_scheduler\.etcdClientPassword is for an external etcd/ },
    { name: 'external etcd without endpoints', values: { dapr_scheduler: { etcdEmbed: false } }, message: /dapr_scheduler\.etcdEmbed=false needs dapr_scheduler\.etcdClientEndpoints/ },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const result = await renderChart(c.values, c.kubeVersion ? { kubeVersion: c.kubeVersion } : {});
      assert.equal(result.ok, false, 'the render should fail');
      if (!result.ok) assert.match(result.message, c.message);
    });
  }
});

describe('chart files', () => {
  test('the chart CRDs are the generated ones (charts/sync-crds.sh --check)', async () => {
    const script = join(repoRoot(), 'charts', 'sync-crds.sh');
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile('bash', [script, '--check'], (err, stdout, stderr) => resolve({ code: typeof err?.code === 'number' ? err.code : err ? 1 : 0, output: stdout + stderr }));
    });
    assert.equal(code, 0, output);
  });

  test('every value is documented in values.yaml and README.md', () => {
    const valuesText = readFileSync(join(chartDir(), 'values.yaml'), 'utf8');
    const readme = readFileSync(join(chartDir(), 'README.md'), 'utf8');
    const values = yaml.load(valuesText) as Record<string, unknown>;
    const missing: string[] = [];
    const walk = (node: unknown, path: string[]): void => {
      if (node && typeof node === 'object' && !Array.isArray(node) && Object.keys(node).length > 0) {
        for (const [key, child] of Object.entries(node)) walk(child, [...path, key]);
        return;
      }
      // A leaf is documented when it, or the block it belongs to, has a row in the README.
      const documented = [path, path.slice(0, -1)].some((p) => readme.includes(`| \`${p.join('.')}\` |`));
      if (!documented) missing.push(path.join('.'));
    };
    walk(values, []);
    assert.deepEqual(missing, [], 'values without a README row');
    const comments = valuesText.split('\n').filter((l) => /^\s*# -- /.test(l)).length;
    assert.ok(comments >= 90, `values.yaml has ${comments} "# --" comments`);
  });

  test('every value has a schema entry and the schema is strict', () => {
    const schema = JSON.parse(readFileSync(join(chartDir(), 'values.schema.json'), 'utf8')) as SchemaNode;
    const values = yaml.load(readFileSync(join(chartDir(), 'values.yaml'), 'utf8'));
    const problems: string[] = [];
    const walk = (node: unknown, s: SchemaNode | undefined, path: string): void => {
      if (!s) {
        problems.push(`${path}: no schema`);
        return;
      }
      if (node && typeof node === 'object' && !Array.isArray(node) && s.properties) {
        if (s.additionalProperties !== false) problems.push(`${path}: additionalProperties is not false`);
        for (const [key, child] of Object.entries(node)) walk(child, s.properties[key], `${path}.${key}`);
      }
    };
    walk(values, schema, '');
    assert.deepEqual(problems, []);
  });
});

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  additionalProperties?: unknown;
}
