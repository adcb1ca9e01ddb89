import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { render, type K8sObject, type Manifest } from './helm.js';

/**
 * Least-privilege RBAC, pinned: every rule each control-plane ServiceAccount
 * gets, through whichever Role or ClusterRole is bound to it, exactly. A new
 * grant fails here until it is added (and, if upstream 1.17.5 does not have
 * it, stated in the chart README's "Differences from upstream's chart").
 * That the services need no more than this is proven by the install test,
 * which runs each one as its ServiceAccount against a real API server.
 */

interface Rule {
  readonly apiGroups: string[];
  readonly resources: string[];
  readonly verbs: string[];
  readonly resourceNames?: string[];
}
type RoleObject = K8sObject & { rules?: Rule[] };
type Binding = K8sObject & { roleRef: { kind: string; name: string }; subjects?: { kind: string; name: string; namespace?: string }[] };

const NS = 'dapr-system';

/** `<Role|ClusterRole> <apiGroup> <resources> [names] <verbs>`, one line per rule, in the order of the template. */
function rulesOf(m: Manifest, serviceAccount: string): string[] {
  const lines: string[] = [];
  for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
    for (const binding of m.ofKind(kind) as Binding[]) {
      if (!binding.subjects?.some((s) => s.kind === 'ServiceAccount' && s.name === serviceAccount && s.namespace === NS)) continue;
      const role = m.get<RoleObject>(binding.roleRef.kind, binding.roleRef.name);
      if (binding.roleRef.kind === 'Role') assert.equal(role.metadata.namespace, NS, `${role.metadata.name} in the release namespace`);
      for (const rule of role.rules ?? []) {
        const names = rule.resourceNames ? ` [${rule.resourceNames.join(',')}]` : '';
        lines.push(`${binding.roleRef.kind} ${rule.apiGroups.join(',') || 'core'} ${rule.resources.join(',')}${names} ${rule.verbs.join(',')}`);
      }
    }
  }
  return lines;
}

const SENTRY = [
  'ClusterRole authentication.k8s.io tokenreviews create',
  'ClusterRole core pods get,list,watch',
  'ClusterRole dapr.io configurations get,list,watch',
  'Role core secrets [dapr-trust-bundle] get,update,list,watch',
  'Role core configmaps [dapr-trust-bundle] get,update,list,watch',
];
const OPERATOR = [
  'ClusterRole apiextensions.k8s.io customresourcedefinitions [subscriptions.dapr.io] get,patch',
  'ClusterRole admissionregistration.k8s.io validatingwebhookconfigurations [dapr-operator] get,patch',
  'ClusterRole apps deployments,statefulsets list,watch',
  'ClusterRole apps deployments/finalizers,statefulsets/finalizers update',
  'ClusterRole core services get,list,watch,create,update,delete',
  'ClusterRole core secrets get',
  'ClusterRole dapr.io components,configurations,subscriptions,resiliencies,httpendpoints list,watch',
  'ClusterRole dapr.io components/status patch',
  'Role coordination.k8s.io leases [operator.dapr.io] get,update',
  'Role coordination.k8s.io leases create',
];
const PLACEMENT = ['Role coordination.k8s.io leases [dapr-placement-leader] get,update', 'Role coordination.k8s.io leases create'];
const INJECTOR = [
  'ClusterRole admissionregistration.k8s.io mutatingwebhookconfigurations [dapr-sidecar-injector] get,patch',
  'ClusterRole core serviceaccounts list',
  'ClusterRole dapr.io components list,watch',
  'Role dapr.io configurations list,watch',
];
const INJECTOR_MISSED = [
  'ClusterRole admissionregistration.k8s.io mutatingwebhookconfigurations [dapr-sidecar-injector] get,patch',
  'ClusterRole core serviceaccounts list',
  'ClusterRole dapr.io components list,watch',
  'ClusterRole core pods list,watch',
  'ClusterRole core events create',
  'Role dapr.io configurations list,watch',
];

