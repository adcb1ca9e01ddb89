import { existsSync, statSync } from 'node:fs';
import { readFile, watch } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename, dirname } from 'node:path';
import { errorMessage, sleep, untilAborted, type Logger } from '@tsdapr/runtime';
import { checkCommon, checkTrustDomain, validatedIdentity } from './common.js';
import { JwksError, parseJwks, verifyJwt, type KeySet } from './jwks.js';
import { ValidationError, type SignRequestIdentity, type ValidatedIdentity, type Validator } from './validator.js';

export interface JwksValidatorOptions {
  /** A `https://` or `http://` URL, a path to a file, or the JWKS itself (JSON, or base64 of it). */
  readonly source: string;
  /** Sentry's own SPIFFE ID: tokens must list it in `aud`. */
  readonly sentrySpiffeId: string;
  /** A plain `http://` source is refused unless this is set (config option `allowInsecureHttp: "true"`). */
  readonly allowInsecureHttp?: boolean;
  /** PEM CA bundle to trust for an https source, instead of the system roots. */
  readonly caCertificate?: string;
  /** For a URL: the least time between two fetches (periodic and on an unknown kid). Default 10 min. */
  readonly minRefreshIntervalMs?: number;
  /** For a URL: timeout of one fetch. Default 30 s. */
  readonly requestTimeoutMs?: number;
  readonly logger: Logger;
  /** Clock in ms since the epoch; for tests. */
  readonly now?: () => number;
}

export const JWT_CLOCK_SKEW_MS = 5 * 60_000;
const DEFAULT_MIN_REFRESH_MS = 10 * 60_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const MAX_JWKS_BYTES = 1024 * 1024;

export type JwksSource = { readonly kind: 'url'; readonly url: URL } | { readonly kind: 'file'; readonly path: string } | { readonly kind: 'inline'; readonly text: string };

/**
 * What `source` is, as upstream decides it: a URL by its scheme, a file if
 * one exists at that path, otherwise the JWKS itself. A value that looks like
 * a path (`/…`, `./…`, `../…`) is a file even when missing, so that the error
 * says "no such file" rather than "not JSON".
 */
