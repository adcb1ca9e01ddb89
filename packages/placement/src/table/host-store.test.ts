import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostStore } from './host-store.js';
import { host, withEntities, withId, inNamespace } from './host-fixtures.js';
import type { Host } from './messages.js';

void test('HostStore.set says whether the table changed', async (t) => {
  const cases: Array<{ name: string; before: Host[]; report: Host; changed: boolean; stored: boolean }> = [
    { name: 'new host without actor types: not stored, no change', before: [], report: host('h:1'), changed: false, stored: false },
    { name: 'new host with actor types: stored, changed', before: [], report: host('h:1', withEntities('a')), changed: true, stored: true },
    { name: 'same actor types in another order: no change', before: [host('h:1', withEntities('a', 'b'))], report: host('h:1', withEntities('b', 'a')), changed: false, stored: true },
    { name: 'another actor type: changed', before: [host('h:1', withEntities('a'))], report: host('h:1', withEntities('a', 'b')), changed: true, stored: true },
    { name: 'another app id: changed', before: [host('h:1', withEntities('a'))], report: host('h:1', withEntities('a'), withId('other')), changed: true, stored: true },
    { name: 'another namespace: changed', before: [host('h:1', withEntities('a'))], report: host('h:1', withEntities('a'), inNamespace('ns2')), changed: true, stored: true },
    { name: 'stored host drops all actor types: removed, changed', before: [host('h:1', withEntities('a'))], report: host('h:1'), changed: true, stored: false },
    { name: 'only the name changes: not a change (upstream compares types, id, namespace)', before: [host('h:1', withEntities('a'))], report: host('h:2', withEntities('a'), withId('app-h-1')), changed: false, stored: true },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const store = new HostStore(100);
      for (const before of c.before) store.set(1, before);
      assert.equal(store.set(1, c.report), c.changed);
      assert.equal(store.has(1), c.stored);
    });
  }
});

void test('HostStore keeps a sorted copy of the entities and does not touch the report', () => {
  const store = new HostStore(100);
  const reported = host('h:1', withEntities('b', 'a'));
  store.set(1, reported);
  assert.deepEqual(store.get(1)?.entities, ['a', 'b']);
  assert.deepEqual(reported.entities, ['b', 'a']);
});

void test('HostStore.placementTables holds only stored hosts, later streams winning a name clash', () => {
  const store = new HostStore(100);
  store.set(2, host('h:1', withEntities('a'), withId('newer')));
  store.set(1, host('h:1', withEntities('a'), withId('older')));
  store.set(3, host('h:3'));
  const tables = store.placementTables(4);
  assert.equal(tables.version, '4');
  assert.equal(tables.replication_factor, 100);
  assert.deepEqual(Object.keys(tables.entries), ['a']);
  assert.equal(tables.entries.a?.load_map['h:1']?.id, 'newer');
});

void test('HostStore.stateTable lists stored hosts by name', () => {
  const store = new HostStore(100);
  store.set(1, host('h:2', withEntities('a')));
  store.set(2, host('h:1', withEntities('b')));
  store.set(3, host('h:0'));
  const state = store.stateTable(9);
  assert.equal(state.version, 9);
  assert.deepEqual(state.hosts.map((h) => h.name), ['h:1', 'h:2']);
  assert.equal(store.delete(1), true);
  assert.equal(store.delete(3), false);
  assert.equal(store.size, 1);
});
