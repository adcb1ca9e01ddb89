import { parseDuration } from '@tsdapr/runtime';
import { addIso8601Duration, parseIso8601Duration } from './iso8601-duration.js';
import { SchedulerError } from './scheduler-error.js';

export type PointInTimeField = 'due_time' | 'ttl';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, 0);
  return d.getUTCDate();
}

/** An RFC 3339 timestamp as ms since the epoch (sub-millisecond digits dropped), or undefined. */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  if (year === undefined || month === undefined || day === undefined || hour === undefined || minute === undefined || second === undefined) return undefined;
  const offsetHours = Number(m[9] ?? 0);
  const offsetMinutes = Number(m[10] ?? 0);
  // Go's time.Parse refuses out-of-range fields, leap seconds included.
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, Number((m[7] ?? '').padEnd(3, '0').slice(0, 3)));
  const offsetMs = (m[8] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  return date.getTime() - offsetMs;
}

/** A Go duration in ms, or undefined. Go refuses surrounding whitespace, which parseDuration would trim. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '' || text.trim() !== text) return undefined;
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

/**
 * Resolves a `due_time` or `ttl` to an instant, trying in order an RFC 3339
 * timestamp, a Go duration and an ISO-8601 duration, the relative forms
 * counted from `fromMs` (docs/scheduler.md §3, after
 * `diagridio/go-etcd-cron:internal/scheduler/builder.go`).
 */
export function parsePointInTime(text: string, fromMs: number, field: PointInTimeField): number {
  const label = field === 'due_time' ? 'due time' : 'ttl';
  const at = parseRfc3339(text);
  if (at !== undefined) return at;
  const goMs = parseGoDuration(text);
  // Instants are whole milliseconds; sub-millisecond durations round toward zero.
  if (goMs !== undefined) return fromMs + Math.trunc(goMs);
  const iso = parseIso8601Duration(text);
  if (iso === undefined) throw new SchedulerError('job_validation', `${label} format not recognized: ${JSON.stringify(text)}`);
  if (iso.repetitions !== undefined && iso.repetitions > 0) {
    throw new SchedulerError('job_validation', field === 'due_time' ? `repeats not supported for due time: ${JSON.stringify(text)}` : `ttl format not recognized: ${JSON.stringify(text)} (repeats not supported for ttl)`);
  }
  return addIso8601Duration(fromMs, iso);
}
