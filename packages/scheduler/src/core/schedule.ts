import { Cron } from 'croner';
import { parseGoDuration } from './point-in-time.js';
import { SchedulerError } from './scheduler-error.js';

/** A parsed `schedule` (docs/scheduler.md §2). */
export interface Schedule {
  /** The spec exactly as submitted. */
  readonly text: string;
  readonly kind: 'cron' | 'every';
  /** The first fire instant strictly after `afterMs` (ms since the epoch), or undefined when there is none. */
  next(afterMs: number): number | undefined;
}

const DESCRIPTORS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@midnight': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
};

const EVERY = '@every ';

interface FieldBounds {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: Readonly<Record<string, number>>;
}

const MONTH_NAMES = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DAY_NAMES = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

// Same bounds as dapr/kit:cron/spec.go: day-of-week 7 is not Sunday there.
const FIELDS: readonly FieldBounds[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES },
  { name: 'day of week', min: 0, max: 6, names: DAY_NAMES },
];

interface ParsedField {
  readonly values: ReadonlySet<number>;
  /** Written as `*` or `?` without a step above 1: decides how day of month and day of week combine. */
  readonly star: boolean;
}

function invalid(spec: string, reason: string): SchedulerError {
  return new SchedulerError('job_validation', `${reason} (schedule ${JSON.stringify(spec)})`);
}

function parseNumber(token: string, bounds: FieldBounds, spec: string): number {
  const named = bounds.names?.[token.toLowerCase()];
  if (named !== undefined) return named;
  if (!/^\d+$/.test(token)) throw invalid(spec, `failed to parse int from ${JSON.stringify(token)} in the ${bounds.name} field`);
  return Number(token);
}

/**
 * One field of the six: a comma list of `*`, `?`, `n`, `a-b`, each with an
 * optional `/step`; `n/step` means `n-max/step`. This is dapr/kit's grammar
 * (dapr/kit:cron/parser.go), checked here so croner's extensions (`L`, `W`,
 * `#`, years, day 7) are refused as upstream refuses them.
 */
function parseField(field: string, bounds: FieldBounds, spec: string): ParsedField {
  const values = new Set<number>();
  let star = false;
  const items = field.split(',').filter((item) => item !== '');
  if (items.length === 0) throw invalid(spec, `empty ${bounds.name} field`);
  for (const item of items) {
    const rangeAndStep = item.split('/');
    if (rangeAndStep.length > 2) throw invalid(spec, `too many slashes: ${item}`);
    const [range = '', stepText] = rangeAndStep;
    const lowHigh = range.split('-');
    if (lowHigh.length > 2) throw invalid(spec, `too many hyphens: ${item}`);
    let start: number;
    let end: number;
    let itemStar = false;
    if (range === '*' || range === '?') {
      start = bounds.min;
      end = bounds.max;
      itemStar = true;
    } else {
      start = parseNumber(lowHigh[0] ?? '', bounds, spec);
      end = lowHigh.length === 2 ? parseNumber(lowHigh[1] ?? '', bounds, spec) : start;
    }
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText)) throw invalid(spec, `failed to parse int from ${JSON.stringify(stepText)} in the ${bounds.name} field`);
      step = Number(stepText);
      if (lowHigh.length === 1 && !itemStar) end = bounds.max;
      if (step > 1) itemStar = false;
    }
    if (start < bounds.min) throw invalid(spec, `beginning of range (${start}) below minimum (${bounds.min}): ${item}`);
    if (end > bounds.max) throw invalid(spec, `end of range (${end}) above maximum (${bounds.max}): ${item}`);
    if (start > end) throw invalid(spec, `beginning of range (${start}) beyond end of range (${end}): ${item}`);
    if (step === 0) throw invalid(spec, `step of range should be a positive number: ${item}`);
    for (let v = start; v <= end; v += step) values.add(v);
    star ||= itemStar;
  }
  return { values, star };
}

