import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { adminServers } from './admin-server.js';
import { silentLogger } from './logger.js';
import { Readiness } from './readiness.js';
import { runAll } from './runner.js';

test('adminServers: /healthz, /readyz from the readiness parts and extra routes on one port, /metrics on another, none when metrics are off', { timeout: 10_000 }, async () => {
  const readiness = new Readiness();
  const setReady = readiness.part('grpc-server');
  const registry = new Registry();
  registry.setDefaultLabels({});
  const ports = new Map<string, number>();
  const off = adminServers({
    endpoints: { healthz: { host: '127.0.0.1', port: 0 }, metrics: { enabled: false, host: '127.0.0.1', port: 0 } },
    readiness,
    registry,
    logger: silentLogger(),
  });
  assert.equal(off.length, 1, 'metrics off: the health server only');
  const controller = new AbortController();
  let bothListening: () => void = () => undefined;
  const listening = new Promise<void>((resolve) => (bothListening = resolve));
  const runners = adminServers({
    endpoints: { healthz: { host: '127.0.0.1', port: 0 }, metrics: { enabled: true, host: '127.0.0.1', port: 0 } },
    readiness,
    registry,
    logger: silentLogger(),
    healthzRoutes: { '/extra': (_req, res) => void res.writeHead(200).end('extra') },
    onListening: (server, port) => {
      ports.set(server, port);
      if (ports.size === 2) bothListening();
    },
  });
  const running = runAll(controller.signal, runners);
  const after = [(): void => controller.abort()];
  try {
    await listening;
    const get = async (server: string, path: string): Promise<[number, string]> => {
      const response = await fetch(`http://127.0.0.1:${ports.get(server)}${path}`);
      return [response.status, await response.text()];
    };
    assert.deepEqual(await get('healthz', '/healthz'), [200, 'ok\n']);
    assert.deepEqual(await get('healthz', '/readyz'), [503, 'not ready: grpc-server\n']);
    setReady(true);
    assert.equal((await get('healthz', '/readyz'))[0], 200);
    assert.deepEqual(await get('healthz', '/extra'), [200, 'extra']);
    assert.equal((await get('metrics', '/metrics'))[0], 200);
    assert.equal((await get('metrics', '/healthz'))[0], 404, 'the metrics port serves only /metrics');
  } finally {
    for (const stop of after) stop();
    await running;
  }
});
