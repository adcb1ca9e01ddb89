// Follows upstream's checks closely: dapr/dapr:pkg/operator/api/authz/authz.go@v1.17.5 (Apache-2.0, The Dapr Authors; see NOTICE). No code is copied.
import { peerSpiffeId } from '@tsdapr/grpc';
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { ApiError } from './api-error.js';

export interface Caller {
  readonly namespace: string;
  readonly appId: string;
}

type AnyCall = Pick<ServerUnaryCall<unknown, unknown>, 'getAuthContext'>;

/**
 * Upstream's check for every RPC: the peer has a SPIFFE ID, and the
 * requested namespace is non-empty and equal to the peer's namespace.
 * The peer's ID segment is its app id, used for scopes.
 */
export function authorizeCaller(call: AnyCall, requestNamespace: unknown): Caller {
  let peer;
  try {
    peer = peerSpiffeId(call);
  } catch (err) {
    throw new ApiError('identity_unknown', 'failed to determine identity', { cause: err });
  }
  const namespace = typeof requestNamespace === 'string' ? requestNamespace : '';
  if (namespace === '' || namespace !== peer.namespace) {
    throw new ApiError('namespace_mismatch', `identity does not match requested namespace exp=${peer.namespace} got=${namespace}`);
  }
  return { namespace, appId: peer.id };
}
