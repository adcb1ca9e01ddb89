import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { status } from '@grpc/grpc-js';
import { silentLogger, untilAborted, type Runner } from '@tsdapr/runtime';
import { Registry } from 'prom-client';
import type { LeadershipCallbacks } from './leadership/leadership.js';
import { parsePlacementOptions } from './options.js';
import { createPlacement, type Placement, type PlacementDeps } from './placement.js';
import { SidecarClient, type SidecarClientOptions } from './server/sidecar-client.js';

interface Running {
  readonly placement: Placement;
  readonly address: string;
  readonly healthzPort: number;
  readonly metricsPort: number;
  readonly registry: Registry;
  stop(): Promise<void>;
}

/** Starts placement in-process on loopback ports, plaintext (standalone, `--tls-enabled=false`). */
async function startPlacement(flags: string[] = [], deps: Partial<PlacementDeps> = {}): Promise<Running> {
  const options = parsePlacementOptions(
    ['--port', '0', '--listen-address', '127.0.0.1', '--healthz-port', '0', '--healthz-listen-address', '127.0.0.1', '--metrics-port', '0', '--metrics-listen-address', '127.0.0.1', '--tls-enabled=false', ...flags],
    {},
  );
  const registry = new Registry();
  const ports: Partial<Record<'grpc' | 'healthz' | 'metrics', number>> = {};
  let allBound: () => void = () => undefined;
  const bound = new Promise<void>((resolve) => (allBound = resolve));
  const placement = createPlacement(options, {
    logger: silentLogger(),
    registry,
    ...deps,
    onListening: (server, port) => {
      ports[server] = port;
      if (ports.grpc && ports.healthz && ports.metrics) allBound();
    },
  });
  const controller = new AbortController();
  const done = placement.run(controller.signal);
  await Promise.race([bound, done.then(() => Promise.reject(new Error('placement stopped before binding')))]);
  return {
    placement,
    address: `127.0.0.1:${ports.grpc}`,
    healthzPort: ports.healthz ?? 0,
    metricsPort: ports.metrics ?? 0,
    registry,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

function sidecar(running: { address: string }, name: string, entities: string[] = [], extra: Partial<SidecarClientOptions> = {}): SidecarClient {
  return new SidecarClient({ address: running.address, name, id: `app-${name}`, namespace: 'default', entities, ...extra });
}

void test('sidecars join and see lock, update (full table), unlock; an actor-less one gets a burst', async () => {
  const running = await startPlacement();
  try {
    const h1 = sidecar(running, 'h1', ['a']);
    await h1.waitForMembers({ a: ['h1'] });
    const h2 = sidecar(running, 'h2', ['a', 'b']);
    await h2.waitForMembers({ a: ['h1', 'h2'], b: ['h2'] });
    await h1.waitForMembers({ a: ['h1', 'h2'], b: ['h2'] });
    const h3 = sidecar(running, 'h3');
    await h3.waitForMembers({ a: ['h1', 'h2'], b: ['h2'] });

    assert.deepEqual(h1.log, ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2', 'update@2{a:h1,h2;b:h2}', 'unlock@2']);
    assert.deepEqual(h2.log, ['lock@2', 'update@2{a:h1,h2;b:h2}', 'unlock@2']);
    assert.deepEqual(h3.log, ['lock@2', 'update@2{a:h1,h2;b:h2}', 'unlock@2']);
    const update = h2.orders[1];
    assert.equal(update?.tables?.replication_factor, '100');
    assert.equal(update?.tables?.version, '2');
    assert.deepEqual(
      { ...update?.tables?.entries.b?.load_map.h2 },
      { name: 'h2', port: '0', load: '0', entities: ['a', 'b'], id: 'app-h2', pod: '', api_level: 20, namespace: 'default', operation: 'REPORT' },
    );

    // A sidecar leaving: the others get a table without it.
    h2.close();
    await h1.waitForMembers({ a: ['h1'] });
    await h3.waitForMembers({ a: ['h1'] });
    assert.equal(running.placement.isLeader(), true);
    const state = await running.placement.stateTables();
    assert.deepEqual(state.tables.default?.hosts.map((h) => h.name), ['h1']);
    h1.close();
    h3.close();
  } finally {
    await running.stop();
  }
});

void test('a stream that never acks is cut at the dissemination timeout; the others get a table without it', async () => {
  const running = await startPlacement(['--disseminate-timeout', '500ms']);
  try {
    const h1 = sidecar(running, 'h1', ['a']);
    await h1.waitForMembers({ a: ['h1'] });
    const slow = sidecar(running, 'slow', ['a'], { autoAck: false });
    const ended = await slow.waitEnded(3000);
    assert.equal(ended.code, status.DEADLINE_EXCEEDED);
    assert.match(ended.details, /^dissemination timeout after 500ms for version 2$/);
    await h1.waitFor((s) => s.unlockedVersion === 3, 3000, 'the round after the timeout');
    assert.deepEqual(h1.members, { a: ['h1'] });
    assert.deepEqual(h1.log.slice(3), ['lock@2', 'lock@3', 'update@3{a:h1}', 'unlock@3']);
    h1.close();
  } finally {
    await running.stop();
  }
});

void test('two namespaces in parallel: separate tables and versions', async () => {
  const running = await startPlacement();
  try {
    const a1 = sidecar(running, 'a1', ['t'], { namespace: 'ns-a' });
    const b1 = sidecar(running, 'b1', ['t'], { namespace: 'ns-b' });
    await a1.waitForMembers({ t: ['a1'] });
    await b1.waitForMembers({ t: ['b1'] });
    const a2 = sidecar(running, 'a2', ['t'], { namespace: 'ns-a' });
    await a1.waitForMembers({ t: ['a1', 'a2'] });
    await a2.waitForMembers({ t: ['a1', 'a2'] });
    assert.equal(a1.unlockedVersion, 2);
    assert.equal(b1.unlockedVersion, 1);
    assert.deepEqual(b1.log, ['lock@1', 'update@1{t:b1}', 'unlock@1']);
    for (const client of [a1, a2, b1]) client.close();
  } finally {
    await running.stop();
  }
});

void test('with --disseminate-coalesce-window, sidecars joining together cost one round', async () => {
  const running = await startPlacement(['--disseminate-coalesce-window', '300ms']);
  try {
    const h1 = sidecar(running, 'h1', ['a']);
    await h1.waitForMembers({ a: ['h1'] });
    const joiners = ['h2', 'h3', 'h4', 'h5'].map((name) => sidecar(running, name, ['a']));
    await h1.waitForMembers({ a: ['h1', 'h2', 'h3', 'h4', 'h5'] });
    assert.deepEqual(h1.log, ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2', 'update@2{a:h1,h2,h3,h4,h5}', 'unlock@2']);
    for (const client of [h1, ...joiners]) client.close();
  } finally {
    await running.stop();
  }
});

/** A TCP relay that can stop relaying without closing anything: a peer that vanished from the network. */
async function freezableRelay(target: string): Promise<{ address: string; freeze(): void; close(): Promise<void> }> {
  const [host, port] = target.split(':') as [string, string];
  let frozen = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect(Number(port), host);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
    }
    inbound.on('data', (chunk) => frozen || outbound.write(chunk));
    outbound.on('data', (chunk) => frozen || inbound.write(chunk));
    inbound.on('close', () => frozen || outbound.destroy());
    outbound.on('close', () => frozen || inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    address: `127.0.0.1:${address.port}`,
    freeze: () => {
      frozen = true;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

void test('a sidecar cut off without a close is removed by keepalive within seconds', async () => {
  const running = await startPlacement(['--keepalive-time', '1s', '--keepalive-timeout', '1s']);
  const relay = await freezableRelay(running.address);
  try {
    const h1 = sidecar(running, 'h1', ['a']);
    const gone = sidecar({ address: relay.address }, 'gone', ['a']);
    await h1.waitForMembers({ a: ['gone', 'h1'] });
    await gone.waitForMembers({ a: ['gone', 'h1'] });
    const frozenAt = Date.now();
    relay.freeze();
    await h1.waitForMembers({ a: ['h1'] }, 6000);
    const tookMs = Date.now() - frozenAt;
    assert.ok(tookMs < 4000, `removed after ${tookMs}ms`);
    h1.close();
    gone.cancel();
  } finally {
    await relay.close();
    await running.stop();
  }
});

void test('bad input ends only the offending stream, with a clear status', async (t) => {
  const running = await startPlacement([], { floodLimits: { burst: 40, perSecond: 5 } });
  const h1 = sidecar(running, 'h1', ['a']);
  await h1.waitForMembers({ a: ['h1'] });
  const cases: Array<{ name: string; run: (client: SidecarClient) => void; code: status; details: RegExp; entities?: string[] }> = [
    {
      name: 'a Host for another namespace after the first',
      run: (c) => c.send({ operation: 'REPORT', name: 'x', id: 'app-x', namespace: 'other', entities: ['a'] }),
      code: status.INVALID_ARGUMENT,
      details: /reports for namespace default, not other/,
    },
    { name: 'an unknown operation', run: (c) => c.send({ operation: 9, id: 'app-x', namespace: 'default' }), code: status.INVALID_ARGUMENT, details: /unknown host operation 9/ },
    {
      name: 'operation UNKNOWN with a version',
      run: (c) => c.send({ operation: 'UNKNOWN', version: '1', id: 'app-x', namespace: 'default' }),
      code: status.INVALID_ARGUMENT,
      details: /both operation and version must be set or both must be unset/,
    },
    { name: 'no app id', run: (c) => c.send({ operation: 'LOCK', version: '1', namespace: 'default' }), code: status.INVALID_ARGUMENT, details: /host ID and namespace must be provided/ },
    {
      name: 'a version from the future',
      run: (c) => c.send({ operation: 'LOCK', version: '99', id: 'app-x', namespace: 'default' }),
      code: status.INVALID_ARGUMENT,
      details: /acknowledged version 99, but the current version is/,
      entities: [],
    },
    {
      name: "another app's reserved actor type",
      run: (c) => c.report(['dapr.internal.default.other.workflow']),
      code: status.PERMISSION_DENIED,
      details: /entity dapr.internal.default.other.workflow is not allowed for app ID app-x in namespace default/,
    },
    {
      name: 'a flood of reports',
      run: (c) => {
        for (let i = 0; i < 100; i++) c.report([]);
      },
      code: status.RESOURCE_EXHAUSTED,
      details: /more than 5 messages a second/,
      entities: [],
    },
  ];
  try {
    for (const c of cases) {
      await t.test(c.name, async () => {
        const client = sidecar(running, 'x', c.entities ?? ['a']);
        await client.waitFor((s) => s.unlockedVersion !== undefined, 5000, 'a first table');
        c.run(client);
        const ended = await client.waitEnded();
        assert.equal(ended.code, c.code, ended.details);
        assert.match(ended.details, c.details);
        await h1.waitForMembers({ a: ['h1'] });
      });
    }
    await t.test('the first message must be a REPORT', async () => {
      const raw = new SidecarClient({ address: running.address, name: 'z', id: 'app-z', namespace: 'default', initialReport: false });
      raw.send({ operation: 'LOCK', version: '0', id: 'app-z', namespace: 'default' });
      const ended = await raw.waitEnded();
      assert.equal(ended.code, status.INVALID_ARGUMENT);
      assert.equal(ended.details, 'the first message of a stream must be a REPORT, got LOCK');
    });
    assert.equal(h1.status, undefined, 'the well-behaved stream is untouched');
  } finally {
    h1.close();
    await running.stop();
  }
});

void test('a follower refuses every stream at once with FAILED_PRECONDITION "is not a leader"', async () => {
  const neverLeads = (_callbacks: LeadershipCallbacks): Runner => untilAborted;
  const running = await startPlacement(['--id', 'dapr-placement-server-1'], { election: neverLeads });
  try {
    const started = Date.now();
    const client = sidecar(running, 'h1', ['a']);
    const ended = await client.waitEnded();
    assert.equal(ended.code, status.FAILED_PRECONDITION);
    assert.equal(ended.details, 'node id=dapr-placement-server-1 is not a leader. Only the leader can serve requests');
    assert.ok(Date.now() - started < 1000);
    assert.equal(running.placement.isLeader(), false);
    await assert.rejects(running.placement.stateTables(), /is not a leader/);
    const metrics = await running.registry.metrics();
    assert.match(metrics, /dapr_placement_leader_status 0/);
    assert.match(metrics, /tsdapr_placement_streams_closed_total\{reason="not_leader"\} 1/);
  } finally {
    await running.stop();
  }
});

void test('losing leadership ends every stream with UNAVAILABLE; gaining it again serves afresh from version 0', async () => {
  let callbacks: LeadershipCallbacks | undefined;
  const controlled = (given: LeadershipCallbacks): Runner => {
    callbacks = given;
    return untilAborted;
  };
  const running = await startPlacement([], { election: controlled });
  try {
    callbacks?.onStartedLeading();
    const h1 = sidecar(running, 'h1', ['a']);
    await h1.waitForMembers({ a: ['h1'] });
    callbacks?.onStoppedLeading('lease lost');
    const ended = await h1.waitEnded();
    assert.equal(ended.code, status.UNAVAILABLE);
    assert.match(ended.details, /lost leadership \(lease lost\)/);
    const refused = await sidecar(running, 'h2', ['a']).waitEnded();
    assert.equal(refused.code, status.FAILED_PRECONDITION);
    callbacks?.onStartedLeading();
    const h3 = sidecar(running, 'h3', ['a']);
    await h3.waitForMembers({ a: ['h3'] });
    assert.deepEqual(h3.log, ['lock@1', 'update@1{a:h3}', 'unlock@1']);
    h3.close();
  } finally {
    await running.stop();
  }
});

void test('shutdown ends streams with UNAVAILABLE "placement server is shutting down"', async () => {
  const running = await startPlacement();
  const h1 = sidecar(running, 'h1', ['a']);
  await h1.waitForMembers({ a: ['h1'] });
  await running.stop();
  const ended = await h1.waitEnded();
  assert.equal(ended.code, status.UNAVAILABLE);
  assert.equal(ended.details, 'placement server is shutting down');
});

void test('/placement/state (with --metadata-enabled), /healthz and /metrics', async () => {
  const running = await startPlacement(['--metadata-enabled']);
  try {
    const h1 = sidecar(running, 'h1', ['a']);
    const h0 = sidecar(running, 'h0');
    await h1.waitForMembers({ a: ['h1'] });
    await h0.waitForMembers({ a: ['h1'] });
    const state = await fetch(`http://127.0.0.1:${running.healthzPort}/placement/state`);
    assert.equal(state.status, 200);
    assert.deepEqual(await state.json(), {
      tables: { default: { hosts: [{ name: 'h1', entities: ['a'], id: 'app-h1', api_level: 20, namespace: 'default', operation: 1 }], version: 1 } },
    });
    assert.equal((await fetch(`http://127.0.0.1:${running.healthzPort}/healthz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${running.healthzPort}/readyz`)).status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${running.metricsPort}/metrics`)).text();
    assert.match(metrics, /dapr_placement_runtimes_total\{host_namespace="default"\} 2/);
    assert.match(metrics, /dapr_placement_actor_runtimes_total\{host_namespace="default"\} 1/);
    assert.match(metrics, /dapr_placement_leader_status 1/);
    assert.match(metrics, /tsdapr_placement_round_duration_seconds_count\{host_namespace="default",outcome="completed"\} 1/);
    assert.match(metrics, /tsdapr_placement_ack_duration_seconds_count\{phase="lock"\} 1/);
    h1.close();
    h0.close();
  } finally {
    await running.stop();
  }
});

void test('many sidecars joining and leaving at once converge on one table', async () => {
  const running = await startPlacement();
  const names = Array.from({ length: 60 }, (_, i) => `h${String(i).padStart(2, '0')}`);
  const clients = names.map((name, i) => sidecar(running, name, i % 3 === 0 ? [] : ['a', ...(i % 2 === 0 ? ['b'] : [])]));
  try {
    const hosting = (list: SidecarClient[], test: (i: number) => boolean): string[] =>
      list.filter((client) => test(names.indexOf(client.options.name))).map((client) => client.options.name);
    const want = (list: SidecarClient[]) => ({ a: hosting(list, (i) => i % 3 !== 0), b: hosting(list, (i) => i % 3 !== 0 && i % 2 === 0) });
    await Promise.all(clients.map((client) => client.waitForMembers(want(clients), 10_000)));
    const leaving = clients.filter((_, i) => i % 4 === 1);
    const staying = clients.filter((_, i) => i % 4 !== 1);
    for (const client of leaving) client.close();
    await Promise.all(staying.map((client) => client.waitForMembers(want(staying), 10_000)));
    const versions = new Set(staying.map((client) => client.unlockedVersion));
    assert.equal(versions.size, 1, `one version everywhere, got ${[...versions].join(', ')}`);
    for (const client of staying) client.close();
  } finally {
    await running.stop();
  }
});
