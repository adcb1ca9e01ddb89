import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError, parseFlags, type FlagSpec } from '@tsdapr/runtime';

export const STATUS_FLAGS = {
  kubeconfig: { type: 'string', default: '', env: 'KUBECONFIG', help: 'kubeconfig path(s) (default: $KUBECONFIG, else ~/.kube/config)' },
  output: { type: 'string', default: 'table', help: 'table or json (also -o json)' },
  'control-plane-namespace': { type: 'string', default: 'dapr-system', help: 'namespace the chart was installed in (also -n)' },
  'expiry-warning-window': { type: 'duration', default: '1440h', help: 'warn about certificates expiring within this (default 60 days)' },
  'request-timeout': { type: 'duration', default: '10s', help: 'timeout of each API request' },
} as const satisfies Record<string, FlagSpec>;

export type OutputFormat = 'table' | 'json';

export interface StatusOptions {
  readonly kubeconfigPath: string;
  readonly output: OutputFormat;
  readonly controlPlaneNamespace: string;
  readonly expiryWarningWindowMs: number;
  readonly requestTimeoutMs: number;
}

const SHORT: Record<string, string> = { '-o': '--output', '-n': '--control-plane-namespace' };

/**
 * `tsdapr status [flags]`, `tsdapr-status [flags]` or `kubectl tsdapr status [flags]`:
 * a leading `status` word is accepted, and kubectl's short `-o` and `-n`.
 */
export function parseStatusOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): StatusOptions {
  const args = argv[0] === 'status' ? argv.slice(1) : [...argv];
  const expanded = args.map((arg) => {
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const long = SHORT[name];
    return long ? `${long}${eq < 0 ? '' : arg.slice(eq)}` : arg;
  });
  const flags = parseFlags(STATUS_FLAGS, expanded, env);
  if (flags.output !== 'table' && flags.output !== 'json') throw new InvalidInputError('invalid_flag', `--output must be table or json, got "${flags.output}"`);
  if (flags['control-plane-namespace'] === '') throw new InvalidInputError('invalid_flag', '--control-plane-namespace must not be empty');
  const home = env.HOME ?? homedir();
  return {
    kubeconfigPath: flags.kubeconfig || join(home, '.kube', 'config'),
    output: flags.output,
    controlPlaneNamespace: flags['control-plane-namespace'],
    expiryWarningWindowMs: flags['expiry-warning-window'],
    requestTimeoutMs: flags['request-timeout'],
  };
}
