import type { CertificateStatus, ClusterStatus } from './status-model.js';

/** `-o json`: the status as collected plus its warnings, stable field names. */
export function formatJson(status: ClusterStatus): string {
  return `${JSON.stringify({ ...status, warnings: statusWarnings(status) }, null, 2)}\n`;
}

/** A fixed-width table; every column as wide as its widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function expiry(cert: CertificateStatus): string {
  if (cert.expired) return 'EXPIRED';
  return cert.warning ? `WARNING: expires in ${cert.daysLeft} days` : 'ok';
}

/** Warnings worth a non-zero exit: not-ready services, expiring certificates, pods without their sidecar. */
export function statusWarnings(status: ClusterStatus): string[] {
  const warnings: string[] = [];
  for (const w of status.workloads) {
    if (!w.found) warnings.push(`${w.kind} ${w.name} is missing`);
    else if (w.quorum !== undefined && w.ready < w.quorum) warnings.push(`${w.name}: ${w.ready} of ${w.replicas} replicas ready, below the ${w.quorum} its embedded etcd needs for a quorum: no job is stored or triggered`);
    else if (w.ready < w.replicas) warnings.push(`${w.name}: ${w.ready} of ${w.replicas} replicas ready`);
  }
  status.trust.anchors.forEach((a) => {
    if (a.warning) warnings.push(`trust anchor "${a.subject}" ${a.expired ? 'has expired' : `expires in ${a.daysLeft} days`} (${a.notAfter})`);
  });
  const issuer = status.trust.issuer;
  if (issuer?.warning) warnings.push(`issuer "${issuer.subject}" ${issuer.expired ? 'has expired' : `expires in ${issuer.daysLeft} days`} (${issuer.notAfter})`);
  for (const pod of status.podsWithoutSidecar ?? []) warnings.push(`pod ${pod.namespace}/${pod.name} has dapr.io/enabled but no daprd container`);
  return warnings;
}

/** The human-readable report. */
export function formatTable(status: ClusterStatus): string {
  const out: string[] = [];
  out.push(`CONTROL PLANE (namespace ${status.controlPlaneNamespace})`);
  out.push(
    table(
      ['SERVICE', 'KIND', 'NAME', 'READY', 'UPDATED', 'VERSION', 'HEALTHY'],
      status.workloads.map((w) =>
        w.found
          ? [w.service, w.kind, w.name, `${w.ready}/${w.replicas}`, String(w.updated), w.version ?? '-', w.ready >= w.replicas && w.replicas > 0 ? 'yes' : 'no']
          : [w.service, w.kind, w.name, '-', '-', '-', 'missing'],
      ),
    ),
  );
  for (const note of status.workloadNotes) out.push(`  note: ${note}`);

  out.push('', 'CERTIFICATES');
  const certs = [...status.trust.anchors.map((a) => ['trust anchor', a] as const), ...(status.trust.issuer ? [['issuer', status.trust.issuer] as const] : [])];
  if (certs.length > 0) out.push(table(['CERTIFICATE', 'SUBJECT', 'EXPIRES', 'DAYS LEFT', 'STATUS'], certs.map(([what, c]) => [what, c.subject, c.notAfter, String(c.daysLeft), expiry(c)])));
  for (const note of status.trust.notes) out.push(`  note: ${note}`);

  out.push('', 'PLACEMENT');
  const p = status.placement;
  out.push(`  leader: ${p.leader ?? '-'}${p.leaseRenewed ? ` (lease renewed ${p.leaseRenewed})` : ''}`);
  if (p.namespaces) {
    out.push(p.namespaces.length === 0 ? '  no namespaces with actor hosts' : table(['NAMESPACE', 'MEMBERS', 'TABLE VERSION'], p.namespaces.map((n) => [n.namespace, String(n.members), n.version === undefined ? '-' : String(n.version)])));
  }
  for (const note of p.notes) out.push(`  note: ${note}`);

  out.push('', 'COMPONENTS');
  if (status.components) {
    out.push(
      status.components.length === 0
        ? '  none'
        : table(['NAMESPACE', 'COUNT', 'COMPONENTS'], status.components.map((c) => [c.namespace, String(c.components.length), c.components.map((x) => `${x.name} (${x.type})`).join(', ')])),
    );
  }
  if (status.componentsNote) out.push(`  note: ${status.componentsNote}`);

  out.push('', 'PODS WITH dapr.io/enabled BUT NO daprd SIDECAR');
  if (status.podsWithoutSidecar) {
    out.push(status.podsWithoutSidecar.length === 0 ? '  none' : table(['NAMESPACE', 'POD', 'PHASE'], status.podsWithoutSidecar.map((pod) => [pod.namespace, pod.name, pod.phase])));
  }
  if (status.podsNote) out.push(`  note: ${status.podsNote}`);

  const warnings = statusWarnings(status);
  out.push('', warnings.length === 0 ? 'No warnings.' : `WARNINGS (${warnings.length})`);
  for (const w of warnings) out.push(`  - ${w}`);
  return `${out.join('\n')}\n`;
}
