import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { silentLogger } from '@tsdapr/runtime';
import { ManualClock } from './clock.js';
import { createInformerCache, stripManagedFields, type InformerEvent, type WatchEndReason } from './informer-cache.js';
import type { WatchOpener } from './watch-stream.js';

interface Obj extends KubernetesObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
}

const obj = (namespace: string, name: string, resourceVersion = '1'): Obj => ({ metadata: { namespace, name, resourceVersion } });

interface OpenWatch {
  readonly query: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  event(type: string, object: unknown): void;
  /** The server ends the stream cleanly. */
  end(): void;
  /** The connection breaks. */
  fail(err: unknown): void;
}

/** Watch requests the test drives: each one stays open until ended, failed or aborted. */
class FakeWatches {
  readonly opened: OpenWatch[] = [];

  readonly opener: WatchOpener = (_path, query, signal, onEvent) =>
    new Promise<void>((resolve, reject) => {
      signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')), { once: true });
      this.opened.push({ query, signal, event: onEvent, end: resolve, fail: reject });
    });

  get current(): OpenWatch {
    const watch = this.opened.at(-1);
    if (!watch) throw new Error('no watch opened');
    return watch;
  }
}

function setup(lists: Array<() => Promise<KubernetesListObject<Obj>>>, extra: { inactivityTimeoutMs?: number; backoff?: { initialMs: number; maxMs: number; jitter: number }; transform?: (object: Obj) => Obj } = {}) {
  let calls = 0;
  const signals: AbortSignal[] = [];
  const watches = new FakeWatches();
  const clock = new ManualClock();
  const ends: WatchEndReason[] = [];
  const cache = createInformerCache<Obj>({
    kubeConfig: new KubeConfig(),
    path: '/api/v1/pods',
    name: 'pods',
    logger: silentLogger(),
    backoff: { initialMs: 1, maxMs: 4, jitter: 0 },
    openWatch: watches.opener,
    clock,
    random: () => 0.5,
    minWatchSeconds: 300,
    onWatchEnd: (reason) => ends.push(reason),
    ...extra,
    list: (signal) => {
      signals.push(signal);
      const next = lists[Math.min(calls, lists.length - 1)];
      calls += 1;
      if (!next) throw new Error('no list scripted');
      return next();
    },
  });
  return { cache, watches, clock, ends, listCalls: () => calls, signals };
}

const listOf =
  (...items: Obj[]) =>
  () =>
    Promise.resolve({ items, metadata: { resourceVersion: '5' } });
const failing = (message: string) => () => Promise.reject(Object.assign(new Error(message), { statusCode: 503 }));

