#!/usr/bin/env node
import { createLogger, serviceMain } from '@tsdapr/runtime';
import { PLACEMENT_FLAGS, parsePlacementOptions } from './options.js';
import { createPlacement } from './placement.js';

await serviceMain('tsdapr-placement', PLACEMENT_FLAGS, () => {
  const options = parsePlacementOptions(process.argv.slice(2), process.env);
  const logger = createLogger({ service: 'placement', level: options.logLevel });
  return { service: createPlacement(options, { logger }), logger };
});
