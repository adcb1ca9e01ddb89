/**
 * An ISO-8601 duration, optionally with a repetition count (`R5/PT10S`).
 * Calendar parts stay separate from the time part because they are added
 * calendar-wise (docs/scheduler.md §3).
 */
export interface Iso8601Duration {
  readonly years: number;
  readonly months: number;
  /** Days, weeks included (a week is 7 days). */
  readonly days: number;
  /** Hours, minutes and seconds, in milliseconds. */
  readonly timeMs: number;
  /** The `R<n>/` count, or undefined without one. */
  readonly repetitions?: number;
}

// Integer parts only, as dapr/kit:time/time.go reads them; at least one part is required.
const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;
const REPETITION = /^R(\d+)\/(.*)$/s;

/**
 * Parses `P[nY][nM][nW][nD][T[nH][nM][nS]]`, optionally preceded by `R<n>/`.
 * Returns undefined when the text is not such a duration.
 */
export function parseIso8601Duration(text: string): Iso8601Duration | undefined {
  let rest = text;
  let repetitions: number | undefined;
  const rep = REPETITION.exec(text);
  if (rep) {
    repetitions = Number(rep[1]);
    rest = rep[2] ?? '';
  }
  const match = DURATION.exec(rest);
  // `P` and `PT` alone, and a `T` with no time part, name no duration.
  if (!match || rest === 'P' || rest.endsWith('T')) return undefined;
  const part = (i: number): number => Number(match[i] ?? 0);
  const duration = {
    years: part(1),
    months: part(2),
    days: part(3) * 7 + part(4),
    timeMs: part(5) * 3_600_000 + part(6) * 60_000 + part(7) * 1000,
  };
  if (![duration.years, duration.months, duration.days, duration.timeMs].every(Number.isSafeInteger)) return undefined;
  return repetitions === undefined ? duration : { ...duration, repetitions };
}

/** Adds a duration to an instant: calendar parts in UTC (overflowing days roll into the next month), then the time part. */
export function addIso8601Duration(fromMs: number, duration: Iso8601Duration): number {
  const from = new Date(fromMs);
  const shifted = new Date(fromMs);
  // setUTCFullYear avoids Date.UTC's mapping of years 0-99 to 1900-1999.
  shifted.setUTCFullYear(from.getUTCFullYear() + duration.years, from.getUTCMonth() + duration.months, from.getUTCDate() + duration.days);
  return shifted.getTime() + duration.timeMs;
}
