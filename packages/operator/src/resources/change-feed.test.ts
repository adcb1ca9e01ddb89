import assert from 'node:assert/strict';
import { test } from 'node:test';
import { component, withScopes, withVersion } from '../testing/fixtures.js';
import { ChangeFeed } from './change-feed.js';
import type { ResourceChange } from './scoped-event.js';

test('the change feed carries the old object, drops unchanged resyncs and seeded replays', () => {
  const feed = new ChangeFeed();
  const seen: ResourceChange[] = [];
  feed.subscribe((change) => seen.push(change));
  const seeded = component('seeded', withVersion('10'));
  feed.seed([seeded]);
  feed.handle({ type: 'add', object: seeded });
  assert.equal(seen.length, 0, 'the replay of a seeded object is not news');

  const v1 = component('c', withVersion('1'));
  const v2 = component('c', withVersion('2'), withScopes('x'));
  feed.handle({ type: 'add', object: v1 });
  feed.handle({ type: 'update', object: v1 });
  feed.handle({ type: 'update', object: v2 });
  feed.handle({ type: 'delete', object: v2 });
  assert.deepEqual(seen.map((c) => [c.type, c.old?.metadata?.resourceVersion, c.current.metadata?.resourceVersion]), [
    ['CREATED', undefined, '1'],
    ['UPDATED', '1', '2'],
    ['DELETED', '2', '2'],
  ]);
});

test('an update that only changed status (the operator writing Component status) is not news', () => {
  const feed = new ChangeFeed();
  const seen: ResourceChange[] = [];
  feed.subscribe((change) => seen.push(change));
  const v1 = component('c', withVersion('1'));
  feed.handle({ type: 'add', object: v1 });
  feed.handle({ type: 'update', object: { ...v1, metadata: { ...v1.metadata, resourceVersion: '2', managedFields: [{ manager: 'x' }] }, status: { conditions: [{ type: 'Valid', status: 'True' }] } } });
  feed.handle({ type: 'update', object: { ...v1, metadata: { ...v1.metadata, resourceVersion: '3' }, scopes: ['a'] } });
  assert.deepEqual(seen.map((c) => [c.type, c.current.metadata?.resourceVersion]), [
    ['CREATED', '1'],
    ['UPDATED', '3'],
  ]);
});
