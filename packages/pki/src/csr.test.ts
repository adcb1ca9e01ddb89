import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { createCsr, parseCsr } from './csr.js';
import { CsrError, type CsrErrorCode } from './errors.js';
import { ALGORITHM_IDS, ecKey, handMadeCsr, openssl, rsaKey, withTempDir, write } from './fixtures.js';
import { generateKeyPair } from './key-pair.js';
import { encodePem } from './pem.js';

function spkiOf(key: KeyObject): Buffer {
  return createPublicKey(key).export({ type: 'spki', format: 'der' });
}

describe('parseCsr accepts what daprd and other clients send', () => {
  const cases: { name: string; make: () => { csr: string | Uint8Array; key: KeyObject }; algorithm: string }[] = [
    { name: 'P-256 from createCsr', algorithm: 'ecdsa-p256', make: () => keyed(generateKeyPair('ecdsa-p256').privateKey) },
    { name: 'Ed25519 from createCsr', algorithm: 'ed25519', make: () => keyed(generateKeyPair('ed25519').privateKey) },
    { name: 'RSA-2048 from createCsr', algorithm: 'rsa', make: () => keyed(rsaKey(2048)) },
    {
      name: 'bytes rather than a string',
      algorithm: 'ecdsa-p256',
      make: () => {
        const { csr, key } = keyed(generateKeyPair('ecdsa-p256').privateKey);
        return { csr: new TextEncoder().encode(csr), key };
      },
    },
    {
      name: 'the legacy "CERTIFICATE" PEM label',
      algorithm: 'ed25519',
      make: () => {
        const key = generateKeyPair('ed25519').privateKey;
        return { csr: handMadeCsr({ privateKey: key, digest: null, algorithm: ALGORITHM_IDS.ed25519, label: 'CERTIFICATE' }), key };
      },
    },
    {
      name: 'text around the PEM block and CRLF line ends',
      algorithm: 'ecdsa-p256',
      make: () => {
        const { csr, key } = keyed(generateKeyPair('ecdsa-p256').privateKey);
        return { csr: `subject=\r\n${csr.replace(/\n/g, '\r\n')}trailing`, key };
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { csr, key } = c.make();
      const parsed = parseCsr(csr);
      assert.equal(parsed.keyAlgorithm, c.algorithm);
      assert.deepEqual(parsed.publicKey.export({ type: 'spki', format: 'der' }), spkiOf(key));
    });
  }

  it('an openssl CSR with a subject and requested SANs (the key is all that is used)', () => {
    withTempDir((dir) => {
      openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'k.pem'], { cwd: dir });
      const csr = openssl(['req', '-new', '-key', 'k.pem', '-subj', '/CN=ignored', '-addext', 'subjectAltName=URI:spiffe://evil/ns/x/y', '-config', '/dev/null'], { cwd: dir });
      assert.equal(parseCsr(csr).keyAlgorithm, 'ecdsa-p256');
    });
  });

  it('an openssl Ed25519 CSR', () => {
    withTempDir((dir) => {
      openssl(['genpkey', '-algorithm', 'ED25519', '-out', 'k.pem'], { cwd: dir });
      const csr = openssl(['req', '-new', '-key', 'k.pem', '-subj', '/', '-config', '/dev/null'], { cwd: dir });
      assert.equal(parseCsr(csr).keyAlgorithm, 'ed25519');
    });
  });
});

function keyed(privateKey: KeyObject): { csr: string; key: KeyObject } {
  return { csr: createCsr(privateKey), key: privateKey };
}

