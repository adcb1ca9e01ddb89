// Preloaded by scripts/run-tests.mjs (`node --import`) into every test file's
// process: a test still running after TSDAPR_TEST_TIMEOUT_MS (default 5
// minutes, several times the slowest test's duration) fails its file, with
// the test's name and file on stderr, instead of hanging the run.
//
// Why not node's --test-timeout alone: on Node 20 it bounds a whole test FILE
// (the runner never passes it to the file's process) and reports only the
// file, not the test that hung. run-tests.mjs still passes it, as a per-file
// backstop.
//
// The process exits at once: `after` hooks do not run (a hung test's
// cleanup would likely hang too), and run-tests.mjs stops the cluster.
import { afterEach, beforeEach } from 'node:test';

const limitMs = Number(process.env.TSDAPR_TEST_TIMEOUT_MS ?? 300_000);
// The runner's own process (the one given --test) runs no tests; only the files' processes are watched.
if (!process.execArgv.includes('--test') && Number.isFinite(limitMs) && limitMs > 0) {
  const timers = new Map();
  beforeEach((t) => {
    const timer = setTimeout(() => {
      process.stderr.write(`run-tests: TIMEOUT: test "${t.name}" in ${process.argv[1]} still running after ${limitMs} ms (TSDAPR_TEST_TIMEOUT_MS); failing its file\n`);
      process.exit(1);
    }, limitMs);
    // Never keeps the process alive on its own.
    timer.unref();
    timers.set(t, timer);
  });
  afterEach((t) => {
    clearTimeout(timers.get(t));
    timers.delete(t);
  });
}
