import assert from 'node:assert/strict';
import { test } from 'node:test';
import { daprdVersion, startDaprd } from './daprd.js';

// The version scripts/build-go-binaries.sh pins for upstream daprd.
const EXPECTED_VERSION = '1.17.5';

// No skip when the binary is missing: binaryPath throws "run pnpm go-binaries" and the test fails.
void test('daprd --version prints the pinned upstream version', { timeout: 60_000 }, async () => {
  assert.equal(await daprdVersion(), EXPECTED_VERSION);
});

void test('daprd in standalone mode (no mTLS, no placement) answers /v1.0/healthz', { timeout: 120_000 }, async () => {
  const daprd = await startDaprd({ appId: 'harness-standalone' });
  try {
    await daprd.waitHealthy(60_000);
    const metadata = (await (await fetch(`http://127.0.0.1:${daprd.httpPort}/v1.0/metadata`)).json()) as { id?: string };
    assert.equal(metadata.id, 'harness-standalone');
  } catch (err) {
    throw new Error(`daprd did not become healthy; its output:\n${daprd.logs().slice(-6000)}`, { cause: err });
  } finally {
    await daprd.stop();
  }
});
