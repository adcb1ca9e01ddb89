// Follows upstream's checks closely: dapr/dapr:pkg/placement/internal/authorizer/authorizer.go@v1.17.5 (Apache-2.0, The Dapr Authors; see NOTICE). No code is copied.
import type { SpiffeId } from '@tsdapr/grpc';
import { PlacementError } from '../errors.js';
import { HOST_OPERATIONS, type Host, type HostOperation } from '../table/messages.js';

/** A `Host` message as proto-loader hands it over: every field may be missing or odd. */
export interface WireHost {
  readonly name?: string;
  readonly port?: string | number;
  readonly load?: string | number;
  readonly entities?: readonly string[];
  readonly id?: string;
  readonly pod?: string;
  readonly api_level?: number;
  readonly namespace?: string;
  readonly operation?: string | number;
  readonly version?: string | number;
}

/** A Host message that passed the checks: the host as stored, its operation, its version if set. */
export interface CheckedHost {
  readonly host: Host;
  readonly operation: HostOperation;
  readonly version: number | undefined;
}

/**
 * The checks upstream's authorizer applies to every Host message, first and
 * later ones alike (dapr/dapr:pkg/placement/internal/authorizer@v1.17.5), in its order; `peer` is the caller's SPIFFE
 * ID when mTLS is on. Plus one of ours: an operation outside the enum.
 * Throws a PlacementError whose code picks the status.
 */
export function checkHost(message: WireHost | null | undefined, peer: SpiffeId | undefined): CheckedHost {
  if (!message) throw new PlacementError('invalid_host', 'received nil host report');
  const operation = message.operation ?? 'UNKNOWN';
  if (typeof operation !== 'string' || !HOST_OPERATIONS.includes(operation as HostOperation)) {
    throw new PlacementError('invalid_host', `unknown host operation ${String(operation)}`);
  }
  const hasVersion = message.version !== undefined && message.version !== null;
  if (operation === 'UNKNOWN' && hasVersion) {
    throw new PlacementError('invalid_host', 'both operation and version must be set or both must be unset');
  }
  const id = message.id ?? '';
  const namespace = message.namespace ?? '';
  if (id.length === 0 || namespace.length === 0) throw new PlacementError('invalid_host', 'host ID and namespace must be provided');
  if (peer) {
    if (id !== peer.id) throw new PlacementError('permission_denied', `provided app ID ${id} doesn't match the one in the SPIFFE ID (${peer.id})`);
    if (namespace !== peer.namespace) {
      throw new PlacementError('permission_denied', `provided client namespace ${namespace} doesn't match the one in the SPIFFE ID (${peer.namespace})`);
    }
  }
  const entities = message.entities ?? [];
  for (const entity of entities) {
    const parts = entity.split('.');
    if (parts.length >= 2 && parts[0] === 'dapr' && parts[1] === 'internal' && (parts.length < 4 || parts[2] !== namespace || parts[3] !== id)) {
      throw new PlacementError('permission_denied', `entity ${entity} is not allowed for app ID ${id} in namespace ${namespace}`);
    }
  }
  const version = hasVersion ? parseVersion(message.version) : undefined;
  return {
    host: {
      name: message.name ?? '',
      port: message.port ?? '0',
      load: message.load ?? '0',
      entities,
      id,
      pod: message.pod ?? '',
      api_level: message.api_level ?? 0,
      namespace,
      operation: operation as HostOperation,
    },
    operation: operation as HostOperation,
    version,
  };
}

function parseVersion(raw: string | number | undefined): number {
  const version = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isFinite(version) || version < 0) throw new PlacementError('invalid_host', `invalid version ${String(raw)}`);
  return version;
}
