import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ProbeOptions {
  /** PEM CA bundle to trust for https URLs. */
  readonly ca?: string | Buffer;
  readonly bearerToken?: string;
  readonly timeoutMs?: number;
  /** TLS server name to verify when it differs from the URL's host (an IP the certificate does not name). */
  readonly servername?: string;
}

export interface ProbeResponse {
  readonly status: number;
  readonly body: string;
}

/** One GET; rejects on connection errors and timeouts, resolves with any HTTP status. */
export function probe(url: string, options: ProbeOptions = {}): Promise<ProbeResponse> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'GET',
        ca: options.ca,
        ...(options.servername ? { servername: options.servername } : {}),
        headers: options.bearerToken ? { authorization: `Bearer ${options.bearerToken}` } : {},
        timeout: options.timeoutMs ?? 5_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export interface PollOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Fails the wait early, e.g. when the process being waited for has exited. */
  readonly abortWhen?: Promise<Error>;
}

/**
 * Calls `check` until it returns a value other than undefined, or the time is
 * up. The last reason it gave (a thrown error's message) goes into the timeout error.
 */
export async function pollUntil<T>(what: string, check: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastReason = 'no answer yet';
  let abortError: Error | undefined;
  void options.abortWhen?.then((err) => {
    abortError = err;
  });
  // A function, so the compiler does not narrow away what the callback sets between awaits.
  const throwIfAborted = (): void => {
    if (abortError) throw abortError;
  };
  for (;;) {
    throwIfAborted();
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastReason = err instanceof Error ? err.message : String(err);
    }
    throwIfAborted();
    if (Date.now() >= deadline) throw new Error(`timed out after ${options.timeoutMs}ms waiting for ${what} (${lastReason})`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
  }
}

/** For pollUntil: true on HTTP 200, else an error quoting the status and the body's last lines. */
export function expectOk(response: ProbeResponse): true {
  if (response.status === 200) return true;
  throw new Error(`HTTP ${response.status}: ${response.body.trim().split('\n').slice(-3).join(' | ')}`);
}
