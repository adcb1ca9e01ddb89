import { X509Certificate, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { readCertificateFields, type CertificateFields } from './certificate-fields.js';
import { BundleError, SignError, type BundleErrorCode, type BundleFile } from './errors.js';
import { LeafTemplate } from './leaf-template.js';
import { PemError, decodePem, encodePem } from './pem.js';
import { UnsupportedKeyError, leafKeyAlgorithm, publicKeyDer, type PublicKeyDer } from './public-key.js';
import { SerialSource } from './serial-number.js';
import { signatureAlgorithmFor, type SignatureAlgorithm } from './signature-algorithm.js';
import { isSpiffeId } from './spiffe-id.js';

/** The three keys of the `dapr-trust-bundle` Secret. */
export interface CaBundlePem {
  /** `ca.crt`: one or more root certificates. */
  readonly trustAnchorsPem: string;
  /** `issuer.crt`: the issuer certificate, then any intermediates. */
  readonly issuerChainPem: string;
  /** `issuer.key`: the issuer's private key (PKCS#8, SEC1 or PKCS#1 PEM). */
  readonly issuerKeyPem: string;
}

export interface SignRequest {
  /** The one URI SAN, `spiffe://<td>/ns/<ns>/<id>`. */
  readonly spiffeId: string;
  /** DNS SANs, only for the special control-plane identities. */
  readonly dnsNames?: readonly string[];
  /** The workload's public key (from `parseCsr`): P-256, Ed25519 or RSA ≥ 2048. */
  readonly publicKey: KeyObject;
  readonly now: Date;
  readonly ttlMs: number;
  readonly allowedClockSkewMs: number;
}

export interface SignedCert {
  /** The leaf PEM followed by the issuer chain PEM (what `workload_certificate` carries). */
  readonly certificatePem: string;
  readonly leafDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** A validated issuer: signs workload certificates. */
export interface Issuer {
  /** Validity of the issuer certificate. */
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Every root in `ca.crt`. */
  readonly anchors: readonly X509Certificate[];
  /** The roots re-encoded as canonical PEM. */
  readonly trustAnchorsPem: string;
  /** The issuer certificate and intermediates as canonical PEM (a trailing root stripped). */
  readonly issuerChainPem: string;
  /** The issuer certificate itself. */
  readonly certificate: X509Certificate;
  /** Chosen by the issuer key: ecdsa-with-SHA256 for P-256, Ed25519, sha256WithRSAEncryption. */
  readonly signatureAlgorithm: SignatureAlgorithm['name'];
  sign(request: SignRequest): SignedCert;
}

export interface LoadIssuerOptions {
  /**
   * The Secret keys as configured (`--issuer-ca-filename` and friends), so
   * messages name what the operator actually sees. Defaults to the roles.
   */
  readonly fileNames?: Partial<Record<BundleFile, string>>;
}

interface ParsedCert {
  readonly x509: X509Certificate;
  readonly fields: CertificateFields;
  readonly label: string;
}

const KEY_TYPES: Readonly<Record<string, 'pkcs8' | 'sec1' | 'pkcs1'>> = {
  'PRIVATE KEY': 'pkcs8',
  'EC PRIVATE KEY': 'sec1',
  'RSA PRIVATE KEY': 'pkcs1',
};

/**
 * Validates supplied CA material the way sentry does at startup (dapr/dapr:pkg/sentry/server/ca/validate.go@v1.17.5)
 * and returns an issuer that signs with it. Every failure is a BundleError
 * naming the Secret key at fault and what to do about it.
 */
export function loadIssuer(bundle: CaBundlePem, now: Date, options: LoadIssuerOptions = {}): Issuer {
  const name = (file: BundleFile): string => options.fileNames?.[file] ?? file;
  const fail = (code: BundleErrorCode, file: BundleFile, message: string, cause?: unknown): BundleError =>
    new BundleError(code, file, `${name(file)}: ${message}`, cause === undefined ? undefined : { cause });

  const inputs: [BundleFile, string][] = [
    ['ca.crt', bundle.trustAnchorsPem],
    ['issuer.crt', bundle.issuerChainPem],
    ['issuer.key', bundle.issuerKeyPem],
  ];
  for (const [file, text] of inputs) {
    if (text.trim() === '') {
      throw fail('bundle_empty', file, 'is empty. Supply all three of ca.crt, issuer.crt and issuer.key, or remove all three so sentry generates a new trust bundle');
    }
  }

  // ca.crt: every root, each self-signed and a CA.
  const anchors = parseCertificates(bundle.trustAnchorsPem, (message, cause) => fail('bundle_anchor_parse', 'ca.crt', message, cause));
  anchors.forEach((anchor, i) => {
    if (!isSelfSigned(anchor.x509)) {
      throw fail(
        'bundle_anchor_not_self_signed',
        'ca.crt',
        `${describe(anchor, i)} is not self-signed (its signature does not verify with its own key). ca.crt must hold only root certificates; put intermediates in issuer.crt`,
      );
    }
    if (!anchor.fields.isCa) {
      throw fail('bundle_anchor_not_ca', 'ca.crt', `${describe(anchor, i)} is not a CA (basicConstraints CA:TRUE is missing). Use a root certificate created as a CA`);
    }
  });

  // issuer.crt: issuer first, then intermediates; a trailing root is dropped.
  const chain = parseCertificates(bundle.issuerChainPem, (message, cause) => fail('bundle_issuer_parse', 'issuer.crt', message, cause));
  const last = chain.at(-1);
  if (chain.length > 1 && last && isSelfSigned(last.x509)) chain.pop();
  const [issuer] = chain;
  if (!issuer) throw new Error('unreachable: parseCertificates returns at least one certificate');
  if (!issuer.fields.isCa && issuer.fields.keyCertSign !== true) {
    throw fail(
      'bundle_issuer_not_ca',
      'issuer.crt',
      `${describe(issuer, 0)} is neither a CA nor allowed to sign certificates (needs basicConstraints CA:TRUE or keyUsage keyCertSign). Use an intermediate CA certificate as the issuer`,
    );
  }

  // issuer.key: must be the issuer certificate's key.
  const privateKey = parsePrivateKey(bundle.issuerKeyPem, (code, message, cause) => fail(code, 'issuer.key', message, cause));
  const signatureAlgorithm = signatureAlgorithmFor(privateKey);
  if (typeof signatureAlgorithm === 'string') throw fail('bundle_key_unsupported', 'issuer.key', `${signatureAlgorithm}. Use an ECDSA P-256, Ed25519 or RSA (2048 bits or more) issuer key`);
  if (!keyMatches(issuer.x509, privateKey)) {
    throw fail(
      'bundle_key_mismatch',
      'issuer.key',
      `does not match the public key of the issuer certificate (first certificate in ${name('issuer.crt')}). Supply the private key that belongs to that certificate`,
    );
  }

  // The chain must verify link by link and end at one of the roots.
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i];
    const parent = chain[i + 1];
    if (!child || !parent) continue;
    if (!parent.fields.isCa && parent.fields.keyCertSign !== true) {
      throw fail('bundle_chain_unverified', 'issuer.crt', `${describe(parent, i + 1)} is not a CA, so it cannot have signed ${describe(child, i)}`);
    }
    if (!child.x509.checkIssued(parent.x509) || !child.x509.verify(parent.x509.publicKey)) {
      throw fail(
        'bundle_chain_unverified',
        'issuer.crt',
        `${describe(child, i)} was not issued by ${describe(parent, i + 1)}. Order issuer.crt as the issuer first, then each intermediate followed by the one that signed it`,
      );
    }
  }
  const top = chain.at(-1) ?? issuer;
  const anchor =
    anchors.find((root) => root.x509.raw.equals(top.x509.raw)) ??
    anchors.find((root) => top.x509.checkIssued(root.x509) && top.x509.verify(root.x509.publicKey));
  if (!anchor) {
    throw fail(
      'bundle_chain_unverified',
      'issuer.crt',
      `the issuer chain does not verify to any of the ${anchors.length} root certificate(s) in ${name('ca.crt')} (${describe(top, chain.length - 1)} was issued by "${oneLine(top.x509.issuer)}"). Add the root that signed it to ${name('ca.crt')}, or supply the issuer that this root signed`,
    );
  }

  // Every certificate on the path must be valid now.
  const path: [BundleFile, ParsedCert, number][] = chain.map((cert, i): [BundleFile, ParsedCert, number] => ['issuer.crt', cert, i]);
  path.push(['ca.crt', anchor, anchors.indexOf(anchor)]);
  for (const [file, cert, i] of path) {
    if (now < cert.fields.notBefore || now > cert.fields.notAfter) {
      const state = now < cert.fields.notBefore ? `is not valid until ${cert.fields.notBefore.toISOString()}` : `expired at ${cert.fields.notAfter.toISOString()}`;
      throw fail('bundle_not_valid_now', file, `${describe(cert, i)} ${state} (now ${now.toISOString()}). Rotate the trust bundle`);
    }
  }

  return new LoadedIssuer({
    issuer,
    anchors: anchors.map((a) => a.x509),
    chain: chain.map((c) => c.x509),
    privateKey,
    signatureAlgorithm,
  });
}

