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
  'jwt-enabled': { type: 'bool', default: false, help: 'issue a JWT SVID beside each X.509 SVID' },
  'jwt-key-filename': { type: 'string', default: 'jwt.key', help: 'JWT signing key: file name in --issuer-credentials (or an absolute path), key of the trust-bundle Secret' },
  'jwks-filename': { type: 'string', default: 'jwks.json', help: 'JWKS: file name in --issuer-credentials (or an absolute path), key of the trust-bundle Secret and ConfigMap' },
  'jwt-issuer': { type: 'string', default: '', help: 'the "iss" of issued JWTs (none when empty); needs --jwt-enabled' },
  'jwt-signing-algorithm': { type: 'string', default: 'RS256', help: 'JWS algorithm of issued JWTs; must fit the signing key: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA' },
  'jwt-key-id': { type: 'string', default: '', help: 'the "kid" of issued JWTs (default: base64 of the SHA-256 JWK thumbprint of the signing key)' },
  'jwt-ttl': { type: 'duration', default: '24h', help: 'lifetime of issued JWTs' },
  'oidc-enabled': { type: 'bool', default: false, help: 'serve OIDC discovery and the JWKS over HTTP (needs --jwt-enabled)' },
  'oidc-server-listen-address': { type: 'string', default: 'localhost', help: 'address of the OIDC HTTP server' },
  'oidc-server-listen-port': { type: 'int', default: 9080, help: 'port of the OIDC HTTP server' },
  'oidc-server-tls-enabled': { type: 'bool', default: true, help: 'serve OIDC over TLS (needs --oidc-server-tls-cert-file and --oidc-server-tls-key-file)' },
  'oidc-server-tls-cert-file': { type: 'string', default: '', help: 'TLS certificate (PEM) of the OIDC HTTP server' },
  'oidc-server-tls-key-file': { type: 'string', default: '', help: 'TLS private key (PEM) of the OIDC HTTP server' },
  'oidc-jwks-uri': { type: 'string', default: '', help: 'public URI of the JWKS in the discovery document (default: derived from the request)' },
  'oidc-path-prefix': { type: 'string', default: '', help: 'path prefix of the OIDC endpoints' },
  'oidc-allowed-hosts': { type: 'list', default: [], help: 'hosts (Host or X-Forwarded-Host) the OIDC endpoints answer; any when empty, "*" for any' },
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
  readonly jwt: JwtOptions;
  readonly oidc: OidcOptions;
}

export const JWT_SIGNING_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type JwtSigningAlgorithm = (typeof JWT_SIGNING_ALGORITHMS)[number];

export interface JwtOptions {
  readonly enabled: boolean;
  /** Secret key / file name (relative to the credentials directory) or an absolute path. */
  readonly keyFilename: string;
  readonly jwksFilename: string;
  readonly issuer: string | undefined;
  readonly algorithm: JwtSigningAlgorithm;
  readonly keyId: string | undefined;
  readonly ttlMs: number;
}

export interface OidcOptions {
  /** Only true when JWT issuing is enabled too (upstream runs no OIDC server without it). */
  readonly enabled: boolean;
  /** `--oidc-enabled` as given. */
  readonly requested: boolean;
  readonly listenAddress: string;
  readonly port: number;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  readonly jwksUri: string | undefined;
  readonly pathPrefix: string | undefined;
  readonly allowedHosts: readonly string[];
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
  for (const name of ['port', 'healthz-port', 'metrics-port', 'oidc-server-listen-port'] as const) {
    if (flags[name] < 0 || flags[name] > 65535) throw new InvalidInputError('invalid_flag', `--${name} must be a port number, got ${flags[name]}`);
  }
  const algorithm = flags['jwt-signing-algorithm'] as JwtSigningAlgorithm;
  if (!JWT_SIGNING_ALGORITHMS.includes(algorithm)) {
    throw new InvalidInputError('invalid_flag', `--jwt-signing-algorithm must be one of ${JWT_SIGNING_ALGORITHMS.join(', ')}, got "${flags['jwt-signing-algorithm']}"`);
  }
  // Upstream's checks (cmd/sentry/options/options.go Validate, cmd/sentry/app/app.go).
  if (flags['jwt-issuer'] !== '' && !flags['jwt-enabled']) throw new InvalidInputError('invalid_flag', 'jwt-issuer cannot be set when jwt-enabled is false');
  if (flags['jwt-ttl'] <= 0) throw new InvalidInputError('invalid_flag', `--jwt-ttl must be positive`);
  const certFile = flags['oidc-server-tls-cert-file'];
  const keyFile = flags['oidc-server-tls-key-file'];
  if ((certFile === '') !== (keyFile === '')) throw new InvalidInputError('invalid_flag', 'both OIDC TLS certificate and key must be provided if one is specified');
  const oidcTls = flags['oidc-server-tls-enabled'];
  if (flags['oidc-enabled'] && oidcTls && certFile === '') {
    throw new InvalidInputError('invalid_flag', 'oidc-server-tls-cert-file is required when OIDC HTTP server is enabled (unless oidc-server-tls-enabled is false)');
  }
  for (const [name, value] of [['oidc-jwks-uri', flags['oidc-jwks-uri']], ['jwt-issuer', flags['jwt-issuer']]] as const) {
    if (value !== '' && !URL.canParse(value)) throw new InvalidInputError('invalid_flag', `--${name} must be a URL, got "${value}"`);
  }
  return {
    jwt: {
      enabled: flags['jwt-enabled'],
      keyFilename: flags['jwt-key-filename'],
      jwksFilename: flags['jwks-filename'],
      issuer: flags['jwt-issuer'] === '' ? undefined : flags['jwt-issuer'],
      algorithm,
      keyId: flags['jwt-key-id'] === '' ? undefined : flags['jwt-key-id'],
      ttlMs: flags['jwt-ttl'],
    },
    oidc: {
      enabled: flags['oidc-enabled'] && flags['jwt-enabled'],
      requested: flags['oidc-enabled'],
      listenAddress: flags['oidc-server-listen-address'],
      port: flags['oidc-server-listen-port'],
      tls: oidcTls && certFile !== '' ? { certFile, keyFile } : undefined,
      jwksUri: flags['oidc-jwks-uri'] === '' ? undefined : flags['oidc-jwks-uri'],
      pathPrefix: flags['oidc-path-prefix'] === '' ? undefined : flags['oidc-path-prefix'],
      allowedHosts: flags['oidc-allowed-hosts'].map((host) => host.trim()).filter((host) => host !== ''),
    },
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
