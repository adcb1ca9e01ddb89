/**
 * Sentry signing throughput on one core, in one run:
 *   1. the ceiling: Node's raw P-256 sign + verify of a TBS-sized payload
 *      (a CSR check and a certificate signature, nothing else), and the
 *      same with the one step no implementation can skip, importing the
 *      CSR's public key;
 *   2. ours: parseCsr + Issuer.sign per certificate, sequential, for the
 *      1.17 profile (P-256 everywhere) and the 1.18 profile (Ed25519);
 *   3. the baseline: @peculiar/x509 parsing the CSR and building the
 *      certificate end to end;
 *   4. ratios.
 * Every phase is bounded in time (--seconds, default 3) and works through a
 * ring of distinct CSRs, so each certificate imports a fresh public key as
 * it would in production.
 *
 * Usage: node bench/dist/sentry/sign-throughput.js [--seconds 3] [--csrs 256]
 */
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, webcrypto } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import * as x509 from '@peculiar/x509';
import { createCsr, generateCaBundle, generateKeyPair, loadIssuer, parseCsr, type KeyAlgorithm } from '@tsdapr/pki';

const TRUST_DOMAIN = 'cluster.local';
const SENTRY_ID = `spiffe://${TRUST_DOMAIN}/ns/dapr-system/dapr-sentry`;
const APP_ID = 'spiffe://public/ns/default/my-app';
const DAY_MS = 86_400_000;
const SKEW_MS = 15 * 60_000;
/** About the size of a workload TBSCertificate (P-256 key, one URI SAN). */
const TBS_BYTES = 420;

interface Options {
  readonly seconds: number;
  readonly csrs: number;
}

interface PhaseResult {
  readonly name: string;
  readonly count: number;
  readonly elapsedMs: number;
  /** CPU time (user + system) the process used during the phase: robust to other load on the machine. */
  readonly cpuMs: number;
  /** Per-operation latencies in nanoseconds. */
  readonly latenciesNs: BigUint64Array;
}

/**
 * One measured phase. The 1,000-concurrent-over-gRPC phase (a real sentry
 * server, real TLS, 1,000 in-flight SignCertificate calls) plugs in here as
 * another Phase; `runSequential` is for in-process work only.
 */