function parseCertificates(text: string, fail: (message: string, cause?: unknown) => BundleError): ParsedCert[] {
  let blocks;
  try {
    blocks = decodePem(text);
  } catch (err) {
    if (err instanceof PemError) throw fail(`is not valid PEM: ${err.message}`, err);
    throw err;
  }
  if (blocks.length === 0) throw fail('contains no "-----BEGIN CERTIFICATE-----" block. Supply PEM-encoded certificates');
  return blocks.map((block, i) => {
    if (block.label !== 'CERTIFICATE') throw fail(`PEM block #${i + 1} is "${block.label}", expected "CERTIFICATE". Only certificates belong in this key`);
    try {
      const x509 = new X509Certificate(block.der);
      return { x509, fields: readCertificateFields(block.der), label: oneLine(x509.subject) };
    } catch (err) {
      throw fail(`certificate #${i + 1} cannot be parsed (${err instanceof Error ? err.message : String(err)}). Supply valid PEM-encoded X.509 certificates`, err);
    }
  });
}

function parsePrivateKey(text: string, fail: (code: BundleErrorCode, message: string, cause?: unknown) => BundleError): KeyObject {
  let blocks;
  try {
    blocks = decodePem(text);
  } catch (err) {
    if (err instanceof PemError) throw fail('bundle_key_parse', `is not valid PEM: ${err.message}. Supply an unencrypted PKCS#8, EC or RSA private key`, err);
    throw err;
  }
  // Skip blocks such as "EC PARAMETERS" that `openssl ecparam -genkey` writes first.
  const block = blocks.find((b) => b.label.endsWith('PRIVATE KEY'));
  if (!block) throw fail('bundle_key_parse', 'contains no "-----BEGIN PRIVATE KEY-----" block. Supply a PEM private key (PKCS#8, EC or RSA)');
  const type = KEY_TYPES[block.label];
  if (!type) {
    const hint =
      block.label === 'ENCRYPTED PRIVATE KEY'
        ? 'Encrypted keys are not supported; decrypt it (openssl pkcs8 -topk8 -nocrypt)'
        : 'Use PKCS#8 ("PRIVATE KEY"), SEC1 ("EC PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY")';
    throw fail('bundle_key_parse', `has a "${block.label}" block. ${hint}`);
  }
  try {
    return createPrivateKey({ key: block.der, format: 'der', type });
  } catch (err) {
    throw fail('bundle_key_parse', `the "${block.label}" block cannot be parsed (${err instanceof Error ? err.message : String(err)}). Supply a valid unencrypted private key`, err);
  }
}

