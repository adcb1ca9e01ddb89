#!/usr/bin/env node
// tsdapr-sentry-request: asks a sentry for a workload certificate the way daprd
// does, and writes the key and certificate chain to files. For trying sentry
// out and for debugging "PermissionDenied" from the outside.
import { readFile, writeFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { createCsr, generateKeyPair } from '@tsdapr/pki';
import { HelpRequested, parseFlags, usage, type FlagSpec } from '@tsdapr/runtime';
import { sentryClient } from '@tsdapr/identity';

const FLAGS = {
  'sentry-address': { type: 'string', default: '127.0.0.1:50001', help: 'sentry gRPC address' },
  'trust-anchors-file': { type: 'string', default: '', help: 'PEM trust anchors (ca.crt of the trust bundle)' },
  'control-plane-trust-domain': { type: 'string', default: 'localhost', help: "trust domain in sentry's SPIFFE ID" },
  'control-plane-namespace': { type: 'string', default: 'default', help: "sentry's namespace" },
  'app-id': { type: 'string', default: '', help: 'the id to ask for' },
  namespace: { type: 'string', default: 'default', help: 'the namespace to ask for' },
  'token-file': { type: 'string', default: '', help: 'a service-account or JWKS token file (empty: none, as standalone daprd)' },
  validator: { type: 'string', default: 'UNKNOWN', help: 'UNKNOWN, INSECURE, KUBERNETES or JWKS' },
  'key-algorithm': { type: 'string', default: 'ecdsa-p256', help: 'ecdsa-p256 (as daprd 1.17) or ed25519 (as 1.18)' },
  out: { type: 'string', default: 'workload', help: 'writes <out>.crt (chain) and <out>.key' },
} as const satisfies Record<string, FlagSpec>;

try {
  const flags = parseFlags(FLAGS, process.argv.slice(2));
  if (!flags['app-id']) throw new Error('--app-id is required');
  if (!flags['trust-anchors-file']) throw new Error('--trust-anchors-file is required');
  const algorithm = flags['key-algorithm'] === 'ed25519' ? 'ed25519' : 'ecdsa-p256';
  const { privateKey } = generateKeyPair(algorithm);
  const client = sentryClient(
    flags['sentry-address'],
    await readFile(flags['trust-anchors-file'], 'utf8'),
    `spiffe://${flags['control-plane-trust-domain']}/ns/${flags['control-plane-namespace']}/dapr-sentry`,
  );
  try {
    const response = await client.sign({
      id: flags['app-id'],
      namespace: flags.namespace,
      token: flags['token-file'] ? (await readFile(flags['token-file'], 'utf8')).trim() : '',
      token_validator: flags.validator as 'UNKNOWN',
      certificate_signing_request: Buffer.from(createCsr(privateKey)),
    });
    await writeFile(`${flags.out}.crt`, response.workload_certificate);
    await writeFile(`${flags.out}.key`, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const leaf = new X509Certificate(response.workload_certificate);
    console.log(`issued ${leaf.subjectAltName ?? ''} valid until ${leaf.validTo}; wrote ${flags.out}.crt and ${flags.out}.key`);
  } finally {
    client.close();
  }
} catch (err) {
  if (err instanceof HelpRequested) console.log(`Usage: tsdapr-sentry-request [flags]\n${usage(FLAGS)}`);
  else {
    const details = (err as { details?: string }).details;
    console.error(`tsdapr-sentry-request: ${details ?? (err as Error).message}`);
    process.exitCode = 1;
  }
}
