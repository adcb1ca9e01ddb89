export { sentryClient, type SentryClient } from './sentry-client.js';
export { createSvidSource, type SvidSource, type SvidSourceOptions } from './svid-source.js';
export { trustAnchorsFile, watchTrustAnchorsFile, type TrustAnchorsFileOptions, type TrustAnchorsSource } from './trust-anchors-file.js';
