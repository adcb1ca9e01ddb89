import { X509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as x509 from '@peculiar/x509';
import { sleep, TsdaprError, type Logger, type Runner } from '@tsdapr/runtime';
import type { TlsIdentity, TlsMaterial } from '@tsdapr/grpc';

export class ServingCertificateError extends TsdaprError {}

/** A serving identity and the CA bundle the API server needs to trust it (the webhook's `caBundle`). */
export interface ServingCertificate {
  readonly identity: TlsIdentity;
  readonly caBundlePem: string;
}

export interface SelfSignedOptions {
  readonly dnsNames: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly now?: Date;
  readonly validityDays?: number;
}

/**
 * A self-signed RSA-2048 serving certificate (RSA because some managed API
 * servers refuse Ed25519 webhook certificates, upstream #9873). Go's TLS
 * checks the SAN, so every name and IP the API server dials must be listed.
 * The certificate is its own CA bundle.
 */
export async function selfSignedServingCertificate(options: SelfSignedOptions): Promise<ServingCertificate> {
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']));
  const now = options.now ?? new Date();
  const names = [...options.dnsNames.map((value) => ({ type: 'dns' as const, value })), ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value }))];
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${options.dnsNames[0] ?? 'dapr-sidecar-injector'}`,
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter: new Date(now.getTime() + (options.validityDays ?? 365) * 86_400_000),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const certificatePem = certificate.toString('pem');
  const privateKeyPem = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  return { identity: { certificateChainPem: `${certificatePem}\n`, privateKeyPem: `${privateKeyPem}\n` }, caBundlePem: `${certificatePem}\n` };
}

/**
 * A serving certificate from files (`--tls-cert-file`, `--tls-key-file`).
 * The CA bundle is `--tls-ca-file` when given, else the last certificate of
 * the chain (the certificate itself when it is self-signed).
 */
export async function servingCertificateFromFiles(certFile: string, keyFile: string, caFile?: string): Promise<ServingCertificate> {
  const [certificateChainPem, privateKeyPem, caPem] = await Promise.all([read(certFile), read(keyFile), caFile ? read(caFile) : Promise.resolve(undefined)]);
  const blocks = certificateChainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new ServingCertificateError('serving_cert_invalid', `${certFile} holds no PEM certificate`);
  // A rotation caught half-way (new key, old certificate) must not be served.
  let matches: boolean;
  try {
    matches = new X509Certificate(blocks[0] ?? '').checkPrivateKey(createPrivateKey(privateKeyPem));
  } catch (err) {
    throw new ServingCertificateError('serving_cert_invalid', `${certFile} / ${keyFile} cannot be read as a certificate and key: ${(err as Error).message}`, { cause: err });
  }
  if (!matches) throw new ServingCertificateError('serving_cert_key_mismatch', `the key in ${keyFile} does not belong to the certificate in ${certFile}`);
  return { identity: { certificateChainPem, privateKeyPem }, caBundlePem: caPem ?? `${blocks[blocks.length - 1] ?? ''}\n` };
}

async function read(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new ServingCertificateError('serving_cert_unreadable', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Re-reads the certificate files (as cert-manager or a mounted Secret
 * rotates them) and applies a change to the material: the server then serves
 * the new certificate and the caBundle controller publishes the new CA.
 * An unreadable or half-written pair is logged and the current one kept.
 */
export function servingCertificateFileWatch(options: { certFile: string; keyFile: string; caFile?: string; tls: TlsMaterial; logger: Logger; pollMs?: number }): Runner {
  return async (signal) => {
    while (!signal.aborted) {
      await sleep(options.pollMs ?? 30_000, signal);
      if (signal.aborted) return;
      try {
        const next = await servingCertificateFromFiles(options.certFile, options.keyFile, options.caFile);
        const current = options.tls.currentIdentity;
        if (current?.certificateChainPem !== next.identity.certificateChainPem || current.privateKeyPem !== next.identity.privateKeyPem) {
          options.tls.setIdentity(next.identity);
          options.logger.info({ certFile: options.certFile }, 'serving certificate reloaded');
        }
        if (options.tls.trustAnchorsPem !== next.caBundlePem) options.tls.setTrustAnchors(next.caBundlePem);
      } catch (err) {
        options.logger.error({ err }, 'cannot reload the serving certificate; keeping the current one');
      }
    }
  };
}
