import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { silentLogger } from '@tsdapr/runtime';
import { createInformerCache, type InformerEvent, type InformerFactory } from './informer-cache.js';

interface Obj extends KubernetesObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
}

const obj = (namespace: string, name: string): Obj => ({ metadata: { namespace, name, resourceVersion: '1' } });

/**
 * A stand-in for client-node's ListWatch with the same contract: start()
 * lists (through the given list function) and resolves once watching; on any
 * error it calls the error handlers and stays stopped until start() again.
 */
class FakeListWatch {
  readonly handlers = new Map<string, Set<(arg: never) => void>>();
  readonly objects = new Map<string, Obj>();
  starts = 0;
  stops = 0;
  watching = false;

  constructor(private readonly listFn: () => Promise<KubernetesListObject<Obj>>) {}

  on(verb: string, cb: (arg: never) => void): void {
    if (verb === 'change') {
      for (const v of ['add', 'update', 'delete']) this.on(v, cb);
      return;
    }
    let set = this.handlers.get(verb);
    if (!set) this.handlers.set(verb, (set = new Set()));
    set.add(cb);
  }

  off(verb: string, cb: (arg: never) => void): void {
    this.handlers.get(verb)?.delete(cb);
  }

  private call(verb: string, arg: unknown): void {
    for (const cb of this.handlers.get(verb) ?? []) (cb as (a: unknown) => void)(arg);
  }

  async start(): Promise<void> {
    this.starts += 1;
    let list: KubernetesListObject<Obj>;
    try {
      list = await this.listFn();
    } catch (err) {
      this.call('error', err);
      return;
    }
    for (const item of list.items) this.put('add', item);
    this.watching = true;
  }

  async stop(): Promise<void> {
    this.stops += 1;
    this.watching = false;
  }

  put(type: 'add' | 'update', item: Obj): void {
    this.objects.set(`${item.metadata.namespace ?? ''}/${item.metadata.name}`, item);
    this.call(type, item);
  }

  remove(item: Obj): void {
    this.objects.delete(`${item.metadata.namespace ?? ''}/${item.metadata.name}`);
    this.call('delete', item);
  }

  /** The watch broke (as ListWatch reports it). */
  fail(err: unknown): void {
    this.watching = false;
    this.call('error', err);
  }

  get(name: string, namespace?: string): Obj | undefined {
    return this.objects.get(`${namespace ?? ''}/${name}`);
  }

  list(namespace?: string): readonly Obj[] {
    return [...this.objects.values()].filter((o) => namespace === undefined || o.metadata.namespace === namespace);
  }
}

function setup(lists: Array<() => Promise<KubernetesListObject<Obj>>>) {
  let fake: FakeListWatch | undefined;
  let calls = 0;
  const signals: AbortSignal[] = [];
  const factory: InformerFactory<Obj> = (_kc, _path, listFn) => {
    fake = new FakeListWatch(listFn);
    return fake;
  };
  const cache = createInformerCache<Obj>({
    kubeConfig: new KubeConfig(),
    path: '/api/v1/pods',
    name: 'pods',
    logger: silentLogger(),
    backoff: { initialMs: 1, maxMs: 4, jitter: 0 },
    makeInformer: factory,
    list: (signal) => {
      signals.push(signal);
      const next = lists[Math.min(calls, lists.length - 1)];
      calls += 1;
      if (!next) throw new Error('no list scripted');
      return next();
    },
  });
  return { cache, fake: () => fake as FakeListWatch, listCalls: () => calls, signals };
}

const listOf = (...items: Obj[]) => () => Promise.resolve({ items, metadata: { resourceVersion: '5' } });
const failing = (message: string) => () => Promise.reject(Object.assign(new Error(message), { statusCode: 503 }));

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

test('becomes ready after the initial list; get/list map namespace and name', async () => {
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

test('retries a failing initial list with backoff, then syncs', async () => {
  const { cache, listCalls } = setup([failing('apiserver down'), failing('still down'), listOf(obj('ns', 'a'))]);
  const controller = new AbortController();
  const run = cache.runner(controller.signal);
  assert.equal(await cache.waitUntilReady(AbortSignal.timeout(2000)), true);
  assert.equal(listCalls(), 3);
  controller.abort();
  await run;
});

test('a watch failure after sync restarts the informer and keeps readiness', async () => {
  const { cache, fake } = setup([listOf(obj('ns', 'a'))]);
  const controller = new AbortController();
  const run = cache.runner(controller.signal);
  await cache.waitUntilReady();
  assert.equal(fake().starts, 1);
  fake().fail(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
  assert.equal(cache.ready(), true);
  await until(() => fake().starts === 2 && fake().watching, 'restart');
  controller.abort();
  await run;
  assert.ok(fake().stops >= 1);
});

test('onChange forwards events until unsubscribed; a throwing listener does not break others', async () => {
  const { cache, fake } = setup([listOf(obj('ns', 'a'))]);
  const seen: string[] = [];
  cache.onChange(() => {
    throw new Error('listener bug');
  });
  const off = cache.onChange((event: InformerEvent<Obj>) => seen.push(`${event.type}:${event.object.metadata.name}`));
  const controller = new AbortController();
  const run = cache.runner(controller.signal);
  await cache.waitUntilReady();
  fake().put('update', { metadata: { namespace: 'ns', name: 'a', resourceVersion: '2' } });
  fake().remove(obj('ns', 'a'));
  off();
  fake().put('add', obj('ns', 'b'));
  assert.deepEqual(seen, ['add:a', 'update:a', 'delete:a']);
  controller.abort();
  await run;
});

test('abort during a hanging list returns promptly and aborts the list signal', async () => {
  const { cache, signals } = setup([() => new Promise(() => undefined)]);
  const controller = new AbortController();
  const run = cache.runner(controller.signal);
  await until(() => signals.length === 1, 'list call');
  controller.abort();
  await run;
  assert.equal(signals[0]?.aborted, true);
  assert.equal(await cache.waitUntilReady(AbortSignal.abort()), false);
});

test('runs once at a time', async () => {
  const { cache } = setup([listOf()]);
  const controller = new AbortController();
  const run = cache.runner(controller.signal);
  await assert.rejects(cache.runner(controller.signal), /already running/);
  controller.abort();
  await run;
});
