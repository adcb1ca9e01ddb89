#!/usr/bin/env node
import { createLogger, serviceMain } from '@tsdapr/runtime';
import { OPERATOR_FLAGS, parseOperatorOptions } from './options.js';
import { createOperator } from './operator.js';

await serviceMain('tsdapr-operator', OPERATOR_FLAGS, () => {
  const options = parseOperatorOptions(process.argv.slice(2), process.env);
  const logger = createLogger({ service: 'operator', level: options.logLevel });
  return { service: createOperator(options, { logger }), logger };
});
