/**
 * Builders for tests: hand-made CSRs (including ones createCsr refuses to
 * make), openssl runs and CA material. Not exported from the package.
 */
import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bitString, contextTag, sequence, smallInteger, tlv, TAG } from './der-writer.js';
import { OID } from './oids.js';
import { encodePem } from './pem.js';

export const NOW = new Date('2026-06-01T12:00:00Z');
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const SENTRY_ID = 'spiffe://cluster.local/ns/dapr-system/dapr-sentry';

export interface CsrParts {
  readonly privateKey: KeyObject;
  /** Digest for crypto.sign (null for EdDSA). */
  readonly digest: string | null;
  /** DER AlgorithmIdentifier written into the CSR. */
  readonly algorithm: Buffer;
  /** Override the SubjectPublicKeyInfo (default: the key's own). */
  readonly spki?: Buffer;
  /** Flip a bit of the signature. */
  readonly tamperSignature?: boolean;
  readonly label?: string;
}

/** A CSR built by hand, so tests can make what createCsr never would. */
export function handMadeCsr(parts: CsrParts): string {
  const spki = parts.spki ?? createPublicKey(parts.privateKey).export({ type: 'spki', format: 'der' });
  const info = sequence(smallInteger(0), sequence(), spki, tlv(contextTag(0, true)));
  const signature = sign(parts.digest, info, parts.privateKey);
  if (parts.tamperSignature) signature[signature.length - 1] = (signature[signature.length - 1] ?? 0) ^ 0x01;
  return encodePem(parts.label ?? 'CERTIFICATE REQUEST', sequence(info, parts.algorithm, bitString(signature)));
}

export const ALGORITHM_IDS = {
  ecdsaSha256: sequence(OID.ecdsaWithSha256),
  ed25519: sequence(OID.ed25519),
  rsaSha256: sequence(OID.sha256WithRsa, Buffer.from([TAG.null, 0])),
  rsaSha1: sequence(OID.sha1WithRsa, Buffer.from([TAG.null, 0])),
} as const;

export function rsaKey(bits: number): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: bits }).privateKey;
}

export function ecKey(namedCurve: string): KeyObject {
  return generateKeyPairSync('ec', { namedCurve }).privateKey;
}

/** Runs fn with a fresh temporary directory, removed afterwards. */
export function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'tsdapr-pki-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function withTempDirAsync<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'tsdapr-pki-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the openssl CLI in dir; returns stdout. */
export function openssl(args: readonly string[], options: { cwd: string }): string {
  return execFileSync('openssl', args, { cwd: options.cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function write(dir: string, name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

export function read(dir: string, name: string): string {
  return readFileSync(join(dir, name), 'utf8');
}

/**
 * A brought-your-own CA made by the openssl CLI: root, intermediate
 * (the issuer) with the key in the given openssl form.
 */
export function opensslCa(
  dir: string,
  options: { keyType: 'ec' | 'rsa'; keyForm: 'pkcs8' | 'traditional'; days?: number; intermediateIsCa?: boolean; prefix?: string },
): { rootPem: string; issuerPem: string; issuerKeyPem: string } {
  const p = options.prefix ?? '';
  const days = String(options.days ?? 30);
  const newKey = (name: string): void => {
    if (options.keyType === 'ec') openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name], { cwd: dir });
    else openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', name], { cwd: dir });
  };
  newKey(`${p}root.key`);
  newKey(`${p}int.key`);
  write(
    dir,
    `${p}ext.cnf`,
    [
      '[req]',
      'distinguished_name = dn',
      '[dn]',
      '[root]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '[int]',
      options.intermediateIsCa === false ? 'basicConstraints = critical, CA:FALSE' : 'basicConstraints = critical, CA:TRUE, pathlen:0',
      options.intermediateIsCa === false ? 'keyUsage = critical, digitalSignature' : 'keyUsage = critical, keyCertSign, cRLSign, digitalSignature',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  openssl(['req', '-new', '-x509', '-key', `${p}root.key`, '-subj', `/O=${p}byo-root`, '-days', days, '-config', `${p}ext.cnf`, '-extensions', 'root', '-out', `${p}root.pem`], { cwd: dir });
  openssl(['req', '-new', '-key', `${p}int.key`, '-subj', `/O=${p}byo-issuer`, '-config', `${p}ext.cnf`, '-out', `${p}int.csr`], { cwd: dir });
  openssl(
    ['x509', '-req', '-in', `${p}int.csr`, '-CA', `${p}root.pem`, '-CAkey', `${p}root.key`, '-CAcreateserial', '-days', days, '-extfile', `${p}ext.cnf`, '-extensions', 'int', '-out', `${p}int.pem`],
    { cwd: dir },
  );
  let issuerKeyPem = read(dir, `${p}int.key`);
  if (options.keyForm === 'traditional') {
    // SEC1 "EC PRIVATE KEY" / PKCS#1 "RSA PRIVATE KEY".
    issuerKeyPem = options.keyType === 'ec' ? openssl(['ec', '-in', `${p}int.key`], { cwd: dir }) : openssl(['rsa', '-in', `${p}int.key`, '-traditional'], { cwd: dir });
  }
  return { rootPem: read(dir, `${p}root.pem`), issuerPem: read(dir, `${p}int.pem`), issuerKeyPem };
}
