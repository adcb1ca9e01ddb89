import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Manifest, chartDir, helm, parseManifests, valuesFile } from './helm.js';
import { TREATMENT, UPSTREAM_VERSION, pathName, readmeStatus, setPath, upstreamChartDir, upstreamDefaultValues, valuePaths, type Treatment } from './upstream-values.js';

/**
 * tsdapr's chart is a drop-in for upstream's: it renders with upstream 1.17.5's complete default values
 * (read from the Go module at test time), and with one --set-json per upstream value path. A path it
 * honours changes the same rendered fields as in upstream's chart rendered by the same helm; a path
 * without effect changes nothing at all.
 */
const NAMESPACE = 'dapr-system';

/** Renders a chart with a values file and --set-json pairs; the manifest, or helm's message. */
async function renderWith(chart: string, valuesPath: string, sets: Readonly<Record<string, unknown>>): Promise<Manifest | string> {
  const args = ['template', 'dapr', chart, '--namespace', NAMESPACE, '--kube-version', '1.34.0', '-f', valuesPath];
  for (const [path, value] of Object.entries(sets)) args.push('--set-json', `${path}=${JSON.stringify(value)}`);
  const result = await helm(args, { timeoutMs: 30_000 });
  return result.code === 0 ? new Manifest(parseManifests(result.stdout)) : result.stderr;
}

/** The --set-json pairs of a path's case: its own value and the ones it needs. */
function setsOf(path: string[], t: Treatment): Record<string, unknown> {
  const sets: Record<string, unknown> = { [setPath(path)]: t.value };
  for (const [other, value] of Object.entries(t.also ?? {})) sets[other] = value;
  return sets;
}

/** Runs the jobs with a bounded concurrency (2 cores shared: helm renders take ~0.1 s each). */
async function pool<T>(items: readonly T[], concurrency: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await job(items[next++] as T);
  }));
}

const norm = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' || typeof x === 'boolean' ? String(x) : x)) ?? 'undefined';

