import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { podScript } from './local-pod.js';

describe('the shell that sets up a local pod', () => {
  const runtime = { uid: 65532, gid: 65532, readOnlyRootFilesystem: true };
  const script = podScript(
    'dapr-operator-7d5-x',
    [
      { source: '/tmp/pod/tmp', mountPath: '/tmp', readOnly: false },
      { source: "/tmp/pod/it's", mountPath: '/var/run/secrets/dapr.io/tls', readOnly: true },
    ],
    runtime,
  ).split('\n');

  test('host name, /run, the volumes with /tmp last, then the read-only root, then the container user', () => {
    assert.deepEqual(script, [
      'set -e',
      "hostname 'dapr-operator-7d5-x'",
      'mount -t tmpfs tmpfs /run',
      "mkdir -p '/var/run/secrets/dapr.io/tls'",
      `mount --bind '/tmp/pod/it'\\''s' '/var/run/secrets/dapr.io/tls'`,
      "mount -o remount,bind,ro '/var/run/secrets/dapr.io/tls'",
      "mkdir -p '/tmp'",
      "mount --rbind '/tmp/pod/tmp' '/tmp'",
      // A bind remount: this namespace's mount only, never the machine's file system.
      'mount -o remount,bind,ro /',
      'exec setpriv --reuid=65532 --regid=65532 --clear-groups --pdeathsig=KILL "$@"',
    ]);
  });

  test('a repository under /tmp (a CI clone) stays visible at its path under the pod\'s /tmp', () => {
    const lines = podScript('p', [{ source: '/tmp/pod/tmp', mountPath: '/tmp', readOnly: false }], runtime, ['/tmp/ciclone', '/usr/local/bin']).split('\n');
    const bind = lines.indexOf("mount --bind '/tmp/ciclone' '/tmp/pod/tmp/ciclone'");
    assert.ok(bind > 0, lines.join('\n'));
    assert.ok(lines.indexOf("mount --rbind '/tmp/pod/tmp' '/tmp'") > bind, 'the repository is bound into the volume before the volume covers /tmp');
    assert.ok(!lines.some((line) => line.includes('/usr/local/bin')), 'paths outside /tmp need nothing');
  });

  test('a writable root is left alone', () => {
    assert.ok(!podScript('p', [], { ...runtime, readOnlyRootFilesystem: false }).includes('remount,bind,ro /'));
  });

  test('a mount path outside /var/run and /tmp is refused rather than created on the host', () => {
    assert.throws(() => podScript('p', [{ source: '/x', mountPath: '/etc/dapr', readOnly: true }], runtime), /only paths under \/var\/run and \/tmp/);
  });
});
