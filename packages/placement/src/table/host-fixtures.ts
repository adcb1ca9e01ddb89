import type { Host, HostOperation } from './messages.js';

/**
 * Fixture builders for tests: `host('10.0.0.1:50002', withEntities('a'))`.
 * Defaults are what a v1.17 daprd sends in its first REPORT.
 */
export type HostOption = (host: Mutable<Host>) => void;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function host(name: string, ...options: HostOption[]): Host {
  const built: Mutable<Host> = {
    name,
    port: '0',
    load: '0',
    entities: [],
    id: `app-${name.replace(/[^a-z0-9]+/gi, '-')}`,
    pod: '',
    api_level: 20,
    namespace: 'default',
    operation: 'REPORT',
  };
  for (const option of options) option(built);
  return built;
}

export const withEntities =
  (...entities: string[]): HostOption =>
  (h) => {
    h.entities = entities;
  };
export const withId =
  (id: string): HostOption =>
  (h) => {
    h.id = id;
  };
export const inNamespace =
  (namespace: string): HostOption =>
  (h) => {
    h.namespace = namespace;
  };
export const withOperation =
  (operation: HostOperation, version?: number): HostOption =>
  (h) => {
    h.operation = operation;
    if (version === undefined) delete h.version;
    else h.version = String(version);
  };
