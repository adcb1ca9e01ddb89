import { InvalidInputError } from './errors.js';
import { parseDuration } from './duration.js';

/**
 * Go-style command-line flags, as upstream's binaries take them: `-name v`,
 * `--name v`, `--name=v`, booleans as `--name` or `--name=false`. Flags keep
 * upstream's names so a chart or script written for upstream carries over.
 */
export type FlagSpec =
  | { readonly type: 'string'; readonly default: string; readonly env?: string; readonly help: string }
  | { readonly type: 'int'; readonly default: number; readonly env?: string; readonly help: string }
  | { readonly type: 'bool'; readonly default: boolean; readonly env?: string; readonly help: string }
  | { readonly type: 'duration'; readonly default: string; readonly env?: string; readonly help: string }
  | { readonly type: 'list'; readonly default: readonly string[]; readonly env?: string; readonly help: string };

type FlagValue<S extends FlagSpec> = S['type'] extends 'string'
  ? string
  : S['type'] extends 'int'
    ? number
    : S['type'] extends 'bool'
      ? boolean
      : S['type'] extends 'duration'
        ? number
        : readonly string[];

export type FlagValues<T extends Record<string, FlagSpec>> = { -readonly [K in keyof T]: FlagValue<T[K]> };

export class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super('help requested');
  }
}

/**
 * Parses argv against the spec. Environment variables named in the spec fill
 * flags that were not given. Durations come back in milliseconds.
 */
export function parseFlags<T extends Record<string, FlagSpec>>(
  spec: T,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): FlagValues<T> {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h' || arg === '-help') throw new HelpRequested(usage(spec));
    if (!arg.startsWith('-')) throw new InvalidInputError('invalid_flag', `unexpected argument "${arg}"`);
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const flag = spec[name];
    if (!flag) throw new InvalidInputError('invalid_flag', `unknown flag "--${name}" (see --help)`);
    if (eq >= 0) given.set(name, body.slice(eq + 1));
    else if (flag.type === 'bool') given.set(name, 'true');
    else {
      const value = argv[++i];
      if (value === undefined) throw new InvalidInputError('invalid_flag', `flag "--${name}" needs a value`);
      given.set(name, value);
    }
  }

  const out: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(spec)) {
    const raw = given.get(name) ?? (flag.env ? env[flag.env] : undefined);
    out[name] = raw === undefined ? defaultOf(flag) : convert(name, flag, raw);
  }
  return out as FlagValues<T>;
}

function defaultOf(flag: FlagSpec): unknown {
  return flag.type === 'duration' ? parseDuration(flag.default) : flag.default;
}

function convert(name: string, flag: FlagSpec, raw: string): unknown {
  switch (flag.type) {
    case 'string':
      return raw;
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new InvalidInputError('invalid_flag', `flag "--${name}": "${raw}" is not an integer`);
      return Number(raw);
    }
    case 'bool': {
      const value = raw.trim().toLowerCase();
      if (['true', '1', 't'].includes(value)) return true;
      if (['false', '0', 'f'].includes(value)) return false;
      throw new InvalidInputError('invalid_flag', `flag "--${name}": "${raw}" is not a boolean`);
    }
    case 'duration':
      try {
        return parseDuration(raw);
      } catch (err) {
        throw new InvalidInputError('invalid_flag', `flag "--${name}": ${(err as Error).message}`, { cause: err });
      }
    case 'list':
      return raw
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part.length > 0);
  }
}

export function usage(spec: Record<string, FlagSpec>): string {
  return Object.entries(spec)
    .map(([name, flag]) => {
      const def = Array.isArray(flag.default) ? flag.default.join(',') : String(flag.default);
      const env = flag.env ? ` [env ${flag.env}]` : '';
      return `  --${name} (${flag.type}, default "${def}")${env}\n      ${flag.help}`;
    })
    .join('\n');
}
