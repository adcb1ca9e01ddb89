import { isIP } from 'node:net';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { InvalidInputError, parseFlags, type FlagSpec, type FlagValues } from '@tsdapr/runtime';
import type { LevelWithSilent } from 'pino';

/** Flags keep upstream operator's names where upstream has them. */
export const OPERATOR_FLAGS = {
  'api-port': { type: 'int', default: 6500, help: 'port of the Operator gRPC API (mTLS)' },
  'api-listen-address': { type: 'string', default: '', help: 'address to bind the gRPC API to (empty: all interfaces)' },
  'webhook-port': { type: 'int', default: 19443, help: 'port of the HTTPS webhook server (/convert, /validate)' },
  'webhook-listen-address': { type: 'string', default: '', help: 'address to bind the webhook server to' },
  'healthz-port': { type: 'int', default: 8080, help: 'port of /healthz and /readyz' },
  'healthz-listen-address': { type: 'string', default: '', help: 'address to bind the health server to' },
  'enable-metrics': { type: 'bool', default: true, help: 'serve Prometheus metrics' },
  'metrics-port': { type: 'int', default: 9090, help: 'port of /metrics' },
  'metrics-listen-address': { type: 'string', default: '', help: 'address to bind the metrics server to' },
  'trust-domain': { type: 'string', default: 'cluster.local', help: 'control-plane trust domain (the operator is spiffe://<td>/ns/<namespace>/dapr-operator)' },
  'trust-anchors-file': { type: 'string', default: '/var/run/secrets/dapr.io/tls/ca.crt', help: 'trust anchors (PEM); watched' },
  'sentry-address': { type: 'string', default: '', env: 'DAPR_SENTRY_ADDRESS', help: 'Sentry to get the SVID from (default dapr-sentry.<namespace>.svc:443); unused with --tls-cert-file' },
  'sentry-token-file': { type: 'string', default: '/var/run/secrets/dapr.io/sentrytoken/token', help: 'projected service-account token presented to Sentry (empty: none, standalone)' },
  'tls-cert-file': { type: 'string', default: '', help: 'the operator SVID chain (PEM), leaf first; watched' },
  'tls-key-file': { type: 'string', default: '', help: 'the operator SVID private key (PEM); watched' },
  'watch-namespace': { type: 'string', default: '', help: 'watch only this namespace (empty: all)' },
  'disable-service-reconciler': { type: 'bool', default: false, help: 'do not create <app-id>-dapr Services' },
  'service-reconciler-workers': { type: 'int', default: 4, help: 'concurrent Service reconciles' },
  'enable-webhooks': { type: 'bool', default: true, env: 'ENABLE_WEBHOOKS', help: 'serve the conversion and validating webhooks' },
  'webhook-registration': {
    type: 'string',
    default: 'service',
    help: "how the API server reaches the webhooks: 'service' (Service --webhook-service-name in --namespace, port 443; caBundle: the trust anchors; the ValidatingWebhookConfiguration is the chart's), 'url' (--webhook-url; a local serving certificate; the operator creates the ValidatingWebhookConfiguration), or 'none' (register nothing)",
  },
  'webhook-service-name': { type: 'string', default: 'dapr-webhook', help: "the Service in front of the webhook port (--webhook-registration=service)" },
  'webhook-url': { type: 'string', default: '', help: 'base URL of the webhooks for --webhook-registration=url (default https://localhost:<webhook-port>); the host must be a DNS name' },
  'validating-webhook-configuration-name': { type: 'string', default: 'dapr-operator', help: "the ValidatingWebhookConfiguration for Components: with 'service' the chart's, whose caBundle the operator only patches (it never creates it); with 'url' created and kept current by the operator" },
  'webhook-registration-resync-period': { type: 'duration', default: '5m', help: 'how often the registration is checked and put back even without a change of the trust anchors' },
  'disable-component-status': { type: 'bool', default: false, help: 'do not write status.conditions and status.appsInScope on Components' },
  'component-status-resync-period': { type: 'duration', default: '10m', help: 'how often every Component status is checked again even without a change (a Secret created or deleted since); it writes only what changed' },
  'disable-leader-election': { type: 'bool', default: false, help: 'run the writers (Service reconciler, Component status, webhook registration) without holding the Lease operator.dapr.io; only safe with one replica' },
  'leader-election-lease-duration': { type: 'duration', default: '15s', help: 'how long a leader that stopped renewing keeps the Lease operator.dapr.io' },
  'leader-election-renew-deadline': { type: 'duration', default: '10s', help: 'the leader stops writing when it could not renew the Lease for this long' },
  'leader-election-retry-period': { type: 'duration', default: '2s', help: 'how often the leader renews the Lease and the others try to take it' },
  namespace: { type: 'string', default: 'default', env: 'NAMESPACE', help: "the operator's own namespace (the control-plane namespace)" },
  kubeconfig: { type: 'string', default: '', env: 'KUBECONFIG', help: 'kubeconfig path (empty: in-cluster)' },
  'log-level': { type: 'string', default: 'info', help: 'debug, info, warn, error or fatal' },
  'log-as-json': { type: 'bool', default: true, help: 'JSON log lines (always JSON; kept for upstream compatibility)' },
} as const satisfies Record<string, FlagSpec>;

