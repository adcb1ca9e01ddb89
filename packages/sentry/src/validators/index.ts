export {
  ValidationError,
  type ValidationErrorCode,
  type TokenValidatorName,
  type SignRequestIdentity,
  type ValidatedIdentity,
  type Validator,
} from './validator.js';
export { chooseValidator } from './choose-validator.js';
export { checkCommon, requestedTrustDomain, isValidTrustDomain, DEFAULT_TRUST_DOMAIN, MAX_APP_ID_LENGTH } from './common.js';
export { createInsecureValidator } from './insecure-validator.js';
export {
  createKubernetesValidator,
  createPodCache,
  createConfigurationCache,
  type KubernetesValidatorOptions,
} from './kubernetes-validator.js';
export {
  ANNOTATION_APP_ID,
  ANNOTATION_CONFIG,
  ANNOTATION_CONTROL_PLANE,
  LEGACY_SENTRY_AUDIENCE,
  CONTROL_PLANE_SERVICES,
  type ConfigurationObject,
} from './kubernetes-identity.js';
export { createJwksValidator, classifyJwksSource, JWT_CLOCK_SKEW_MS, type JwksValidatorOptions, type JwksSource } from './jwks-validator.js';
export { JwksError, parseJwks, verifyJwt, SUPPORTED_ALGORITHMS, type KeySet, type VerificationKey } from './jwks.js';
export { decodeJwt, kubernetesTokenClaims, type DecodedJwt, type KubernetesTokenClaims } from './jwt.js';
