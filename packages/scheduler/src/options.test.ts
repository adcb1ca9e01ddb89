import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSchedulerOptions } from './options.js';

const parse = (argv: string[], env: Record<string, string> = {}) => parseSchedulerOptions(argv, env);

void test('options: upstream defaults', { timeout: 5000 }, () => {
  const options = parse([]);
  assert.equal(options.id, 'dapr-scheduler-server-0');
  assert.equal(options.port, 50006);
  assert.equal(options.listenAddress, '');
  assert.equal(options.healthz.port, 8080);
  assert.deepEqual(options.metrics, { enabled: true, host: '0.0.0.0', port: 9090 });
  assert.equal(options.mode, 'standalone');
  assert.deepEqual(options.tls, { enabled: false });
  assert.equal(options.namespace, 'default');
  assert.equal(options.broadcastAddress, undefined);
  assert.equal(options.etcd.embed, true);
  if (options.etcd.embed) {
    assert.deepEqual(options.etcd.embedded.initialCluster, ['dapr-scheduler-server-0=http://localhost:2380']);
    assert.equal(options.etcd.embedded.clientPort, 2379);
    assert.equal(options.etcd.embedded.clientHost, 'localhost');
    assert.equal(options.etcd.embedded.dataDir, './data');
    assert.equal(options.etcd.embedded.name, 'dapr-scheduler-server-0');
    assert.ok(options.etcd.embedded.extraArgs.includes('--auto-compaction-mode=revision'));
    assert.ok(options.etcd.embedded.extraArgs.includes('--auto-compaction-retention=1000000'));
    assert.ok(!options.etcd.embedded.extraArgs.some((arg) => arg.startsWith('--quota-backend-bytes')), '9.2E: no quota');
  }
  assert.equal(options.keyPrefix, 'tsdapr/scheduler/');
  assert.equal(options.memberTtlMs, 5000);
  assert.equal(options.logLevel, 'info');
  assert.deepEqual(options.ignoredFlags, []);
});

void test("options: upstream's start-up errors, same words", { timeout: 5000 }, () => {
  assert.throws(() => parse(['--etcd-client-endpoints', 'http://e:2379']), /cannot use --etcd-client-endpoints with --etcd-embed/);
  assert.throws(() => parse(['--etcd-client-username', 'u']), /cannot use --etcd-client-username with --etcd-embed/);
  assert.throws(() => parse([], { DAPR_SCHEDULER_ETCD_CLIENT_PASSWORD: 'p' }), /cannot use --etcd-client-password with --etcd-embed/);
  assert.throws(() => parse(['--etcd-embed=false']), /must specify --etcd-client-endpoints when not using embedded etcd/);
  assert.throws(() => parse(['--id', 'x']), /scheduler ID: x is not found in initial cluster/);
  assert.throws(() => parse(['--id', 'x', '--etcd-initial-cluster', 'a=http://a:2380,b=http://b:2380']), /scheduler ID: x is not found in initial cluster/);
});

void test('options: external etcd, SCHEDULER_ID and NAMESPACE from the environment', { timeout: 5000 }, () => {
  const options = parse(['--etcd-embed=false', '--etcd-client-endpoints', 'http://a:2379,http://b:2379', '--etcd-client-username', 'u'], {
    SCHEDULER_ID: 'dapr-scheduler-server-2',
    NAMESPACE: 'dapr-system',
    DAPR_SCHEDULER_ETCD_CLIENT_PASSWORD: 'secret',
  });
  assert.equal(options.id, 'dapr-scheduler-server-2', 'no initial-cluster check without the embedded etcd');
  assert.equal(options.namespace, 'dapr-system');
  assert.deepEqual(options.etcd, { embed: false, endpoints: ['http://a:2379', 'http://b:2379'], username: 'u', password: 'secret' });
});

void test('options: kubernetes mode turns mTLS on with upstream defaults', { timeout: 5000 }, () => {
  const options = parse(['--mode', 'kubernetes'], { NAMESPACE: 'dapr-system' });
  assert.deepEqual(options.tls, {
    enabled: true,
    trustDomain: 'localhost',
    trustAnchorsFile: '/var/run/secrets/dapr.io/tls/ca.crt',
    sentryAddress: 'dapr-sentry.dapr-system.svc:443',
    sentryTokenFile: '/var/run/secrets/dapr.io/sentrytoken/token',
  });
  assert.equal(parse(['--tls-enabled']).tls.enabled, true);
});

void test('options: refused values name the flag and the value', { timeout: 5000 }, () => {
  assert.throws(() => parse(['--mode', 'cloud']), /--mode must be "kubernetes" or "standalone", got "cloud"/);
  assert.throws(() => parse(['--port', '70000']), /--port must be a port number, got 70000/);
  assert.throws(() => parse(['--member-ttl', '1s']), /--member-ttl must be at least 2s/);
  assert.throws(() => parse(['--etcd-key-prefix', 'no-slash']), /--etcd-key-prefix must end with "\/", got "no-slash"/);
  assert.throws(() => parse(['--override-broadcast-host-port', 'nohost']), /--override-broadcast-host-port must be host:port, got "nohost"/);
  assert.throws(() => parse(['--etcd-space-quota', 'lots']), /--etcd-space-quota must be a Kubernetes quantity/);
  assert.throws(() => parse(['--etcd-initial-cluster', 'dapr-scheduler-server-0=localhost:2380']), /is not <id>=<http\(s\):\/\/host:port>/);
  assert.throws(() => parse(['--log-level', 'loud']), /--log-level must be one of/);
});

void test('options: etcd tuning flags passed on; upstream-only flags accepted and listed as ignored', { timeout: 5000 }, () => {
  const options = parse(['--etcd-space-quota', '16Gi', '--etcd-snapshot-count', '5000', '--etcd-max-wals', '3', '--workers', '10', '--etcd-metrics', 'extensive', '--override-broadcast-host-port', 'sched:50006']);
  assert.equal(options.broadcastAddress, 'sched:50006');
  assert.ok(options.etcd.embed);
  if (options.etcd.embed) {
    const args = options.etcd.embedded.extraArgs;
    assert.ok(args.includes(`--quota-backend-bytes=${16 * 2 ** 30}`), args.join(' '));
    assert.ok(args.includes('--snapshot-count=5000'));
    assert.ok(args.includes('--max-wals=3'));
  }
  assert.deepEqual([...options.ignoredFlags].sort(), ['etcd-metrics', 'workers']);
});
