#!/usr/bin/env node
import { createLogger, HelpRequested, runUntilSignal } from '@tsdapr/runtime';
import { parseSentryOptions, SENTRY_FLAGS } from './options.js';
import { createSentry } from './sentry.js';
import { usage } from '@tsdapr/runtime';

try {
  const options = parseSentryOptions(process.argv.slice(2), process.env);
  const logger = createLogger({ service: 'sentry', level: options.logLevel });
  await runUntilSignal(createSentry(options, { logger }), logger);
} catch (err) {
  if (err instanceof HelpRequested) {
    process.stdout.write(`Usage: tsdapr-sentry [flags]\n${usage(SENTRY_FLAGS)}\n`);
  } else {
    process.stderr.write(`tsdapr-sentry: ${(err as Error).message}\n`);
    process.exitCode = 2;
  }
}
