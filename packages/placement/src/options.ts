import { InvalidInputError, formatDuration, parseFlags, type FlagSpec, type FlagValues } from '@tsdapr/runtime';
import type { LoggerOptions } from '@tsdapr/runtime';

/**
 * Upstream placement's flags (cmd/placement/options, v1.18), same names and
 * defaults, plus tsdapr's own for what upstream does differently (a Lease
 * instead of raft, TLS files until the Sentry SVID source exists). Flags of
 * upstream's raft are accepted so an upstream chart or script still starts,
 * and ignored.
 */
export const PLACEMENT_FLAGS = {
  id: { type: 'string', default: 'dapr-placement-0', help: 'placement server id; the holder identity in the leader Lease' },
  'initial-cluster': { type: 'list', default: ['dapr-placement-0=127.0.0.1:8201'], help: 'upstream raft peers; accepted and ignored (leadership is a Lease)' },
  'inmem-store-enabled': { type: 'bool', default: true, help: 'upstream raft store option; accepted and ignored' },
  'raft-logstore-path': { type: 'string', default: '', help: 'upstream raft store option; accepted and ignored' },
  port: { type: 'int', default: 50005, help: 'gRPC port of the placement service' },
  'listen-address': { type: 'string', default: '', help: 'address to bind the gRPC server to (empty: all interfaces)' },
  'healthz-port': { type: 'int', default: 8080, help: 'port of /healthz, /readyz (and /placement/state)' },
  'healthz-listen-address': { type: 'string', default: '', help: 'address to bind the health server to' },
  'tls-enabled': { type: 'bool', default: false, help: 'serve with mTLS and authorize sidecars by SPIFFE ID; off only in standalone setups' },
  'metadata-enabled': { type: 'bool', default: false, env: 'DAPR_PLACEMENT_METADATA_ENABLED', help: 'serve GET /placement/state (unauthenticated) on the healthz port' },
  replicationFactor: { type: 'int', default: 100, help: 'virtual nodes per host on the hash ring daprd builds' },
  'keepalive-time': { type: 'duration', default: '2s', help: 'interval of keepalive pings to each sidecar connection (1s to 10s)' },
  'keepalive-timeout': { type: 'duration', default: '3s', help: 'a connection whose ping is not answered within this is dropped (1s to 10s)' },
  'disseminate-timeout': { type: 'duration', default: '8s', help: 'a round not acked by every stream within this closes the laggards' },
  'disseminate-coalesce-window': { type: 'duration', default: '0s', help: 'if >0, delay the next round after one by this window so churn folds into one round' },
  'trust-domain': { type: 'string', default: 'localhost', help: 'trust domain of the control plane' },
  'trust-anchors-file': { type: 'string', default: '/var/run/secrets/dapr.io/tls/ca.crt', help: 'trust anchors clients must chain to (mTLS)' },
  'sentry-address': { type: 'string', default: '', help: 'address of Sentry to get the SVID from (default dapr-sentry.<namespace>.svc:443); unused with --tls-cert-file' },
  'sentry-token-file': { type: 'string', default: '/var/run/secrets/dapr.io/sentrytoken/token', help: 'projected service-account token presented to Sentry (empty: none, standalone)' },
  mode: { type: 'string', default: 'standalone', help: 'kubernetes (leader election on a Lease) or standalone (always leader)' },
  'max-api-level': { type: 'int', default: 10, help: 'deprecated upstream and ineffective; accepted and ignored' },
  'min-api-level': { type: 'int', default: 0, help: 'deprecated upstream and ineffective; accepted and ignored' },
  'log-level': { type: 'string', default: 'info', help: 'debug, info, warn, error or fatal' },
  'log-as-json': { type: 'bool', default: true, help: 'JSON log lines (always JSON; kept for upstream compatibility)' },
  'enable-metrics': { type: 'bool', default: true, help: 'serve Prometheus metrics' },
  'metrics-port': { type: 'int', default: 9090, help: 'port of /metrics' },
  'metrics-listen-address': { type: 'string', default: '0.0.0.0', help: 'address to bind the metrics server to' },
  // tsdapr's own.
  namespace: { type: 'string', default: 'default', env: 'NAMESPACE', help: "placement's own namespace (the control-plane namespace; the Lease lives here)" },
  kubeconfig: { type: 'string', default: '', env: 'KUBECONFIG', help: 'kubernetes: kubeconfig path (empty: in-cluster)' },
  'tls-cert-file': { type: 'string', default: '', help: "mTLS: placement's certificate chain (PEM) presenting spiffe://<trust-domain>/ns/<namespace>/dapr-placement" },
  'tls-key-file': { type: 'string', default: '', help: 'mTLS: the private key of --tls-cert-file (PEM)' },
  'leader-election-lease-name': { type: 'string', default: 'dapr-placement-leader', help: 'kubernetes: name of the coordination.k8s.io Lease the replicas elect a leader on' },
  'leader-election-lease-duration': { type: 'duration', default: '5s', help: 'kubernetes: how long a leader that stopped renewing keeps the Lease' },
  'leader-election-renew-deadline': { type: 'duration', default: '3s', help: 'kubernetes: a leader that could not renew for this long stops serving' },
  'leader-election-retry-period': { type: 'duration', default: '1s', help: 'kubernetes: how often the leader renews and followers try' },
} as const satisfies Record<string, FlagSpec>;

export type PlacementMode = 'kubernetes' | 'standalone';

