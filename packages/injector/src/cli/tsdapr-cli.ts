#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { HelpRequested, parseFlags, usage, type FlagSpec } from '@tsdapr/runtime';
import { defaultInjectorSettings } from '../patch/injector-settings.js';
import { injectManifest } from './inject-manifest.js';

const INJECT_FLAGS = {
  f: { type: 'string', default: '', help: 'manifest to read (YAML, several documents allowed); "-" for stdin' },
  filename: { type: 'string', default: '', help: 'same as -f' },
  namespace: { type: 'string', default: 'default', help: 'namespace of objects that name none' },
  'sidecar-image': { type: 'string', default: 'ghcr.io/dapr/daprd:1.17.5', env: 'SIDECAR_IMAGE', help: 'daprd image' },
  'image-pull-policy': { type: 'string', default: 'IfNotPresent', help: 'Always, IfNotPresent or Never' },
  'control-plane-namespace': { type: 'string', default: 'dapr-system', help: 'where the Dapr control plane runs' },
  'control-plane-trust-domain': { type: 'string', default: 'cluster.local', help: 'control-plane trust domain' },
  'kube-cluster-domain': { type: 'string', default: 'cluster.local', help: 'cluster DNS domain' },
  'trust-anchors-file': { type: 'string', default: '', help: 'PEM for DAPR_TRUST_ANCHORS (the ca.crt of ConfigMap dapr-trust-bundle)' },
  mtls: { type: 'bool', default: true, help: 'pass --enable-mtls (the daprsystem Configuration’s mtls.enabled)' },
  'scheduler-enabled': { type: 'bool', default: true, help: 'give sidecars the scheduler address' },
  'actors-enabled': { type: 'bool', default: true, help: 'give sidecars the placement address' },
  'native-sidecar': { type: 'bool', default: false, help: 'inject daprd as a native sidecar unless a pod says otherwise' },
} as const satisfies Record<string, FlagSpec>;

const HELP = `Usage: tsdapr inject -f <manifest.yaml> [flags]

Prints the manifest with the daprd sidecar added to every Pod and workload
pod template annotated dapr.io/enabled: "true", exactly as the injector
webhook would add it. Warnings go to stderr; annotations the webhook would
refuse are errors (exit code 1, nothing printed).

Flags:
${usage(INJECT_FLAGS)}
`;

function main(argv: readonly string[]): number {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'inject') {
    process.stderr.write(`tsdapr: unknown command "${command}" (try "tsdapr help")\n`);
    return 2;
  }
  const flags = parseFlags(INJECT_FLAGS, rest, process.env);
  const file = flags.f || flags.filename;
  if (file === '') {
    process.stderr.write('tsdapr inject: -f <manifest> is required\n');
    return 2;
  }
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  const anchors = flags['trust-anchors-file'] === '' ? '' : readFileSync(flags['trust-anchors-file'], 'utf8');
  if (anchors === '') process.stderr.write('tsdapr inject: no --trust-anchors-file: DAPR_TRUST_ANCHORS is left empty, and daprd needs it in Kubernetes\n');
  const policy = flags['image-pull-policy'];
  const result = injectManifest(text, {
    defaultNamespace: flags.namespace,
    settings: defaultInjectorSettings({
      sidecarImage: flags['sidecar-image'],
      imagePullPolicy: policy === 'Always' || policy === 'Never' ? policy : 'IfNotPresent',
      controlPlaneNamespace: flags['control-plane-namespace'],
      controlPlaneTrustDomain: flags['control-plane-trust-domain'],
      kubeClusterDomain: flags['kube-cluster-domain'],
      trustAnchorsPem: anchors,
      mtlsEnabled: flags.mtls,
      schedulerEnabled: flags['scheduler-enabled'],
      actorsEnabled: flags['actors-enabled'],
      nativeSidecarDefault: flags['native-sidecar'],
    }),
  });
  for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`);
  if (result.errors.length > 0) {
    for (const error of result.errors) process.stderr.write(`error: ${error}\n`);
    return 1;
  }
  process.stdout.write(result.yaml);
  if (result.injected === 0) process.stderr.write('tsdapr inject: no pod in the manifest has dapr.io/enabled: "true"\n');
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  if (err instanceof HelpRequested) {
    process.stdout.write(HELP);
  } else {
    process.stderr.write(`tsdapr: ${(err as Error).message}\n`);
    process.exitCode = 2;
  }
}
