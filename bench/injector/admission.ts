#!/usr/bin/env node
/**
 * Admission benchmark (issue 4 "Speed"): AdmissionReviews over HTTPS on
 * loopback against the injector's real handler, next to a trivial
 * allow-everything handler on the same server in the same run.
 *
 *   node bench/dist/injector/admission.js [--rate 500] [--seconds 5] [--concurrency 32]
 *
 * The server runs in a child process so the load generator does not steal
 * its CPU. For each case it prints the latency at a paced rate (p50, p99)
 * and the throughput of a closed loop at the given concurrency.
 */
import { fork } from 'node:child_process';
import { Agent, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:https';
import express from 'express';
import { Registry } from 'prom-client';
import { TlsMaterial } from '@tsdapr/grpc';
import { silentLogger } from '@tsdapr/runtime';
import { createInjectorMetrics, defaultInjectorSettings, selfSignedServingCertificate, webhookApp } from '@tsdapr/injector';

interface Case {
  readonly name: string;
  readonly path: string;
  readonly body: string;
}

const ANCHORS = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIQ\n-----END CERTIFICATE-----\n';

function review(pod: object): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'shop',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', uid: 'x', groups: ['system:serviceaccounts'] },
      object: pod,
    },
  });
}

function typicalPod(envCount: number): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'orders-7d9f8b6c5-',
      namespace: 'shop',
      labels: { app: 'orders', 'pod-template-hash': '7d9f8b6c5' },
      annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'orders', 'dapr.io/app-port': '8080', 'dapr.io/config': 'appconfig', 'dapr.io/log-level': 'info' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'orders-7d9f8b6c5', uid: 'u', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      serviceAccountName: 'default',
      containers: [
        {
          name: 'orders',
          image: 'example.com/orders:1.2.3',
          ports: [{ containerPort: 8080, name: 'http' }],
          env: Array.from({ length: envCount }, (_, i) => ({ name: `VAR_${i}`, value: `value-${i}` })),
          resources: { requests: { cpu: '100m', memory: '128Mi' } },
          volumeMounts: [{ name: 'kube-api-access-abcde', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
        },
      ],
      volumes: [{ name: 'kube-api-access-abcde', projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }] } }],
    },
  };
}

async function serve(): Promise<void> {
  const serving = await selfSignedServingCertificate({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const tls = new TlsMaterial({ identity: serving.identity, trustAnchorsPem: serving.caBundlePem });
  const metrics = createInjectorMetrics(new Registry());
  const app = express();
  app.post('/allow', express.raw({ type: () => true, limit: '6mb' }), (req, res) => {
    const body = JSON.parse((req.body as Buffer).toString('utf8')) as { apiVersion: string; request: { uid: string } };
    res.type('application/json').send(JSON.stringify({ apiVersion: body.apiVersion, kind: 'AdmissionReview', response: { uid: body.request.uid, allowed: true } }));
  });
  app.use(
    webhookApp({
      handler: { settings: () => defaultInjectorSettings({ trustAnchorsPem: ANCHORS }), isAuthorized: () => true, metrics, logger: silentLogger() },
      metrics,
      logger: silentLogger(),
    }),
  );
  const identity = tls.currentIdentity!;
  const server = createServer({ cert: identity.certificateChainPem, key: identity.privateKeyPem }, app);
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port, ca: serving.caBundlePem }));
  process.on('disconnect', () => process.exit(0));
}

function post(agent: Agent, port: number, ca: string, path: string, body: string): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', ca, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function paced(port: number, ca: string, c: Case, rate: number, seconds: number): Promise<{ p50: number; p99: number; achieved: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const total = rate * seconds;
  const latencies: Promise<number>[] = [];
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    latencies.push(post(agent, port, ca, c.path, c.body));
  }
  const values = (await Promise.all(latencies)).sort((a, b) => a - b);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  return { p50: percentile(values, 50), p99: percentile(values, 99), achieved: total / elapsed };
}

async function closedLoop(port: number, ca: string, c: Case, concurrency: number, seconds: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await post(agent, port, ca, c.path, c.body);
        done += 1;
      }
    }),
  );
  agent.destroy();
  return done / seconds;
}

async function main(): Promise<void> {
  const arg = (name: string, fallback: number): number => {
    const index = process.argv.indexOf(`--${name}`);
    return index >= 0 ? Number(process.argv[index + 1]) : fallback;
  };
  const rate = arg('rate', 500);
  const seconds = arg('seconds', 5);
  const concurrency = arg('concurrency', 32);
  const child = fork(new URL(import.meta.url).pathname, ['--serve'], { stdio: 'inherit' });
  const { port, ca } = await new Promise<{ port: number; ca: string }>((resolve) => child.once('message', (m) => resolve(m as { port: number; ca: string })));
  const cases: Case[] = [
    { name: 'trivial allow-all handler, typical pod', path: '/allow', body: review(typicalPod(5)) },
    { name: 'injector, typical pod', path: '/mutate', body: review(typicalPod(5)) },
    { name: 'trivial allow-all handler, 1,000 env vars', path: '/allow', body: review(typicalPod(1000)) },
    { name: 'injector, 1,000 env vars', path: '/mutate', body: review(typicalPod(1000)) },
  ];
  process.stdout.write(`admission benchmark: HTTPS on loopback, ${rate} req/s paced for ${seconds}s, closed loop at concurrency ${concurrency} for ${seconds}s\n`);
  process.stdout.write(`${'case'.padEnd(44)} ${'body'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'paced/s'.padStart(8)} ${'max req/s'.padStart(10)}\n`);
  try {
    for (const c of cases) {
      await closedLoop(port, ca, c, 4, 1); // warm-up
      const latency = await paced(port, ca, c, rate, seconds);
      const throughput = await closedLoop(port, ca, c, concurrency, seconds);
      process.stdout.write(
        `${c.name.padEnd(44)} ${`${(c.body.length / 1024).toFixed(0)}KiB`.padStart(8)} ${latency.p50.toFixed(2).padStart(8)} ${latency.p99.toFixed(2).padStart(8)} ${latency.achieved.toFixed(0).padStart(8)} ${throughput.toFixed(0).padStart(10)}\n`,
      );
    }
  } finally {
    child.disconnect();
  }
}

if (process.argv.includes('--serve')) await serve();
else await main();
