#!/usr/bin/env node
// `pnpm bench`: every benchmark, one after another, each comparing against
// its baseline measured in the same run. Extra arguments go to each one.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BENCHMARKS = [
  ['sentry: signing in process (ours vs node crypto ceiling vs @peculiar/x509)', 'bench/dist/sentry/sign-throughput.js'],
  ['sentry: SignCertificate over gRPC+TLS, sequential and 1,000 in flight', 'bench/dist/sentry/grpc-load.js'],
  ['placement: dissemination round time, join/leave/rejoin at 100 and 1,000 sidecars', 'bench/dist/placement/round-time.js'],
  ['injector: AdmissionReviews over HTTPS at 500 req/s and closed loop, ours vs upstream 1.17.5 vs a trivial handler', 'bench/dist/injector/admission.js'],
  ['operator: ComponentUpdate latency at 100 streams, RSS with 5,000 Components and 10,000 non-Dapr Pods, ours vs upstream 1.17.5', 'bench/dist/operator/latency-and-memory.js'],
  ['scheduler: schedule throughput, trigger lateness, CPU and RSS at 10,000 and 100,000 one-shot jobs due in one minute, ours vs etcd alone (--target for another scheduler)', 'bench/dist/scheduler/job-triggers.js'],
];

let failed = 0;
for (const [title, file] of BENCHMARKS) {
  console.log(`\n=== ${title}`);
  if (!existsSync(join(root, file))) {
    console.log(`missing ${file}: run pnpm build`);
    failed++;
    continue;
  }
  const result = spawnSync(process.execPath, [join(root, file), ...process.argv.slice(2)], { stdio: 'inherit', cwd: root });
  if (result.status !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;
