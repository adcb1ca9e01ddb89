/**
 * What the validating webhook and the Component status say about a
 * Component beyond the CRD schema. The rule (issue #19): deny only what
 * upstream's admission refuses or what daprd cannot load at all; everything
 * else is a warning (AdmissionReview `warnings`, the `Valid` condition).
 * Nothing here denies today: every check below is something daprd 1.17
 * still loads or, for the type category, something upstream admits.
 *
 * What may be said to whom (issue #14, ADR 0004 amendment): the admission
 * answer goes to whoever may submit a Component, so it says only what follows
 * from the submitted object itself (`validateComponent` without facts).
 * Checks against the cluster (does a referenced Secret exist, does a workload
 * use a scoped app id) go only into the Component's status, in the
 * Component's own namespace, which only readers of that Component see.
 */
export interface ValidationFacts {
  /** App ids that Dapr-enabled workloads in the namespace use. */
  readonly appIds: ReadonlySet<string>;
  /** Secrets that exist in the namespace. */
  readonly secretExists: (name: string) => boolean;
}

export interface ValidationResult {
  readonly denied?: string;
  readonly warnings: string[];
}

interface Entry {
  readonly name?: string;
  readonly value?: unknown;
  readonly secretKeyRef?: { readonly name?: string };
  readonly envRef?: string;
}

export interface ValidatedComponent {
  readonly spec?: { readonly type?: string; readonly initTimeout?: string; readonly ignoreErrors?: boolean; readonly metadata?: readonly Entry[] };
  readonly scopes?: readonly string[];
  readonly auth?: { readonly secretStore?: string };
}

/**
 * The type categories daprd 1.17 has a manager for
 * (`dapr/dapr:pkg/components/category.go@v1.17.5`); daprd matches `<category>.` as a prefix.
 */
export const DAPRD_CATEGORIES = ['bindings', 'configuration', 'conversation', 'crypto', 'lock', 'middleware', 'nameresolution', 'pubsub', 'secretstores', 'state', 'workflow', 'workflowbackend'] as const;

/**
 * Metadata a component type cannot start without, for the common types: a
 * name-only entry for one of these is worth a warning (daprd passes `""`).
 */
const REQUIRED_METADATA: ReadonlyArray<readonly [RegExp, readonly string[]]> = [
  [/^(state|pubsub|bindings|lock|configuration)\.redis$/, ['redisHost']],
  [/^(pubsub|bindings)\.kafka$/, ['brokers']],
  [/^(state|configuration|bindings)\.postgres(ql)?$/, ['connectionString']],
  [/^state\.mongodb$/, ['host']],
  [/^(bindings|pubsub)\.mqtt3?$/, ['url']],
  [/^pubsub\.rabbitmq$/, ['connectionString']],
  [/^bindings\.cron$/, ['schedule']],
  [/^secretstores\.local\.file$/, ['secretsFile']],
  [/^bindings\.http$/, ['url']],
  [/^state\.azure\.cosmosdb$/, ['url', 'database', 'collection']],
];

/** Go's `time.ParseDuration` syntax, as daprd parses `spec.initTimeout`. */
const GO_DURATION = /^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))+)$/u;

/**
 * Checks the component; with `facts`, also against the cluster (scopes no
 * workload uses, Secrets that do not exist). Without them: only what the
 * object itself shows, the admission answer.
 */
