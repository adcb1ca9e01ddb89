import { InvalidInputError } from './errors.js';

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/**
 * Parses a Go duration string (`24h`, `1h30m`, `15m`, `500ms`), the format
 * Dapr's flags and Configuration fields use. Returns milliseconds.
 */
export function parseDuration(text: string): number {
  const input = text.trim();
  if (input === '0') return 0;
  let sign = 1;
  let pos = 0;
  if (input.startsWith('-') || input.startsWith('+')) {
    sign = input.startsWith('-') ? -1 : 1;
    pos = 1;
  }
  if (pos >= input.length) throw new InvalidInputError('invalid_duration', `invalid duration "${text}"`);
  let total = 0;
  while (pos < input.length) {
    PART.lastIndex = pos;
    const match = PART.exec(input);
    if (!match) {
      throw new InvalidInputError('invalid_duration', `invalid duration "${text}": expected a number and a unit (ns, us, ms, s, m, h)`);
    }
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? 0);
    pos = PART.lastIndex;
  }
  return sign * total;
}

/** Formats milliseconds as a Go duration string, e.g. 86400000 -> "24h0m0s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${rest}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = rest / 1000;
  if (h > 0) return `${sign}${h}h${m}m${s}s`;
  if (m > 0) return `${sign}${m}m${s}s`;
  return `${sign}${s}s`;
}
