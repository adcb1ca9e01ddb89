import { TsdaprError } from '@tsdapr/runtime';

/**
 * Why placement refused or ended a stream. The code labels metrics and picks
 * the gRPC status (see server/grpc-status.ts); the message is what the
 * sidecar logs.
 */
export type PlacementErrorCode =
  /** A follower answers every stream at once with this (daprd then tries the next address). */
  | 'not_leader'
  | 'shutting_down'
  | 'leadership_lost'
  /** A stream that did not ack a round phase within `--disseminate-timeout`. */
  | 'dissemination_timeout'
  /** A Host message that breaks the protocol's rules (missing id, operation/version pairing, unknown operation...). */
  | 'invalid_host'
  /** A Host that names another app id or namespace than the caller's SPIFFE ID, or a reserved actor type. */
  | 'permission_denied'
  /** mTLS is on and the caller's identity cannot be read. */
  | 'unauthenticated'
  /** An ack for a round version this placement has not sent yet. */
  | 'version_ahead'
  /** A stream whose Host messages switch namespace after the first. */
  | 'namespace_changed'
  /** More messages than any sidecar sends. */
  | 'report_flood'
  /** Placement's own serving certificate cannot be loaded. */
  | 'serving_identity';

export class PlacementError extends TsdaprError {
  declare readonly code: PlacementErrorCode;

  constructor(code: PlacementErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The message upstream's followers send; daprd matches the substring "is not a leader". */
export function notLeaderError(nodeId: string): PlacementError {
  return new PlacementError('not_leader', `node id=${nodeId} is not a leader. Only the leader can serve requests`);
}
