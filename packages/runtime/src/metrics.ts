import { Registry, collectDefaultMetrics } from 'prom-client';

/** A registry per process, with Node's default process metrics. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
