export { createSentry, type Sentry, type SentryDeps } from './sentry.js';
export { parseSentryOptions, SENTRY_FLAGS, type SentryOptions } from './options.js';
