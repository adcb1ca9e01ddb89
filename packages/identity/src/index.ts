export { sentryClient, type SentryClient } from './sentry-client.js';
export { createSvidSource, type SvidSource, type SvidSourceOptions } from './svid-source.js';
export { watchTrustAnchorsFile } from './trust-anchors-file.js';