async function until(check: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

async function started(setupResult: ReturnType<typeof setup>, watchCount = 1) {
  const controller = new AbortController();
  const run = setupResult.cache.runner(controller.signal);
  await until(() => setupResult.watches.opened.length === watchCount, `watch ${watchCount}`);
  return {
    stop: async () => {
      controller.abort();
      await run;
    },
  };
}

void test('becomes ready after the initial list; get/list map namespace and name', async () => {
  const { cache } = setup([listOf(obj('ns1', 'a'), obj('ns2', 'b'))]);
  assert.equal(cache.ready(), false);
  const controller = new AbortController();
  const run = cache.runner(controller.signal);
  assert.equal(await cache.waitUntilReady(AbortSignal.timeout(2000)), true);
  assert.equal(cache.ready(), true);
  assert.equal(cache.get('ns1', 'a')?.metadata.name, 'a');
  assert.equal(cache.get('ns2', 'a'), undefined);
  assert.deepEqual(
    cache.list('ns2').map((o) => o.metadata.name),
    ['b'],
  );
  assert.equal(cache.list().length, 2);
  controller.abort();
  await run;
  assert.equal(cache.ready(), false);
});

void test('retries a failing initial list with backoff, then syncs', async () => {
  const { cache, listCalls } = setup([failing('apiserver down'), failing('still down'), listOf(obj('ns', 'a'))]);
  const controller = new AbortController();
  const run = cache.runner(controller.signal);
  assert.equal(await cache.waitUntilReady(AbortSignal.timeout(2000)), true);
  assert.equal(listCalls(), 3);
  controller.abort();
  await run;
});

void test('each watch asks for bookmarks and a randomized timeout, and resumes from the last resourceVersion it saw', async () => {
  const s = setup([listOf(obj('ns', 'a'))]);
  const seen: string[] = [];
  s.cache.onChange((event: InformerEvent<Obj>) => seen.push(`${event.type}:${event.object.metadata.name}`));
  const run = await started(s);
  assert.deepEqual(s.watches.current.query, { resourceVersion: '5', allowWatchBookmarks: 'true', timeoutSeconds: '450' });

  s.watches.current.event('ADDED', obj('ns', 'b', '6'));
  s.watches.current.event('MODIFIED', obj('ns', 'a', '7'));
  s.watches.current.event('MODIFIED', obj('ns', 'a', '7')); // same version again: no event
  s.watches.current.event('DELETED', obj('ns', 'b', '8'));
  s.watches.current.event('BOOKMARK', { metadata: { resourceVersion: '12' } });
  assert.deepEqual(seen, ['add:a', 'add:b', 'update:a', 'delete:b']);
  assert.equal(s.cache.get('ns', 'a')?.metadata.resourceVersion, '7');

  s.watches.current.end(); // the server's timeoutSeconds ran out
  await until(() => s.watches.opened.length === 2, 'the second watch');
  assert.equal(s.watches.current.query['resourceVersion'], '12');
  assert.equal(s.listCalls(), 1, 'a closed watch resumes without listing again');
  assert.deepEqual(s.ends, ['closed']);
  await run.stop();
});

void test('a watch that delivers nothing for the inactivity timeout is aborted and restarted from its resourceVersion', async () => {
  const s = setup([listOf(obj('ns', 'a'))], { inactivityTimeoutMs: 10_000 });
  const run = await started(s);
  const first = s.watches.current;
  s.clock.advance(6000);
  first.event('BOOKMARK', { metadata: { resourceVersion: '9' } });
  s.clock.advance(6000);
  assert.equal(first.signal.aborted, false, 'a bookmark counts as a sign of life');
  s.clock.advance(4000);
  assert.equal(first.signal.aborted, true, 'silent for 10 s: the connection is given up');
  await until(() => s.watches.opened.length === 2, 'the restarted watch');
  assert.equal(s.watches.current.query['resourceVersion'], '9');
  assert.deepEqual(s.ends, ['stalled']);
  assert.equal(s.listCalls(), 1);
  assert.equal(s.cache.ready(), true);

  // The restarted watch delivers again.
  s.watches.current.event('ADDED', obj('ns', 'late', '10'));
  assert.equal(s.cache.get('ns', 'late')?.metadata.name, 'late');
  await run.stop();
});

void test('a watch that breaks restarts after backoff from its resourceVersion and keeps readiness', async () => {
  const s = setup([listOf(obj('ns', 'a'))]);
  const run = await started(s);
  s.watches.current.event('ADDED', obj('ns', 'b', '6'));
  s.watches.current.fail(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
  assert.equal(s.cache.ready(), true);
  await until(() => s.watches.opened.length === 2, 'the restarted watch');
  assert.equal(s.watches.current.query['resourceVersion'], '6');
  assert.deepEqual(s.ends, ['failed']);
  assert.equal(s.listCalls(), 1);
  await run.stop();
});

void test('an API server that gives no HTTP answer (or 503) is retried within 2 s whatever the backoff; other HTTP errors wait the backoff out', async () => {
  const s = setup([listOf()], { backoff: { initialMs: 60_000, maxMs: 60_000, jitter: 0 } });
  const run = await started(s);
  const failedAt = Date.now();
  s.watches.current.fail(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }));
  await until(() => s.watches.opened.length === 2, 'the retry', 3000);
  assert.ok(Date.now() - failedAt >= 1900, 'it still waits a little');
  s.watches.current.fail(Object.assign(new Error('Service Unavailable'), { statusCode: 503 }));
  await until(() => s.watches.opened.length === 3, 'the retry after 503', 3000);
  s.watches.current.fail(Object.assign(new Error('Forbidden'), { statusCode: 403 }));
  await new Promise((resolve) => setTimeout(resolve, 2500));
  assert.equal(s.watches.opened.length, 3, 'another HTTP error keeps the configured backoff');
  await run.stop();
});

