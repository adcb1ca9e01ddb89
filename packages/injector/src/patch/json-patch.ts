import { TsdaprError } from '@tsdapr/runtime';
import type { PatchOperation } from './pod-types.js';

export class JsonPatchError extends TsdaprError {}

/**
 * Applies RFC 6902 `add`, `replace`, `remove` and `test` operations to a
 * copy of `document`, as the API server applies a webhook's patch. Used by
 * `tsdapr inject` and by tests to see the pod a patch produces.
 */
export function applyJsonPatch<T>(document: T, operations: readonly PatchOperation[]): T {
  let root: unknown = structuredClone(document);
  for (const [index, operation] of operations.entries()) {
    const tokens = parsePointer(operation.path);
    if (tokens.length === 0) {
      if (operation.op === 'add' || operation.op === 'replace') root = structuredClone(operation.value);
      else if (operation.op === 'remove') root = undefined;
      continue;
    }
    const parent = resolve(root, tokens.slice(0, -1), operation, index);
    const last = tokens[tokens.length - 1] ?? '';
    apply(parent, last, operation, index);
  }
  return root as T;
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new JsonPatchError('json_patch_invalid', `invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function resolve(root: unknown, tokens: readonly string[], operation: PatchOperation, index: number): unknown {
  let node = root;
  for (const token of tokens) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (typeof node === 'object' && node !== null) node = (node as Record<string, unknown>)[token];
    else node = undefined;
    if (node === undefined) throw missing(operation, index);
  }
  return node;
}

function apply(parent: unknown, key: string, operation: PatchOperation, index: number): void {
  const value = structuredClone(operation.value);
  if (Array.isArray(parent)) {
    const position = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(position) || position < 0 || position > parent.length) throw missing(operation, index);
    switch (operation.op) {
      case 'add':
        parent.splice(position, 0, value);
        return;
      case 'replace':
        if (position >= parent.length) throw missing(operation, index);
        parent[position] = value;
        return;
      case 'remove':
        if (position >= parent.length) throw missing(operation, index);
        parent.splice(position, 1);
        return;
      case 'test':
        if (JSON.stringify(parent[position]) !== JSON.stringify(value)) throw failedTest(operation, index);
        return;
    }
  }
  if (typeof parent !== 'object' || parent === null) throw missing(operation, index);
  const object = parent as Record<string, unknown>;
  switch (operation.op) {
    case 'add':
      object[key] = value;
      return;
    case 'replace':
      if (!Object.hasOwn(object, key)) throw missing(operation, index);
      object[key] = value;
      return;
    case 'remove':
      if (!Object.hasOwn(object, key)) throw missing(operation, index);
      delete object[key];
      return;
    case 'test':
      if (JSON.stringify(object[key]) !== JSON.stringify(value)) throw failedTest(operation, index);
      return;
  }
}

function missing(operation: PatchOperation, index: number): JsonPatchError {
  return new JsonPatchError('json_patch_path_missing', `operation ${index} (${operation.op} ${operation.path}): the path does not exist`);
}

function failedTest(operation: PatchOperation, index: number): JsonPatchError {
  return new JsonPatchError('json_patch_test_failed', `operation ${index} (test ${operation.path}): the value differs`);
}
