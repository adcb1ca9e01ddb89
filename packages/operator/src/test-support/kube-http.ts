import { request, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface RawResponse {
  readonly status: number;
  readonly body: unknown;
  /** `Warning` headers (admission warnings), in order. */
  readonly warnings: string[];
}

/**
 * A raw call to the API server. client-node's typed models drop keys they do
 * not know (its CRD model spells `x-kubernetes-*` in camelCase), so CRDs and
 * Table responses go through here.
 */
export async function kubeRequest(kubeConfig: KubeConfig, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  const server = kubeConfig.getCurrentCluster()?.server ?? '';
  const options: RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      `${server}${path}`,
      {
        ...options,
        method,
        headers: { ...(options.headers ?? {}), accept: 'application/json', ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // Not JSON: keep the text.
            parsed = text;
          }
          const warning = res.headers['warning'];
          resolve({ status: res.statusCode ?? 0, body: parsed, warnings: warningTexts(warning === undefined ? [] : Array.isArray(warning) ? warning : [warning]) });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** The `message` of a Status body. */
export function statusMessage(response: RawResponse): string {
  const body = response.body as { message?: unknown } | string;
  if (typeof body === 'string') return body;
  return typeof body.message === 'string' ? body.message : JSON.stringify(body);
}

/** The text of `299 - "text"` Warning headers (Node joins repeated ones with ", "). */
function warningTexts(headers: readonly string[]): string[] {
  const texts: string[] = [];
  for (const header of headers) {
    for (const match of header.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)) texts.push((match[1] ?? '').replace(/\\(.)/g, '$1'));
  }
  return texts;
}
