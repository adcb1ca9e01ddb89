import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binaryPath, MissingBinaryError, parsePrintOutput } from './binaries.js';

void test('parsePrintOutput reads NAME=PATH lines and ignores the rest', () => {
  const paths = parsePrintOutput('etcd=/c/etcd-3.6.4/etcd\n\nnoise\nhelm=/c/helm-3.19.5/helm\n');
  assert.deepEqual([...paths], [
    ['etcd', '/c/etcd-3.6.4/etcd'],
    ['helm', '/c/helm-3.19.5/helm'],
  ]);
});

void test('binaryPath names the command to run when a version is not built', () => {
  assert.throws(
    () => binaryPath('daprd', '0.0.0-not-built'),
    (err: unknown) => err instanceof MissingBinaryError && /daprd-0\.0\.0-not-built\/daprd.*run pnpm go-binaries/.test(err.message),
  );
});