export interface Listen {
  readonly host: string;
  readonly port: number;
}

/** How the API server is told to call the webhooks (`/convert`, `/validate`). */
export type WebhookRegistration =
  | { readonly mode: 'service'; readonly serviceName: string; readonly validatingConfigurationName: string; readonly resyncMs: number }
  | { readonly mode: 'url'; readonly baseUrl: string; readonly validatingConfigurationName: string; readonly resyncMs: number }
  | { readonly mode: 'none' };

export interface OperatorOptions {
  readonly api: Listen;
  readonly webhook: Listen & { readonly enabled: boolean; readonly registration: WebhookRegistration };
  readonly componentStatus: { readonly enabled: boolean; readonly resyncMs: number };
  readonly healthz: Listen;
  readonly metrics: Listen & { readonly enabled: boolean };
  readonly trustDomain: string;
  readonly namespace: string;
  /** Where the operator's SVID comes from: files (watched), or Sentry as upstream. */
  readonly identity:
    | { readonly source: 'files'; readonly certFile: string; readonly keyFile: string; readonly trustAnchorsFile: string }
    | { readonly source: 'sentry'; readonly sentryAddress: string; readonly tokenFile: string; readonly trustAnchorsFile: string };
  readonly watchNamespace: string | undefined;
  readonly serviceReconciler: { readonly enabled: boolean; readonly workers: number };
  /** Only the holder of the Lease `operator.dapr.io` in `namespace` runs what writes to the API server. */
  readonly leaderElection: LeaderElectionOptions;
  readonly kubeconfigPath: string | undefined;
  readonly logLevel: LevelWithSilent;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal', 'trace', 'silent'] as const;

/** Flags and environment to typed, validated options; the only reader of process.env. */
export function parseOperatorOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): OperatorOptions {
  const flags: FlagValues<typeof OPERATOR_FLAGS> = parseFlags(OPERATOR_FLAGS, argv, env);
  const logLevel = flags['log-level'] as (typeof LOG_LEVELS)[number];
  if (!LOG_LEVELS.includes(logLevel)) throw new InvalidInputError('invalid_flag', `--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${flags['log-level']}"`);
  for (const name of ['api-port', 'webhook-port', 'healthz-port', 'metrics-port'] as const) {
    if (flags[name] < 0 || flags[name] > 65535) throw new InvalidInputError('invalid_flag', `--${name} must be a port number, got ${flags[name]}`);
  }
  if (Boolean(flags['tls-cert-file']) !== Boolean(flags['tls-key-file'])) {
    throw new InvalidInputError('invalid_flag', '--tls-cert-file and --tls-key-file go together; without both, the operator gets its SVID (spiffe://<trust-domain>/ns/<namespace>/dapr-operator) from Sentry');
  }
  const registration = webhookRegistration(flags);
  if (flags['service-reconciler-workers'] < 1) throw new InvalidInputError('invalid_flag', '--service-reconciler-workers must be at least 1');
  if (flags['component-status-resync-period'] <= 0) throw new InvalidInputError('invalid_flag', '--component-status-resync-period must be positive');
  return {
    api: { host: flags['api-listen-address'], port: flags['api-port'] },
    webhook: { host: flags['webhook-listen-address'], port: flags['webhook-port'], enabled: flags['enable-webhooks'], registration },
    componentStatus: { enabled: !flags['disable-component-status'], resyncMs: flags['component-status-resync-period'] },
    healthz: { host: flags['healthz-listen-address'], port: flags['healthz-port'] },
    metrics: { host: flags['metrics-listen-address'], port: flags['metrics-port'], enabled: flags['enable-metrics'] },
    trustDomain: flags['trust-domain'],
    namespace: flags.namespace,
    identity: flags['tls-cert-file']
      ? { source: 'files', certFile: flags['tls-cert-file'], keyFile: flags['tls-key-file'], trustAnchorsFile: flags['trust-anchors-file'] }
      : { source: 'sentry', sentryAddress: flags['sentry-address'] || `dapr-sentry.${flags.namespace}.svc:443`, tokenFile: flags['sentry-token-file'], trustAnchorsFile: flags['trust-anchors-file'] },
    watchNamespace: flags['watch-namespace'] || undefined,
    serviceReconciler: { enabled: !flags['disable-service-reconciler'], workers: flags['service-reconciler-workers'] },
    leaderElection: leaderElectionOptions(flags),
    kubeconfigPath: flags.kubeconfig || undefined,
    logLevel,
  };
}