function isSelfSigned(cert: X509Certificate): boolean {
  try {
    return cert.checkIssued(cert) && cert.verify(cert.publicKey);
  } catch {
    // A key type Node cannot verify with cannot be a usable root either.
    return false;
  }
}

function keyMatches(cert: X509Certificate, privateKey: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(privateKey);
  } catch {
    // Different key types: certainly not a match.
    return false;
  }
}

function describe(cert: ParsedCert, index: number): string {
  return `certificate #${index + 1} (subject "${cert.label}")`;
}

function oneLine(name: string): string {
  return name.trim().split('\n').join(', ');
}

const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

function isDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  if (labels[0] === '*') labels.shift();
  return labels.length > 0 && labels.every((label) => DNS_LABEL.test(label));
}

const MAX_X509_TIME = Date.UTC(9999, 11, 31, 23, 59, 59);

class LoadedIssuer implements Issuer {
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly anchors: readonly X509Certificate[];
  readonly trustAnchorsPem: string;
  readonly issuerChainPem: string;
  readonly certificate: X509Certificate;
  readonly signatureAlgorithm: SignatureAlgorithm['name'];
  private readonly privateKey: KeyObject;
  private readonly digest: SignatureAlgorithm['digest'];
  private readonly template: LeafTemplate;
  private readonly serials = new SerialSource();

