/**
 * Who may serve streams: only a leader serves, a follower refuses every
 * stream. The election itself lives in @tsdapr/kube, shared with the operator.
 */
export { alwaysLeader, type LeadershipCallbacks } from '@tsdapr/kube';
