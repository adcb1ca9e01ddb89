import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Go programs scripts/build-go-binaries.sh builds into the cache. */
export type BinaryName =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kubelet'
  | 'kube-proxy'
  | 'kube-scheduler'
  | 'kubectl'
  | 'coredns'
  | 'helm'
  | 'daprd'
  | 'upstream-sentry'
  | 'upstream-placement'
  | 'upstream-operator'
  | 'upstream-injector';

export class MissingBinaryError extends Error {
  readonly code = 'missing_binary';
}

/** The repository root, found from this compiled file (e2e/harness/dist/binaries.js). */
export function repoRoot(): string {
  return fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
}

let printed: ReadonlyMap<string, string> | undefined;

/**
 * The build script is the one place that knows the pinned versions and the
 * cache layout, so its `--print` output is asked rather than duplicated.
 */
function cachedPaths(): ReadonlyMap<string, string> {
  if (printed) return printed;
  const script = join(repoRoot(), 'scripts', 'build-go-binaries.sh');
  let output: string;
  try {
    output = execFileSync('bash', [script, '--print'], { encoding: 'utf8' });
  } catch (err) {
    throw new MissingBinaryError(`cannot list the Go binaries: "bash ${script} --print" failed`, { cause: err });
  }
  printed = parsePrintOutput(output);
  return printed;
}

/** Parses `NAME=PATH` lines. */
export function parsePrintOutput(output: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of output.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) paths.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return paths;
}

/**
 * The absolute path of a cached binary. With `version`, the same cache layout
 * (`<cache>/<name>-<version>/<name>`) is used for another version than the pinned one.
 * Throws a MissingBinaryError telling how to build it when it is not there.
 */
export function binaryPath(name: BinaryName, version?: string): string {
  const pinned = cachedPaths().get(name);
  if (!pinned) throw new MissingBinaryError(`scripts/build-go-binaries.sh --print does not list "${name}"`);
  const path = version ? join(dirname(dirname(pinned)), `${name}-${version}`, name) : pinned;
  try {
    accessSync(path, constants.X_OK);
  } catch (err) {
    throw new MissingBinaryError(`${name} is not built yet (expected an executable at ${path}): run pnpm go-binaries`, {
      cause: err,
    });
  }
  return path;
}
