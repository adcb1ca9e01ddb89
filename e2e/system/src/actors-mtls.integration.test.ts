import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pollUntil, startDaprd, type Daprd } from '@tsdapr/e2e-harness';
import { startActorApp } from './actor-app.js';
import { startStandaloneControlPlane, type StandaloneControlPlane } from './control-plane-processes.js';

const ACTOR_TYPE = 'myactor';
const ACTOR_IDS = Array.from({ length: 12 }, (_, i) => `actor-${i}`);

async function invoke(daprd: Daprd, id: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${daprd.httpPort}/v1.0/actors/${ACTOR_TYPE}/${id}/method/whoami`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`actor call ${id} via ${daprd.httpPort}: HTTP ${response.status} ${await response.text()}`);
  return ((await response.json()) as { host: string }).host;
}

async function metadata(daprd: Daprd): Promise<{ actorRuntime?: { placement?: string; hostReady?: boolean; activeActors?: Array<{ type: string }> } }> {
  return (await (await fetch(`http://127.0.0.1:${daprd.httpPort}/v1.0/metadata`)).json()) as never;
}

/** The leaf certificate a TLS server presents (daprd's SVID on its internal gRPC port). */
function presentedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      resolve(new X509Certificate(socket.getPeerCertificate().raw));
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

/** daprd versions under test, with the key type their SVIDs use (1.17 asks for ECDSA P-256, 1.18 for Ed25519: dapr/dapr:pkg/security@v1.17.5, @v1.18.1). */
const DAPRD_VERSIONS = [
  { version: '1.17.5', keyType: 'ec' },
  { version: '1.18.1', keyType: 'ed25519' },
] as const;

for (const { version, keyType } of DAPRD_VERSIONS) {
  describe(`daprd ${version} against our sentry and placement (standalone, mTLS)`, () => {
    actorSuite(version, keyType);
  });
}

function actorSuite(version: string, keyType: string): void {
  let controlPlane: StandaloneControlPlane;
  const apps: Array<Awaited<ReturnType<typeof startActorApp>>> = [];
  const sidecars: Daprd[] = [];

  before(async () => {
    controlPlane = await startStandaloneControlPlane();
    for (const name of ['alpha', 'beta']) {
      const app = await startActorApp(name, ACTOR_TYPE);
      apps.push(app);
      const daprd = await startDaprd({
        appId: name,
        version,
        args: [
          `--app-port=${app.port}`,
          '--enable-mtls',
          `--sentry-address=127.0.0.1:${controlPlane.sentry.port}`,
          `--control-plane-trust-domain=${controlPlane.trustDomain}`,
          `--control-plane-namespace=${controlPlane.namespace}`,
          `--placement-host-address=127.0.0.1:${controlPlane.placement.port}`,
        ],
        env: { DAPR_TRUST_ANCHORS: controlPlane.trustAnchorsPem, NAMESPACE: 'default' },
      });
      sidecars.push(daprd);
    }
    for (const daprd of sidecars) await daprd.waitHealthy(60_000);
  });

  after(async () => {
    for (const daprd of sidecars) await daprd.stop();
    for (const app of apps) await app.close();
    await controlPlane?.stop();
  });

  test('two real daprd join our placement over mTLS with SVIDs from our sentry, and actor calls reach one owner', async () => {
    const [alpha, beta] = sidecars as [Daprd, Daprd];
    const svid = await presentedCertificate(alpha.internalGrpcPort);
    assert.equal(svid.subjectAltName, 'URI:spiffe://public/ns/default/alpha');
    assert.equal(svid.publicKey.asymmetricKeyType, keyType, `daprd ${version} SVID key type`);
    assert.ok(svid.verify(new X509Certificate(controlPlane.issuerPem).publicKey), 'signed by our issuer');
    for (const daprd of sidecars) {
      await pollUntil('daprd connected to placement', async () => {
        const runtime = (await metadata(daprd)).actorRuntime;
        return runtime?.placement === 'placement: connected' && runtime.hostReady ? true : undefined;
      }, { timeoutMs: 30_000 });
    }
    // Both sidecars must agree on every owner; with a dozen ids both hosts own some.
    const owners = new Map<string, string>();
    await pollUntil('both sidecars route by the same table', async () => {
      for (const id of ACTOR_IDS) {
        const [viaAlpha, viaBeta] = await Promise.all([invoke(alpha, id), invoke(beta, id)]);
        if (viaAlpha !== viaBeta) return undefined;
        owners.set(id, viaAlpha);
      }
      return true;
    }, { timeoutMs: 30_000 });
    assert.deepEqual(new Set(owners.values()), new Set(['alpha', 'beta']), `owners: ${JSON.stringify([...owners])}`);
    assert.ok((apps[0]?.calls ?? 0) > 0 && (apps[1]?.calls ?? 0) > 0);
  });

  test('when a sidecar dies its actors move to the other and calls keep working', async () => {
    const [alpha, beta] = sidecars as [Daprd, Daprd];
    await beta.stop();
    await pollUntil('every actor served by alpha', async () => {
      for (const id of ACTOR_IDS) {
        const host = await invoke(alpha, id).catch(() => undefined);
        if (host !== 'alpha') return undefined;
      }
      return true;
    }, { timeoutMs: 45_000 });
    const runtime = (await metadata(alpha)).actorRuntime;
    assert.equal(runtime?.placement, 'placement: connected');
    assert.ok(runtime?.activeActors?.some((actor) => actor.type === ACTOR_TYPE));
  });
}
