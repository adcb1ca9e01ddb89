import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { startProcess } from './managed-process.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // ESRCH: gone
  }
}

void test('stop() escalates to SIGKILL when SIGTERM is ignored', { timeout: 10_000 }, async () => {
  let signalReady = (): void => undefined;
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  const child = startProcess({
    name: 'stubborn',
    command: process.execPath,
    args: ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); console.log('ready')"],
    onOutput: (chunk) => {
      if (chunk.toString().includes('ready')) signalReady();
    },
  });
  await ready; // its SIGTERM handler is in place
  await child.stop(300);
  const status = await child.exited;
  assert.equal(status.signal, 'SIGKILL');
  assert.equal(child.hasExited(), true);
});

void test('children die with their parent, even when it crashes', { timeout: 10_000 }, async () => {
  // A parent that starts a child, prints its pid and then throws.
  const script = `
    import { startProcess } from ${JSON.stringify(new URL('./managed-process.js', import.meta.url).href)};
    const child = startProcess({ name: 'sleeper', command: 'sleep', args: ['30'] });
    console.log(child.pid);
    setTimeout(() => { throw new Error('crash'); }, 100);
  `;
  const stdout = await new Promise<string>((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], (_err, out) => resolve(out));
  });
  const pid = Number(stdout.trim());
  assert.ok(pid > 0, `no pid printed: ${stdout}`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(isAlive(pid) && !isZombie(pid), false, `child ${pid} outlived its crashed parent`);
});

/** A killed child can linger as a zombie until init reaps it; it runs no more. */
function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false; // gone already
  }
}
