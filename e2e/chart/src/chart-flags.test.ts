import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '@tsdapr/e2e-harness';
import { render } from './helm.js';
import { SERVICES, container } from './workload.js';

/**
 * Every flag the chart gives a service is one the built service knows: the
 * rendered args are handed to its real bundle (main.bundle.mjs) with `--help` last. Flags are
 * parsed in order, so an unknown one fails (exit 2, "unknown flag") before
 * `--help` prints the usage. Needs `pnpm build` (which `pnpm test` runs).
 */
describe('the chart passes only flags the services know', async () => {
  const manifests = {
    default: await render({ dapr_operator: { tls: { secretName: 'operator-svid' } } }),
    'HA, custom values': await render({
      global: { ha: { enabled: true }, mtls: { enabled: false, controlPlaneTrustDomain: 'example.org' }, prometheus: { enabled: false } },
      dapr_operator: { watchNamespace: 'apps', serviceReconciler: { enabled: false } },
      dapr_placement: { metadataEnabled: true, disseminateCoalesceWindow: '500ms' },
      dapr_scheduler: { replicaCount: 5, cluster: { inMemoryStorage: true }, overrideBroadcastHostPort: 'jobs.example.com:50006', etcdCompactionMode: 'periodic', etcdCompactionRetention: '10m' },
    }),
    'external etcd': await render({ dapr_scheduler: { etcdEmbed: false, etcdClientEndpoints: ['https://etcd-0.db:2379', 'https://etcd-1.db:2379'], etcdClientUsername: 'jobs', etcdClientPassword: 's3cret' } }),
  };
  for (const [name, manifest] of Object.entries(manifests)) {
    for (const service of SERVICES) {
      test(`${name}: ${service}`, async () => {
        const c = container(manifest, service);
        const main = join(repoRoot(), c.command?.[1] ?? '');
        assert.ok(existsSync(main), `${main} is not built: run pnpm build`);
        // Generous: on a loaded 2-core machine loading a service's modules alone has taken 30 s.
        const result = await new Promise<{ code: number; killed: boolean; stdout: string; stderr: string }>((resolve) => {
          execFile(process.execPath, [main, ...(c.args ?? []), '--help'], { timeout: 120_000 }, (err, stdout, stderr) =>
            resolve({ code: typeof err?.code === 'number' ? err.code : err ? 1 : 0, killed: err?.killed ?? false, stdout, stderr }),
          );
        });
        assert.ok(!result.killed, `${service} --help did not finish within 120 s`);
        assert.equal(result.code, 0, `${service} rejected the chart's flags: ${result.stderr}`);
        assert.match(result.stdout, /^Usage: /);
      });
    }
  }
});

/** The parts of packages/scheduler/dist/options.js this test calls. */
interface SchedulerOptionsModule {
  readonly SCHEDULER_FLAGS: Record<string, unknown>;
  parseSchedulerOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): {
    readonly id: string;
    readonly mode: string;
    readonly namespace: string;
    readonly tls: { readonly enabled: boolean };
    readonly etcd: { readonly embed: true; readonly embedded: { readonly initialCluster: readonly string[]; readonly dataDir: string } } | { readonly embed: false; readonly endpoints: readonly string[]; readonly password?: string };
  };
}

/**
 * Beyond knowing the flags: the scheduler's own option parser (its start-up
 * checks, upstream's words) accepts what the chart passes once the kubelet has
 * filled in the pod's env; for instance, each pod's own id is a member of the
 * initial cluster. Loaded from the built file rather than the package, so that
 * this test needs no build of the scheduler package beyond `pnpm build`.
 */
describe("the scheduler's option parser accepts the chart's arguments", async () => {
  const options = (await import(join(repoRoot(), 'packages', 'scheduler', 'dist', 'options.js'))) as SchedulerOptionsModule;
  // The kubelet's $(VAR) expansion, with what the downward API gives pod <id> in namespace <ns>.
  const podArgs = (args: readonly string[], env: Record<string, string>): string[] => args.map((a) => a.replace(/\$\(([A-Z_]+)\)/g, (_m, name: string) => env[name] ?? `$(${name})`));
  const cases = [
    { name: 'default values', values: {}, replicas: 3 },
    { name: 'five replicas in memory', values: { dapr_scheduler: { replicaCount: 5, cluster: { inMemoryStorage: true } } }, replicas: 5 },
    { name: 'external etcd', values: { dapr_scheduler: { etcdEmbed: false, etcdClientEndpoints: ['https://etcd-0.db:2379'], etcdClientPassword: 's3cret' } }, replicas: 3 },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const s = container(await render(c.values, { namespace: 'cp' }), 'scheduler');
      for (const arg of s.args ?? []) {
        const name = /^--([^=]+)/.exec(arg)?.[1] ?? '';
        assert.ok(name in options.SCHEDULER_FLAGS, `--${name} is not one of SCHEDULER_FLAGS`);
      }
      for (let i = 0; i < c.replicas; i++) {
        const id = `dapr-scheduler-server-${i}`;
        const env = { SCHEDULER_ID: id, NAMESPACE: 'cp', POD_NAME: id, DAPR_HOST_IP: '10.0.0.7', ...(c.name === 'external etcd' ? { DAPR_SCHEDULER_ETCD_CLIENT_PASSWORD: 's3cret' } : {}) };
        const parsed = options.parseSchedulerOptions(podArgs(s.args ?? [], env), env);
        assert.equal(parsed.id, id);
        assert.equal(parsed.mode, 'kubernetes');
        assert.equal(parsed.namespace, 'cp');
        assert.equal(parsed.tls.enabled, true);
        if (parsed.etcd.embed) {
          assert.equal(parsed.etcd.embedded.initialCluster.length, c.replicas);
          assert.match(parsed.etcd.embedded.dataDir, new RegExp(`^/var/run/data/dapr-scheduler/cp/${id}$`));
        } else {
          assert.deepEqual(parsed.etcd.endpoints, ['https://etcd-0.db:2379']);
          assert.equal(parsed.etcd.password, 's3cret', 'from the env the Secret fills');
        }
      }
    });
  }
});
