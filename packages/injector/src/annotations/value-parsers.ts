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

/** Kubernetes' suffixes (`k8s.io/apimachinery:pkg/api/resource/suffix.go`): decimal SI and binary SI. */
const DECIMAL_SUFFIX: Record<string, number> = { '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const KNOWN_SUFFIXES = 'n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent such as e3';
/**
 * The shape `resource.ParseQuantity` scans (its own message quotes this
 * expression): a sign, digits with at most one point, then suffix letters
 * and an optionally signed exponent. Every part may be empty.
 */
const QUANTITY_SHAPE = /^([+-]?)(\d*)(?:\.(\d*))?([eEinumkKMGTP]*[+-]?\d*)$/;
const INT64_MAX = 2n ** 63n - 1n;

export type QuantityParse = { readonly amount: number; readonly digits: boolean } | { readonly problem: string };

/**
 * A Kubernetes resource quantity as `resource.ParseQuantity`
 * (`k8s.io/apimachinery:pkg/api/resource/quantity.go@v0.34.4`) reads it:
 * `500m`, `1`, `250u`, `1n`, `256Mi`, `1.5Gi`, `1e3`, `12E6`, `1E+3`, `.5`, `5.`.
 * The amount is in base units (cores, bytes); `digits` is false for the
 * forms Go accepts as 0 though they hold no digit (`-`, `.`, `Mi`). A
 * malformed one gets a problem saying what is wrong.
 */
export function analyseQuantity(value: string): QuantityParse {
  if (value === '') return { problem: 'it is empty' };
  const match = QUANTITY_SHAPE.exec(value);
  if (!match) {
    const letters = /^[+-]?[\d.]*([A-Za-z]+)$/.exec(value)?.[1];
    const hint = letters && /^[kKMGTPE]i?B$/.test(letters) ? `; for bytes write "${letters[0] === 'K' ? 'k' : letters[0]}" (powers of 1000) or "${letters[0]?.toUpperCase()}i" (powers of 1024), without B` : '';
    return { problem: `it is not a number followed by a suffix (${KNOWN_SUFFIXES}), with no spaces${hint}` };
  }
  const [, sign = '', whole = '', fraction = '', suffix = ''] = match;
  const digits = whole !== '' || fraction !== '';
  const mantissa = `${whole || '0'}.${fraction || '0'}`;
  const signed = sign === '-' ? -1 : 1;
  const multiplier = DECIMAL_SUFFIX[suffix] ?? BINARY_SUFFIX[suffix];
  if (multiplier !== undefined) return { amount: signed * Number(mantissa) * multiplier, digits };
  const exponent = /^[eE]([+-]?\d+)$/.exec(suffix)?.[1];
  // Go parses the exponent with strconv.ParseInt(_, 10, 64).
  if (exponent !== undefined && BigInt(exponent) <= INT64_MAX && BigInt(exponent) >= -INT64_MAX - 1n) {
    return { amount: signed * Number(`${mantissa}e${BigInt(exponent)}`), digits };
  }
  const near = suffix === 'K' ? ' ("k" is 1000, "Ki" 1024)' : /^[kmgtpe]i$/.test(suffix) ? ` (binary suffixes start with a capital: "${suffix[0]?.toUpperCase()}i")` : '';
  return { problem: `its suffix "${suffix}" is not one Kubernetes knows${near}; use ${KNOWN_SUFFIXES}` };
}

/** `analyseQuantity`'s amount, or undefined when Kubernetes would refuse the quantity. */
export function parseQuantity(value: string): number | undefined {
  const parsed = analyseQuantity(value);
  return 'amount' in parsed ? parsed.amount : undefined;
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