/** Canonical IANA name for croner, or a validation error. No prefix and `Local` both mean UTC (docs/scheduler.md §2.3). */
function resolveZone(name: string, spec: string): string {
  if (name === '' || name === 'UTC' || name === 'Local') return 'UTC';
  // Intl alone would also take UTC offsets such as `+01:00`, which are not zone names.
  if (/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name)) {
    try {
      return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
    } catch {
      // fall through to the validation error
    }
  }
  throw invalid(spec, `provided bad location ${JSON.stringify(name)}: unknown time zone`);
}

function everySchedule(text: string, durationText: string): Schedule {
  const ms = parseGoDuration(durationText);
  if (ms === undefined) throw invalid(text, `failed to parse duration ${JSON.stringify(durationText)}`);
  if (ms < 0) throw invalid(text, `@every needs a duration of zero or more, got ${JSON.stringify(durationText)}`);
  // dapr/kit:cron/constantdelay.go keeps whole milliseconds and at least one,
  // so even `@every 0s` moves forward and a tick never repeats its instant.
  const delayMs = Math.max(1, Math.floor(ms));
  return { text, kind: 'every', next: (afterMs) => Math.floor(afterMs) + delayMs };
}

function cronSchedule(text: string, spec: string, zone: string): Schedule {
  const fields = spec.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== FIELDS.length) {
    throw invalid(text, `expected exactly ${FIELDS.length} fields, found ${fields.length}: [${fields.join(' ')}]`);
  }
  const parsed = fields.map((field, i) => parseField(field, FIELDS[i] ?? { name: 'field', min: 0, max: 0 }, text));
  // Explicit lists keep croner to plain matching; `*` survives only where it
  // decides the day rule: with either day field `*` both must match, else
  // either may (classic cron, as dapr/kit:cron/spec.go).
  const pattern = parsed.map((f) => (f.star ? '*' : [...f.values].sort((a, b) => a - b).join(','))).join(' ');
  let cron: Cron;
  try {
    cron = new Cron(pattern, { paused: true, timezone: zone, mode: '6-part', domAndDow: false });
  } catch (err) {
    throw invalid(text, `cannot evaluate schedule: ${err instanceof Error ? err.message : String(err)}`);
  }
  // croner searches up to year 9999, so no answer from 1970 means none ever.
  if (cron.nextRun(new Date(0)) === null) throw invalid(text, 'schedule never fires: no date matches its fields');
  return {
    text,
    kind: 'cron',
    next: (afterMs) => {
      const at = cron.nextRun(new Date(afterMs));
      return at === null ? undefined : at.getTime();
    },
  };
}

/**
 * Parses a job's `schedule`: six fields with seconds first, a descriptor
 * (`@daily`, ...), or `@every <Go duration>`, each cron form with an optional
 * `TZ=<zone> ` / `CRON_TZ=<zone> ` prefix (docs/scheduler.md §2).
 */
export function parseSchedule(text: string): Schedule {
  if (text === '') throw new SchedulerError('job_validation', 'empty spec string');
  let spec = text;
  let zone = 'UTC';
  let zoned = false;
  if (text.startsWith('TZ=') || text.startsWith('CRON_TZ=')) {
    const space = text.search(/\s/);
    const rest = space === -1 ? '' : text.slice(space).trim();
    if (rest === '') throw invalid(text, 'timezone prefix is not followed by a schedule');
    zone = resolveZone(text.slice(text.indexOf('=') + 1, space), text);
    zoned = true;
    spec = rest;
  }
  if (spec.startsWith('@')) {
    if (spec.startsWith(EVERY)) {
      // Upstream ignored the zone here until 1.18.3; a fixed interval has no use for one.
      if (zoned) throw invalid(text, 'a timezone prefix cannot be used with @every');
      return everySchedule(text, spec.slice(EVERY.length));
    }
    const expanded = DESCRIPTORS[spec];
    if (expanded === undefined) throw invalid(text, `unrecognized descriptor: ${spec}`);
    return cronSchedule(text, expanded, zone);
  }
  return cronSchedule(text, spec, zone);
}
