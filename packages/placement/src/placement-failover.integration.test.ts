import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { createTestNamespace, freePorts, pollUntil, probe, requireTestCluster, startProcess, testKubeConfig, type ManagedProcess } from '@tsdapr/e2e-harness';
import { SidecarClient } from './server/sidecar-client.js';

/**
 * HA against the REAL kube-apiserver the test runner starts: three placement
 * processes elect a leader on a Lease; sidecars that behave like daprd
 * (round-robin over the addresses, ~0.5 s jittered reconnect, a follower's
 * FAILED_PRECONDITION moves them on) all reach the leader. The leader is
 * SIGKILLed; a follower takes the Lease, every sidecar reconnects and
 * receives a table with every member. The time to full membership is
 * printed.
 */

const MAIN = fileURLToPath(new URL('./main.bundle.mjs', import.meta.url));
const SIDECARS = 200;

interface Replica {
  readonly id: string;
  readonly grpcPort: number;
  readonly metricsPort: number;
  readonly process: ManagedProcess;
  output(): string;
}

async function startReplica(id: string, kubeconfig: string, namespace: string): Promise<Replica> {
  const [grpcPort, healthzPort, metricsPort] = (await freePorts(3)) as [number, number, number];
  let output = '';
  const child = startProcess({
    name: `placement ${id}`,
    command: process.execPath,
    args: [
      MAIN,
      '--mode=kubernetes',
      `--kubeconfig=${kubeconfig}`,
      `--namespace=${namespace}`,
      `--id=${id}`,
      `--port=${grpcPort}`,
      '--listen-address=127.0.0.1',
      `--healthz-port=${healthzPort}`,
      '--healthz-listen-address=127.0.0.1',
      `--metrics-port=${metricsPort}`,
      '--metrics-listen-address=127.0.0.1',
      '--tls-enabled=false',
    ],
    onOutput: (chunk) => {
      output = (output + chunk.toString('utf8')).slice(-200_000);
    },
  });
  await pollUntil(
    `placement ${id} healthz`,
    async () => {
      const response = await probe(`http://127.0.0.1:${healthzPort}/readyz`);
      if (response.status !== 200) throw new Error(`HTTP ${response.status} ${response.body}`);
      return true;
    },
    { timeoutMs: 30_000, abortWhen: child.exited.then((status) => new Error(`placement ${id} exited: ${JSON.stringify(status)}\n${output}`)) },
  );
  return { id, grpcPort, metricsPort, process: child, output: () => output };
}

async function isLeader(replica: Replica): Promise<boolean> {
  if (replica.process.hasExited()) return false;
  const metrics = await probe(`http://127.0.0.1:${replica.metricsPort}/metrics`).catch(() => undefined);
  return /^dapr_placement_leader_status 1$/m.test(metrics?.body ?? '');
}

/** A sidecar that reconnects like daprd: next address, after 0.5 s ± 0.25 s. */
class RoamingSidecar {
  current: SidecarClient;
  private next = 0;
  private stopped = false;

  constructor(
    private readonly addresses: readonly string[],
    readonly name: string,
  ) {
    this.next = Math.floor(Math.random() * addresses.length);
    this.current = this.connect();
  }

  private connect(): SidecarClient {
    const address = this.addresses[this.next++ % this.addresses.length] ?? '';
    const client = new SidecarClient({ address, name: this.name, id: `app-${this.name}`, namespace: 'default', entities: ['myactor'] });
    void client.ended.then(() => {
      client.close();
      if (this.stopped) return;
      setTimeout(() => {
        if (!this.stopped) this.current = this.connect();
      }, 250 + Math.random() * 500);
    });
    return client;
  }

  /** Connected to the leader and holding a table with `count` members of `myactor`. */
  hasMembers(count: number, since = 0): boolean {
    return this.current.status === undefined && this.connectedAt >= since && (this.current.members.myactor?.length ?? 0) === count;
  }

