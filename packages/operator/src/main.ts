#!/usr/bin/env node
import { createLogger, HelpRequested, runUntilSignal, usage } from '@tsdapr/runtime';
import { OPERATOR_FLAGS, parseOperatorOptions } from './options.js';
import { createOperator } from './operator.js';

try {
  const options = parseOperatorOptions(process.argv.slice(2), process.env);
  const logger = createLogger({ service: 'operator', level: options.logLevel });
  await runUntilSignal(createOperator(options, { logger }), logger);
} catch (err) {
  if (err instanceof HelpRequested) {
    process.stdout.write(`Usage: tsdapr-operator [flags]\n${usage(OPERATOR_FLAGS)}\n`);
  } else {
    process.stderr.write(`tsdapr-operator: ${(err as Error).message}\n`);
    process.exitCode = 2;
  }
}
