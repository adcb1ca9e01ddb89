#!/usr/bin/env node
// Writes crds/*.yaml at the repository root from the schemas in this folder.
//   pnpm generate:crds             # write
//   pnpm generate:crds --check     # exit 1 when a committed file is stale
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allCrds, crdFileName, renderCrdYaml } from './all-crds.js';

const dir = fileURLToPath(new URL('../../../../crds/', import.meta.url));
const check = process.argv.includes('--check');
mkdirSync(dir, { recursive: true });
let stale = 0;
for (const crd of allCrds()) {
  const file = join(dir, crdFileName(crd));
  const text = renderCrdYaml(crd);
  const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  if (current === text) continue;
  if (check) {
    console.error(`stale: ${file}`);
    stale += 1;
  } else {
    writeFileSync(file, text);
    console.log(`wrote ${file}`);
  }
}
if (stale > 0) {
  console.error('run `pnpm generate:crds` and commit the result');
  process.exitCode = 1;
}
