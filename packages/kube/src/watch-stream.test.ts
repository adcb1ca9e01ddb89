import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { isGone, kubeStatusOf } from './api-errors.js';
import { kubeWatchOpener } from './watch-stream.js';

/** A plain-HTTP stand-in for the API server's watch endpoint, answering with `handler`. */
async function withServer(handler: (request: IncomingMessage, response: ServerResponse) => void, body: (opener: ReturnType<typeof kubeWatchOpener>) => Promise<void>): Promise<void> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't0ken' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  try {
    await body(kubeWatchOpener(kubeConfig));
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

void test('events split across chunks arrive whole and in order; a clean end resolves; the query and the token are sent', async () => {
  let url = '';
  let authorization: string | undefined;
  await withServer(
    (request, response) => {
      url = request.url ?? '';
      authorization = request.headers.authorization;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":"MODI');
      setTimeout(() => {
        response.write('FIED","object":{"metadata":{"name":"a"}}}\n\n{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}\n');
        response.end();
      }, 20);
    },
    async (open) => {
      const events: string[] = [];
      await open('/api/v1/pods', { resourceVersion: '5', allowWatchBookmarks: 'true' }, AbortSignal.timeout(5000), (type) => events.push(type));
      assert.deepEqual(events, ['ADDED', 'MODIFIED', 'BOOKMARK']);
    },
  );
  const query = new URL(url, 'http://x').searchParams;
  assert.equal(query.get('watch'), 'true');
  assert.equal(query.get('resourceVersion'), '5');
  assert.equal(query.get('allowWatchBookmarks'), 'true');
  assert.equal(authorization, 'Bearer t0ken');
});

void test('an HTTP error rejects with its status and Status body', async () => {
  await withServer(
    (_request, response) => {
      response.writeHead(410, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 1 (5)' }));
    },
    async (open) => {
      await assert.rejects(open('/api/v1/pods', {}, AbortSignal.timeout(5000), () => undefined), (err: unknown) => {
        assert.equal(isGone(err), true);
        assert.equal(kubeStatusOf(err)?.reason, 'Expired');
        return true;
      });
    },
  );
});

void test('a response that sends headers and then nothing is cancelled by the signal', async () => {
  await withServer(
    (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.flushHeaders();
    },
    async (open) => {
      const started = Date.now();
      await assert.rejects(open('/api/v1/pods', {}, AbortSignal.timeout(200), () => undefined), (err: unknown) => (err as Error).name === 'AbortError' || (err as Error).name === 'TimeoutError');
      assert.ok(Date.now() - started < 2000);
    },
  );
});

void test('a request whose response headers never come is cancelled by the signal', async () => {
  await withServer(
    () => undefined,
    async (open) => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      await assert.rejects(open('/api/v1/pods', {}, controller.signal, () => undefined));
    },
  );
});

void test('a connection cut mid-stream, or a line that is not JSON, rejects', async () => {
  await withServer(
    (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"type":"ADDED","object":{}}\n');
      setTimeout(() => response.socket?.destroy(), 20);
    },
    async (open) => {
      const events: string[] = [];
      await assert.rejects(open('/api/v1/pods', {}, AbortSignal.timeout(5000), (type) => events.push(type)));
      assert.deepEqual(events, ['ADDED']);
    },
  );
  await withServer(
    (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('<html>proxy error</html>\n');
    },
    async (open) => {
      await assert.rejects(open('/api/v1/pods', {}, AbortSignal.timeout(5000), () => undefined), /not JSON/);
    },
  );
});