interface Phase {
  readonly name: string;
  run(budgetMs: number): Promise<PhaseResult>;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (flag: string, fallback: number): number => {
    const i = argv.indexOf(flag);
    const raw = i >= 0 ? argv[i + 1] : undefined;
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number`);
    return n;
  };
  return { seconds: value('--seconds', 3), csrs: value('--csrs', 256) };
}

/** Runs op back to back for budgetMs after a short warm-up, recording each latency. */
async function runSequential(name: string, budgetMs: number, op: (i: number) => unknown): Promise<PhaseResult> {
  const warmUntil = performance.now() + Math.min(300, budgetMs / 5);
  for (let i = 0; performance.now() < warmUntil; i++) await op(i);
  let latencies = new BigUint64Array(1 << 14);
  let count = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const deadline = start + budgetMs;
  while (performance.now() < deadline) {
    const t0 = process.hrtime.bigint();
    await op(count);
    const took = process.hrtime.bigint() - t0;
    if (count === latencies.length) {
      const grown = new BigUint64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = took;
  }
  const cpu = process.cpuUsage(cpuStart);
  return { name, count, elapsedMs: performance.now() - start, cpuMs: (cpu.user + cpu.system) / 1000, latenciesNs: latencies.subarray(0, count) };
}

function ceilingPhase(): Phase {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const payload = randomBytes(TBS_BYTES);
  const signature = sign('sha256', payload, privateKey);
  return {
    name: 'ceiling: node P-256 sign+verify',
    run: (budgetMs) =>
      runSequential('ceiling: node P-256 sign+verify', budgetMs, () => {
        sign('sha256', payload, privateKey);
        if (!verify('sha256', payload, publicKey, signature)) throw new Error('verify failed');
      }),
  };
}

/**
 * The ceiling plus what any implementation must also do per request on
 * Node 20: turn the CSR's P-256 point into a KeyObject. The cheapest way
 * (JWK) still costs one point validation, a scalar multiplication.
 */
function ceilingWithImportPhase(): Phase {
  const keys = Array.from({ length: 256 }, () => generateKeyPairSync('ec', { namedCurve: 'P-256' }));
  const issuerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const payload = randomBytes(TBS_BYTES);
  const jwks = keys.map((k) => k.publicKey.export({ type: 'spki', format: 'der' }));
  const signatures = keys.map((k) => sign('sha256', payload, k.privateKey));
  const name = 'ceiling + key import (JWK)';
  return {
    name,
    run: (budgetMs) =>
      runSequential(name, budgetMs, (i) => {
        const spki = jwks[i % jwks.length]!;
        const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: spki.toString('base64url', 27, 59), y: spki.toString('base64url', 59) }, format: 'jwk' });
        if (!verify('sha256', payload, key, signatures[i % signatures.length]!)) throw new Error('verify failed');
        sign('sha256', payload, issuerKey);
      }),
  };
}

function oursPhase(algorithm: KeyAlgorithm, csrCount: number): Phase {
  const now = new Date();
  const bundle = generateCaBundle({ trustDomain: TRUST_DOMAIN, sentrySpiffeId: SENTRY_ID, algorithm, now });
  const issuer = loadIssuer(bundle, now);
  const csrs = Array.from({ length: csrCount }, () => Buffer.from(createCsr(generateKeyPair(algorithm).privateKey)));
  const name = `ours: parseCsr+sign ${algorithm}`;
  return {
    name,
    run: async (budgetMs) => {
      const sample = issuer.sign({ spiffeId: APP_ID, publicKey: parseCsr(csrs[0]!).publicKey, now, ttlMs: DAY_MS, allowedClockSkewMs: SKEW_MS });
      if (!new X509Certificate(sample.leafDer).verify(issuer.certificate.publicKey)) throw new Error(`${name}: sample does not verify`);
      return runSequential(name, budgetMs, (i) => {
        const csr = parseCsr(csrs[i % csrs.length]!);
        return issuer.sign({ spiffeId: APP_ID, publicKey: csr.publicKey, now: new Date(), ttlMs: DAY_MS, allowedClockSkewMs: SKEW_MS }).certificatePem;
      });
    },
  };
}

function peculiarPhase(csrCount: number): Phase {
  const name = 'baseline: @peculiar/x509 ecdsa-p256';
  return {
    name,
    run: async (budgetMs) => {
      x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
      const now = new Date();
      const bundle = generateCaBundle({ trustDomain: TRUST_DOMAIN, sentrySpiffeId: SENTRY_ID, algorithm: 'ecdsa-p256', now });
      const issuerCert = new x509.X509Certificate(bundle.issuerChainPem);
      const issuerSki = issuerCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ?? '';
      const pkcs8 = createPrivateKey(bundle.issuerKeyPem).export({ type: 'pkcs8', format: 'der' });
      const signingKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
      const csrs = Array.from({ length: csrCount }, () => createCsr(generateKeyPair('ecdsa-p256').privateKey));

      const signOne = async (i: number): Promise<string> => {
        const request = new x509.Pkcs10CertificateRequest(csrs[i % csrs.length]!);
        if (!(await request.verify())) throw new Error('CSR signature invalid');
        const at = Date.now();
        const cert = await x509.X509CertificateGenerator.create({
          serialNumber: randomBytes(16).toString('hex').replace(/^[89a-f]/, '7'),
          subject: '',
          issuer: issuerCert.subject,
          notBefore: new Date(at - SKEW_MS),
          notAfter: new Date(at + DAY_MS),
          signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
          publicKey: request.publicKey,
          signingKey,
          extensions: [
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
            new x509.BasicConstraintsExtension(false, undefined, true),
            await x509.SubjectKeyIdentifierExtension.create(request.publicKey),
            new x509.AuthorityKeyIdentifierExtension(issuerSki),
            new x509.SubjectAlternativeNameExtension([{ type: 'url', value: APP_ID }], true),
          ],
        });
        return `${cert.toString('pem')}\n${bundle.issuerChainPem}`;
      };

      const samplePem = await signOne(0);
      if (!new X509Certificate(samplePem).verify(new X509Certificate(bundle.issuerChainPem).publicKey)) throw new Error(`${name}: sample does not verify`);
      return runSequential(name, budgetMs, signOne);
    },
  };
}

function percentileUs(sorted: BigUint64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length));
  return Number(sorted[index]!) / 1000;
}

/** Operations per wall-clock second. */
function rate(result: PhaseResult): number {
  return (result.count / result.elapsedMs) * 1000;
}

/** Operations per CPU-second: the per-core figure, whatever else the machine is doing. */
function cpuRate(result: PhaseResult): number {
  return (result.count / result.cpuMs) * 1000;
}

function formatTable(results: readonly PhaseResult[]): string {
  const rows = results.map((r) => {
    const sorted = r.latenciesNs.slice().sort();
    return [
      r.name,
      Math.round(cpuRate(r)).toLocaleString('en-US'),
      Math.round(rate(r)).toLocaleString('en-US'),
      percentileUs(sorted, 50).toFixed(0),
      percentileUs(sorted, 99).toFixed(0),
      r.count.toLocaleString('en-US'),
    ];
  });
  const header = ['phase', 'ops/cpu-s', 'ops/s wall', 'p50 µs', 'p99 µs', 'n'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const budgetMs = options.seconds * 1000;
  console.log(
    `node ${process.version}, openssl ${process.versions.openssl}, ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}, ` +
      `load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}, ${options.seconds}s per phase, ${options.csrs} distinct CSRs`,
  );

  const phases: Phase[] = [
    ceilingPhase(),
    ceilingWithImportPhase(),
    oursPhase('ecdsa-p256', options.csrs),
    oursPhase('ed25519', options.csrs),
    peculiarPhase(options.csrs),
    // Seam: the 1,000-concurrent SignCertificate-over-gRPC phase goes here.
  ];
  const results: PhaseResult[] = [];
  for (const phase of phases) results.push(await phase.run(budgetMs));
  console.log(formatTable(results));

  const [ceiling, floor, oursP256, , peculiar] = results;
  if (ceiling && floor && oursP256 && peculiar) {
    console.log(
      `ratios (per CPU-second): ours(ecdsa-p256)/ceiling ${(cpuRate(oursP256) / cpuRate(ceiling)).toFixed(2)}, ` +
        `ours(ecdsa-p256)/ceiling-with-key-import ${(cpuRate(oursP256) / cpuRate(floor)).toFixed(2)}, ` +
        `ours(ecdsa-p256)/@peculiar ${(cpuRate(oursP256) / cpuRate(peculiar)).toFixed(1)}x`,
    );
  }
  console.log('latencies are wall-clock, so they include time the process waited for a CPU.');
}

await main();
