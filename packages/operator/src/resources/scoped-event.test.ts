import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { component, withScopes } from '../testing/fixtures.js';
import { scopedEvent, type ResourceChange } from './scoped-event.js';

const any = component('c');
const onlyA = component('c', withScopes('a'));
const onlyB = component('c', withScopes('b'));

describe('scopedEvent (upstream stream semantics) for caller app "a"', () => {
  const cases: Array<[string, ResourceChange, string | undefined, unknown]> = [
    ['created in scope', { type: 'CREATED', old: undefined, current: onlyA }, 'CREATED', onlyA],
    ['created out of scope', { type: 'CREATED', old: undefined, current: onlyB }, undefined, undefined],
    ['created with empty scopes', { type: 'CREATED', old: undefined, current: any }, 'CREATED', any],
    ['updated, in scope before and after', { type: 'UPDATED', old: any, current: onlyA }, 'UPDATED', onlyA],
    ['updated, leaving scope: DELETED with the old object', { type: 'UPDATED', old: onlyA, current: onlyB }, 'DELETED', onlyA],
    ['updated, entering scope: CREATED', { type: 'UPDATED', old: onlyB, current: onlyA }, 'CREATED', onlyA],
    ['updated, out of scope before and after', { type: 'UPDATED', old: onlyB, current: onlyB }, undefined, undefined],
    ['deleted in scope', { type: 'DELETED', old: onlyA, current: onlyA }, 'DELETED', onlyA],
    ['deleted out of scope', { type: 'DELETED', old: onlyB, current: onlyB }, undefined, undefined],
  ];
  for (const [name, change, type, resource] of cases) {
    test(name, () => {
      const event = scopedEvent(change, 'a');
      assert.equal(event?.type, type);
      assert.equal(event?.resource, resource);
    });
  }
});
