import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { TlsMaterial } from '@tsdapr/grpc';
import { listen, type Logger, type Runner } from '@tsdapr/runtime';
import type { InjectorMetrics } from '../metrics.js';
import { handleAdmissionReview, type AdmissionHandlerDeps } from './admission-handler.js';

export interface WebhookServerOptions {
  readonly host?: string;
  readonly port: number;
  /** The serving certificate; a new identity applies to new connections without a restart. */
  readonly tls: TlsMaterial;
  readonly handler: AdmissionHandlerDeps;
  readonly metrics: InjectorMetrics;
  readonly logger: Logger;
  /** Largest AdmissionReview accepted. A pod is at most ~1.5 MiB in etcd; the review carries it once or twice. */
  readonly maxBodyBytes?: number;
  /** How long open connections may finish their requests at shutdown. */
  readonly drainMs?: number;
  readonly onListening?: (port: number) => void;
}

export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The express app serving POST /mutate; exported for tests that drive it over plain HTTP. */
export function webhookApp(options: Pick<WebhookServerOptions, 'handler' | 'metrics' | 'logger' | 'maxBodyBytes'>): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.post('/mutate', express.raw({ type: () => true, limit: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES }), (req: Request, res: Response) => {
    const started = process.hrtime.bigint();
    const body: unknown = req.body;
    const reply = (status: number, payload: object, outcome: string): void => {
      res.status(status).type('application/json').send(JSON.stringify(payload));
      options.metrics.duration.observe({ outcome }, Number(process.hrtime.bigint() - started) / 1e9);
    };
    if (!Buffer.isBuffer(body) || body.length === 0) return reply(400, { error: 'empty body' }, 'bad_request');
    const contentType = (req.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (contentType !== 'application/json') return reply(415, { error: 'invalid Content-Type, expected `application/json`' }, 'bad_request');
    let parsed: unknown;
    try {
      parsed = JSON.parse(UTF8.decode(body));
    } catch (err) {
      options.logger.warn({ err: { message: (err as Error).message }, bytes: body.length }, 'AdmissionReview body is not UTF-8 JSON');
      return reply(400, { error: `the body is not UTF-8 JSON: ${(err as Error).message}` }, 'bad_request');
    }
    const result = handleAdmissionReview(parsed, options.handler);
    if (result.status !== 200) options.logger.warn({ status: result.status, body: result.body }, 'AdmissionReview refused');
    reply(result.status, result.body, result.outcome);
  });
  app.use((_req: Request, res: Response) => {
    res.status(404).type('application/json').send(JSON.stringify({ error: 'not found: the injector serves POST /mutate' }));
  });
  // Body-parser failures (too large, aborted) and anything else thrown in a route.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
    if (status >= 500) options.logger.error({ err }, 'webhook request failed');
    else options.logger.warn({ status, message: (err as Error).message }, 'webhook request refused');
    if (!res.headersSent) res.status(status).type('application/json').send(JSON.stringify({ error: status === 413 ? `the body is larger than ${options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES} bytes` : (err as Error).message }));
  });
  return app;
}

/** The HTTPS server on `port` (4000 upstream) as a runner that drains and closes on abort. */
export function webhookServer(options: WebhookServerOptions): Runner {
  return async (signal) => {
    const identity = options.tls.currentIdentity;
    if (!identity) throw new Error('webhook server: no serving certificate yet');
    const server = createServer({ cert: identity.certificateChainPem, key: identity.privateKeyPem, minVersion: 'TLSv1.2' }, webhookApp(options));
    server.keepAliveTimeout = 30_000;
    server.headersTimeout = 10_000;
    const onIdentity = (update: { certificate: Buffer; privateKey: Buffer } | null): void => {
      if (update) server.setSecureContext({ cert: update.certificate, key: update.privateKey, minVersion: 'TLSv1.2' });
    };
    options.tls.addIdentityCertificateListener(onIdentity);
    try {
      await listen(server, options.port, options.host);
      const port = (server.address() as AddressInfo).port;
      options.logger.info({ port }, 'sidecar injector is listening, patching Dapr-enabled pods');
      options.onListening?.(port);
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      options.tls.removeIdentityCertificateListener(onIdentity);
      await close(server, options.drainMs ?? 5_000);
    }
  };
}

function close(server: Server, drainMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), drainMs);
    server.closeIdleConnections();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
