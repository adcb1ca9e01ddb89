import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { generateCaBundle } from './ca-bundle.js';
import { BundleError, type BundleErrorCode, type BundleFile } from './errors.js';
import { DAY, NOW, SENTRY_ID, openssl, opensslCa, withTempDir } from './fixtures.js';
import { loadIssuer, type CaBundlePem } from './issuer.js';
import { encodePem } from './pem.js';

function bundle(algorithm: 'ecdsa-p256' | 'ed25519' = 'ecdsa-p256'): CaBundlePem {
  return generateCaBundle({ trustDomain: 'cluster.local', sentrySpiffeId: SENTRY_ID, algorithm, now: NOW });
}

interface Case {
  readonly name: string;
  readonly make: () => CaBundlePem;
  readonly code: BundleErrorCode;
  readonly file: BundleFile;
  readonly message: RegExp;
  readonly now?: Date;
}

describe('loadIssuer rejects unusable CA material with a BundleError naming the file and the fix', () => {
  const a = bundle('ecdsa-p256');
  const b = bundle('ed25519');
  // openssl-made material for what generateCaBundle never makes.
  let notCaIssuer: CaBundlePem;
  let selfSignedLeaf: string;
  before(() => {
    withTempDir((dir) => {
      const ca = opensslCa(dir, { keyType: 'ec', keyForm: 'pkcs8', intermediateIsCa: false });
      notCaIssuer = { trustAnchorsPem: ca.rootPem, issuerChainPem: ca.issuerPem, issuerKeyPem: ca.issuerKeyPem };
      openssl(['genpkey', '-algorithm', 'ED25519', '-out', 'leaf.key'], { cwd: dir });
      selfSignedLeaf = openssl(['req', '-new', '-x509', '-key', 'leaf.key', '-subj', '/O=not-a-ca', '-config', '/dev/null', '-addext', 'basicConstraints=critical,CA:FALSE', '-days', '30'], {
        cwd: dir,
      });
    });
  });

  const cases: Case[] = [
    { name: 'an empty ca.crt', make: () => ({ ...a, trustAnchorsPem: '' }), code: 'bundle_empty', file: 'ca.crt', message: /^ca\.crt: is empty\. Supply all three/ },
    { name: 'a blank issuer.crt', make: () => ({ ...a, issuerChainPem: ' \n' }), code: 'bundle_empty', file: 'issuer.crt', message: /^issuer\.crt: is empty/ },
    { name: 'an empty issuer.key', make: () => ({ ...a, issuerKeyPem: '' }), code: 'bundle_empty', file: 'issuer.key', message: /^issuer\.key: is empty/ },
    { name: 'garbage in ca.crt', make: () => ({ ...a, trustAnchorsPem: 'hello' }), code: 'bundle_anchor_parse', file: 'ca.crt', message: /ca\.crt: contains no "-----BEGIN CERTIFICATE-----" block/ },
    {
      name: 'a key in ca.crt',
      make: () => ({ ...a, trustAnchorsPem: a.issuerKeyPem }),
      code: 'bundle_anchor_parse',
      file: 'ca.crt',
      message: /ca\.crt: PEM block #1 is "PRIVATE KEY", expected "CERTIFICATE"/,
    },
    {
      name: 'a corrupt certificate in ca.crt',
      make: () => ({ ...a, trustAnchorsPem: a.trustAnchorsPem + encodePem('CERTIFICATE', Buffer.from('not DER')) }),
      code: 'bundle_anchor_parse',
      file: 'ca.crt',
      message: /ca\.crt: certificate #2 cannot be parsed/,
    },
    {
      name: 'an intermediate in ca.crt',
      make: () => ({ ...a, trustAnchorsPem: a.trustAnchorsPem + a.issuerChainPem }),
      code: 'bundle_anchor_not_self_signed',
      file: 'ca.crt',
      message: /ca\.crt: certificate #2 \(subject "O=spiffe:\/\/cluster\.local\/ns\/dapr-system\/dapr-sentry"\) is not self-signed.*put intermediates in issuer\.crt/,
    },
    {
      name: 'a self-signed non-CA in ca.crt',
      make: () => ({ ...a, trustAnchorsPem: selfSignedLeaf }),
      code: 'bundle_anchor_not_ca',
      file: 'ca.crt',
      message: /ca\.crt: certificate #1 \(subject "O=not-a-ca"\) is not a CA/,
    },
    { name: 'garbage in issuer.crt', make: () => ({ ...a, issuerChainPem: 'nope' }), code: 'bundle_issuer_parse', file: 'issuer.crt', message: /issuer\.crt: contains no/ },
    {
      name: 'an issuer that is not a CA',
      make: () => notCaIssuer,
      code: 'bundle_issuer_not_ca',
      file: 'issuer.crt',
      message: /issuer\.crt: certificate #1 \(subject "O=byo-issuer"\) is neither a CA nor allowed to sign certificates/,
    },
    { name: 'garbage in issuer.key', make: () => ({ ...a, issuerKeyPem: 'secret' }), code: 'bundle_key_parse', file: 'issuer.key', message: /issuer\.key: contains no "-----BEGIN PRIVATE KEY-----" block/ },
    {
      name: 'an encrypted issuer.key',
      make: () => ({ ...a, issuerKeyPem: encodePem('ENCRYPTED PRIVATE KEY', Buffer.from([0x30, 0])) }),
      code: 'bundle_key_parse',
      file: 'issuer.key',
      message: /Encrypted keys are not supported/,
    },
    {
      name: 'a corrupt key',
      make: () => ({ ...a, issuerKeyPem: encodePem('EC PRIVATE KEY', Buffer.from('junk')) }),
      code: 'bundle_key_parse',
      file: 'issuer.key',
      message: /issuer\.key: the "EC PRIVATE KEY" block cannot be parsed/,
    },
    {
      name: 'a secp256k1 issuer key',
      make: () => ({ ...a, issuerKeyPem: generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }),
      code: 'bundle_key_unsupported',
      file: 'issuer.key',
      message: /issuer\.key: ECDSA keys on secp256k1 are not supported/,
    },
    {
      name: 'the key of another issuer',
      make: () => ({ ...a, issuerKeyPem: bundle('ecdsa-p256').issuerKeyPem }),
      code: 'bundle_key_mismatch',
      file: 'issuer.key',
      message: /issuer\.key: does not match the public key of the issuer certificate/,
    },
    {
      name: 'a key of another type',
      make: () => ({ ...a, issuerKeyPem: b.issuerKeyPem }),
      code: 'bundle_key_mismatch',
      file: 'issuer.key',
      message: /does not match/,
    },
    {
      name: 'an issuer signed by an unknown root',
      make: () => ({ ...a, trustAnchorsPem: b.trustAnchorsPem }),
      code: 'bundle_chain_unverified',
      file: 'issuer.crt',
      message: /issuer\.crt: the issuer chain does not verify to any of the 1 root certificate\(s\) in ca\.crt .*was issued by "O=cluster\.local"\)\. Add the root/,
    },
    {
      name: 'intermediates in the wrong order',
      make: () => ({ ...a, issuerChainPem: a.issuerChainPem + b.issuerChainPem }),
      code: 'bundle_chain_unverified',
      file: 'issuer.crt',
      message: /issuer\.crt: certificate #1 .* was not issued by certificate #2 .*Order issuer\.crt/,
    },
    {
      name: 'an expired issuer',
      make: () => a,
      now: new Date(NOW.getTime() + 400 * DAY),
      code: 'bundle_not_valid_now',
      file: 'issuer.crt',
      message: /issuer\.crt: certificate #1 .* expired at .*Rotate the trust bundle/,
    },
    {
      name: 'an issuer that is not valid yet',
      make: () => a,
      now: new Date(NOW.getTime() - DAY),
      code: 'bundle_not_valid_now',
      file: 'issuer.crt',
      message: /is not valid until/,
    },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.code}`, () => {
      const input = c.make();
      assert.throws(
        () => loadIssuer(input, c.now ?? NOW),
        (err: unknown) => {
          assert.ok(err instanceof BundleError, `expected BundleError, got ${String(err)}`);
          assert.equal(err.code, c.code);
          assert.equal(err.file, c.file);
          assert.match(err.message, c.message);
          return true;
        },
      );
    });
  }

  it('names the keys as configured (global.issuerFilenames)', () => {
    assert.throws(
      () => loadIssuer({ ...a, issuerKeyPem: bundle().issuerKeyPem }, NOW, { fileNames: { 'issuer.crt': 'tls.crt', 'issuer.key': 'tls.key' } }),
      (err: unknown) => err instanceof BundleError && err.file === 'issuer.key' && /^tls\.key: .*first certificate in tls\.crt/.test(err.message),
    );
  });
});
