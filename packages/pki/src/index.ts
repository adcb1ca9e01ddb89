export { BundleError, CsrError, SignError, type BundleErrorCode, type BundleFile, type CsrErrorCode, type SignErrorCode } from './errors.js';
export { generateKeyPair, type KeyAlgorithm, type KeyPair } from './key-pair.js';
export {
  generateCaBundle,
  DEFAULT_CA_TTL_MS,
  DEFAULT_ALLOWED_CLOCK_SKEW_MS,
  type GenerateCaBundleOptions,
} from './ca-bundle.js';
export { loadIssuer, type CaBundlePem, type Issuer, type LoadIssuerOptions, type SignRequest, type SignedCert } from './issuer.js';
export { parseCsr, createCsr, DEFAULT_MAX_CSR_BYTES, type ParsedCsr, type CsrLimits } from './csr.js';
export { spiffeIdFromCert, isSpiffeId } from './spiffe-id.js';
export type { LeafKeyAlgorithm } from './public-key.js';
export type { SignatureAlgorithm } from './signature-algorithm.js';
