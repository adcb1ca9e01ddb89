import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import type { Client, ClientReadableStream } from '@grpc/grpc-js';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { clientCredentials, schedulerService, sentryService, SPIFFE_CHANNEL_OPTIONS, type SignCertificateRequest, type SignCertificateResponse, type TlsIdentity } from '@tsdapr/grpc';
import { createCsr, generateKeyPair } from '@tsdapr/pki';

/**
 * What a sidecar does to reach the scheduler, from the outside of the local
 * pods: a workload certificate from the chart's Sentry for an injected pod
 * (its projected token, as the kubelet would mount it for daprd), then mTLS
 * gRPC calls to one scheduler replica that must present the scheduler's SVID.
 */

const CALL_TIMEOUT_MS = 10_000;

type UnaryMethod = (request: unknown, options: { deadline: Date }, callback: (err: Error | null, response: unknown) => void) => void;

/** One unary call, with a deadline. */
export function unary<T>(client: Client, method: string, request: unknown): Promise<T> {
  const fn = (client as unknown as Record<string, UnaryMethod | undefined>)[method];
  if (!fn) throw new Error(`the client has no method ${method}`);
  return new Promise((resolve, reject) => {
    fn.call(client, request, { deadline: new Date(Date.now() + CALL_TIMEOUT_MS) }, (err, response) => (err ? reject(err) : resolve(response as T)));
  });
}

/**
 * A workload SVID for `pod` (an injected pod with its `dapr-identity-token`
 * volume) from Sentry at `sentryAddress`: a token of the pod's
 * ServiceAccount bound to it with the volume's audience, and a fresh key's CSR.
 */
export async function workloadIdentity(input: {
  readonly kubeConfig: KubeConfig;
  readonly pod: V1Pod;
  readonly appId: string;
  readonly sentryAddress: string;
  readonly sentryId: string;
  readonly trustAnchorsPem: string;
}): Promise<TlsIdentity> {
  const { pod } = input;
  const tokenSource = pod.spec?.volumes?.find((v) => v.name === 'dapr-identity-token')?.projected?.sources?.find((s) => s.serviceAccountToken)?.serviceAccountToken;
  if (!tokenSource) throw new Error(`pod ${pod.metadata?.name} has no dapr-identity-token volume`);
  const request = await input.kubeConfig.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    namespace: pod.metadata?.namespace ?? '',
    name: pod.spec?.serviceAccountName ?? 'default',
    body: {
      spec: {
        audiences: tokenSource.audience ? [tokenSource.audience] : [],
        expirationSeconds: tokenSource.expirationSeconds ?? 3600,
        boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' },
      },
    },
  });
  const { privateKey } = generateKeyPair('ecdsa-p256');
  const { Client: SentryClient } = sentryService();
  const client = new SentryClient(input.sentryAddress, clientCredentials({ trustAnchorsPem: input.trustAnchorsPem, expectedServerId: input.sentryId }), SPIFFE_CHANNEL_OPTIONS);
  try {
    const signRequest: Partial<SignCertificateRequest> = {
      id: input.appId,
      namespace: pod.metadata?.namespace ?? '',
      token: request.status?.token ?? '',
      trust_domain: '',
      token_validator: 'KUBERNETES',
      certificate_signing_request: Buffer.from(createCsr(privateKey)),
    };
    const response = await unary<SignCertificateResponse>(client, 'SignCertificate', signRequest);
    return { certificateChainPem: response.workload_certificate.toString('utf8'), privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  } finally {
    client.close();
  }
}

/** A scheduler gRPC client that accepts only `expectedServerId` (as daprd checks the scheduler). */
export function schedulerClient(address: string, trustAnchorsPem: string, identity: TlsIdentity, expectedServerId: string): Client {
  const { Client: SchedulerClient } = schedulerService();
  return new SchedulerClient(address, clientCredentials({ trustAnchorsPem, identity, expectedServerId }), SPIFFE_CHANNEL_OPTIONS);
}

/** The first WatchHosts answer that `accept` takes, within `timeoutMs`. */
export function watchHostsUntil(client: Client, accept: (addresses: readonly string[]) => boolean, timeoutMs: number): Promise<string[]> {
  const open = (client as unknown as { WatchHosts: (request: unknown) => ClientReadableStream<{ hosts: { address: string }[] }> }).WatchHosts.bind(client);
  const stream = open({});
  let last: string[] = [];
  return new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`WatchHosts: no acceptable answer within ${timeoutMs} ms (last: ${JSON.stringify(last)})`)), timeoutMs);
    const finish = (err: Error | undefined, hosts?: string[]): void => {
      clearTimeout(timer);
      stream.removeAllListeners();
      stream.on('error', () => undefined); // the cancel below ends it with CANCELLED
      stream.cancel();
      if (err) reject(err);
      else resolve(hosts ?? []);
    };
    stream.on('data', (message: { hosts: { address: string }[] }) => {
      last = message.hosts.map((h) => h.address);
      if (accept(last)) finish(undefined, last);
    });
    stream.on('error', (err: Error) => finish(err));
    stream.on('end', () => finish(new Error(`WatchHosts ended (last: ${JSON.stringify(last)})`)));
  });
}

/** The leaf certificate a TLS server at `host:port` presents to a client with `identity` (an mTLS server wants one), its chain verified against the anchors. */
export function servedCertificate(host: string, port: number, trustAnchorsPem: string, identity: TlsIdentity): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      servername: 'dapr.local',
      ALPNProtocols: ['h2'],
      ca: trustAnchorsPem,
      cert: identity.certificateChainPem,
      key: identity.privateKeyPem,
      // The chain is verified against the anchors; the name is a SPIFFE ID, checked by the caller.
      checkServerIdentity: () => undefined,
      timeout: CALL_TIMEOUT_MS,
    });
    socket.once('secureConnect', () => {
      const raw = socket.getPeerCertificate().raw;
      socket.destroy();
      resolve(new X509Certificate(raw));
    });
    socket.once('timeout', () => socket.destroy(new Error(`TLS to ${host}:${port} timed out`)));
    socket.once('error', reject);
  });
}
