import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Readiness } from './readiness.js';

test('ready only when every registered part is', () => {
  const readiness = new Readiness();
  const bundle = readiness.part('bundle');
  const server = readiness.part('server');
  assert.equal(readiness.ready, false);
  assert.deepEqual(readiness.notReady(), ['bundle', 'server']);
  bundle(true);
  assert.deepEqual(readiness.notReady(), ['server']);
  server(true);
  assert.equal(readiness.ready, true);
  bundle(false);
  assert.equal(readiness.ready, false);
});
