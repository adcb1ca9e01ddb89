#!/usr/bin/env node
import { createLogger, serviceMain } from '@tsdapr/runtime';
import { parseSentryOptions, SENTRY_FLAGS } from './options.js';
import { createSentry } from './sentry.js';

await serviceMain('tsdapr-sentry', SENTRY_FLAGS, () => {
  const options = parseSentryOptions(process.argv.slice(2), process.env);
  const logger = createLogger({ service: 'sentry', level: options.logLevel });
  return { service: createSentry(options, { logger }), logger };
});