describe(`upstream ${UPSTREAM_VERSION}'s values`, { timeout: 120_000 }, async () => {
  const upstreamDir = upstreamChartDir();
  const defaults = upstreamDefaultValues(upstreamDir);
  const paths = valuePaths(defaults);
  const file = valuesFile(defaults);
  const ours = chartDir();

  test('every upstream value path has a treatment, and only those', { timeout: 10_000 }, () => {
    assert.equal(paths.length, 241, `upstream ${UPSTREAM_VERSION} has 241 value paths`);
    const names = paths.map(pathName);
    assert.deepEqual(names.filter((n) => !(n in TREATMENT)), [], 'upstream paths without a treatment');
    assert.deepEqual(Object.keys(TREATMENT).filter((n) => !names.includes(n)), [], 'treatments of paths upstream lacks');
  });

  test("the README's table gives every upstream path its treatment", { timeout: 10_000 }, () => {
    const readme = readFileSync(join(ours, 'README.md'), 'utf8');
    const section = readme.split(`\n## Upstream ${UPSTREAM_VERSION.replace(/\.\d+$/, '')} values\n`)[1]?.split('\n## ')[0] ?? '';
    assert.ok(section, `README.md has no "## Upstream ${UPSTREAM_VERSION.replace(/\.\d+$/, '')} values" section`);
    const wrong: string[] = [];
    for (const path of paths) {
      const name = pathName(path);
      const row = section.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
      const t = TREATMENT[name];
      if (!row || !t || !row.includes(`| ${readmeStatus(t)}`)) wrong.push(`${name}: ${row ?? 'no row'}`);
    }
    assert.deepEqual(wrong, []);
  });

  const base = await renderWith(ours, file.path, {});
  const upstreamBase = await renderWith(upstreamDir, file.path, {});

  test("renders with upstream's complete default values", { timeout: 30_000 }, () => {
    assert.ok(base instanceof Manifest, `helm template failed: ${typeof base === 'string' ? base : 'not a string'}`);
    assert.ok(upstreamBase instanceof Manifest, `upstream's chart failed: ${typeof upstreamBase === 'string' ? upstreamBase : 'not a string'}`);
    // Upstream's defaults are honoured, not just accepted: its probe timings, for example.
    const operator = base.get<{ spec: { template: { spec: { containers: { livenessProbe: { initialDelaySeconds: number } }[] } } } }>('Deployment', 'dapr-operator');
    assert.equal(operator.spec.template.spec.containers[0]?.livenessProbe.initialDelaySeconds, 3);
    assert.equal(base.find('Deployment', 'dapr-operator')?.metadata.labels?.['app.kubernetes.io/name'], 'dapr');
  });

  test('a path without effect changes nothing (all of them set at once)', { timeout: 30_000 }, async () => {
    assert.ok(base instanceof Manifest);
    const sets: Record<string, unknown> = {};
    for (const path of paths) {
      const t = TREATMENT[pathName(path)];
      if (t?.status === 'without effect') Object.assign(sets, setsOf(path, t));
    }
    assert.ok(Object.keys(sets).length > 20);
    const m = await renderWith(ours, file.path, sets);
    assert.ok(m instanceof Manifest, `helm template failed: ${typeof m === 'string' ? m : 'not a string'}`);
    assert.deepEqual(m.objects, base.objects);
  });

  test('each honoured or replaced path renders and changes its fields as upstream does', { timeout: 90_000 }, async () => {
    assert.ok(base instanceof Manifest && upstreamBase instanceof Manifest);
    const problems: string[] = [];
    const cases = paths.filter((p) => TREATMENT[pathName(p)]?.status !== 'without effect');
    assert.ok(cases.length > 150);
    await pool(cases, 3, async (path) => {
      const name = pathName(path);
      const t = TREATMENT[name] as Exclude<Treatment, { status: 'without effect' }>;
      const sets = setsOf(path, t);
      const [mine, theirs] = await Promise.all([renderWith(ours, file.path, sets), t.status === 'honoured' ? renderWith(upstreamDir, file.path, sets) : Promise.resolve(undefined)]);
      if (!(mine instanceof Manifest)) {
        problems.push(`${name}: ours does not render: ${mine.trim().split('\n')[0]}`);
        return;
      }
      const got = norm(t.pick(mine));
      if (got === norm(t.pick(base))) problems.push(`${name}: changes nothing in ours (${got})`);
      if (t.status === 'replaced') return;
      if (!(theirs instanceof Manifest)) {
        problems.push(`${name}: upstream's chart does not render: ${String(theirs).trim().split('\n')[0]}`);
        return;
      }
      const want = norm(t.pick(theirs));
      if (got !== want) problems.push(`${name}: ours ${got}, upstream ${want}`);
    });
    assert.deepEqual(problems, []);
  });

  test('NOTES.txt lists the values without effect that an install sets', { timeout: 30_000 }, async () => {
    // helm template does not render NOTES.txt: a copy of the chart renders it into a ConfigMap.
    const dir = mkdtempSync(join(tmpdir(), 'tsdapr-notes-'));
    try {
      const chart = join(dir, 'tsdapr');
      cpSync(ours, chart, { recursive: true });
      writeFileSync(join(chart, 'templates', '_notes-check.tpl'), `{{- define "notes-check.body" -}}\n${readFileSync(join(ours, 'templates', 'NOTES.txt'), 'utf8')}\n{{- end -}}\n`);
      writeFileSync(join(chart, 'templates', 'notes-check.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-check\ndata:\n  notes: {{ include "notes-check.body" . | quote }}\n');
      const notes = async (sets: Record<string, unknown>): Promise<string> => {
        const m = await renderWith(chart, file.path, sets);
        assert.ok(m instanceof Manifest, `helm template failed: ${typeof m === 'string' ? m : 'not a string'}`);
        return (m.get<{ data: { notes: string } }>('ConfigMap', 'notes-check')).data.notes;
      };
      // Upstream's defaults: only the secret reader upstream creates and tsdapr does not.
      const defaultsNotes = await notes({});
      assert.match(defaultsNotes, /dapr_rbac\.secretReader\.enabled=true: no secret-reader Role/);
      assert.doesNotMatch(defaultsNotes, /dapr_sentry\.jwt/);
      const sets: Record<string, unknown> = {};
      const expected: string[] = [];
      for (const path of paths) {
        const t = TREATMENT[pathName(path)];
        if (t?.status !== 'without effect') continue;
        Object.assign(sets, setsOf(path, t));
        if (pathName(path).startsWith('dapr_rbac.secretReader.')) continue; // set to false here: nothing to say
        expected.push(pathName(path));
      }
      const listed = await notes(sets);
      assert.deepEqual(expected.filter((p) => !listed.includes(`   - ${p}=`)), [], 'values without effect NOTES.txt does not list');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the schema still refuses what neither chart has, and wrong types', { timeout: 30_000 }, async () => {
    for (const [sets, message] of [
      [{ 'dapr_operator.bogus': true }, /additional properties 'bogus' not allowed/],
      [{ 'dapr_rbac.serviceAccount.daprd.annotations': {} }, /additional properties 'daprd' not allowed/],
      [{ 'dapr_placement.cluster.raftLogPath': '/x' }, /additional properties 'raftLogPath' not allowed/],
      [{ 'dapr_sentry.jwt.enabled': 'yes' }, /jwt\/enabled.*got string, want boolean/],
      [{ 'dapr_operator.livenessProbe.periodSeconds': 'often' }, /livenessProbe\/periodSeconds.*got string, want integer/],
      [{ 'global.k8sLabels': ['app'] }, /k8sLabels.*got array, want object/],
    ] as const) {
      const m = await renderWith(ours, file.path, sets);
      assert.equal(typeof m, 'string', `${JSON.stringify(sets)} should be refused`);
      assert.match(m as string, message);
    }
  });

  after(() => file.cleanup());
});
