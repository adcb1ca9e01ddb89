import { quote, warning, type Diagnostic } from '../annotations/diagnostic.js';
import type { EnvVar, Volume, VolumeMount } from './pod-types.js';

export interface ParsedEnv {
  /** Every name the annotation sets, in order (upstream lists these in `DAPR_ENV_KEYS`). */
  readonly keys: string[];
  readonly vars: EnvVar[];
  readonly diagnostics: Diagnostic[];
}

/** A comma starts a new entry only when a `NAME=` follows it, so values may contain commas. */
const ENTRY_START = /,\s*[a-zA-Z_][a-zA-Z0-9_]*=/g;

/**
 * Parses `dapr.io/env` (`K=V,K2=V2`) or, with `fromSecret`,
 * `dapr.io/env-from-secret` (`K=secret` or `K=secret:key`), splitting the
 * way upstream does.
 */
export function parseEnvAnnotation(key: string, value: string, fromSecret: boolean): ParsedEnv {
  const out: ParsedEnv = { keys: [], vars: [], diagnostics: [] };
  if (value === '') return out;

  const starts = [...value.matchAll(ENTRY_START)].map((match) => match.index);
  const parts: string[] = [];
  let end = value.length;
  for (let i = starts.length - 1; i >= 0; i--) {
    const start = starts[i] ?? 0;
    parts.unshift(value.slice(start + 1, end).trim());
    end = start;
  }
  parts.unshift(value.slice(0, end));

  for (const part of parts) {
    const entry = part.trim();
    const eq = entry.indexOf('=');
    if (eq < 0) {
      out.diagnostics.push(warning('invalid_env', key, `${key}: ${quote(entry)} has no "=" and is ignored; write NAME=${fromSecret ? 'secret[:key]' : 'value'}`));
      continue;
    }
    const name = entry.slice(0, eq);
    const rest = entry.slice(eq + 1);
    if (name.trim() === '') {
      // Upstream passes it on, and the API server then rejects the whole pod.
      out.diagnostics.push(warning('invalid_env', key, `${key}: ${quote(entry)} has no variable name and is ignored`));
      continue;
    }
    out.keys.push(name);
    if (!fromSecret) {
      out.vars.push({ name, value: rest });
      continue;
    }
    const ref = secretRef(rest);
    if (ref) {
      out.vars.push({ name, valueFrom: { secretKeyRef: ref } });
    } else {
      out.diagnostics.push(warning('invalid_env', key, `${key}: ${quote(entry)} is not NAME=secret or NAME=secret:key and is ignored`));
    }
  }
  return out;
}

function secretRef(value: string): { name: string; key: string } | undefined {
  const clean = value.trim();
  if (!clean.includes(':')) return { name: clean, key: clean };
  const pair = clean.split(':');
  if (pair.length !== 2) return undefined;
  return { name: (pair[0] ?? '').trim(), key: (pair[1] ?? '').trim() };
}

/**
 * Parses `dapr.io/volume-mounts` / `-rw` (`volume:path,...`), keeping only
 * mounts of volumes the pod has, as upstream does; the others are reported.
 */
export function parseVolumeMounts(key: string, value: string, readOnly: boolean, volumes: readonly Volume[]): { mounts: VolumeMount[]; diagnostics: Diagnostic[] } {
  const mounts: VolumeMount[] = [];
  const diagnostics: Diagnostic[] = [];
  if (value === '') return { mounts, diagnostics };
  for (const item of value.split(',')) {
    const pair = item.trim().split(':');
    if (pair.length !== 2) {
      if (item.trim() !== '') diagnostics.push(warning('invalid_volume_mount', key, `${key}: ${quote(item.trim())} is not volume:path and is ignored`));
      continue;
    }
    const [name = '', mountPath = ''] = pair;
    if (!volumes.some((volume) => volume.name === name)) {
      diagnostics.push(warning('invalid_volume_mount', key, `${key}: the pod has no volume ${quote(name)}, so it is not mounted into daprd; add the volume to the pod`));
      continue;
    }
    mounts.push(readOnly ? { name, readOnly: true, mountPath } : { name, mountPath });
  }
  return { mounts, diagnostics };
}