export function classifyJwksSource(source: string, isFile: (path: string) => boolean = isExistingFile): JwksSource {
  const trimmed = source.trim();
  if (/^https?:\/\//i.test(trimmed)) return { kind: 'url', url: new URL(trimmed) };
  if (/^(\/|\.\.?\/)/.test(trimmed) || isFile(trimmed)) return { kind: 'file', path: trimmed };
  return { kind: 'inline', text: trimmed };
}

function isExistingFile(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The JWKS validator (spec 2.4): the token must be a JWT signed by a key of
 * the configured JWKS (5 minutes of clock skew), with sentry's SPIFFE ID in
 * `aud` and `sub` = `spiffe://<td>/ns/<namespace>/<id>` of the request.
 *
 * The trust domain is the one in `sub`. Upstream instead requires `sub` to use
 * the request's trust domain, or `public` when the request has none; here a
 * request that names a trust domain must still match `sub`, and one that
 * names none takes the token issuer's. Beyond upstream, `exp` is required.
 *
 * An inline JWKS is parsed here (a bad one throws at startup); a file is read
 * and then watched; a URL is fetched, refreshed every `minRefreshInterval`
 * and early (at most that often) when a token names an unknown kid. The
 * runner fails if the first load fails, as upstream's does.
 */
export function createJwksValidator(options: JwksValidatorOptions): Validator {
  const logger = options.logger.child({ validator: 'jwks' });
  const now = options.now ?? Date.now;
  const minRefreshMs = options.minRefreshIntervalMs ?? DEFAULT_MIN_REFRESH_MS;
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const source = classifyJwksSource(options.source);
  if (source.kind === 'url' && source.url.protocol === 'http:' && options.allowInsecureHttp !== true) {
    throw new JwksError('jwks_insecure_url', `the JWKS source ${source.url.href} is plain http: anyone on the path could swap the keys. Use https, or set the validator option allowInsecureHttp: "true" to accept it`);
  }

  let keySet: KeySet | undefined = source.kind === 'inline' ? parseJwks(source.text) : undefined;
  let lastFetchMs = 0;
  let refreshing: Promise<void> | undefined;
  if (keySet) logSkipped(keySet);

  function logSkipped(set: KeySet): void {
    if (set.skipped.length > 0) logger.warn({ skipped: set.skipped }, 'some JWKS keys are not usable and were left out');
  }

  async function load(signal?: AbortSignal): Promise<void> {
    switch (source.kind) {
      case 'inline':
        return;
      case 'file': {
        let text: string;
        try {
          text = await readFile(source.path, 'utf8');
        } catch (err) {
          throw new JwksError('jwks_load_failed', `cannot read the JWKS file ${source.path}: ${errorMessage(err)}`, { cause: err });
        }
        keySet = withContext(() => parseJwks(text), `JWKS file ${source.path}`);
        logSkipped(keySet);
        return;
      }
      case 'url': {
        lastFetchMs = now();
        const text = await fetchText(source.url, { ca: options.caCertificate, timeoutMs, signal });
        keySet = withContext(() => parseJwks(text), `JWKS from ${source.url.href}`);
        logSkipped(keySet);
        return;
      }
    }
  }

  /** Fetches the URL again unless that happened less than minRefresh ago; concurrent callers share one fetch. */
  function refreshUrl(): Promise<void> {
    if (source.kind !== 'url' || now() - lastFetchMs < minRefreshMs) return Promise.resolve();
    refreshing ??= load()
      .catch((err: unknown) => logger.warn({ err }, 'JWKS refresh failed; keeping the previous keys'))
      .finally(() => {
        refreshing = undefined;
      });
    return refreshing;
  }

  async function validate(req: SignRequestIdentity): Promise<ValidatedIdentity> {
    if (req.token === '') throw new ValidationError('token_missing', 'the request does not contain a token');
    checkCommon(req);
    if (!keySet) throw new ValidationError('validator_not_ready', 'the JWKS validator has not loaded its keys yet');
    const verifyOptions = { nowMs: now(), skewMs: JWT_CLOCK_SKEW_MS };
    let verified;
    try {
      verified = await verifyJwt(req.token, keySet.keys, verifyOptions);
    } catch (err) {
      if (!(err instanceof ValidationError && err.code === 'token_key_not_found' && source.kind === 'url')) throw err;
      await refreshUrl();
      verified = await verifyJwt(req.token, keySet.keys, verifyOptions);
    }
    const { claims } = verified;

    const aud = claims['aud'];
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
    if (!audiences.includes(options.sentrySpiffeId)) {
      throw new ValidationError('token_audience_mismatch', `token validation failed: "aud" does not contain ${options.sentrySpiffeId}`);
    }

    const sub = claims['sub'];
    const match = typeof sub === 'string' ? /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/([^/]+)$/.exec(sub) : null;
    if (!match) {
      throw new ValidationError('token_subject_mismatch', 'token validation failed: "sub" is not a SPIFFE ID of the form spiffe://<trust-domain>/ns/<namespace>/<id>');
    }
    const trustDomain = match[1] ?? '';
    const expected = `spiffe://${req.trustDomain || trustDomain}/ns/${req.namespace}/${req.id}`;
    if (sub !== expected) {
      throw new ValidationError('token_subject_mismatch', `token validation failed: "sub" is ${String(sub)}, expected ${expected}`);
    }
    checkTrustDomain(trustDomain, 'token "sub"');
    return validatedIdentity(trustDomain, req.namespace, req.id);
  }

  async function runner(signal: AbortSignal): Promise<void> {
    await load(signal);
    logger.info({ source: source.kind, keys: keySet?.keys.length }, 'JWKS loaded');
    switch (source.kind) {
      case 'inline':
        await untilAborted(signal);
        return;
      case 'url':
        while (!signal.aborted) {
          await sleep(minRefreshMs, signal);
          if (!signal.aborted) await refreshUrl();
        }
        return;
      case 'file':
        await watchFile(source.path, signal, async () => {
          try {
            await load();
            logger.info({ keys: keySet?.keys.length }, 'JWKS file reloaded');
          } catch (err) {
            logger.error({ err }, 'JWKS file changed but cannot be used; keeping the previous keys');
          }
        });
        return;
    }
  }

  return { name: 'jwks', validate, runner, ready: () => keySet !== undefined };
}

function withContext<T>(fn: () => T, where: string): T {
  try {
    return fn();
  } catch (err) {
    throw new JwksError('jwks_invalid', `${where}: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * Watches the file's directory (a mounted Secret or ConfigMap is replaced by
 * swapping a symlink, which a watch on the file itself misses) and calls
 * `onChange` once per burst of events.
 */
async function watchFile(path: string, signal: AbortSignal, onChange: () => Promise<void>): Promise<void> {
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  try {
    for await (const event of watch(dirname(path), { signal })) {
      if (event.filename !== null && event.filename !== name && !event.filename.startsWith('..')) continue;
      clearTimeout(timer);
      timer = setTimeout(() => void onChange(), 100);
    }
  } catch (err) {
    if ((err as { name?: string }).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** GET `url` as text with a timeout, an optional CA bundle and a size limit. */
export function fetchText(url: URL, opts: { ca?: string | undefined; timeoutMs: number; signal?: AbortSignal | undefined }): Promise<string> {
  const signals = [AbortSignal.timeout(opts.timeoutMs), ...(opts.signal ? [opts.signal] : [])];
  const signal = AbortSignal.any(signals);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const fail = (message: string, cause?: unknown): void =>
      reject(new JwksError('jwks_load_failed', `cannot fetch the JWKS from ${url.href}: ${message}`, { cause }));
    const req = request(url, { method: 'GET', signal, headers: { accept: 'application/json' }, ...(opts.ca ? { ca: opts.ca } : {}) }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        fail(`HTTP ${res.statusCode ?? '?'}`);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_JWKS_BYTES) {
          req.destroy();
          fail(`the response is larger than ${MAX_JWKS_BYTES} bytes`);
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', (err) => fail(err.message, err));
    });
    req.on('error', (err) => fail(signal.aborted && !opts.signal?.aborted ? `timed out after ${opts.timeoutMs} ms` : err.message, err));
    req.end();
  });
}
