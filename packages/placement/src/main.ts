#!/usr/bin/env node
import { HelpRequested, createLogger, runUntilSignal, usage } from '@tsdapr/runtime';
import { PLACEMENT_FLAGS, parsePlacementOptions } from './options.js';
import { createPlacement } from './placement.js';

try {
  const options = parsePlacementOptions(process.argv.slice(2), process.env);
  const logger = createLogger({ service: 'placement', level: options.logLevel });
  await runUntilSignal(createPlacement(options, { logger }), logger);
} catch (err) {
  if (err instanceof HelpRequested) {
    process.stdout.write(`Usage: tsdapr-placement [flags]\n${usage(PLACEMENT_FLAGS)}\n`);
  } else {
    process.stderr.write(`tsdapr-placement: ${(err as Error).message}\n`);
    process.exitCode = 2;
  }
}
