// The tsdapr image built by scripts/build-images.sh from the repository's Dockerfile: an OCI
// archive naming its ref, non-root (65532), the five service bundles and etcd in place, and the
// services starting as the chart runs them: uid 65532, read-only root file system, a tmpfs at
// /tmp (run with runc on the image's file system, as a kubelet would).
// Needs root, buildah and runc (as the build itself does).
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePorts } from './free-port.js';
import { pollUntil, probe } from './http-probe.js';
import { buildImages, IMAGES, type BuiltImage } from './images.js';

const SERVICES = ['sentry', 'operator', 'placement', 'injector', 'scheduler'] as const;
const BUILDAH = ['--storage-driver', 'overlay'];
/** A cold build (bases, etcd from source, pnpm install) takes minutes; a warm one under one. */
const BUILD_TIMEOUT_MS = 15 * 60_000;

interface ImageConfig {
  User?: string;
  Env?: string[];
  WorkingDir?: string;
}

function buildah(...args: string[]): string {
  return execFileSync('buildah', [...BUILDAH, ...args], { encoding: 'utf8' }).trim();
}

void describe('tsdapr image (scripts/build-images.sh, the repository Dockerfile)', { timeout: BUILD_TIMEOUT_MS + 5 * 60_000 }, () => {
  let image: BuiltImage;
  let config: ImageConfig;
  let container = '';
  let rootfs = '';
  let work = '';

  before(
    async () => {
      [image] = (await buildImages(['tsdapr'])) as [BuiltImage];
      const inspected = JSON.parse(buildah('inspect', '--type', 'image', image.ref)) as { OCIv1: { config: ImageConfig } };
      config = inspected.OCIv1.config;
      container = buildah('from', '--pull=never', image.ref);
      rootfs = buildah('mount', container);
      work = mkdtempSync(join(tmpdir(), 'tsdapr-image-test-'));
    },
    { timeout: BUILD_TIMEOUT_MS },
  );
  after(() => {
    if (container) {
      try {
        buildah('umount', container);
      } finally {
        buildah('rm', container);
      }
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  void test('is an OCI archive whose index names the image', () => {
    assert.equal(image.ref, IMAGES.tsdapr);
    assert.ok(statSync(image.archive).size > 10_000_000, `${image.archive} is too small to hold the image`);
    const index = JSON.parse(execFileSync('tar', ['-xOf', image.archive, 'index.json'], { encoding: 'utf8' })) as {
      manifests: Array<{ mediaType: string; annotations?: Record<string, string> }>;
    };
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0]?.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(index.manifests[0]?.annotations?.['org.opencontainers.image.ref.name'], IMAGES.tsdapr);
  });

  void test('runs as 65532, not root', () => {
    assert.equal(config.User, '65532:65532');
    assert.equal(config.WorkingDir, '/app');
    assert.ok(config.Env?.includes('NODE_ENV=production'), `Env: ${config.Env?.join(' ')}`);
  });

  void test('holds the five service bundles, node and etcd', () => {
    for (const service of SERVICES) {
      const bundle = join(rootfs, 'app', 'packages', service, 'dist', 'main.bundle.mjs');
      assert.ok(statSync(bundle).size > 10_000, bundle);
    }
    for (const program of ['usr/local/bin/etcd', 'usr/local/bin/node']) accessSync(join(rootfs, program), constants.X_OK);
    // Production dependencies only: no compiler, no tests.
    assert.equal(existsSync(join(rootfs, 'app', 'node_modules', 'typescript')), false, 'typescript is in the runtime image');
    assert.equal(existsSync(join(rootfs, 'app', 'packages', 'sentry', 'dist', 'main.test.js')), false);
  });

  void test('each service answers --help as uid 65532 on a read-only root file system', async () => {
    for (const service of SERVICES) {
      const run = await runInImage(`help-${service}`, ['node', `packages/${service}/dist/main.bundle.mjs`, '--help']);
      assert.equal(run.code, 0, `${service} --help: ${run.stderr}`);
      assert.match(run.stdout, new RegExp(`Usage: tsdapr-${service}`), service);
    }
    const id = await runInImage('id', ['sh', '-c', 'id -u; id -g; touch /app/x 2>&1 || echo read-only; touch /tmp/x && echo tmp-ok; etcd --version']);
    assert.equal(id.code, 0, id.stderr);
    assert.match(id.stdout, /^65532\n65532\n/);
    assert.match(id.stdout, /Read-only file system/);
    assert.match(id.stdout, /tmp-ok/);
    assert.match(id.stdout, /etcd Version: 3\.6\.4/);
  });

  void test('the scheduler starts its embedded etcd and becomes ready, on a read-only root file system', async () => {
    const [grpc, healthz, metrics, client, peer] = await freePorts(5);
    const child = startInImage('scheduler', [
      'node', 'packages/scheduler/dist/main.bundle.mjs', '--mode', 'standalone',
      '--listen-address', '127.0.0.1', '--port', String(grpc),
      '--healthz-listen-address', '127.0.0.1', '--healthz-port', String(healthz),
      '--metrics-listen-address', '127.0.0.1', '--metrics-port', String(metrics),
      '--etcd-data-dir', '/tmp/scheduler-data', '--etcd-client-port', String(client), '--etcd-peer-port', String(peer),
      '--etcd-initial-cluster', `dapr-scheduler-server-0=http://127.0.0.1:${peer}`,
    ]);
    try {
      const exited = new Promise<Error>((resolve) => child.process.on('close', (code) => resolve(new Error(`the scheduler exited (${code})`))));
      await pollUntil(
        'the scheduler in the image to be ready',
        async () => ((await probe(`http://127.0.0.1:${healthz}/readyz`)).status === 200 ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 250, abortWhen: exited },
      );
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}; its output:\n${child.output()}`, { cause: err });
    } finally {
      await child.stop();
    }
  });

  /** runc bundle: the image's file system read-only, a tmpfs /tmp, uid/gid 65532, no capabilities, the host's network. */
  function bundle(id: string, args: readonly string[]): string {
    const dir = join(work, id);
    execFileSync('mkdir', ['-p', dir]);
    const spec = {
      ociVersion: '1.0.2',
      process: {
        terminal: false,
        user: { uid: 65532, gid: 65532 },
        args,
        env: config.Env ?? [],
        cwd: config.WorkingDir ?? '/',
        noNewPrivileges: true,
        capabilities: { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] },
      },
      root: { path: rootfs, readonly: true },
      hostname: 'tsdapr-image-test',
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
        { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
        { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
        { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
        { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=262144k'] },
      ],
      linux: {
        namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
        maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware'],
        readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      },
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
    return dir;
  }

  function runcArgs(): string[] {
    return ['--root', join(work, 'runc-state')];
  }

  function startInImage(name: string, args: readonly string[]): { process: ChildProcess; output: () => string; stop: () => Promise<void> } {
    const id = `tsdapr-image-test-${process.pid}-${name}`;
    const dir = bundle(id, args);
    const child = spawn('runc', [...runcArgs(), 'run', '--bundle', dir, id], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    return {
      process: child,
      output: () => output.slice(-4000),
      stop: async () => {
        if (child.exitCode === null) {
          try {
            execFileSync('runc', [...runcArgs(), 'kill', id, 'KILL'], { stdio: 'ignore' });
          } catch {
            // Already gone.
          }
          await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
        }
        try {
          execFileSync('runc', [...runcArgs(), 'delete', '--force', id], { stdio: 'ignore' });
        } catch {
          // Already deleted.
        }
      },
    };
  }

  async function runInImage(name: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const id = `tsdapr-image-test-${process.pid}-${name}`;
    const dir = bundle(id, args);
    const child = spawn('runc', [...runcArgs(), 'run', '--bundle', dir, id], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      try {
        execFileSync('runc', [...runcArgs(), 'kill', id, 'KILL'], { stdio: 'ignore' });
      } catch {
        // Already gone.
      }
    }, 60_000);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    clearTimeout(timer);
    try {
      execFileSync('runc', [...runcArgs(), 'delete', '--force', id], { stdio: 'ignore' });
    } catch {
      // Already deleted.
    }
    return { code, stdout, stderr };
  }
});
