import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { listen, sleep, type Logger, type Runner } from '@tsdapr/runtime';
import type { OidcOptions } from '../options.js';

export const JWKS_ENDPOINT = '/jwks.json';
export const DISCOVERY_ENDPOINT = '/.well-known/openid-configuration';

export interface OidcServerDeps {
  readonly options: OidcOptions;
  /** The JWKS in force (it follows a rotation without a restart), undefined before it is loaded. */
  readonly jwksJson: () => string | undefined;
  readonly algorithm: () => string | undefined;
  readonly issuer: string | undefined;
  readonly logger: Logger;
  /** Called with the bound port once listening. */
  readonly onListening?: (port: number) => void;
}

/** The endpoint paths with upstream's prefix rule (pkg/sentry/server/oidc/oidc.go New). */
export function oidcPaths(prefix: string | undefined): { jwks: string; discovery: string } {
  if (prefix === undefined || prefix === '/') return { jwks: JWKS_ENDPOINT, discovery: DISCOVERY_ENDPOINT };
  const base = `/${prefix.replace(/^\/+/, '').replace(/\/+$/, '')}`;
  return { jwks: `${base}${JWKS_ENDPOINT}`, discovery: `${base}${DISCOVERY_ENDPOINT}` };
}

/** Upstream's host rule: any when the list is empty or holds "*", else Host (or X-Forwarded-Host) with or without its port. */
export function hostAllowed(allowed: readonly string[], host: string): boolean {
  if (allowed.length === 0 || allowed.includes('*') || allowed.includes(host)) return true;
  const withoutPort = /^(\[[^\]]*\]|[^:]*):\d+$/.exec(host)?.[1];
  return withoutPort !== undefined && allowed.includes(withoutPort.replace(/^\[|\]$/g, ''));
}

/** The discovery document, fields in upstream's order; issuer and jwks_uri derived from the request unless configured. */
export function discoveryDocument(input: { issuer: string | undefined; jwksUri: string | undefined; jwksPath: string; algorithm: string; scheme: 'http' | 'https'; host: string }): Record<string, unknown> {
  const requestBase = `${input.scheme}://${input.host}`;
  const issuer = input.issuer ?? requestBase;
  let jwksUri = input.jwksUri;
  if (jwksUri === undefined) {
    let base: URL;
    try {
      base = new URL(issuer);
    } catch {
      base = new URL(requestBase);
    }
    jwksUri = new URL(input.jwksPath, base).href;
  }
  return {
    issuer,
    jwks_uri: jwksUri,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [input.algorithm],
    scopes_supported: ['openid'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'use'],
  };
}

function send(res: ServerResponse, status: number, body: string, json = false): void {
  res.writeHead(status, json ? { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' } : { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

/**
 * Sentry's OIDC HTTP server, as upstream's: GET `<prefix>/.well-known/openid-configuration`
 * and GET `<prefix>/jwks.json`, optionally restricted to `--oidc-allowed-hosts`
 * (403 otherwise), over TLS unless `--oidc-server-tls-enabled=false`.
 */
export function oidcServer(deps: OidcServerDeps): Runner {
  const { options, logger } = deps;
  const paths = oidcPaths(options.pathPrefix);
  const scheme = options.tls ? 'https' : 'http';
  const handler: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== paths.jwks && path !== paths.discovery) return send(res, 404, '404 page not found\n');
    const forwarded = req.headers['x-forwarded-host'];
    const host = (typeof forwarded === 'string' && forwarded !== '' ? forwarded : req.headers.host) ?? '';
    if (!hostAllowed(options.allowedHosts, host)) {
      logger.warn({ host }, 'OIDC request for a host not in --oidc-allowed-hosts');
      return send(res, 403, 'Forbidden: unauthorized domain\n');
    }
    if (req.method !== 'GET') return send(res, 405, 'Method not allowed\n');
    const jwks = deps.jwksJson();
    const algorithm = deps.algorithm();
    if (!jwks || !algorithm) return send(res, 404, path === paths.jwks ? 'JWKS not available\n' : 'OIDC configuration not available\n');
    if (path === paths.jwks) return send(res, 200, jwks, true);
    send(res, 200, `${JSON.stringify(discoveryDocument({ issuer: deps.issuer, jwksUri: options.jwksUri, jwksPath: paths.jwks, algorithm, scheme, host }))}\n`, true);
  };
  return async (signal) => {
    let tlsMaterial: { cert: Buffer; key: Buffer } | undefined;
    if (options.tls) {
      const { certFile, keyFile } = options.tls;
      // As upstream: wait for the files (a cert-manager Secret may be mounted late).
      while (!(existsSync(certFile) && existsSync(keyFile))) {
        logger.warn({ certFile, keyFile }, 'waiting for the OIDC TLS certificate and key files');
        await sleep(2_000, signal);
        if (signal.aborted) return;
      }
      tlsMaterial = { cert: await readFile(certFile), key: await readFile(keyFile) };
    }
    const server = tlsMaterial ? createHttpsServer({ ...tlsMaterial, minVersion: 'TLSv1.2' }, handler) : createHttpServer(handler);
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    await listen(server, options.port, options.listenAddress || undefined);
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    logger.info({ port, tls: Boolean(tlsMaterial), paths, allowedHosts: options.allowedHosts }, 'OIDC HTTP server listening');
    deps.onListening?.(port);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