void test('410 Gone (as an ERROR event or as the response) lists again and reports only the differences', async () => {
  const s = setup([listOf(obj('ns', 'a'), obj('ns', 'b')), () => Promise.resolve({ items: [obj('ns', 'a', '20'), obj('ns', 'c', '21')], metadata: { resourceVersion: '22' } }), listOf(obj('ns', 'a'))]);
  const seen: string[] = [];
  const run = await started(s);
  s.cache.onChange((event: InformerEvent<Obj>) => seen.push(`${event.type}:${event.object.metadata.name}`));
  s.watches.current.event('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
  await until(() => s.watches.opened.length === 2, 'the watch after the re-list');
  assert.equal(s.listCalls(), 2);
  assert.deepEqual(seen.sort(), ['add:c', 'delete:b', 'update:a']);
  assert.equal(s.watches.current.query['resourceVersion'], '22');

  s.watches.current.fail(Object.assign(new Error('Gone'), { statusCode: 410 }));
  await until(() => s.watches.opened.length === 3, 'the watch after the second re-list');
  assert.equal(s.listCalls(), 3);
  assert.deepEqual(s.ends, ['expired', 'expired']);
  await run.stop();
});

void test('an ERROR event other than 410 is a failure: backoff, then a new watch', async () => {
  const s = setup([listOf()]);
  const run = await started(s);
  s.watches.current.event('ERROR', { kind: 'Status', code: 500, message: 'internal error' });
  await until(() => s.watches.opened.length === 2, 'the restarted watch');
  assert.deepEqual(s.ends, ['failed']);
  await run.stop();
});

void test('onChange forwards events until unsubscribed; a throwing listener does not break others', async () => {
  const s = setup([listOf(obj('ns', 'a'))]);
  const seen: string[] = [];
  s.cache.onChange(() => {
    throw new Error('listener bug');
  });
  const off = s.cache.onChange((event: InformerEvent<Obj>) => seen.push(`${event.type}:${event.object.metadata.name}`));
  const run = await started(s);
  s.watches.current.event('MODIFIED', obj('ns', 'a', '2'));
  s.watches.current.event('DELETED', obj('ns', 'a', '3'));
  off();
  s.watches.current.event('ADDED', obj('ns', 'b', '4'));
  assert.deepEqual(seen, ['add:a', 'update:a', 'delete:a']);
  await run.stop();
});

void test('abort during a hanging list returns promptly and aborts the list signal', async () => {
  const { cache, signals } = setup([() => new Promise(() => undefined)]);
  const controller = new AbortController();
  const run = cache.runner(controller.signal);
  await until(() => signals.length === 1, 'list call');
  controller.abort();
  await run;
  assert.equal(signals[0]?.aborted, true);
  assert.equal(await cache.waitUntilReady(AbortSignal.abort()), false);
});

void test('stopping aborts the open watch', async () => {
  const s = setup([listOf()]);
  const run = await started(s);
  const watch = s.watches.current;
  await run.stop();
  assert.equal(watch.signal.aborted, true);
  assert.deepEqual(s.ends, []);
});

void test('runs once at a time', async () => {
  const { cache } = setup([listOf()]);
  const controller = new AbortController();
  const run = cache.runner(controller.signal);
  await assert.rejects(cache.runner(controller.signal), /already running/);
  controller.abort();
  await run;
});

void test('a transform (stripManagedFields) applies to listed and watched objects before they are cached and reported', async () => {
  const managed = (name: string, resourceVersion: string): Obj => ({ metadata: { namespace: 'ns', name, resourceVersion, managedFields: [{ manager: 'kubectl' }] } as Obj['metadata'] });
  const s = setup([listOf(managed('listed', '1'))], { transform: stripManagedFields });
  const reported: unknown[] = [];
  s.cache.onChange((event) => reported.push(event.object.metadata));
  const run = await started(s);
  s.watches.current.event('ADDED', managed('watched', '6'));
  s.watches.current.event('DELETED', managed('listed', '7'));
  await run.stop();
  assert.deepEqual(reported, [
    { namespace: 'ns', name: 'listed', resourceVersion: '1' },
    { namespace: 'ns', name: 'watched', resourceVersion: '6' },
    { namespace: 'ns', name: 'listed', resourceVersion: '7' },
  ]);
  assert.equal('managedFields' in (s.cache.get('ns', 'watched')?.metadata ?? {}), false);
});
