import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * Opens one watch request on a collection and calls `onEvent` for each line
 * (`{type, object}`) until the request ends. Resolves when the server ends
 * the stream cleanly (its `timeoutSeconds` ran out, or it shut down),
 * rejects on an HTTP error status (with `statusCode` and the Status `body`)
 * or a broken connection, and rejects promptly when `signal` aborts.
 */
export type WatchOpener = (
  path: string,
  query: Readonly<Record<string, string>>,
  signal: AbortSignal,
  onEvent: (type: string, object: unknown) => void,
) => Promise<void>;

/** The longest error body kept from a failed watch request. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * The watch request over node's own http(s), with the kubeconfig's TLS and
 * credentials. Not client-node's `Watch`: that one takes no abort signal, so
 * a request that stalls before its response headers could never be cancelled.
 */
export function kubeWatchOpener(kubeConfig: KubeConfig): WatchOpener {
  return async (path, query, signal, onEvent) => {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(cluster.server + path);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    url.searchParams.set('watch', 'true');
    const requestOptions: https.RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(requestOptions);
    signal.throwIfAborted();
    const transport = url.protocol === 'http:' ? http : https;

    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        if (err === undefined) resolve();
        else reject(err instanceof Error ? err : new Error(`watch ${path} failed`, { cause: err }));
      };
      const request = transport.request(url, { ...requestOptions, method: 'GET', signal });
      request.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
      request.on('error', settle);
      request.on('response', (response) => {
        response.setEncoding('utf8');
        if (response.statusCode !== 200) {
          let body = '';
          response.on('data', (chunk: string) => {
            if (body.length < MAX_ERROR_BODY) body += chunk;
          });
          response.on('end', () => settle(Object.assign(new Error(`watch ${path}: HTTP ${response.statusCode}`), { statusCode: response.statusCode, body })));
          response.on('error', settle);
          return;
        }
        let buffered = '';
        response.on('data', (chunk: string) => {
          buffered += chunk;
          for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (!line) continue;
            let event: { type?: unknown; object?: unknown };
            try {
              event = JSON.parse(line) as { type?: unknown; object?: unknown };
            } catch {
              // A torn stream (a proxy cut it mid-line): restart rather than guess.
              request.destroy(new Error(`watch ${path}: a line that is not JSON`));
              return;
            }
            if (typeof event.type === 'string') onEvent(event.type, event.object);
          }
        });
        response.on('end', () => settle());
        response.on('error', settle);
        response.on('close', () => settle(new Error(`watch ${path}: connection closed before the stream ended`)));
      });
      request.end();
    });
  };
}
