import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';

/**
 * The upstream protos come from the pinned `@dapr/dapr` npm package and are
 * never copied into this repo. Its 3.18.0 protos match upstream Dapr v1.17.
 */
export const DAPR_PROTO_PACKAGE = '@dapr/dapr';

export type DaprProtoName = 'sentry' | 'placement' | 'operator' | 'scheduler';

/** Field names stay as in the .proto (snake_case), enums as their names. */
export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export function daprProtoRoot(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve(`${DAPR_PROTO_PACKAGE}/package.json`)), 'proto');
}

export function daprProtoFile(name: DaprProtoName): string {
  return join(daprProtoRoot(), 'dapr', 'proto', name, 'v1', `${name}.proto`);
}

const loaded = new Map<DaprProtoName, GrpcObject>();

/** Loads one upstream proto (and its imports) as a grpc-js package object, once. */
export function loadDaprProto(name: DaprProtoName): GrpcObject {
  let object = loaded.get(name);
  if (!object) {
    const definition = loadSync(daprProtoFile(name), { ...PROTO_LOADER_OPTIONS, includeDirs: [daprProtoRoot()] });
    object = loadPackageDefinition(definition);
    loaded.set(name, object);
  }
  return object;
}

function lookup(root: GrpcObject, path: string): unknown {
  let node: unknown = root;
  for (const part of path.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  if (!node) throw new Error(`${path} is not in the ${DAPR_PROTO_PACKAGE} protos`);
  return node;
}

export interface DaprService {
  readonly service: ServiceDefinition;
  readonly Client: ServiceClientConstructor;
}

/** The service definition and client constructor for a fully-qualified service name. */
export function daprService(name: DaprProtoName, fullName: string): DaprService {
  const Client = lookup(loadDaprProto(name), fullName) as ServiceClientConstructor;
  return { service: Client.service, Client };
}

export const sentryService = (): DaprService => daprService('sentry', 'dapr.proto.sentry.v1.CA');
export const placementService = (): DaprService => daprService('placement', 'dapr.proto.placement.v1.Placement');
export const operatorService = (): DaprService => daprService('operator', 'dapr.proto.operator.v1.Operator');
export const schedulerService = (): DaprService => daprService('scheduler', 'dapr.proto.scheduler.v1.Scheduler');
