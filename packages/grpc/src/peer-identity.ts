import { status, type ServerUnaryCall } from '@grpc/grpc-js';

/** Any server-side call: unary or stream; all carry the TLS auth context. */
type ServerSurfaceCall = Pick<ServerUnaryCall<unknown, unknown>, 'getAuthContext'>;
import { TsdaprError } from '@tsdapr/runtime';
import { spiffeIdFromSubjectAltName, type SpiffeId } from './spiffe-id.js';

export class PeerIdentityError extends TsdaprError {
  readonly grpcStatus = status.UNAUTHENTICATED;
}

/** The caller's SPIFFE ID from the verified client certificate of an mTLS call. */
export function peerSpiffeId(call: ServerSurfaceCall): SpiffeId {
  const context = call.getAuthContext();
  const certificate = context?.sslPeerCertificate;
  if (!certificate || Object.keys(certificate).length === 0) {
    throw new PeerIdentityError('peer_no_certificate', 'the caller presented no client certificate');
  }
  try {
    return spiffeIdFromSubjectAltName(certificate.subjectaltname);
  } catch (err) {
    throw new PeerIdentityError('peer_spiffe_id_invalid', `the caller's certificate has no valid SPIFFE ID: ${(err as Error).message}`, { cause: err });
  }
}