function injectorFlag(m: Manifest): string | undefined {
  const deployment = m.get<K8sObject & { spec: { template: { spec: { containers: { name: string; args?: string[] }[] } } } }>('Deployment', 'dapr-sidecar-injector');
  const args = deployment.spec.template.spec.containers.find((c) => c.name === 'dapr-sidecar-injector')?.args ?? [];
  return args.find((a) => a.startsWith('--report-missed-injections='))?.split('=')[1];
}

describe('RBAC: the exact rules of each ServiceAccount', async () => {
  const m = await render({}, { namespace: NS });

  test('sentry', () => assert.deepEqual(rulesOf(m, 'dapr-sentry'), SENTRY));
  test('operator: Lease by name, create apart; no events, no Lease list/watch, no CRD update, no components/status update, only the shipped kinds', () =>
    assert.deepEqual(rulesOf(m, 'dapr-operator'), OPERATOR));
  test('placement: its own Lease by name, create apart', () => assert.deepEqual(rulesOf(m, 'dapr-placement'), PLACEMENT));
  test('injector: no pods or events by default, and the flag says so', () => {
    assert.deepEqual(rulesOf(m, 'dapr-injector'), INJECTOR);
    assert.equal(injectorFlag(m), 'false');
  });
  test('scheduler: none', () => assert.deepEqual(rulesOf(m, 'dapr-scheduler'), []));

  test('dapr_sidecar_injector.missedInjectionReporting: pods list/watch and events create, and the flag on', async () => {
    const on = await render({ dapr_sidecar_injector: { missedInjectionReporting: true } }, { namespace: NS });
    assert.deepEqual(rulesOf(on, 'dapr-injector'), INJECTOR_MISSED);
    assert.equal(injectorFlag(on), 'true');
  });

  test("placement's Lease rule follows dapr_placement.leaseName", async () => {
    const renamed = await render({ dapr_placement: { leaseName: 'my-placement' } }, { namespace: NS });
    assert.deepEqual(rulesOf(renamed, 'dapr-placement'), ['Role coordination.k8s.io leases [my-placement] get,update', 'Role coordination.k8s.io leases create']);
  });

  test('global.rbac.namespaced: sentry reads pods and Configurations in the release namespace only; the others unchanged', async () => {
    const ns = await render({ global: { rbac: { namespaced: true } } }, { namespace: NS });
    assert.deepEqual(rulesOf(ns, 'dapr-sentry'), [
      'ClusterRole authentication.k8s.io tokenreviews create',
      'Role core secrets [dapr-trust-bundle] get,update,list,watch',
      'Role core configmaps [dapr-trust-bundle] get,update,list,watch',
      'Role core pods get,list,watch',
      'Role dapr.io configurations get,list,watch',
    ]);
    assert.deepEqual(rulesOf(ns, 'dapr-operator'), OPERATOR);
    assert.deepEqual(rulesOf(ns, 'dapr-placement'), PLACEMENT);
    assert.deepEqual(rulesOf(ns, 'dapr-injector'), INJECTOR);
  });

  test('every Role and ClusterRole is bound to one of the control-plane ServiceAccounts', () => {
    const bound = new Set((['ClusterRoleBinding', 'RoleBinding'] as const).flatMap((kind) => (m.ofKind(kind) as Binding[]).map((b) => `${b.roleRef.kind}/${b.roleRef.name}`)));
    for (const kind of ['Role', 'ClusterRole']) for (const role of m.ofKind(kind)) assert.ok(bound.has(`${kind}/${role.metadata.name}`), `${kind}/${role.metadata.name} is bound`);
    for (const kind of ['ClusterRoleBinding', 'RoleBinding'] as const) {
      for (const b of m.ofKind(kind) as Binding[]) {
        assert.ok(b.subjects?.every((s) => s.kind === 'ServiceAccount' && ['dapr-sentry', 'dapr-operator', 'dapr-placement', 'dapr-injector'].includes(s.name)), `${kind}/${b.metadata.name}`);
      }
    }
  });
});
