import { ANNOTATIONS, KNOWN_KEYS, type AnnotationName, type AnnotationSpec, type SidecarAnnotations } from './annotation-table.js';
import { quote, warning, type Diagnostic } from './diagnostic.js';
import { editDistance, isFalsy, isTruthy, parseGoInt, trimQuotesAndSpace } from './value-parsers.js';

export interface ParsedAnnotations {
  readonly values: SidecarAnnotations;
  /** The table entries whose annotation is present on the pod (even if its value was unusable). */
  readonly present: ReadonlySet<AnnotationName>;
  /** The entries whose value could not be parsed (their default stands). */
  readonly invalid: ReadonlySet<AnnotationName>;
  /** Per-value problems: unparsable values (the default is used, as upstream does) and unknown keys. */
  readonly diagnostics: readonly Diagnostic[];
}

const ADDRESS_KEYS: ReadonlySet<string> = new Set([ANNOTATIONS.placementHostAddress.key, ANNOTATIONS.schedulerHostAddress.key]);

/**
 * Reads a pod's annotations against the table, as upstream's
 * `SidecarConfig.setFromAnnotations` does: absent keys keep their default, a
 * present key (even with an empty value) sets the field, a malformed integer
 * is ignored. Unlike upstream, every value it could not use comes back as a
 * warning the client sees, and so does a `dapr.io/...` key it does not know.
 */
export function parseAnnotations(annotations: Readonly<Record<string, string>> | undefined): ParsedAnnotations {
  const source = annotations ?? {};
  const values: Record<string, unknown> = { ...DEFAULTS };
  const present = new Set<AnnotationName>();
  const invalid = new Set<AnnotationName>();
  const diagnostics: Diagnostic[] = [];

  // A pod has a handful of annotations; walk those, not the whole table.
  for (const key of Object.keys(source)) {
    const entry = BY_KEY.get(key);
    if (!entry) continue;
    const [name, spec] = entry;
    present.add(name);
    let raw = source[key] ?? '';
    if (ADDRESS_KEYS.has(key)) raw = trimQuotesAndSpace(raw);
    const parsed = parseValue(spec, raw, diagnostics);
    if (parsed !== undefined) values[name] = parsed;
    else if (spec.kind === 'int' || spec.kind === 'optional-int') invalid.add(name);
  }

  diagnostics.push(...unknownKeys(source));
  return { values: values as SidecarAnnotations, present, invalid, diagnostics };
}

const ENTRIES = Object.entries(ANNOTATIONS) as [AnnotationName, AnnotationSpec][];
const BY_KEY: ReadonlyMap<string, [AnnotationName, AnnotationSpec]> = new Map(ENTRIES.map((entry) => [entry[1].key, entry]));
const DEFAULTS: Readonly<Record<string, unknown>> = Object.fromEntries(ENTRIES.map(([name, spec]) => [name, defaultOf(spec)]));

function defaultOf(spec: AnnotationSpec): unknown {
  switch (spec.kind) {
    case 'bool':
    case 'int':
    case 'string':
      return spec.default;
    case 'optional-bool':
    case 'optional-int':
    case 'optional-string':
      return undefined;
  }
}

function parseValue(spec: AnnotationSpec, raw: string, diagnostics: Diagnostic[]): unknown {
  switch (spec.kind) {
    case 'string':
    case 'optional-string':
      return raw;
    case 'bool':
    case 'optional-bool': {
      const value = isTruthy(raw);
      if (!value && !isFalsy(raw)) {
        diagnostics.push(
          warning('invalid_bool', spec.key, `${spec.key}: ${quote(raw)} is not a boolean and is read as false; use "true" or "false"`),
        );
      }
      return value;
    }
    case 'int':
    case 'optional-int': {
      const value = parseGoInt(raw);
      if (value === undefined) {
        const fallback =
          spec.kind === 'int' && spec.versioned ? 'the default of the sidecar\'s daprd version is used' : spec.kind === 'int' && spec.default !== 0 ? `the default ${spec.default} is used` : 'the annotation is ignored';
        diagnostics.push(warning('invalid_int', spec.key, `${spec.key}: ${quote(raw)} is not an integer, so ${fallback}; write a plain number such as "8080"`));
      }
      return value;
    }
  }
}

/** Keys that look like Dapr's but are not: `dapr.io/enable`, `dapr.io/app_id`, `Dapr.io/app-port`, `dapr/app-id`. */
function unknownKeys(source: Readonly<Record<string, string>>): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const key of Object.keys(source)) {
    if (KNOWN_KEYS.has(key) || key.length > 300) continue;
    const daprLike = /^dapr[._-]?io\//i.test(key) || /^dapr\//i.test(key);
    const suggestion = suggestKey(key);
    if (suggestion) {
      out.push(warning('unknown_annotation', key, `${key} is not a Dapr annotation and is ignored: did you mean ${suggestion}?`));
    } else if (daprLike) {
      out.push(warning('unknown_annotation', key, `${key} is not a Dapr annotation the sidecar injector knows and is ignored`));
    }
  }
  return out;
}

/** The known key closest to `key`, if it is close enough to be a typo of it. */
export function suggestKey(key: string): string | undefined {
  const normalized = key.toLowerCase().replace(/_/g, '-').replace(/^dapr[._-]?io[/.]|^dapr\//, 'dapr.io/');
  if (KNOWN_KEYS.has(normalized) && normalized !== key) return normalized;
  const slash = normalized.indexOf('/');
  const name = slash >= 0 ? normalized.slice(slash + 1) : normalized;
  // Without a Dapr-looking prefix only near-identical names count, so a
  // foreign `example.com/config` is never taken for `dapr.io/config`.
  const daprPrefix = normalized.startsWith('dapr.io/');
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const known of KNOWN_KEYS) {
    const knownName = known.slice('dapr.io/'.length);
    const limit = daprPrefix ? Math.max(1, Math.min(3, Math.floor(knownName.length / 4))) : 0;
    if (!daprPrefix && slash >= 0) continue;
    const distance = editDistance(name, knownName, limit);
    if (distance <= limit && distance < bestDistance) {
      best = known;
      bestDistance = distance;
    }
  }
  return best;
}
