import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { PooledKubeConfig } from './pooled-kube-config.js';

/** A plain-HTTP API server stand-in that answers every GET with an empty Namespace list and counts connections. */
async function countingServer(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ apiVersion: 'v1', kind: 'NamespaceList', metadata: { resourceVersion: '1' }, items: [] }));
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function configFor(config: KubeConfig, server: string): KubeConfig {
  // client-node allows http: only with skipTLSVerify.
  config.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'abc' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return config;
}

for (const [name, make, expected] of [
  ['PooledKubeConfig: sequential API calls share one keep-alive connection', () => new PooledKubeConfig(), 1],
  // The reason for PooledKubeConfig: plain client-node opens a connection per call.
  ['client-node KubeConfig: a new connection per API call', () => new KubeConfig(), 5],
] as const) {
  test(name, async () => {
    const server = await countingServer();
    try {
      const core = configFor(make(), server.url).makeApiClient(CoreV1Api);
      for (let i = 0; i < 5; i += 1) await core.listNamespace();
      assert.equal(server.connections(), expected);
    } finally {
      await server.close();
    }
  });
}

test('the shared TLS agent is kept while the TLS material is the same, and replaced when it changes', () => {
  const config = configFor(new PooledKubeConfig(), 'https://127.0.0.1:6443') as PooledKubeConfig;
  const ca = Buffer.from('CA one');
  const first = config.pooledAgent(new https.Agent({ ca: Buffer.from(ca), cert: 'cert', key: 'key' }));
  assert.ok(first instanceof https.Agent);
  assert.equal((first).options.keepAlive, true);
  assert.equal(config.pooledAgent(new https.Agent({ ca: Buffer.from(ca), cert: 'cert', key: 'key' })), first, 'equal buffers: the same agent');
  const rotated = config.pooledAgent(new https.Agent({ ca: Buffer.from(ca), cert: 'cert 2', key: 'key 2' }));
  assert.notEqual(rotated, first, 'a rotated client certificate gets a new agent');
  assert.equal((rotated as https.Agent).options.cert, 'cert 2');
});
