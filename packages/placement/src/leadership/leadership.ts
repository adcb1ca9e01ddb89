import { untilAborted, type Runner } from '@tsdapr/runtime';

/**
 * Who may serve streams. The election calls `onStartedLeading` when this
 * replica becomes the leader and `onStoppedLeading` when it stops (lease
 * lost, or shutdown); only a leader serves, a follower refuses every stream.
 */
export interface LeadershipCallbacks {
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: (reason: string) => void;
}

/** Standalone mode: a single placement, always the leader while it runs. */
export function alwaysLeader(callbacks: LeadershipCallbacks): Runner {
  return async (signal) => {
    callbacks.onStartedLeading();
    await untilAborted(signal);
    callbacks.onStoppedLeading('shutting down');
  };
}