function webhookRegistration(flags: FlagValues<typeof OPERATOR_FLAGS>): WebhookRegistration {
  const validatingConfigurationName = flags['validating-webhook-configuration-name'];
  const resyncMs = flags['webhook-registration-resync-period'];
  if (resyncMs <= 0) throw new InvalidInputError('invalid_flag', '--webhook-registration-resync-period must be positive');
  const mode = flags['webhook-registration'];
  // Upstream: ENABLE_WEBHOOKS=false disables the webhooks and their registration.
  if (!flags['enable-webhooks'] || mode === 'none') return { mode: 'none' };
  if (mode === 'service') return { mode, serviceName: flags['webhook-service-name'], validatingConfigurationName, resyncMs };
  if (mode !== 'url') throw new InvalidInputError('invalid_flag', `--webhook-registration must be service, url or none, got "${mode}"`);
  const raw = flags['webhook-url'] || `https://localhost:${flags['webhook-port']}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidInputError('invalid_flag', `--webhook-url must be an https:// URL, got "${raw}"`);
  }
  if (url.protocol !== 'https:') throw new InvalidInputError('invalid_flag', `--webhook-url must be an https:// URL, got "${raw}"`);
  // The local serving certificate carries DNS names only.
  if (isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0) throw new InvalidInputError('invalid_flag', `--webhook-url must name a host such as localhost, not an IP address, got "${raw}"`);
  return { mode, baseUrl: `${url.protocol}//${url.host}${url.pathname.replace(/\/$/, '')}`, validatingConfigurationName, resyncMs };
}

/** Upstream's Lease name (controller-runtime's LeaderElectionID). */
export const OPERATOR_LEASE_NAME = 'operator.dapr.io';

export interface LeaderElectionOptions {
  readonly enabled: boolean;
  readonly leaseName: string;
  /** `holderIdentity`: the host name and a random suffix, as controller-runtime does. */
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

function leaderElectionOptions(flags: FlagValues<typeof OPERATOR_FLAGS>): LeaderElectionOptions {
  const timings = {
    leaseDurationMs: flags['leader-election-lease-duration'],
    renewDeadlineMs: flags['leader-election-renew-deadline'],
    retryPeriodMs: flags['leader-election-retry-period'],
  };
  if (timings.retryPeriodMs <= 0 || timings.renewDeadlineMs <= timings.retryPeriodMs || timings.leaseDurationMs <= timings.renewDeadlineMs) {
    throw new InvalidInputError('invalid_flag', 'leader election needs 0 < --leader-election-retry-period < --leader-election-renew-deadline < --leader-election-lease-duration');
  }
  return { enabled: !flags['disable-leader-election'], leaseName: OPERATOR_LEASE_NAME, identity: `${hostname()}_${randomUUID()}`, ...timings };
}
