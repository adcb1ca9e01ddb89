import type { Container, Pod, Toleration, Volume } from '../patch/pod-types.js';

/** Fixture builders for tests: `pod('p', withAnnotation('dapr.io/enabled', 'true'))`. */
type MutablePod = {
  apiVersion: string;
  kind: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  };
  spec: { containers?: Container[]; initContainers?: Container[]; volumes?: Volume[]; tolerations?: Toleration[]; serviceAccountName?: string };
};

export type PodOption = (pod: MutablePod) => void;

/** A pod named `name` (empty: no name) with one container `app`, unless options say otherwise. */
export function pod(name: string, ...options: PodOption[]): Pod {
  const built: MutablePod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: name === '' ? {} : { name },
    spec: { containers: [{ name: 'app', image: 'example.com/app:1' }] },
  };
  for (const option of options) option(built);
  return built;
}

export const withAnnotation =
  (key: string, value: string): PodOption =>
  (p) => {
    p.metadata.annotations = { ...p.metadata.annotations, [key]: value };
  };

export const withAnnotations =
  (annotations: Record<string, string>): PodOption =>
  (p) => {
    p.metadata.annotations = { ...p.metadata.annotations, ...annotations };
  };

/** `dapr.io/enabled: "true"` and `dapr.io/app-id`. */
export const daprEnabled =
  (appId = 'myapp'): PodOption =>
  (p) => {
    p.metadata.annotations = { ...p.metadata.annotations, 'dapr.io/enabled': 'true', 'dapr.io/app-id': appId };
  };

export const withLabel =
  (key: string, value: string): PodOption =>
  (p) => {
    p.metadata.labels = { ...p.metadata.labels, [key]: value };
  };

export const withContainers =
  (...containers: Container[]): PodOption =>
  (p) => {
    p.spec.containers = containers;
  };

export const withInitContainers =
  (...containers: Container[]): PodOption =>
  (p) => {
    p.spec.initContainers = containers;
  };

export const withVolumes =
  (...volumes: Volume[]): PodOption =>
  (p) => {
    p.spec.volumes = volumes;
  };

export const withTolerations =
  (...tolerations: Toleration[]): PodOption =>
  (p) => {
    p.spec.tolerations = tolerations;
  };

export const withGenerateName =
  (generateName: string): PodOption =>
  (p) => {
    p.metadata.generateName = generateName;
  };

export const ownedBy =
  (kind: string, name: string): PodOption =>
  (p) => {
    p.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind, name, uid: '00000000-0000-0000-0000-000000000001', controller: true }];
  };

export const withServiceAccount =
  (name: string): PodOption =>
  (p) => {
    p.spec.serviceAccountName = name;
  };
