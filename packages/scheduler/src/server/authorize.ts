// Follows upstream's checks closely: dapr/dapr:pkg/scheduler/server/internal/authz/authz.go@v1.17.5 (Apache-2.0, The Dapr Authors; see NOTICE). No code is copied.
import { peerSpiffeId } from '@tsdapr/grpc';
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { SchedulerError } from '../core/scheduler-error.js';

type CallWithAuth = Pick<ServerUnaryCall<unknown, unknown>, 'getAuthContext'>;

/**
 * Upstream's rule (dapr/dapr:pkg/scheduler/server/internal/authz): the
 * request must name an app id and namespace, and with mTLS they must be the
 * caller's own, from its SPIFFE ID. The trust domain is not compared.
 */
export function authorize(call: CallWithAuth, mtls: boolean, request: { readonly appId: string; readonly namespace: string }): void {
  if (!request.namespace || !request.appId) throw new SchedulerError('invalid_argument', 'missing namespace or appID in request');
  if (!mtls) return;
  let peer;
  try {
    peer = peerSpiffeId(call);
  } catch (err) {
    throw new SchedulerError('unauthenticated', `failed to get identity from context: ${(err as Error).message}`, { cause: err });
  }
  if (peer.namespace !== request.namespace || peer.id !== request.appId) {
    throw new SchedulerError(
      'permission_denied',
      `identity does not match request: the caller is app "${peer.id}" in namespace "${peer.namespace}", the request names app "${request.appId}" in namespace "${request.namespace}"`,
    );
  }
}
