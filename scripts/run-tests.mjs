#!/usr/bin/env node
// The test entry behind `pnpm test` (after `pnpm build`).
//
//   node scripts/run-tests.mjs           # unit + integration tests, against one real local cluster
//   node scripts/run-tests.mjs --unit    # unit tests only, no cluster
//
// Compiled tests are found under packages/*/dist, e2e/*/dist and bench/dist. Files named
// *.integration.test.js need the cluster: this script starts ONE (etcd,
// kube-apiserver, kube-controller-manager from the Go build cache), exports
// TSDAPR_TEST_KUBECONFIG and TSDAPR_REPO_ROOT, runs node's test runner over
// every file, stops the cluster and exits with the runner's exit code.
// A cluster that cannot start fails the run; integration tests are never skipped.
//
// Timeouts, so a hung test fails with its name instead of hanging CI: every
// test file's process preloads scripts/per-test-timeout.mjs, which fails a
// test still running after TSDAPR_TEST_TIMEOUT_MS (default 5 minutes; the
// slowest test, daprd against our scheduler, takes about 46 s on 2 cores);
// node's --test-timeout (which on Node 20 bounds a whole file) is a 20-minute
// backstop per file.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const unitOnly = process.argv.includes('--unit');
/** Per test file (node's --test-timeout on Node 20): a backstop behind the per-test timeout. */
const FILE_TIMEOUT_MS = 20 * 60_000;

const files = findTestFiles();
const integration = files.filter((file) => file.endsWith('.integration.test.js'));
const unit = files.filter((file) => !file.endsWith('.integration.test.js'));
const selected = unitOnly ? unit : files;

if (selected.length === 0) {
  console.log(`run-tests: no ${unitOnly ? 'unit ' : ''}test files found under packages/*/dist or e2e/*/dist (did "pnpm build" run?)`);
  process.exit(unitOnly ? 0 : 1);
}

const env = { ...process.env, TSDAPR_REPO_ROOT: repo };
let cluster;
if (!unitOnly && integration.length > 0) {
  cluster = await startTestCluster();
  env.TSDAPR_TEST_KUBECONFIG = cluster.kubeconfigPath;
}

console.log(`run-tests: ${unit.length} unit and ${unitOnly ? 0 : integration.length} integration test files`);
const code = await runNodeTests(selected, env);
if (cluster) await cluster.stop();
process.exit(code);

function findTestFiles() {
  const roots = [
    ...subdirs(join(repo, 'packages')).map((dir) => join(dir, 'dist')),
    ...subdirs(join(repo, 'e2e')).map((dir) => join(dir, 'dist')),
    // The benches' pure parts (percentiles, job spreading...) have unit tests too.
    join(repo, 'bench', 'dist'),
  ];
  const found = new Set();
  for (const root of roots) for (const file of walk(root)) if (file.endsWith('.test.js')) found.add(file);
  return [...found].sort();
}

function subdirs(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(dir, entry.name));
}

function* walk(dir) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules') yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

async function startTestCluster() {
  const harness = join(repo, 'e2e', 'harness', 'dist', 'index.js');
  if (!existsSync(harness)) fail(`${relative(repo, harness)} is missing: run "pnpm build" first`);
  const { startCluster } = await import(pathToFileURL(harness).href);
  // Logs outlive the run (the data dir does not), so a failed test can be traced in the apiserver's log.
  const logDir = join(repo, '.tsdapr', 'test-cluster-logs');
  rmSync(logDir, { recursive: true, force: true });
  const started = Date.now();
  console.log('run-tests: starting etcd, kube-apiserver and kube-controller-manager ...');
  try {
    const running = await startCluster({ logDir });
    console.log(`run-tests: cluster ready in ${((Date.now() - started) / 1000).toFixed(1)}s at ${running.server} (logs: ${logDir})`);
    return running;
  } catch (err) {
    fail(`the test cluster could not start, so integration tests cannot run.\n${err instanceof Error ? err.message : err}`);
  }
}

function runNodeTests(testFiles, childEnv) {
  return new Promise((resolve) => {
    const preload = pathToFileURL(join(repo, 'scripts', 'per-test-timeout.mjs')).href;
    const args = ['--import', preload, '--test', '--test-concurrency=2', `--test-timeout=${FILE_TIMEOUT_MS}`, ...testFiles];
    const child = spawn(process.execPath, args, { stdio: 'inherit', env: childEnv, cwd: repo });
    // Ctrl-C reaches the whole foreground group; wait for the runner, then stop the cluster.
    const ignore = () => {};
    process.on('SIGINT', ignore);
    process.on('SIGTERM', () => child.kill('SIGTERM'));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.on('error', (err) => {
      console.error(`run-tests: cannot run node --test: ${err.message}`);
      resolve(1);
    });
  });
}

function fail(message) {
  console.error(`run-tests: FAILED: ${message}`);
  process.exit(1);
}
