import { InvalidInputError } from '@tsdapr/runtime';
import { VERSION_SHAPES, type DaprdMinor } from '../versions/daprd-versions.js';
import type { UserInfo } from './admission-review.js';

/** Upstream's built-in allow-list of controller service accounts (`namespace:name`). */
export const BUILT_IN_ALLOWED_SERVICE_ACCOUNTS: readonly string[] = [
  'kube-system:replicaset-controller',
  'kube-system:replication-controller',
  'kube-system:deployment-controller',
  'kube-system:cronjob-controller',
  'kube-system:job-controller',
  'kube-system:statefulset-controller',
  'kube-system:daemon-set-controller',
  'openshift-operator-lifecycle-manager:olm-operator-serviceaccount',
  'tekton-pipelines:tekton-pipelines-controller',
  'mirrord:mirrord-operator',
];

const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';
const SYSTEM_MASTERS = 'system:masters';

export type ServiceAccountMatcher = (namespace: string, name: string) => boolean;

/**
 * Upstream's `NewServiceAccountMatcher`: `namespace:name` patterns with Go
 * `path.Match` globs (`*`, `?`, `[...]`) on both sides. Empty entries are
 * skipped; a malformed one is an error naming it.
 */
export function serviceAccountMatcher(patterns: readonly string[]): ServiceAccountMatcher {
  const matchers: [RegExp, RegExp][] = [];
  for (const raw of patterns) {
    const pattern = raw.trim();
    if (pattern === '') continue;
    const parts = pattern.split(':');
    if (parts.length !== 2) {
      throw new InvalidInputError('invalid_service_account_pattern', `invalid service account pattern "${pattern}": it must contain exactly one ":" between namespace and name`);
    }
    const [ns = '', name = ''] = parts.map((part) => part.trim());
    if (ns === '' && name === '') throw new InvalidInputError('invalid_service_account_pattern', `invalid service account pattern "${pattern}": namespace and name cannot both be empty`);
    matchers.push([globToRegExp(ns, pattern), globToRegExp(name, pattern)]);
  }
  return (namespace, name) => matchers.some(([ns, sa]) => ns.test(namespace) && sa.test(name));
}

/** Go's `path.Match` pattern as an anchored regular expression (`*` and `?` never match `/`). */
export function globToRegExp(glob: string, whole = glob): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\') {
      const next = glob[++i];
      if (next === undefined) throw badPattern(whole);
      out += escapeRegExp(next);
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) throw badPattern(whole);
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      if (body === '') throw badPattern(whole);
      out += `[${negate ? '^/' : ''}${body.replace(/[\]\\^]/g, (m) => `\\${m}`)}]`;
      i = end;
    } else out += escapeRegExp(c);
  }
  return new RegExp(`^${out}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function badPattern(pattern: string): InvalidInputError {
  return new InvalidInputError('invalid_service_account_pattern', `invalid service account pattern "${pattern}": malformed glob`);
}

/**
 * Upstream's `isAuthorizedUser`: a service account on the allow-list (by
 * name, or by UID resolved at startup), or a member of `system:masters`.
 */
export function isAuthorizedUser(userInfo: UserInfo | undefined, matcher: ServiceAccountMatcher, allowedUids: ReadonlySet<string>): boolean {
  if (!userInfo) return false;
  const username = userInfo.username ?? '';
  if (username.startsWith(SERVICE_ACCOUNT_PREFIX)) {
    const parts = username.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
    if (parts.length > 1 && matcher(parts[0] ?? '', parts[1] ?? '')) return true;
  }
  if (userInfo.uid && allowedUids.has(userInfo.uid)) return true;
  return (userInfo.groups ?? []).includes(SYSTEM_MASTERS);
}

export interface AllowList {
  /** ALLOWED_SERVICE_ACCOUNTS. */
  readonly serviceAccounts: readonly string[];
  /** ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES. */
  readonly prefixNames: readonly string[];
}

/** The entries whose UIDs are resolved at start (upstream's `AllowedControllersServiceAccountUID`, both versions). */
export function uidAllowList(allow: AllowList): string[] {
  return [...BUILT_IN_ALLOWED_SERVICE_ACCOUNTS, ...allow.serviceAccounts];
}

export type VersionedAuthorizer = (userInfo: UserInfo | undefined, minor: DaprdMinor) => boolean;

/**
 * Upstream's allow-list rules for the daprd version a pod will run (the
 * version table's `allowListByName`): 1.17 matches by name only the
 * prefix-names entries, the built-in list and ALLOWED_SERVICE_ACCOUNTS only
 * by the UIDs resolved at start; 1.18 matches all of them by name, as globs.
 */
export function versionedAuthorizer(allow: AllowList, allowedUids: ReadonlySet<string>): VersionedAuthorizer {
  const byName = {
    'all-entries': serviceAccountMatcher([...BUILT_IN_ALLOWED_SERVICE_ACCOUNTS, ...allow.serviceAccounts, ...allow.prefixNames]),
    'prefix-names-only': serviceAccountMatcher(allow.prefixNames),
  } as const;
  return (userInfo, minor) => isAuthorizedUser(userInfo, byName[VERSION_SHAPES[minor].allowListByName], allowedUids);
}