export interface PlacementOptions {
  readonly id: string;
  readonly mode: PlacementMode;
  readonly namespace: string;
  readonly listenAddress: string;
  readonly port: number;
  readonly healthz: { readonly host: string; readonly port: number };
  readonly metrics: { readonly enabled: boolean; readonly host: string; readonly port: number };
  readonly metadataEnabled: boolean;
  readonly replicationFactor: number;
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly disseminateTimeoutMs: number;
  readonly coalesceWindowMs: number;
  readonly tls:
    | { readonly enabled: false }
    | {
        readonly enabled: true;
        readonly trustDomain: string;
        readonly trustAnchorsFile: string;
        /** With cert and key files, placement serves them; without, it gets its SVID from Sentry. */
        readonly certFile: string;
        readonly keyFile: string;
        readonly sentryAddress: string;
        readonly sentryTokenFile: string;
      };
  readonly kubeconfigPath: string | undefined;
  readonly leaderElection: { readonly leaseName: string; readonly leaseDurationMs: number; readonly renewDeadlineMs: number; readonly retryPeriodMs: number };
  readonly logLevel: LoggerOptions['level'];
  /** Upstream flags given that tsdapr accepts and ignores, for a startup note. */
  readonly ignoredFlags: readonly string[];
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal', 'trace', 'silent'] as const;
const IGNORED = ['initial-cluster', 'inmem-store-enabled', 'raft-logstore-path', 'max-api-level', 'min-api-level'] as const;

/** Flags and environment to typed, validated options; the only reader of process.env. */
export function parsePlacementOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): PlacementOptions {
  const flags: FlagValues<typeof PLACEMENT_FLAGS> = parseFlags(PLACEMENT_FLAGS, argv, env);
  const fail = (message: string): never => {
    throw new InvalidInputError('invalid_flag', message);
  };
  if (flags.mode !== 'kubernetes' && flags.mode !== 'standalone') fail(`--mode must be "kubernetes" or "standalone", got "${flags.mode}"`);
  const logLevel = flags['log-level'] as (typeof LOG_LEVELS)[number];
  if (!LOG_LEVELS.includes(logLevel)) fail(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${flags['log-level']}"`);
  for (const name of ['port', 'healthz-port', 'metrics-port'] as const) {
    if (flags[name] < 0 || flags[name] > 65535) fail(`--${name} must be a port number, got ${flags[name]}`);
  }
  // Upstream's bounds (cmd/placement/options Validate).
  for (const name of ['keepalive-time', 'keepalive-timeout'] as const) {
    if (flags[name] < 1000 || flags[name] > 10_000) fail(`invalid value for ${name}: value should be between 1s and 10s, got ${formatDuration(flags[name])}`);
  }
  if (flags['disseminate-timeout'] <= 0) fail(`--disseminate-timeout must be positive, got ${formatDuration(flags['disseminate-timeout'])}`);
  if (flags['disseminate-coalesce-window'] < 0) fail('--disseminate-coalesce-window must not be negative');
  if (flags.replicationFactor < 1) fail(`--replicationFactor must be at least 1 (0 gives daprd an empty ring), got ${flags.replicationFactor}`);
  const lease = {
    leaseName: flags['leader-election-lease-name'],
    leaseDurationMs: flags['leader-election-lease-duration'],
    renewDeadlineMs: flags['leader-election-renew-deadline'],
    retryPeriodMs: flags['leader-election-retry-period'],
  };
  if (lease.retryPeriodMs <= 0 || lease.renewDeadlineMs <= lease.retryPeriodMs || lease.leaseDurationMs <= lease.renewDeadlineMs) {
    fail('leader election needs 0 < --leader-election-retry-period < --leader-election-renew-deadline < --leader-election-lease-duration');
  }
  const namespace = flags.namespace;
  let tls: PlacementOptions['tls'] = { enabled: false };
  if (flags['tls-enabled']) {
    if (Boolean(flags['tls-cert-file']) !== Boolean(flags['tls-key-file'])) {
      fail('--tls-cert-file and --tls-key-file go together (without both, placement gets its SVID from Sentry)');
    }
    tls = {
      enabled: true,
      trustDomain: flags['trust-domain'],
      trustAnchorsFile: flags['trust-anchors-file'],
      certFile: flags['tls-cert-file'],
      keyFile: flags['tls-key-file'],
      sentryAddress: flags['sentry-address'] || `dapr-sentry.${namespace}.svc:443`,
      sentryTokenFile: flags['sentry-token-file'],
    };
  }
  const ignoredFlags = IGNORED.filter((name) => argv.some((arg) => new RegExp(`^--?${name}(=|$)`).test(arg)));
  return {
    id: flags.id,
    mode: flags.mode as PlacementMode,
    namespace,
    listenAddress: flags['listen-address'],
    port: flags.port,
    healthz: { host: flags['healthz-listen-address'], port: flags['healthz-port'] },
    metrics: { enabled: flags['enable-metrics'], host: flags['metrics-listen-address'], port: flags['metrics-port'] },
    metadataEnabled: flags['metadata-enabled'],
    replicationFactor: flags.replicationFactor,
    keepaliveTimeMs: flags['keepalive-time'],
    keepaliveTimeoutMs: flags['keepalive-timeout'],
    disseminateTimeoutMs: flags['disseminate-timeout'],
    coalesceWindowMs: flags['disseminate-coalesce-window'],
    tls,
    kubeconfigPath: flags.kubeconfig === '' ? undefined : flags.kubeconfig,
    leaderElection: lease,
    logLevel,
    ignoredFlags,
  };
}
