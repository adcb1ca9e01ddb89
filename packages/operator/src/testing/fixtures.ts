import { EventEmitter } from 'node:events';
import type { DaprResource } from '../resources/dapr-resource.js';

type Modifier = (resource: Record<string, unknown>) => void;

let rv = 1;

/** `component('db', inNamespace('ns1'), withScopes('a'), withSecretRef('pw', 'redis', 'password'))` */
export function component(name: string, ...mods: Modifier[]): DaprResource {
  const resource: Record<string, unknown> = {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'ns1', resourceVersion: String(rv++) },
    spec: { type: 'state.in-memory', version: 'v1', metadata: [] },
  };
  for (const mod of mods) mod(resource);
  return resource;
}

export const inNamespace = (namespace: string): Modifier => (r) => {
  r['metadata'] = { ...(r['metadata'] as object), namespace };
};
export const withScopes = (...scopes: string[]): Modifier => (r) => {
  r['scopes'] = scopes;
};
export const withVersion = (resourceVersion: string): Modifier => (r) => {
  r['metadata'] = { ...(r['metadata'] as object), resourceVersion };
};
export const withMetadata = (entry: Record<string, unknown>): Modifier => (r) => {
  const spec = r['spec'] as { metadata: unknown[] };
  spec.metadata = [...spec.metadata, entry];
};
export const withSecretStore = (secretStore: string): Modifier => (r) => {
  r['auth'] = { secretStore };
};

/** A grpc-js server call with a verified client certificate for `spiffe://public/ns/<ns>/<app>`. */
export function fakeCall<Req>(request: Req, spiffeId: string | undefined): FakeStream<Req> {
  return new FakeStream(request, spiffeId);
}

export class FakeStream<Req> extends EventEmitter {
  readonly written: Array<Record<string, unknown>> = [];
  cancelled = false;
  destroyed = false;
  endedWith: unknown;
  constructor(
    readonly request: Req,
    private readonly spiffeId: string | undefined,
  ) {
    super();
    this.on('error', (err: unknown) => {
      this.endedWith = err;
    });
  }
  getAuthContext(): { sslPeerCertificate?: { subjectaltname?: string } } {
    return this.spiffeId ? { sslPeerCertificate: { subjectaltname: `URI:${this.spiffeId}` } } : {};
  }
  write(message: Record<string, unknown>): boolean {
    this.written.push(message);
    return true;
  }
  cancel(): void {
    this.cancelled = true;
    this.emit('cancelled');
  }
}

/** Waits for queued microtasks and promise chains to settle. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
