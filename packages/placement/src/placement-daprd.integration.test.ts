import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollUntil, startDaprd, type Daprd } from '@tsdapr/e2e-harness';
import { silentLogger } from '@tsdapr/runtime';
import { Registry } from 'prom-client';
import { parsePlacementOptions } from './options.js';
import { createPlacement, type Placement } from './placement.js';

/**
 * Our placement with REAL upstream daprd (the pinned v1.17 build from
 * scripts/build-go-binaries.sh), standalone and in plaintext (as `dapr run` starts it).
 * No skip: a missing daprd binary fails the test with how to build it.
 */

const ACTOR_TYPE = 'myactor';

interface ActorApp {
  readonly name: string;
  readonly port: number;
  /** Actor ids this app was asked to run a method for. */
  readonly calls: string[];
  close(): Promise<void>;
}

/** A tiny app that hosts one actor type, as an SDK would: /dapr/config plus the actor method route. */
async function startActorApp(name: string): Promise<ActorApp> {
  const calls: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url === '/dapr/config') return json(200, { entities: [ACTOR_TYPE], actorIdleTimeout: '1h', drainOngoingCallTimeout: '1s', drainRebalancedActors: true });
    if (req.method === 'GET' && url === '/healthz') return json(200, {});
    const method = /^\/actors\/([^/]+)\/([^/]+)\/method\/([^/]+)$/.exec(url);
    if (req.method === 'PUT' && method) {
      req.resume();
      req.on('end', () => {
        calls.push(decodeURIComponent(method[2] ?? ''));
        json(200, { app: name, actor: decodeURIComponent(method[2] ?? '') });
      });
      return;
    }
    if (req.method === 'DELETE' && url.startsWith('/actors/')) return json(200, {});
    json(404, { error: `no route ${req.method} ${url}` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function startOurPlacement(): Promise<{ placement: Placement; port: number; stop(): Promise<void> }> {
  const options = parsePlacementOptions(['--port=0', '--listen-address=127.0.0.1', '--healthz-port=0', '--healthz-listen-address=127.0.0.1', '--enable-metrics=false', '--tls-enabled=false'], {});
  const controller = new AbortController();
  let port = 0;
  let done: Promise<void> = Promise.resolve();
  let placement: Placement | undefined;
  await new Promise<void>((resolve) => {
    placement = createPlacement(options, {
      logger: silentLogger(),
      registry: new Registry(),
      onListening: (server, bound) => {
        if (server !== 'grpc') return;
        port = bound;
        resolve();
      },
    });
    done = placement.run(controller.signal);
  });
  return {
    placement: placement as Placement,
    port,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

/** A resources directory with the in-memory state store as the actor state store. */
function actorResources(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsdapr-placement-daprd-'));
  writeFileSync(
    join(dir, 'statestore.yaml'),
    [
      'apiVersion: dapr.io/v1alpha1',
      'kind: Component',
      'metadata:',
      '  name: statestore',
      'spec:',
      '  type: state.in-memory',
      '  version: v1',
      '  metadata:',
      '    - name: actorStateStore',
      '      value: "true"',
      '',
    ].join('\n'),
  );
  return dir;
}

interface MetadataActorRuntime {
  readonly runtimeStatus?: string;
  readonly hostReady?: boolean;
  readonly placement?: string;
}

async function actorRuntime(daprd: Daprd): Promise<MetadataActorRuntime> {
  const metadata = (await (await fetch(`http://127.0.0.1:${daprd.httpPort}/v1.0/metadata`)).json()) as { actorRuntime?: MetadataActorRuntime };
  return metadata.actorRuntime ?? {};
}

async function invoke(daprd: Daprd, actorId: string): Promise<{ app: string; actor: string }> {
  const response = await fetch(`http://127.0.0.1:${daprd.httpPort}/v1.0/actors/${ACTOR_TYPE}/${actorId}/method/hello`, { method: 'POST', body: '{}' });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`actor call ${actorId} via daprd :${daprd.httpPort}: HTTP ${response.status} ${body}`);
  return JSON.parse(body) as { app: string; actor: string };
}

async function withLogs<T>(daprds: Daprd[], run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const logs = daprds.map((d) => `--- daprd :${d.httpPort}\n${d.logs().slice(-4000)}`).join('\n');
    throw new Error(`${(err as Error).message}\n${logs}`, { cause: err });
  }
}

void test('real daprd sidecars join our placement, route actor calls by its table, and fail over when one dies', { timeout: 240_000 }, async () => {
  const placement = await startOurPlacement();
  const resources = actorResources();
  const apps = [await startActorApp('app-a'), await startActorApp('app-b')];
  const daprds: Daprd[] = [];
  try {
    for (const app of apps) {
      daprds.push(
        await startDaprd({
          appId: app.name,
          args: [`--app-port=${app.port}`, `--placement-host-address=127.0.0.1:${placement.port}`, `--resources-path=${resources}`, '--app-health-check-path=/healthz'],
          // The host name daprd reports (and the other sidecar dials) is <DAPR_HOST_IP>:<internal gRPC port>.
          env: { DAPR_HOST_IP: '127.0.0.1' },
        }),
      );
    }
    const [a, b] = daprds as [Daprd, Daprd];

    await withLogs(daprds, async () => {
      // daprd's /healthz stays unhealthy until its first UNLOCK from placement.
      await a.waitHealthy(90_000);
      await b.waitHealthy(90_000);

      // Our table holds both hosts, under the names daprd reported.
      const hostA = `127.0.0.1:${a.internalGrpcPort}`;
      const hostB = `127.0.0.1:${b.internalGrpcPort}`;
      const state = await pollUntil(
        'both sidecars in the placement table',
        async () => {
          const tables = await placement.placement.stateTables();
          const hosts = tables.tables.default?.hosts ?? [];
          if (hosts.length !== 2) throw new Error(`hosts: ${JSON.stringify(hosts.map((h) => h.name))}`);
          return tables;
        },
        { timeoutMs: 30_000 },
      );
      const hosts = state.tables.default?.hosts ?? [];
      assert.deepEqual(hosts.map((h) => h.name).sort(), [hostA, hostB].sort());
      for (const host of hosts) {
        assert.deepEqual(host.entities, [ACTOR_TYPE]);
        assert.equal(host.namespace, 'default');
        assert.equal(host.api_level, 20);
      }
      assert.deepEqual(hosts.map((h) => h.id).sort(), ['app-a', 'app-b']);

      // daprd's own metadata says it is connected to placement and ready to host.
      for (const daprd of daprds) {
        const runtime = await pollUntil(
          'daprd actor runtime ready',
          async () => {
            const r = await actorRuntime(daprd);
            if (!r.hostReady) throw new Error(JSON.stringify(r));
            return r;
          },
          { timeoutMs: 30_000 },
        );
        assert.equal(runtime.runtimeStatus, 'RUNNING');
        assert.equal(runtime.placement, 'placement: connected');
      }

      // Actor calls through either sidecar reach the owner chosen by the
      // ring daprd builds from our table: the same actor id lands on the
      // same app whichever sidecar is asked, and both apps own some ids.
      const ids = Array.from({ length: 24 }, (_, i) => `actor-${i}`);
      const ownerViaA = new Map<string, string>();
      for (const id of ids) ownerViaA.set(id, (await invoke(a, id)).app);
      for (const id of ids) assert.equal((await invoke(b, id)).app, ownerViaA.get(id), `actor ${id} has one owner`);
      assert.deepEqual(new Set(ownerViaA.values()), new Set(['app-a', 'app-b']), 'both hosts own actors');

      // Kill one sidecar: the keepalive/stream close removes its host, the
      // other sidecar gets a table with itself alone and takes every actor.
      await b.stop();
      await pollUntil(
        'the dead sidecar leaves the table',
        async () => {
          const names = ((await placement.placement.stateTables()).tables.default?.hosts ?? []).map((h) => h.name);
          if (names.length !== 1 || names[0] !== hostA) throw new Error(`hosts: ${JSON.stringify(names)}`);
          return true;
        },
        { timeoutMs: 20_000 },
      );
      await pollUntil(
        'every actor served by the surviving app',
        async () => {
          for (const id of ids) {
            const { app } = await invoke(a, id);
            if (app !== 'app-a') throw new Error(`actor ${id} still answered by ${app}`);
          }
          return true;
        },
        { timeoutMs: 30_000 },
      );
    });
  } finally {
    for (const daprd of daprds) await daprd.stop().catch(() => undefined);
    for (const app of apps) await app.close();
    await placement.stop();
    rmSync(resources, { recursive: true, force: true });
  }
});
