#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { IN_CLUSTER_TOKEN_PATH } from '@tsdapr/kube';
import { createLogger, serviceMain } from '@tsdapr/runtime';
import { createInjector } from './injector.js';
import { INJECTOR_FLAGS, parseInjectorOptions, SENTRY_TOKEN_PATH } from './options.js';

await serviceMain('tsdapr-injector', INJECTOR_FLAGS, () => {
  const options = parseInjectorOptions(process.argv.slice(2), process.env, {
    readResolvConf: () => (existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : undefined),
    hasServiceAccountToken: () => existsSync(IN_CLUSTER_TOKEN_PATH),
    sentryTokenFile: () => [SENTRY_TOKEN_PATH, IN_CLUSTER_TOKEN_PATH].find((path) => existsSync(path)),
  });
  const logger = createLogger({ service: 'injector', level: options.logLevel });
  return { service: createInjector(options, { logger }), logger };
});
