import { InvalidInputError, formatDuration, parseFlags, type FlagSpec, type FlagValues, type LoggerOptions } from '@tsdapr/runtime';

/**
 * Upstream scheduler's flags (cmd/scheduler/options/options.go, v1.17), same
 * names and defaults, plus tsdapr's own. Upstream's etcd tuning flags are
 * accepted so an upstream chart or script still starts; those that matter to
 * the embedded etcd are passed on to it, the rest are ignored with a note.
 */
export const SCHEDULER_FLAGS = {
  port: { type: 'int', default: 50006, help: 'gRPC port of the scheduler API' },
  'listen-address': { type: 'string', default: '', help: 'address to bind the gRPC server to (empty: all interfaces)' },
  'healthz-port': { type: 'int', default: 8080, help: 'port of /healthz and /readyz' },
  'healthz-listen-address': { type: 'string', default: '', help: 'address to bind the health server to' },
  'override-broadcast-host-port': { type: 'string', default: '', help: 'host:port this replica announces in WatchHosts (default: <listen address or host IP>:<port>)' },
  id: { type: 'string', default: 'dapr-scheduler-server-0', env: 'SCHEDULER_ID', help: 'replica id, unique per replica; also the embedded etcd member name' },
  mode: { type: 'string', default: 'standalone', help: 'kubernetes (mTLS on) or standalone' },
  'tls-enabled': { type: 'bool', default: false, help: 'serve with mTLS and authorize sidecars by SPIFFE ID (always on with --mode kubernetes)' },
  'trust-domain': { type: 'string', default: 'localhost', help: 'trust domain of the control plane' },
  'trust-anchors-file': { type: 'string', default: '/var/run/secrets/dapr.io/tls/ca.crt', help: 'trust anchors clients must chain to (mTLS)' },
  'sentry-address': { type: 'string', default: '', help: 'address of Sentry to get the SVID from (default dapr-sentry.<namespace>.svc:443)' },
  'sentry-token-file': { type: 'string', default: '/var/run/secrets/dapr.io/sentrytoken/token', help: 'projected service-account token presented to Sentry (empty: none, standalone)' },
  kubeconfig: { type: 'string', default: '', help: 'accepted for upstream compatibility; the scheduler does not talk to the API server' },
  'identity-directory-write': { type: 'string', default: '', help: 'upstream: where the SVID is written for etcd; accepted and ignored' },
  workers: { type: 'int', default: 2048, help: 'upstream go-etcd-cron worker count; accepted and ignored' },
  'etcd-embed': { type: 'bool', default: true, help: 'run an etcd this process owns (a child process of --etcd-binary); false needs --etcd-client-endpoints' },
  'etcd-initial-cluster': { type: 'list', default: ['dapr-scheduler-server-0=http://localhost:2380'], help: 'embedded etcd: <id>=<peer URL> of every member; own --id must appear' },
  'etcd-data-dir': { type: 'string', default: './data', help: 'embedded etcd: data directory (a subdirectory per member is made below it)' },
  'etcd-client-port': { type: 'int', default: 2379, help: 'embedded etcd: client port' },
  'etcd-client-listen-address': { type: 'string', default: 'localhost', help: 'embedded etcd: client listen address' },
  'etcd-space-quota': { type: 'string', default: '9.2E', help: 'embedded etcd: backend quota (Kubernetes quantity)' },
  'etcd-compaction-mode': { type: 'string', default: 'revision', help: 'embedded etcd: auto-compaction mode (revision or periodic)' },
  'etcd-compaction-retention': { type: 'string', default: '1000000', help: 'embedded etcd: auto-compaction retention' },
  'etcd-snapshot-count': { type: 'int', default: 100000, help: 'embedded etcd: commits before a snapshot' },
  'etcd-max-snapshots': { type: 'int', default: 10, help: 'embedded etcd: snapshot files kept' },
  'etcd-max-wals': { type: 'int', default: 10, help: 'embedded etcd: WAL files kept' },
  'etcd-backend-batch-limit': { type: 'int', default: 10000, help: 'embedded etcd: backend batch limit' },
  'etcd-backend-batch-interval': { type: 'string', default: '100ms', help: 'embedded etcd: backend batch interval' },
  'etcd-max-txn-ops': { type: 'int', default: 10000, help: 'embedded etcd: operations per transaction' },
  'etcd-experimental-bootstrap-defrag-threshold-megabytes': { type: 'int', default: 100, help: 'embedded etcd: defragment at start above this many MB of free space' },
  'etcd-initial-election-tick-advance': { type: 'bool', default: false, help: 'embedded etcd: fast-forward election ticks at start' },
  'etcd-metrics': { type: 'string', default: 'basic', help: 'embedded etcd: basic or extensive' },
  'etcd-client-endpoints': { type: 'list', default: [], help: 'external etcd: client URLs (with --etcd-embed=false)' },
  'etcd-client-username': { type: 'string', default: '', help: 'external etcd: user name' },
  'etcd-client-password': { type: 'string', default: '', env: 'DAPR_SCHEDULER_ETCD_CLIENT_PASSWORD', help: 'external etcd: password' },
  'log-level': { type: 'string', default: 'info', help: 'debug, info, warn, error or fatal' },
  'log-as-json': { type: 'bool', default: true, help: 'JSON log lines (always JSON; kept for upstream compatibility)' },
  'enable-metrics': { type: 'bool', default: true, help: 'serve Prometheus metrics' },
  'metrics-port': { type: 'int', default: 9090, help: 'port of /metrics' },
  'metrics-listen-address': { type: 'string', default: '0.0.0.0', help: 'address to bind the metrics server to' },
  // tsdapr's own.
  namespace: { type: 'string', default: 'default', env: 'NAMESPACE', help: "the control-plane namespace (the scheduler's SVID names it)" },
  'host-ip': { type: 'string', default: '', env: 'DAPR_HOST_IP', help: 'IP announced in WatchHosts when the listen address is not loopback (default: the first non-internal IPv4)' },
  'etcd-binary': { type: 'string', default: 'etcd', env: 'TSDAPR_SCHEDULER_ETCD_BINARY', help: 'embedded etcd: the etcd program to run' },
  'etcd-peer-port': { type: 'int', default: 2380, help: 'embedded etcd: peer port' },
  'etcd-key-prefix': { type: 'string', default: 'tsdapr/scheduler/', help: 'every key the scheduler writes starts with this' },
  'member-ttl': { type: 'duration', default: '5s', help: 'a replica that stops renewing its membership for this long loses its share of jobs to the others' },
  'max-loaded-triggers': { type: 'int', default: 10000, help: 'due-soon jobs kept in memory at once; the rest wait in etcd (memory does not grow with stored jobs)' },
  'lookahead': { type: 'duration', default: '30s', help: 'how far ahead due jobs are loaded from etcd' },
} as const satisfies Record<string, FlagSpec>;

