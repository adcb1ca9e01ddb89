import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './binaries.js';

/**
 * The images scripts/build-images.sh writes as OCI archives (`ctr -n k8s.io images import`
 * takes them), by name; the script's `--list` prints the same table. Bases and upstream
 * daprd live in ~/.cache/tsdapr/images, images of this repository's code in .tsdapr/images.
 */
export const IMAGES = {
  pause: 'localhost/tsdapr/pause:3.10',
  busybox: 'localhost/tsdapr/busybox:1.35',
  /** Stands in for node:20-bookworm-slim: the host's node, its libraries, CA certificates, busybox. */
  'node-base': 'localhost/tsdapr/node-base:20',
  /** Upstream daprd (scripts/build-go-binaries.sh) at /daprd, uid 65532. */
  'daprd-1.17': 'localhost/tsdapr/daprd:1.17.5',
  'daprd-1.18': 'localhost/tsdapr/daprd:1.18.1',
  /** The repository's Dockerfile: the five services and etcd. */
  tsdapr: 'localhost/tsdapr/tsdapr:dev',
  /** samples/apps/Dockerfile on node-base. */
  'sample-app': 'localhost/tsdapr/sample-app:dev',
} as const;

export type ImageName = keyof typeof IMAGES;

export interface BuiltImage {
  readonly name: string;
  readonly ref: string;
  /** An OCI image archive (oci-archive) whose index names the image `ref`. */
  readonly archive: string;
}

export class ImageBuildError extends Error {
  readonly code = 'image_build_failed';
}

export interface BuildImagesOptions {
  /** Each progress line of the script (stderr); default: dropped, shown only if the build fails. */
  readonly log?: (line: string) => void;
}

function isImageName(name: string): name is ImageName {
  return Object.hasOwn(IMAGES, name);
}

/**
 * Builds the named images (and the bases they need) with scripts/build-images.sh, which
 * needs root and buildah; unchanged images are not rebuilt. Resolves to each named image's
 * archive, in the order given.
 */
export async function buildImages(names: readonly string[], options: BuildImagesOptions = {}): Promise<ReadonlyArray<BuiltImage>> {
  const unknown = names.filter((name) => !isImageName(name));
  if (unknown.length > 0) throw new ImageBuildError(`unknown image ${unknown.join(', ')} (known: ${Object.keys(IMAGES).join(', ')})`);
  if (names.length === 0) return [];
  const script = join(repoRoot(), 'scripts', 'build-images.sh');
  const { code, stdout, stderr } = await run('bash', [script, ...names], options.log);
  if (code !== 0) {
    throw new ImageBuildError(`"bash ${script} ${names.join(' ')}" failed (${code}):\n${stderr.split('\n').slice(-40).join('\n')}`);
  }
  const built = new Map<string, BuiltImage>();
  for (const line of stdout.split('\n')) {
    const [tag, name, ref, archive] = line.trim().split(/\s+/);
    if (tag === 'image' && name && ref && archive) built.set(name, { name, ref, archive });
  }
  return names.map((name) => {
    const image = built.get(name);
    if (!image) throw new ImageBuildError(`scripts/build-images.sh did not report image ${name}; its output:\n${stdout}`);
    if (image.ref !== IMAGES[name as ImageName]) throw new ImageBuildError(`scripts/build-images.sh built ${name} as ${image.ref}, expected ${IMAGES[name as ImageName]}`);
    return image;
  });
}

function run(command: string, args: readonly string[], log?: (line: string) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (!log) return;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) log(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (log && pending) log(pending);
      resolve({ code, stdout, stderr });
    });
  });
}
