import assert from 'node:assert/strict';
import { test } from 'node:test';
import { versionSupportsNativeSidecars } from './cluster-facts.js';

void test('native sidecars from Kubernetes 1.29', () => {
  assert.equal(versionSupportsNativeSidecars('1', '28'), false);
  assert.equal(versionSupportsNativeSidecars('1', '29'), true);
  assert.equal(versionSupportsNativeSidecars('1', '34+'), true);
  assert.equal(versionSupportsNativeSidecars('2', '0'), true);
  assert.equal(versionSupportsNativeSidecars('', ''), true);
});
