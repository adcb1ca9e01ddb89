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
    }),
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
