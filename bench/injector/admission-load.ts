/**
 * The load generator of the admission benchmark: AdmissionReviews POSTed over
 * HTTPS (keep-alive) at a fixed rate, or as fast as a closed loop of workers
 * gets answers. The same code drives every target, ours and upstream's.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';

/** An HTTPS admission endpoint and the process that answers it. */
export interface AdmissionTarget {
  readonly name: string;
  readonly port: number;
  readonly path: string;
  /** PEM the server's certificate chains to. */
  readonly ca: string;
  /** TLS server name to verify (the injector Service's DNS name for SVIDs). */
  readonly servername: string;
  /** The process whose CPU time counts as the server's. */
  readonly pid: number;
  /** Whether a correct answer carries a JSONPatch (the empty handler's does not). */
  readonly patches: boolean;
}

export interface PacedRun {
  /** Sorted ascending. */
  readonly latenciesMs: number[];
  readonly achievedPerSecond: number;
  /** How late the generator sent, p99 in ms: more than a few ms means the machine, not the server, set the pace. */
  readonly sendLagP99Ms: number;
  readonly failures: number;
  readonly firstFailure?: string;
}

export class AdmissionAnswerError extends Error {
  readonly code = 'bench_bad_admission_answer';
}

/** User + system CPU of a process in ms, from /proc (clock ticks are 100 Hz on Linux). */
export function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Sockets are kept across runs: a TLS handshake inside a measured run would be a latency spike of the client's making. */
export function keepAliveAgent(maxSockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets, keepAliveMsecs: 1000 });
}

/** One POST; resolves with the latency in ms and the answer's body. */
export function post(agent: Agent, target: AdmissionTarget, body: Buffer): Promise<{ ms: number; answer: Buffer }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(
      {
        host: '127.0.0.1',
        port: target.port,
        path: target.path,
        method: 'POST',
        ca: target.ca,
        servername: target.servername,
        agent,
        // Upstream refuses anything but exactly application/json.
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          const answer = Buffer.concat(chunks);
          if (res.statusCode !== 200) reject(new AdmissionAnswerError(`${target.name}: HTTP ${res.statusCode}: ${answer.toString('utf8').slice(0, 200)}`));
          else resolve({ ms, answer });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const PATCH_FIELD = Buffer.from('"patch":"');

/** Cheap per-answer check: a patch where one is due, none where none is. */
function quickCheck(target: AdmissionTarget, answer: Buffer): void {
  if (answer.includes(PATCH_FIELD) !== target.patches) {
    throw new AdmissionAnswerError(`${target.name}: expected ${target.patches ? 'a patch' : 'no patch'}, got ${answer.toString('utf8').slice(0, 300)}`);
  }
}

/**
 * The full check, done on a warm-up answer: allowed, the request's uid, and
 * (for injectors) a JSONPatch that adds a container named daprd.
 */
export function verifyAnswer(target: AdmissionTarget, answer: Buffer, uid: string): void {
  const review = JSON.parse(answer.toString('utf8')) as { response?: { uid?: string; allowed?: boolean; patch?: string; patchType?: string; result?: { message?: string } } };
  const response = review.response;
  const fail = (why: string): never => {
    throw new AdmissionAnswerError(`${target.name}: ${why}: ${answer.toString('utf8').slice(0, 400)}`);
  };
  if (!response) return fail('no response');
  if (response.uid !== uid) fail(`response uid ${response.uid} is not the request's`);
  if (response.allowed !== true) fail(`not allowed (${response.result?.message ?? 'no message'})`);
  if (!target.patches) return;
  if (response.patchType !== 'JSONPatch' || !response.patch) fail('no JSONPatch');
  const ops = JSON.parse(Buffer.from(response.patch ?? '', 'base64').toString('utf8')) as { op: string; path: string; value?: { name?: string } }[];
  if (!ops.some((op) => op.op === 'add' && op.path.startsWith('/spec/containers') && op.value?.name === 'daprd')) fail('the patch adds no daprd container');
}

/**
 * Requests at a fixed rate for `seconds`, on a schedule fixed in advance (a
 * late tick sends what is due at once, so the rate holds). Latency is from
 * the request's send to its answer's last byte.
 */
export async function paced(agent: Agent, target: AdmissionTarget, body: Buffer, rate: number, seconds: number): Promise<PacedRun> {
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  const inFlight: Promise<void>[] = [];
  const lags: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  const one = async (): Promise<void> => {
    try {
      const { ms, answer } = await post(agent, target, body);
      quickCheck(target, answer);
      latencies.push(ms);
    } catch (err) {
      failures++;
      firstFailure ??= (err as Error).message;
    }
  };
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait >= 1) await new Promise((resolve) => setTimeout(resolve, wait));
    lags.push(Math.max(0, performance.now() - due));
    inFlight.push(one());
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  return { latenciesMs: latencies.sort((a, b) => a - b), achievedPerSecond: latencies.length / elapsed, sendLagP99Ms: percentile(lags.sort((a, b) => a - b), 99), failures, ...(firstFailure ? { firstFailure } : {}) };
}

/** As many requests as `concurrency` workers get answered in `seconds`: the server's ceiling. */
export async function closedLoop(agent: Agent, target: AdmissionTarget, body: Buffer, concurrency: number, seconds: number): Promise<{ perSecond: number; failures: number }> {
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  let done = 0;
  let failures = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        try {
          quickCheck(target, (await post(agent, target, body)).answer);
          done++;
        } catch {
          // Counted and reported as the failures column; the loop goes on.
          failures++;
        }
      }
    }),
  );
  return { perSecond: done / ((performance.now() - start) / 1000), failures };
}