  get connectedAt(): number {
    return this.current.createdAt;
  }

  stop(): void {
    this.stopped = true;
    this.current.close();
  }
}

/** Resolves when every sidecar holds a full table on a stream opened after `since`; rejects with how many lag. */
function allCaughtUp(sidecars: readonly RoamingSidecar[], since: number): Promise<boolean> {
  const behind = sidecars.filter((s) => !s.hasMembers(SIDECARS, since)).length;
  return behind === 0 ? Promise.resolve(true) : Promise.reject(new Error(`${behind} sidecars behind`));
}

void test('three replicas on a Lease: SIGKILL the leader with 200 streams; all reconnect to the new leader with full tables', { timeout: 180_000 }, async () => {
  const kubeconfig = requireTestCluster();
  const namespace = await createTestNamespace('placement-ha');
  const replicas: Replica[] = [];
  const sidecars: RoamingSidecar[] = [];
  try {
    for (const id of ['dapr-placement-server-0', 'dapr-placement-server-1', 'dapr-placement-server-2']) replicas.push(await startReplica(id, kubeconfig, namespace.name));
    const leader = await pollUntil(
      'a leader',
      async () => {
        const leaders = [];
        for (const replica of replicas) if (await isLeader(replica)) leaders.push(replica);
        if (leaders.length !== 1) throw new Error(`${leaders.length} leaders`);
        return leaders[0];
      },
      { timeoutMs: 30_000 },
    );
    const lease = await testKubeConfig().makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: namespace.name, name: 'dapr-placement-leader' });
    assert.equal(lease.spec?.holderIdentity, leader.id);

    const addresses = replicas.map((replica) => `127.0.0.1:${replica.grpcPort}`);
    for (let i = 0; i < SIDECARS; i++) sidecars.push(new RoamingSidecar(addresses, `10.1.${Math.floor(i / 250)}.${i % 250}:50002`));
    await pollUntil(
      `all ${SIDECARS} sidecars hold a table with all ${SIDECARS} members`,
      () => allCaughtUp(sidecars, 0),
      { timeoutMs: 60_000, intervalMs: 100 },
    );

    const killedAt = Date.now();
    process.kill(leader.process.pid, 'SIGKILL');
    await leader.process.exited;
    const newLeader = await pollUntil(
      'a new leader',
      async () => {
        for (const replica of replicas) if (replica !== leader && (await isLeader(replica))) return replica;
        throw new Error('no leader yet');
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const leaderAt = Date.now();
    await pollUntil(
      `all ${SIDECARS} sidecars reconnected with all ${SIDECARS} members`,
      () => allCaughtUp(sidecars, killedAt),
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    const fullAt = Date.now();
    console.log(
      `failover with ${SIDECARS} streams: new leader ${newLeader.id} after ${leaderAt - killedAt} ms; full membership at every sidecar after ${fullAt - killedAt} ms`,
    );
    assert.ok(fullAt - killedAt < 30_000);

    // A leader that shuts down (SIGTERM) releases the Lease: the last
    // replica takes over at its next try, well inside a lease duration.
    const last = replicas.find((replica) => replica !== leader && replica !== newLeader);
    assert.ok(last);
    const stoppedAt = Date.now();
    await newLeader.process.stop(5000);
    await pollUntil('the last replica leads', async () => ((await isLeader(last)) ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
    const handoverMs = Date.now() - stoppedAt;
    console.log(`graceful handover to ${last.id} after ${handoverMs} ms`);
    assert.ok(handoverMs < 4000, `handover took ${handoverMs} ms`);
  } catch (err) {
    const logs = replicas.map((r) => `--- ${r.id}\n${r.output().slice(-3000)}`).join('\n');
    throw new Error(`${(err as Error).message}\n${logs}`, { cause: err });
  } finally {
    for (const sidecar of sidecars) sidecar.stop();
    for (const replica of replicas) await replica.process.stop(5000);
    await namespace.cleanup();
  }
});
