#!/usr/bin/env node
import { createLogger, serviceMain } from '@tsdapr/runtime';
import { SCHEDULER_FLAGS, parseSchedulerOptions } from './options.js';
import { createScheduler } from './scheduler.js';

await serviceMain('tsdapr-scheduler', SCHEDULER_FLAGS, () => {
  const options = parseSchedulerOptions(process.argv.slice(2), process.env);
  const logger = createLogger({ service: 'scheduler', level: options.logLevel });
  return { service: createScheduler(options, { logger }), logger };
});
