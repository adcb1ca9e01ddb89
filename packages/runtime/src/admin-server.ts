import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';
import type { Readiness } from './readiness.js';
import type { Runner } from './runner.js';

export interface AdminServerOptions {
  readonly name: string;
  readonly host?: string;
  readonly port: number;
  readonly logger: Logger;
  readonly routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void | Promise<void>>;
  /** Called with the bound port (useful with port 0 in tests). */
  readonly onListening?: (port: number) => void;
}

/** A plain HTTP server for probes or metrics, as a runner that closes on abort. */
export function adminServer(options: AdminServerOptions): Runner {
  return async (signal) => {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const route = options.routes[path];
      if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      Promise.resolve(route(req, res)).catch((err: unknown) => {
        options.logger.error({ err, path }, 'admin route failed');
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    await listen(server, options.port, options.host);
    const port = (server.address() as AddressInfo).port;
    options.logger.info({ server: options.name, port }, 'admin server listening');
    options.onListening?.(port);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/** Starts listening; rejects with the bind error (EADDRINUSE, EACCES) instead of emitting it. */
export function listen(server: NetServer, port: number, host?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** `/healthz` (alive) and `/readyz` (every readiness part ready). */
export function healthRoutes(readiness: Readiness): AdminServerOptions['routes'] {
  return {
    '/healthz': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    },
    '/readyz': (_req, res) => {
      const waiting = readiness.notReady();
      if (waiting.length === 0) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      else res.writeHead(503, { 'content-type': 'text/plain' }).end(`not ready: ${waiting.join(', ')}\n`);
    },
  };
}

export function metricsRoutes(registry: Registry): AdminServerOptions['routes'] {
  return {
    '/metrics': async (_req, res) => {
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType }).end(body);
    },
  };
}

export interface AdminEndpoints {
  readonly healthz: { readonly host: string; readonly port: number };
  readonly metrics: { readonly enabled: boolean; readonly host: string; readonly port: number };
}

export interface AdminServersOptions {
  readonly endpoints: AdminEndpoints;
  readonly readiness: Readiness;
  readonly registry: Registry;
  readonly logger: Logger;
  /** More routes on the health port (placement's /placement/state). */
  readonly healthzRoutes?: AdminServerOptions['routes'];
  readonly onListening?: (server: 'healthz' | 'metrics', port: number) => void;
}

/**
 * Every service's admin surface: `/healthz` and `/readyz` on the health port,
 * `/metrics` on its own port unless metrics are off. An empty host binds all
 * interfaces, as upstream.
 */
export function adminServers(options: AdminServersOptions): Runner[] {
  const { endpoints, logger } = options;
  const runners = [
    adminServer({
      name: 'healthz',
      host: endpoints.healthz.host || undefined,
      port: endpoints.healthz.port,
      logger,
      routes: { ...healthRoutes(options.readiness), ...options.healthzRoutes },
      onListening: (port) => options.onListening?.('healthz', port),
    }),
  ];
  if (endpoints.metrics.enabled) {
    runners.push(
      adminServer({
        name: 'metrics',
        host: endpoints.metrics.host || undefined,
        port: endpoints.metrics.port,
        logger,
        routes: metricsRoutes(options.registry),
        onListening: (port) => options.onListening?.('metrics', port),
      }),
    );
  }
  return runners;
}
