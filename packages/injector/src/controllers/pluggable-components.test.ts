import assert from 'node:assert/strict';
import { test } from 'node:test';
import { injectableContainers, type Component } from './pluggable-components.js';

function component(name: string, container: object | string | undefined, scopes?: string[]): Component {
  const annotations: Record<string, string> = container === undefined ? {} : { 'dapr.io/component-container': typeof container === 'string' ? container : JSON.stringify(container) };
  return { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name, annotations }, ...(scopes ? { scopes } : {}) };
}

void test('injectable containers follow upstream: scopes, one per image, component name as default name', () => {
  const invalid: string[] = [];
  const containers = injectableContainers(
    'orders',
    [
      component('statestore', { image: 'example.com/redis-pc:1' }),
      component('other-app', { name: 'x', image: 'example.com/x:1' }, ['payments']),
      component('scoped', { name: 'mine', image: 'example.com/mine:1' }, ['orders']),
      component('duplicate', { name: 'again', image: 'example.com/redis-pc:1' }),
      component('plain', undefined),
      component('broken', '{not json'),
    ],
    (name, error) => invalid.push(`${name}: ${error}`),
  );
  assert.deepEqual(containers, [
    { image: 'example.com/redis-pc:1', name: 'statestore' },
    { name: 'mine', image: 'example.com/mine:1' },
  ]);
  assert.equal(invalid.length, 1);
  assert.match(invalid[0] ?? '', /^broken: /);
});