describe('parseCsr rejects', () => {
  const validP256 = (): string => createCsr(generateKeyPair('ecdsa-p256').privateKey);
  const cases: { name: string; input: () => string | Uint8Array; code: CsrErrorCode; message: RegExp; maxBytes?: number }[] = [
    { name: 'an empty string', input: () => '', code: 'csr_empty', message: /empty/ },
    { name: 'empty bytes', input: () => new Uint8Array(0), code: 'csr_empty', message: /empty/ },
    { name: 'only whitespace', input: () => '  \n\t', code: 'csr_empty', message: /empty/ },
    { name: 'more than 16 KiB', input: () => `${validP256()}${' '.repeat(16 * 1024)}`, code: 'csr_too_large', message: /at most 16384/ },
    { name: 'more than a custom limit', input: validP256, maxBytes: 100, code: 'csr_too_large', message: /at most 100/ },
    { name: 'garbage text', input: () => 'definitely not a CSR', code: 'csr_not_pem', message: /no "-----BEGIN CERTIFICATE REQUEST-----"/ },
    { name: 'raw DER bytes', input: () => Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]), code: 'csr_not_pem', message: /not PEM/ },
    {
      name: 'a PUBLIC KEY PEM',
      input: () => encodePem('PUBLIC KEY', spkiOf(generateKeyPair('ed25519').privateKey)),
      code: 'csr_not_pem',
      message: /PEM type "PUBLIC KEY"; expected "CERTIFICATE REQUEST"/,
    },
    { name: 'broken base64', input: () => '-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n', code: 'csr_not_pem', message: /base64/ },
    {
      name: 'mismatched END label',
      input: () => '-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE-----\n',
      code: 'csr_not_pem',
      message: /ends with "END CERTIFICATE"/,
    },
    { name: 'garbage DER inside PEM', input: () => encodePem('CERTIFICATE REQUEST', Buffer.from('hello world')), code: 'csr_parse', message: /malformed/ },
    {
      name: 'trailing bytes after the CSR',
      input: () => {
        const der = Buffer.from(validP256().split('\n').filter((l) => !l.startsWith('-----')).join(''), 'base64');
        return encodePem('CERTIFICATE REQUEST', Buffer.concat([der, Buffer.from([0])]));
      },
      code: 'csr_parse',
      message: /unexpected data after CertificationRequest/,
    },
    {
      name: 'a tampered signature',
      input: () => handMadeCsr({ privateKey: generateKeyPair('ecdsa-p256').privateKey, digest: 'sha256', algorithm: ALGORITHM_IDS.ecdsaSha256, tamperSignature: true }),
      code: 'csr_signature_invalid',
      message: /signature/,
    },
    {
      name: 'a tampered Ed25519 signature',
      input: () => handMadeCsr({ privateKey: generateKeyPair('ed25519').privateKey, digest: null, algorithm: ALGORITHM_IDS.ed25519, tamperSignature: true }),
      code: 'csr_signature_invalid',
      message: /does not verify with its own public key/,
    },
    {
      name: 'a signature by another key',
      input: () =>
        handMadeCsr({
          privateKey: generateKeyPair('ecdsa-p256').privateKey,
          spki: spkiOf(generateKeyPair('ecdsa-p256').privateKey),
          digest: 'sha256',
          algorithm: ALGORITHM_IDS.ecdsaSha256,
        }),
      code: 'csr_signature_invalid',
      message: /does not verify/,
    },
    {
      name: 'a signature algorithm that does not match the key',
      input: () => handMadeCsr({ privateKey: generateKeyPair('ecdsa-p256').privateKey, digest: 'sha256', algorithm: ALGORITHM_IDS.ed25519 }),
      code: 'csr_signature_invalid',
      message: /does not match its ecdsa-p256 key/,
    },
    {
      name: 'an RSA-512 key',
      input: () => handMadeCsr({ privateKey: rsaKey(512), digest: 'sha256', algorithm: ALGORITHM_IDS.rsaSha256 }),
      code: 'csr_key_unsupported',
      message: /RSA key of 512 bits is too small; at least 2048/,
    },
    {
      name: 'an RSA-1024 key',
      input: () => handMadeCsr({ privateKey: rsaKey(1024), digest: 'sha256', algorithm: ALGORITHM_IDS.rsaSha256 }),
      code: 'csr_key_unsupported',
      message: /1024 bits is too small/,
    },
    {
      name: 'a P-384 key',
      input: () => handMadeCsr({ privateKey: ecKey('P-384'), digest: 'sha256', algorithm: ALGORITHM_IDS.ecdsaSha256 }),
      code: 'csr_key_unsupported',
      message: /P-384 is not supported/,
    },
    {
      name: 'a secp256k1 key',
      input: () => handMadeCsr({ privateKey: ecKey('secp256k1'), digest: 'sha256', algorithm: ALGORITHM_IDS.ecdsaSha256 }),
      code: 'csr_key_unsupported',
      message: /curve 1\.3\.132\.0\.10 is not supported/,
    },
    {
      name: 'an Ed448 key',
      input: () => handMadeCsr({ privateKey: generateKeyPairSync('ed448').privateKey, digest: null, algorithm: ALGORITHM_IDS.ed25519 }),
      code: 'csr_key_unsupported',
      message: /Ed448/,
    },
    {
      name: 'a DSA key',
      input: () =>
        handMadeCsr({
          privateKey: generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).privateKey,
          digest: 'sha256',
          algorithm: ALGORITHM_IDS.rsaSha256,
        }),
      code: 'csr_key_unsupported',
      message: /DSA keys are not supported/,
    },
    {
      name: 'a SHA-1 signature',
      input: () => handMadeCsr({ privateKey: rsaKey(2048), digest: 'sha1', algorithm: ALGORITHM_IDS.rsaSha1 }),
      code: 'csr_signature_algorithm_unsupported',
      message: /sha1WithRsa \(SHA-1 signatures are insecure\)/,
    },
  ];
  for (const c of cases) {
    it(`${c.name} with ${c.code}`, () => {
      const input = c.input();
      assert.throws(
        () => parseCsr(input, c.maxBytes === undefined ? undefined : { maxBytes: c.maxBytes }),
        (err: unknown) => {
          assert.ok(err instanceof CsrError, `expected CsrError, got ${String(err)}`);
          assert.equal(err.code, c.code);
          assert.match(err.message, c.message);
          return true;
        },
      );
    });
  }
});

describe('createCsr', () => {
  it('writes an empty subject, no attributes and a self-signature openssl accepts', () => {
    withTempDir((dir) => {
      write(dir, 'csr.pem', createCsr(generateKeyPair('ecdsa-p256').privateKey));
      const text = openssl(['req', '-in', 'csr.pem', '-verify', '-noout', '-text'], { cwd: dir });
      assert.match(text, /Subject:\s*\n/);
      assert.match(text, /Attributes:\s*\n\s*\(none\)/);
      assert.doesNotMatch(text, /Subject Alternative Name/);
    });
  });

  it('an RSA-2048 key (1.18 injector and operator SVIDs) signs its CSR with sha256WithRSAEncryption', () => {
    const { privateKey } = generateKeyPair('rsa-2048');
    assert.equal(privateKey.asymmetricKeyDetails?.modulusLength, 2048);
    const csr = createCsr(privateKey);
    assert.equal(parseCsr(csr).keyAlgorithm, 'rsa');
    withTempDir((dir) => {
      write(dir, 'csr.pem', csr);
      const text = openssl(['req', '-in', 'csr.pem', '-verify', '-noout', '-text'], { cwd: dir });
      assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
      assert.match(text, /Public-Key: \(2048 bit\)/);
    });
  });

  it('refuses a public key', () => {
    assert.throws(() => createCsr(generateKeyPair('ed25519').publicKey), { name: 'CsrError', code: 'csr_key_unsupported' });
  });
});
