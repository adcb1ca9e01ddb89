import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCpuMs, parseStatusMiB, ProcessSampler, readProcess } from './process-sampler.js';

test('utime + stime from /proc/<pid>/stat, with a command name holding spaces and parentheses', () => {
  const rest = 'S 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0 1 0 100 200 300';
  assert.equal(parseCpuMs(`1234 (node) ${rest}`), 2000);
  assert.equal(parseCpuMs(`1234 (my (odd) name) ${rest}`), 2000);
  assert.equal(parseCpuMs(`1234 (x) ${rest}`, 1000), 200);
});

test('VmRSS and VmHWM in MiB; NaN when missing', () => {
  const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n';
  assert.equal(parseStatusMiB(status, 'VmRSS'), 100);
  assert.equal(parseStatusMiB(status, 'VmHWM'), 200);
  assert.ok(Number.isNaN(parseStatusMiB('Name:\tkthread\n', 'VmRSS')));
});

test('this process reads back as alive with some CPU and RSS; a sampler keeps the peak', () => {
  const reading = readProcess(process.pid);
  assert.ok(reading && reading.cpuMs >= 0 && reading.rssMiB > 1 && reading.hwmMiB >= reading.rssMiB - 1);
  const sampler = new ProcessSampler(process.pid, 1000);
  sampler.start();
  sampler.stop();
  assert.equal(sampler.sampleCount, 2);
  assert.ok(sampler.peakMiB >= reading.rssMiB - 50);
  assert.equal(readProcess(2 ** 22 + 12345), undefined);
});
