#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { IN_CLUSTER_TOKEN_PATH } from '@tsdapr/kube';
import { createLogger, HelpRequested, runUntilSignal, usage } from '@tsdapr/runtime';
import { createInjector } from './injector.js';
import { INJECTOR_FLAGS, parseInjectorOptions, SENTRY_TOKEN_PATH } from './options.js';

try {
  const options = parseInjectorOptions(process.argv.slice(2), process.env, {
    readResolvConf: () => (existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : undefined),
    hasServiceAccountToken: () => existsSync(IN_CLUSTER_TOKEN_PATH),
    sentryTokenFile: () => [SENTRY_TOKEN_PATH, IN_CLUSTER_TOKEN_PATH].find((path) => existsSync(path)),
  });
  const logger = createLogger({ service: 'injector', level: options.logLevel });
  await runUntilSignal(createInjector(options, { logger }), logger);
} catch (err) {
  if (err instanceof HelpRequested) {
    process.stdout.write(`Usage: tsdapr-injector [flags]\n${usage(INJECTOR_FLAGS)}\n`);
  } else {
    process.stderr.write(`tsdapr-injector: ${(err as Error).message}\n`);
    process.exitCode = 2;
  }
}
