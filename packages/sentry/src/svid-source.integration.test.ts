import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pollUntil } from '@tsdapr/e2e-harness';
import { createSvidSource } from '@tsdapr/identity';
import { silentLogger } from '@tsdapr/runtime';
import { startSentryProcess } from './test-support/sentry-process.js';

test('a control-plane process gets its SVID from sentry, with anchors from a file that appears later', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tsdapr-svid-'));
  const sentry = await startSentryProcess({ args: ['--mode', 'standalone', '--issuer-credentials', join(dir, 'credentials'), '--trust-domain', 'cluster.local'], env: { NAMESPACE: 'dapr-system' } });
  const abort = new AbortController();
  const anchorsFile = join(dir, 'tls', 'ca.crt');
  const source = createSvidSource({
    sentryAddress: `127.0.0.1:${sentry.grpcPort}`,
    trustAnchors: { file: anchorsFile },
    controlPlaneTrustDomain: 'cluster.local',
    controlPlaneNamespace: 'dapr-system',
    appId: 'dapr-placement',
    namespace: 'dapr-system',
    logger: silentLogger(),
    retryMs: 200,
  });
  const running = source.runner(abort.signal);
  try {
    assert.equal(source.ready(), false, 'no SVID before the anchors exist');
    await mkdir(join(dir, 'tls'));
    await writeFile(anchorsFile, await readFile(join(dir, 'credentials', 'ca.crt')));
    await pollUntil('SVID issued', async () => (source.ready() ? true : undefined), { timeoutMs: 15_000 });
    const leaf = new X509Certificate(source.material.currentIdentity?.certificateChainPem ?? '');
    assert.equal(leaf.subjectAltName, 'URI:spiffe://cluster.local/ns/dapr-system/dapr-placement');
    assert.equal(source.spiffeId, 'spiffe://cluster.local/ns/dapr-system/dapr-placement');
  } finally {
    abort.abort();
    await running;
    await sentry.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
