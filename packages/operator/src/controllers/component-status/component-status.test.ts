import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { component, withScopes } from '../../testing/fixtures.js';
import type { DaprResource } from '../../resources/dapr-resource.js';
import { componentStatusReconciler } from './component-status-controller.js';
import { desiredComponentStatus, statusMatches, type ComponentStatus } from './component-status.js';
import { silentLogger } from '@tsdapr/runtime';

const T0 = new Date('2026-11-27T10:00:00.000Z');
const T1 = new Date('2026-11-27T11:00:00.000Z');
const running = new Set(['orders', 'payments']);
const clean = { denied: undefined, warnings: [] };

describe('desired Component status', () => {
  const cases: Array<[string, DaprResource, Parameters<typeof desiredComponentStatus>[1], Array<[string, string, string, RegExp]>, string[]]> = [
    ['valid, no scopes: every running app', component('a'), { validation: clean, runningAppIds: running }, [['Valid', 'True', 'Valid', /nothing to fix/], ['AppsRunning', 'True', 'AppsRunning', /no scopes.*running: orders, payments/]], ['orders', 'payments']],
    [
      'scoped: only the scoped apps that run, and the ones that do not',
      component('a', withScopes('orders', 'checkout')),
      { validation: clean, runningAppIds: running },
      [['Valid', 'True', 'Valid', /./], ['AppsRunning', 'True', 'AppsRunning', /^running: orders; not running: checkout$/]],
      ['orders'],
    ],
    ['no scoped app runs', component('a', withScopes('checkout')), { validation: clean, runningAppIds: running }, [['Valid', 'True', 'Valid', /./], ['AppsRunning', 'False', 'NoAppRunning', /no app in scope runs; not running: checkout/]], []],
    ['warnings', component('a'), { validation: { warnings: ['w1', 'w2'] }, runningAppIds: new Set() }, [['Valid', 'True', 'ValidWithWarnings', /^w1; w2$/], ['AppsRunning', 'False', 'NoAppRunning', /./]], []],
    ['denied', component('a'), { validation: { denied: 'spec.metadata[1].name: "x" twice', warnings: [] }, runningAppIds: new Set() }, [['Valid', 'False', 'Invalid', /spec.metadata\[1\].name/], ['AppsRunning', 'False', 'NoAppRunning', /./]], []],
  ];
  for (const [name, resource, facts, conditions, apps] of cases) {
    test(name, () => {
      const status = desiredComponentStatus(resource, facts, T0);
      assert.equal(status.conditions.length, conditions.length);
      conditions.forEach(([type, value, reason, message], i) => {
        const c = status.conditions[i];
        assert.deepEqual([c?.type, c?.status, c?.reason], [type, value, reason]);
        assert.match(c?.message ?? '', message);
        assert.equal(c?.lastTransitionTime, '2026-11-27T10:00:00Z');
      });
      assert.deepEqual(status.appsInScope, apps);
    });
  }

  test('lastTransitionTime moves only when a condition changes status; statusMatches ignores times', () => {
    const first = desiredComponentStatus(component('a', withScopes('orders')), { validation: clean, runningAppIds: running }, T0);
    const stored: DaprResource = { ...component('a', withScopes('orders')), status: first };
    const same = desiredComponentStatus(stored, { validation: clean, runningAppIds: running }, T1);
    assert.deepEqual(same, first);
    assert.ok(statusMatches(stored, same));
    const stopped = desiredComponentStatus(stored, { validation: clean, runningAppIds: new Set() }, T1);
    assert.equal(stopped.conditions[0]?.lastTransitionTime, '2026-11-27T10:00:00Z', 'Valid did not change');
    assert.equal(stopped.conditions[1]?.lastTransitionTime, '2026-11-27T11:00:00Z', 'AppsRunning did');
    assert.equal(statusMatches(stored, stopped), false);
  });
});

describe('component status reconcile (the writes it makes)', () => {
  const run = async (stored: DaprResource | undefined, secretExists = true): Promise<{ writes: ComponentStatus[]; result: unknown }> => {
    const writes: ComponentStatus[] = [];
    const reconcile = componentStatusReconciler({
      component: () => stored,
      facts: { appIds: () => running, secretExists: () => Promise.resolve(secretExists) },
      runningAppIds: () => running,
      writeStatus: (_ns, _name, status) => {
        writes.push(status);
        return Promise.resolve();
      },
      now: () => T0,
      logger: silentLogger(),
    });
    const result = await reconcile('ns1/a');
    return { writes, result };
  };
  test('gone: no write', async () => assert.deepEqual((await run(undefined)).writes, []));
  test('no status yet: written', async () => assert.equal((await run(component('a'))).writes.length, 1));
  test('status already current: no write', async () => {
    const stored = component('a');
    const status = desiredComponentStatus(stored, { validation: clean, runningAppIds: running }, T0);
    assert.deepEqual((await run({ ...stored, status })).writes, []);
  });
  test('a secretKeyRef to a missing Secret: a warning, and a recheck later', async () => {
    const stored: DaprResource = { ...component('a'), spec: { type: 'state.redis', version: 'v1', metadata: [{ name: 'pw', secretKeyRef: { name: 'redis' } }] } };
    const { writes, result } = await run(stored, false);
    assert.match(writes[0]?.conditions[0]?.message ?? '', /Secret "redis" does not exist/);
    assert.deepEqual(result, { requeueAfterMs: 30_000 });
  });
});
