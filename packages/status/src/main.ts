#!/usr/bin/env node
// tsdapr-status, also installed as kubectl-tsdapr (`kubectl tsdapr status`).
import { HelpRequested, errorMessage, usage } from '@tsdapr/runtime';
import { STATUS_FLAGS, parseStatusOptions } from './options.js';
import { runStatus } from './status-command.js';

try {
  const options = parseStatusOptions(process.argv.slice(2), process.env);
  const { text } = await runStatus(options);
  process.stdout.write(text);
} catch (err) {
  if (err instanceof HelpRequested) {
    process.stdout.write(`Usage: tsdapr status [flags]\n${usage(STATUS_FLAGS)}\n`);
  } else {
    process.stderr.write(`tsdapr status: ${errorMessage(err)}\n`);
    process.exitCode = 1;
  }
}