  constructor(input: {
    issuer: ParsedCert;
    anchors: X509Certificate[];
    chain: X509Certificate[];
    privateKey: KeyObject;
    signatureAlgorithm: SignatureAlgorithm;
  }) {
    this.notBefore = input.issuer.fields.notBefore;
    this.notAfter = input.issuer.fields.notAfter;
    this.anchors = Object.freeze([...input.anchors]);
    this.trustAnchorsPem = input.anchors.map((cert) => encodePem('CERTIFICATE', cert.raw)).join('');
    this.issuerChainPem = input.chain.map((cert) => encodePem('CERTIFICATE', cert.raw)).join('');
    this.certificate = input.issuer.x509;
    this.signatureAlgorithm = input.signatureAlgorithm.name;
    this.privateKey = input.privateKey;
    this.digest = input.signatureAlgorithm.digest;
    this.template = new LeafTemplate({
      subjectDer: input.issuer.fields.subjectDer,
      subjectKeyId: input.issuer.fields.subjectKeyId,
      signatureAlgorithm: input.signatureAlgorithm,
    });
  }

  sign(request: SignRequest): SignedCert {
    const { spiffeId, publicKey, now, ttlMs, allowedClockSkewMs } = request;
    const dnsNames = request.dnsNames ?? [];
    if (!isSpiffeId(spiffeId)) {
      throw new SignError('sign_invalid_spiffe_id', `"${spiffeId}" is not a valid SPIFFE ID (expected spiffe://<trust-domain>/<path> with letters, digits, ".", "-" and "_")`);
    }
    for (const dns of dnsNames) {
      if (!isDnsName(dns)) throw new SignError('sign_invalid_dns_name', `"${dns}" is not a valid DNS name`);
    }
    const nowMs = now.getTime();
    if (!Number.isFinite(nowMs) || !Number.isFinite(ttlMs) || ttlMs <= 0 || !Number.isFinite(allowedClockSkewMs) || allowedClockSkewMs < 0) {
      throw new SignError('sign_invalid_validity', `invalid validity: now=${String(now)}, ttlMs=${ttlMs}, allowedClockSkewMs=${allowedClockSkewMs} (ttl must be > 0, skew >= 0)`);
    }
    // X.509 times have whole seconds; report exactly what the certificate says.
    const notBefore = new Date(Math.floor((nowMs - allowedClockSkewMs) / 1000) * 1000);
    const notAfter = new Date(Math.floor((nowMs + ttlMs) / 1000) * 1000);
    if (notBefore.getUTCFullYear() < 0 || notAfter.getTime() > MAX_X509_TIME) {
      throw new SignError('sign_invalid_validity', `validity ${notBefore.toISOString()} to ${notAfter.toISOString()} is outside what X.509 can express`);
    }

    let key: PublicKeyDer;
    try {
      leafKeyAlgorithm(publicKey);
      key = publicKeyDer(publicKey);
    } catch (err) {
      if (err instanceof UnsupportedKeyError) throw new SignError('sign_key_unsupported', `workload key: ${err.message}`, { cause: err });
      throw new SignError('sign_key_unsupported', 'workload key cannot be encoded', { cause: err });
    }

    const tbs = this.template.tbs({ serial: this.serials.draw(), notBefore, notAfter, spki: key.spki, keyId: key.keyId, spiffeId, dnsNames });
    let signature: Buffer;
    try {
      signature = sign(this.digest, tbs, this.privateKey);
    } catch (err) {
      throw new SignError('sign_failed', 'failed to sign certificate', { cause: err });
    }
    const leafDer = this.template.certificate(tbs, signature);
    return { certificatePem: encodePem('CERTIFICATE', leafDer) + this.issuerChainPem, leafDer, notBefore, notAfter };
  }
}
