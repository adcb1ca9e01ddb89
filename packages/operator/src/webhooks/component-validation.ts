/**
 * What CEL cannot check about a Component, as admission warnings or a
 * denial that names the field and the fix.
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

export function validateComponent(component: { spec?: { metadata?: Entry[] }; scopes?: string[]; auth?: { secretStore?: string } }, facts: ValidationFacts): ValidationResult {
  const warnings: string[] = [];
  const entries = component.spec?.metadata ?? [];
  const seen = new Map<string, number>();
  for (const [index, entry] of entries.entries()) {
    const name = entry.name ?? '';
    const first = seen.get(name);
    if (first !== undefined) {
      return { denied: `spec.metadata[${index}].name: "${name}" is already set by spec.metadata[${first}]; remove one of the two entries`, warnings };
    }
    seen.set(name, index);
    const set = [entry.value !== undefined, entry.secretKeyRef !== undefined, entry.envRef !== undefined].filter(Boolean).length;
    if (set !== 1) {
      return { denied: `spec.metadata[${index}] ("${name}"): set exactly one of value, secretKeyRef or envRef (found ${set})`, warnings };
    }
  }
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
  component: Parameters<typeof validateComponent>[0],
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
