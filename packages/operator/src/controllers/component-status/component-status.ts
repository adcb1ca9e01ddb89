import type { DaprResource } from '../../resources/dapr-resource.js';
import type { ValidationResult } from '../../webhooks/component-validation.js';

export interface ComponentCondition {
  readonly type: 'Valid' | 'AppsRunning';
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number;
}

/** What the operator writes to a Component's status subresource (beyond upstream, which writes none). */
export interface ComponentStatus {
  readonly conditions: readonly ComponentCondition[];
  /** App ids in scope whose Dapr-enabled workload is scaled above zero, sorted. */
  readonly appsInScope: readonly string[];
}

const MAX_MESSAGE = 4096;
const clip = (text: string): string => (text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 3)}...` : text);

export interface StatusFacts {
  /** The webhook's verdict on the Component, from the same validation. */
  readonly validation: ValidationResult;
  /** App ids of Dapr-enabled workloads in the namespace scaled above zero. */
  readonly runningAppIds: ReadonlySet<string>;
}

/**
 * `Valid` says what the validating webhook says (a denial, warnings or
 * nothing); `AppsRunning` whether any app in scope runs, with the scoped app
 * ids that do not. A condition keeps its lastTransitionTime while its status
 * stays the same.
 */
export function desiredComponentStatus(component: DaprResource, facts: StatusFacts, now: Date): ComponentStatus {
  const previous = previousStatus(component);
  const generation = component.metadata?.generation;
  const scopes = [...new Set(component.scopes ?? [])];
  const appsInScope = [...facts.runningAppIds].filter((id) => scopes.length === 0 || scopes.includes(id)).sort();
  const { validation } = facts;
  const valid = validation.denied
    ? { status: 'False' as const, reason: 'Invalid', message: validation.denied }
    : validation.warnings.length > 0
      ? { status: 'True' as const, reason: 'ValidWithWarnings', message: validation.warnings.join('; ') }
      : { status: 'True' as const, reason: 'Valid', message: 'the operator found nothing to fix' };
  const missing = scopes.filter((id) => !facts.runningAppIds.has(id)).sort();
  const running = appsInScope.length > 0 ? `running: ${appsInScope.join(', ')}` : 'no app in scope runs';
  const apps = {
    status: appsInScope.length > 0 ? ('True' as const) : ('False' as const),
    reason: appsInScope.length > 0 ? 'AppsRunning' : 'NoAppRunning',
    message: scopes.length === 0 ? `no scopes (every app in the namespace); ${running}` : `${running}${missing.length > 0 ? `; not running: ${missing.join(', ')}` : ''}`,
  };
  const condition = (type: ComponentCondition['type'], value: { status: ComponentCondition['status']; reason: string; message: string }): ComponentCondition => {
    const before = previous?.conditions.find((c) => c.type === type);
    return {
      type,
      ...value,
      message: clip(value.message),
      lastTransitionTime: before && before.status === value.status && before.lastTransitionTime ? before.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      ...(generation === undefined ? {} : { observedGeneration: generation }),
    };
  };
  return { conditions: [condition('Valid', valid), condition('AppsRunning', apps)], appsInScope };
}

function previousStatus(component: DaprResource): ComponentStatus | undefined {
  const status = component.status as Partial<ComponentStatus> | undefined;
  return status && Array.isArray(status.conditions) ? { conditions: status.conditions, appsInScope: status.appsInScope ?? [] } : undefined;
}

/** True when the stored status already says what `desired` says (times aside). */
export function statusMatches(component: DaprResource, desired: ComponentStatus): boolean {
  const current = previousStatus(component);
  if (!current) return false;
  const key = (status: ComponentStatus): string =>
    JSON.stringify([status.conditions.map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration ?? null]), status.appsInScope]);
  return key(current) === key(desired);
}
