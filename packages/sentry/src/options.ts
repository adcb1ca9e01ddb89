import { InvalidInputError, parseFlags, type FlagSpec, type FlagValues } from '@tsdapr/runtime';
import type { LevelWithSilent } from 'pino';

/** Flags keep upstream sentry's names where upstream has them. */
export const SENTRY_FLAGS = {
  mode: { type: 'string', default: 'standalone', help: 'kubernetes or standalone' },
  config: { type: 'string', default: 'daprsystem', help: 'Configuration name (kubernetes) or file path (standalone)' },
  'trust-domain': { type: 'string', default: 'localhost', help: 'control-plane trust domain of the CA' },
  port: { type: 'int', default: 50001, help: 'gRPC port of the CA service' },
  'listen-address': { type: 'string', default: '', help: 'address to bind the gRPC server to (empty: all interfaces)' },
  'healthz-port': { type: 'int', default: 8080, help: 'port of /healthz and /readyz' },
  'healthz-listen-address': { type: 'string', default: '', help: 'address to bind the health server to' },
  'enable-metrics': { type: 'bool', default: true, help: 'serve Prometheus metrics' },
  'metrics-port': { type: 'int', default: 9090, help: 'port of /metrics' },
  'metrics-listen-address': { type: 'string', default: '', help: 'address to bind the metrics server to' },
  'issuer-credentials': { type: 'string', default: '/var/run/secrets/dapr.io/credentials', help: 'standalone: directory holding the trust bundle files' },
  'issuer-ca-filename': { type: 'string', default: 'ca.crt', help: 'key/file name of the trust anchors' },
  'issuer-certificate-filename': { type: 'string', default: 'issuer.crt', help: 'key/file name of the issuer chain' },
  'issuer-key-filename': { type: 'string', default: 'issuer.key', help: 'key/file name of the issuer private key' },
  'trust-bundle-name': { type: 'string', default: 'dapr-trust-bundle', help: 'kubernetes: name of the Secret and ConfigMap holding the bundle' },
  'root-key-algorithm': { type: 'string', default: 'ecdsa-p256', help: 'key algorithm of a generated root and issuer: ecdsa-p256 (as upstream 1.17) or ed25519 (as 1.18)' },
  namespace: { type: 'string', default: 'default', env: 'NAMESPACE', help: "sentry's own namespace (the control-plane namespace)" },
  kubeconfig: { type: 'string', default: '', env: 'KUBECONFIG', help: 'kubernetes: kubeconfig path (empty: in-cluster)' },
  'enable-insecure-validator': { type: 'bool', default: true, help: 'standalone: accept UNKNOWN/INSECURE requests when no token validator is configured' },
  'expiry-warning-window': { type: 'duration', default: '1440h', help: 'warn when the issuer or an anchor expires within this window' },
  'log-level': { type: 'string', default: 'info', help: 'debug, info, warn, error or fatal' },
  'log-as-json': { type: 'bool', default: true, help: 'JSON log lines (always JSON; kept for upstream compatibility)' },
} as const satisfies Record<string, FlagSpec>;

export type SentryMode = 'kubernetes' | 'standalone';

export interface SentryOptions {
  readonly mode: SentryMode;
  readonly configName: string;
  readonly trustDomain: string;
  readonly namespace: string;
  readonly listenAddress: string;
  readonly port: number;
  readonly healthz: { readonly host: string; readonly port: number };
  readonly metrics: { readonly enabled: boolean; readonly host: string; readonly port: number };
  readonly credentialsDir: string;
  readonly bundleKeys: { readonly trustAnchors: string; readonly issuerCert: string; readonly issuerKey: string };
  readonly trustBundleName: string;
  readonly rootKeyAlgorithm: 'ecdsa-p256' | 'ed25519';
  readonly kubeconfigPath: string | undefined;
  readonly insecureValidatorEnabled: boolean;
  readonly expiryWarningWindowMs: number;
  readonly logLevel: LevelWithSilent;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal', 'trace', 'silent'] as const;

/** Flags and environment to typed, validated options; the only reader of process.env. */
export function parseSentryOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): SentryOptions {
  const flags: FlagValues<typeof SENTRY_FLAGS> = parseFlags(SENTRY_FLAGS, argv, env);
  if (flags.mode !== 'kubernetes' && flags.mode !== 'standalone') {
    throw new InvalidInputError('invalid_flag', `--mode must be "kubernetes" or "standalone", got "${flags.mode}"`);
  }
  if (flags['root-key-algorithm'] !== 'ecdsa-p256' && flags['root-key-algorithm'] !== 'ed25519') {
    throw new InvalidInputError('invalid_flag', `--root-key-algorithm must be "ecdsa-p256" or "ed25519", got "${flags['root-key-algorithm']}"`);
  }
  const logLevel = flags['log-level'] as (typeof LOG_LEVELS)[number];
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new InvalidInputError('invalid_flag', `--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${flags['log-level']}"`);
  }
  for (const name of ['port', 'healthz-port', 'metrics-port'] as const) {
    if (flags[name] < 0 || flags[name] > 65535) throw new InvalidInputError('invalid_flag', `--${name} must be a port number, got ${flags[name]}`);
  }
  return {
    mode: flags.mode,
    configName: flags.config,
    trustDomain: flags['trust-domain'],
    namespace: flags.namespace,
    listenAddress: flags['listen-address'],
    port: flags.port,
    healthz: { host: flags['healthz-listen-address'], port: flags['healthz-port'] },
    metrics: { enabled: flags['enable-metrics'], host: flags['metrics-listen-address'], port: flags['metrics-port'] },
    credentialsDir: flags['issuer-credentials'],
    bundleKeys: {
      trustAnchors: flags['issuer-ca-filename'],
      issuerCert: flags['issuer-certificate-filename'],
      issuerKey: flags['issuer-key-filename'],
    },
    trustBundleName: flags['trust-bundle-name'],
    rootKeyAlgorithm: flags['root-key-algorithm'],
    kubeconfigPath: flags.kubeconfig === '' ? undefined : flags.kubeconfig,
    insecureValidatorEnabled: flags['enable-insecure-validator'],
    expiryWarningWindowMs: flags['expiry-warning-window'],
    logLevel,
  };
}
