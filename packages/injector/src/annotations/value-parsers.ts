/**
 * Value parsers with the semantics upstream's injector gives annotation
 * values (Go's `strconv.ParseInt`, dapr/kit's `IsTruthy`, Kubernetes'
 * `resource.ParseQuantity`).
 */

const TRUTHY = new Set(['y', 'yes', 'true', 't', 'on', '1']);
const FALSY = new Set(['n', 'no', 'false', 'f', 'off', '0', '']);

/** dapr/kit's IsTruthy: trimmed, case-insensitive. */
export function isTruthy(value: string): boolean {
  return TRUTHY.has(value.trim().toLowerCase());
}

/** True for values that read clearly as false; anything else that is not truthy is probably a typo. */
export function isFalsy(value: string): boolean {
  return FALSY.has(value.trim().toLowerCase());
}

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

/**
 * Go's `strconv.ParseInt(v, 10, 64)` limited to 32 bits (the injector keeps
 * ports, probe settings and sizes in int32 or int fields): an optional sign
 * and decimal digits, nothing else, not even spaces. Undefined when the value
 * is not such an integer.
 */
export function parseGoInt(value: string): number | undefined {
  if (!/^[+-]?\d{1,12}$/.test(value)) return undefined;
  const n = Number(value);
  return n < INT32_MIN || n > INT32_MAX ? undefined : n;
}

/**
 * A Kubernetes resource quantity (`500m`, `1`, `256Mi`, `1e3`, `.5Gi`) as
 * `resource.ParseQuantity` accepts it, returned as a number of base units,
 * or undefined when malformed.
 */
export function parseQuantity(value: string): number | undefined {
  const match = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/.exec(value);
  if (!match) return undefined;
  const sign = match[1] === '-' ? -1 : 1;
  const number = Number(match[2]);
  const suffix = match[3] ?? '';
  return sign * number * quantityMultiplier(suffix);
}

const BINARY_SUFFIX: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL_SUFFIX: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

function quantityMultiplier(suffix: string): number {
  const binary = BINARY_SUFFIX[suffix];
  if (binary !== undefined) return binary;
  const decimal = DECIMAL_SUFFIX[suffix];
  if (decimal !== undefined) return decimal;
  return 10 ** Number(suffix.slice(1));
}

/**
 * Go's `time.ParseDuration`: `300ms`, `1.5h`, `2h45m`; a bare `0` is allowed.
 * Returns false for anything daprd's flag parser would refuse.
 */
export function isGoDuration(value: string): boolean {
  if (value === '0' || value === '+0' || value === '-0') return true;
  return /^[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.test(value);
}

/**
 * Go's `strings.Trim(v, "\"'")` then `strings.TrimSpace`, which upstream
 * applies to the placement and scheduler address annotations.
 */
export function trimQuotesAndSpace(value: string): string {
  return value.replace(/^["']+|["']+$/g, '').trim();
}

/**
 * Edit distance with adjacent transpositions (optimal string alignment), so
 * `enbaled` is one edit from `enabled`. Bounded: returns `max + 1` as soon as
 * the distance must exceed `max`.
 */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, (before[j - 2] ?? 0) + 1);
      current.push(value);
      if (value < rowMin) rowMin = value;
    }
    if (rowMin > max) return max + 1;
    before = previous;
    previous = current;
  }
  const distance = previous[b.length] ?? max + 1;
  return distance > max ? max + 1 : distance;
}
