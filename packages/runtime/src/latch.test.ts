import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Latch } from './latch.js';

test('wait resolves true when the latch opens, at once when it is open, false when the signal aborts first', async () => {
  const latch = new Latch();
  const early = latch.wait();
  const abort = new AbortController();
  const aborted = latch.wait(abort.signal);
  abort.abort();
  assert.equal(await aborted, false);
  assert.equal(await latch.wait(abort.signal), false, 'an aborted signal on a shut latch');
  latch.open();
  assert.equal(await early, true);
  assert.equal(latch.isOpen, true);
  assert.equal(await latch.wait(abort.signal), true, 'open wins over an aborted signal');
  latch.close();
  assert.equal(latch.isOpen, false);
  const again = latch.wait();
  latch.open();
  assert.equal(await again, true);
});