export type SchedulerMode = 'kubernetes' | 'standalone';

export interface EmbeddedEtcdOptions {
  readonly binary: string;
  readonly name: string;
  /** `<id>=<peer URL>` for every member, own included. */
  readonly initialCluster: readonly string[];
  readonly dataDir: string;
  readonly clientHost: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** Flags passed on to etcd as they are (quota, compaction, snapshots...). */
  readonly extraArgs: readonly string[];
}

export interface SchedulerOptions {
  readonly id: string;
  readonly mode: SchedulerMode;
  readonly namespace: string;
  readonly listenAddress: string;
  readonly port: number;
  readonly broadcastAddress: string | undefined;
  readonly hostIp: string;
  readonly healthz: { readonly host: string; readonly port: number };
  readonly metrics: { readonly enabled: boolean; readonly host: string; readonly port: number };
  readonly tls:
    | { readonly enabled: false }
    | { readonly enabled: true; readonly trustDomain: string; readonly trustAnchorsFile: string; readonly sentryAddress: string; readonly sentryTokenFile: string };
  readonly etcd:
    | { readonly embed: true; readonly embedded: EmbeddedEtcdOptions }
    | { readonly embed: false; readonly endpoints: readonly string[]; readonly username?: string; readonly password?: string };
  readonly keyPrefix: string;
  readonly memberTtlMs: number;
  readonly maxLoadedTriggers: number;
  readonly lookaheadMs: number;
  readonly logLevel: LoggerOptions['level'];
  readonly ignoredFlags: readonly string[];
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal', 'trace', 'silent'] as const;
const IGNORED = ['identity-directory-write', 'workers', 'kubeconfig', 'etcd-metrics', 'etcd-initial-election-tick-advance'] as const;

/** Flags and environment to typed, validated options; the only reader of process.env. */
export function parseSchedulerOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): SchedulerOptions {
  const flags: FlagValues<typeof SCHEDULER_FLAGS> = parseFlags(SCHEDULER_FLAGS, argv, env);
  const fail = (message: string): never => {
    throw new InvalidInputError('invalid_flag', message);
  };
  if (flags.mode !== 'kubernetes' && flags.mode !== 'standalone') fail(`--mode must be "kubernetes" or "standalone", got "${flags.mode}"`);
  const logLevel = flags['log-level'] as (typeof LOG_LEVELS)[number];
  if (!LOG_LEVELS.includes(logLevel)) fail(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${flags['log-level']}"`);
  for (const name of ['port', 'healthz-port', 'metrics-port', 'etcd-client-port', 'etcd-peer-port'] as const) {
    if (flags[name] < 0 || flags[name] > 65535) fail(`--${name} must be a port number, got ${flags[name]}`);
  }
  if (flags['member-ttl'] < 2000) fail(`--member-ttl must be at least 2s (etcd leases have whole seconds), got ${formatDuration(flags['member-ttl'])}`);
  if (flags['max-loaded-triggers'] < 100) fail(`--max-loaded-triggers must be at least 100, got ${flags['max-loaded-triggers']}`);
  if (flags.lookahead < 1000) fail(`--lookahead must be at least 1s, got ${formatDuration(flags.lookahead)}`);
  const given = (name: string): boolean => argv.some((arg) => new RegExp(`^--?${name}(=|$)`).test(arg));

  // Upstream's start-up errors, same words (cmd/scheduler/options/options.go).
  let etcd: SchedulerOptions['etcd'];
  if (flags['etcd-embed']) {
    if (flags['etcd-client-endpoints'].length > 0) fail('cannot use --etcd-client-endpoints with --etcd-embed');
    if (flags['etcd-client-username']) fail('cannot use --etcd-client-username with --etcd-embed');
    if (flags['etcd-client-password']) fail('cannot use --etcd-client-password with --etcd-embed');
    const members = flags['etcd-initial-cluster'];
    for (const member of members) {
      const eq = member.indexOf('=');
      if (eq <= 0 || !/^https?:\/\/[^/]+$/.test(member.slice(eq + 1))) fail(`--etcd-initial-cluster: "${member}" is not <id>=<http(s)://host:port>`);
    }
    if (!members.some((member) => member.split('=')[0] === flags.id)) fail(`scheduler ID: ${flags.id} is not found in initial cluster`);
    const passOn = (flag: string, etcdFlag: string, value: string | number): string[] => (given(flag) ? [`--${etcdFlag}=${value}`] : []);
    etcd = {
      embed: true,
      embedded: {
        binary: flags['etcd-binary'],
        name: flags.id,
        initialCluster: members,
        dataDir: flags['etcd-data-dir'],
        clientHost: flags['etcd-client-listen-address'],
        clientPort: flags['etcd-client-port'],
        peerPort: flags['etcd-peer-port'],
        extraArgs: [
          `--auto-compaction-mode=${flags['etcd-compaction-mode']}`,
          `--auto-compaction-retention=${flags['etcd-compaction-retention']}`,
          // etcd 3.6 deprecates these two: passed on only when given, so its log stays quiet.
          ...passOn('etcd-snapshot-count', 'snapshot-count', flags['etcd-snapshot-count']),
          ...passOn('etcd-max-snapshots', 'max-snapshots', flags['etcd-max-snapshots']),
          `--max-wals=${flags['etcd-max-wals']}`,
          `--max-txn-ops=${flags['etcd-max-txn-ops']}`,
          ...passOn('etcd-backend-batch-limit', 'backend-batch-limit', flags['etcd-backend-batch-limit']),
          ...passOn('etcd-backend-batch-interval', 'backend-batch-interval', flags['etcd-backend-batch-interval']),
          ...spaceQuotaArgs(flags['etcd-space-quota'], fail),
        ],
      },
    };
  } else {
    if (flags['etcd-client-endpoints'].length === 0) fail('must specify --etcd-client-endpoints when not using embedded etcd');
    etcd = {
      embed: false,
      endpoints: flags['etcd-client-endpoints'],
      ...(flags['etcd-client-username'] ? { username: flags['etcd-client-username'] } : {}),
      ...(flags['etcd-client-password'] ? { password: flags['etcd-client-password'] } : {}),
    };
  }

  const namespace = flags.namespace;
  const tlsOn = flags['tls-enabled'] || flags.mode === 'kubernetes';
  const tls: SchedulerOptions['tls'] = tlsOn
    ? {
        enabled: true,
        trustDomain: flags['trust-domain'],
        trustAnchorsFile: flags['trust-anchors-file'],
        sentryAddress: flags['sentry-address'] || `dapr-sentry.${namespace}.svc:443`,
        sentryTokenFile: flags['sentry-token-file'],
      }
    : { enabled: false };
  const broadcast = flags['override-broadcast-host-port'];
  if (broadcast && !/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d+$/.test(broadcast)) fail(`--override-broadcast-host-port must be host:port, got "${broadcast}"`);
  const keyPrefix = flags['etcd-key-prefix'];
  if (!keyPrefix.endsWith('/')) fail(`--etcd-key-prefix must end with "/", got "${keyPrefix}"`);

  return {
    id: flags.id,
    mode: flags.mode as SchedulerMode,
    namespace,
    listenAddress: flags['listen-address'],
    port: flags.port,
    broadcastAddress: broadcast || undefined,
    hostIp: flags['host-ip'],
    healthz: { host: flags['healthz-listen-address'], port: flags['healthz-port'] },
    metrics: { enabled: flags['enable-metrics'], host: flags['metrics-listen-address'], port: flags['metrics-port'] },
    tls,
    etcd,
    keyPrefix,
    memberTtlMs: flags['member-ttl'],
    maxLoadedTriggers: flags['max-loaded-triggers'],
    lookaheadMs: flags.lookahead,
    logLevel,
    ignoredFlags: IGNORED.filter((name) => given(name)),
  };
}

/** `9.2E` (upstream's "unlimited") passes no quota; other quantities become bytes. */
function spaceQuotaArgs(quantity: string, fail: (message: string) => never): string[] {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.exec(quantity.trim());
  if (!match) return fail(`--etcd-space-quota must be a Kubernetes quantity such as 16Gi, got "${quantity}"`);
  const units: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
  const bytes = Number(match[1]) * (units[match[2] ?? ''] ?? 1);
  // etcd caps its quota at 8 GiB of meaningful use; above that it warns and uses the value as is.
  if (bytes >= 1e18) return [];
  return [`--quota-backend-bytes=${Math.round(bytes)}`];
}