export function validateComponent(component: ValidatedComponent, facts?: ValidationFacts): ValidationResult {
  const warnings: string[] = [];
  const spec = component.spec ?? {};
  const type = spec.type ?? '';
  const entries = spec.metadata ?? [];

  if (type !== '' && !DAPRD_CATEGORIES.some((c) => type.startsWith(`${c}.`))) {
    warnings.push(
      `spec.type "${type}" has no category daprd 1.17 knows (${DAPRD_CATEGORIES.map((c) => `${c}.`).join(', ')}): daprd fails to load it ("incorrect type ${type}")` +
        (spec.ignoreErrors ? ' and, as spec.ignoreErrors is true, goes on without it' : ' and exits, as spec.ignoreErrors is not true'),
    );
  }
  if (spec.initTimeout !== undefined && !GO_DURATION.test(spec.initTimeout)) {
    warnings.push(`spec.initTimeout "${spec.initTimeout}" is not a Go duration such as "30s": daprd ignores it and waits the default 5s`);
  }

  const last = new Map<string, number>();
  for (const [index, entry] of entries.entries()) last.set(entry.name ?? '', index);
  const reported = new Set<string>();
  for (const [index, entry] of entries.entries()) {
    const name = entry.name ?? '';
    const lastIndex = last.get(name)!;
    if (lastIndex !== index && !reported.has(name)) {
      reported.add(name);
      const all = entries.flatMap((e, i) => (e.name === entry.name ? [`spec.metadata[${i}]`] : []));
      warnings.push(`spec.metadata: "${name}" is set ${all.length} times (${all.join(', ')}); daprd uses the last, spec.metadata[${lastIndex}], and ignores the others`);
    }
    const hasValue = entry.value !== undefined && entry.value !== null;
    const hasSecret = !!entry.secretKeyRef?.name;
    const hasEnv = !!entry.envRef;
    if (hasValue && hasEnv) {
      warnings.push(`spec.metadata[${index}] ("${name}") sets both value and envRef: daprd uses the value and ignores envRef "${entry.envRef}"`);
    } else if (hasSecret && hasEnv) {
      warnings.push(`spec.metadata[${index}] ("${name}") sets both secretKeyRef and envRef: daprd reads environment variable "${entry.envRef}" and ignores the secretKeyRef`);
    }
    if (hasValue && hasSecret) {
      warnings.push(`spec.metadata[${index}] ("${name}") sets both value and secretKeyRef: daprd replaces the value with the secret's`);
    }
    if (!hasValue && !hasSecret && !hasEnv && lastIndex === index && requiredMetadata(type).includes(name)) {
      warnings.push(`spec.metadata[${index}] ("${name}") has no value, secretKeyRef or envRef: daprd passes an empty "${name}", which ${type} needs`);
    }
  }

  if (!facts) return { warnings };
  for (const scope of component.scopes ?? []) {
    if (!facts.appIds.has(scope)) warnings.push(`scopes: no Dapr-enabled workload in this namespace has app id "${scope}" (check the spelling against dapr.io/app-id)`);
  }
  const store = component.auth?.secretStore ?? '';
  if (store === '' || store === 'kubernetes') {
    for (const [index, entry] of entries.entries()) {
      const secret = entry.secretKeyRef?.name;
      if (secret && !facts.secretExists(secret)) {
        warnings.push(`spec.metadata[${index}].secretKeyRef: Secret "${secret}" does not exist in this namespace; sidecars will not load this component until it does`);
      }
    }
  }
  return { warnings };
}

function requiredMetadata(type: string): readonly string[] {
  return REQUIRED_METADATA.find(([pattern]) => pattern.test(type))?.[1] ?? [];
}

export interface ClusterFacts {
  /** Whether a Secret exists (undefined when not); may throw when the API cannot be asked. */
  readonly secretExists: (namespace: string, name: string) => Promise<boolean>;
  readonly appIds: (namespace: string) => ReadonlySet<string>;
}

/**
 * `validateComponent` with its facts gathered from the cluster: the one
 * check the validating webhook and the Component status share. When Secrets
 * cannot be read, it admits with a warning rather than block writes.
 */
export async function validateComponentInCluster(
  component: ValidatedComponent,
  namespace: string,
  facts: ClusterFacts,
): Promise<ValidationResult & { readonly secretsChecked: boolean }> {
  const names = [...new Set((component.spec?.metadata ?? []).map((e) => e.secretKeyRef?.name).filter((n): n is string => !!n))];
  const appIds = facts.appIds(namespace);
  try {
    const found = await Promise.all(names.map(async (name) => [name, await facts.secretExists(namespace, name)] as const));
    const existing = new Set(found.filter(([, ok]) => ok).map(([name]) => name));
    return { ...validateComponent(component, { appIds, secretExists: (name) => existing.has(name) }), secretsChecked: true };
  } catch {
    // The caller logs the API failure; the verdict says it was not checked.
    const result = validateComponent(component, { appIds, secretExists: () => true });
    return { ...result, warnings: [...result.warnings, 'could not check that referenced Secrets exist'], secretsChecked: false };
  }
}
