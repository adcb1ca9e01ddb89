import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '@tsdapr/runtime';
import { trustAnchorsFile } from './trust-anchors-file.js';

const PEM_A = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
const PEM_B = '-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n';

void test('waits for the file, loads it, follows changes and ignores content without a certificate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsdapr-anchors-'));
  const path = join(dir, 'ca.crt');
  const source = trustAnchorsFile({ path, logger: silentLogger(), pollMs: 10 });
  const seen: string[] = [];
  source.onChange((pem) => seen.push(pem));
  const abort = new AbortController();
  const running = source.runner(abort.signal);
  try {
    assert.equal(source.current(), undefined);
    setTimeout(() => writeFileSync(path, PEM_A), 30);
    assert.equal(await source.waitUntilLoaded(abort.signal), true);
    assert.equal(source.current(), PEM_A);
    writeFileSync(path, 'garbage');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(source.current(), PEM_A);
    writeFileSync(path, PEM_B);
    // Polled rather than slept: on a loaded machine 50 ms is not always five polls.
    const deadline = Date.now() + 5_000;
    while (source.current() !== PEM_B && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(source.current(), PEM_B);
    assert.deepEqual(seen, [PEM_A, PEM_B]);
  } finally {
    abort.abort();
    await running;
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a change swapped in by rename is seen through the directory watch, long before the poll', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsdapr-anchors-'));
  const path = join(dir, 'ca.crt');
  writeFileSync(path, PEM_A);
  const source = trustAnchorsFile({ path, logger: silentLogger(), pollMs: 60_000 });
  const abort = new AbortController();
  const running = source.runner(abort.signal);
  try {
    assert.equal(await source.waitUntilLoaded(abort.signal), true);
    // As the kubelet updates a ConfigMap volume: the new content appears by a rename.
    writeFileSync(join(dir, '.ca.crt.tmp'), PEM_B);
    renameSync(join(dir, '.ca.crt.tmp'), path);
    const deadline = Date.now() + 5_000;
    while (source.current() !== PEM_B && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(source.current(), PEM_B, 'seen without waiting for the 60 s poll');
  } finally {
    abort.abort();
    await running;
    rmSync(dir, { recursive: true, force: true });
  }
});
