import { ValidationError, type SignRequestIdentity, type TokenValidatorName, type Validator } from './validator.js';

const BY_ENUM: Readonly<Record<SignRequestIdentity['tokenValidator'], TokenValidatorName | undefined>> = {
  UNKNOWN: undefined,
  INSECURE: 'insecure',
  KUBERNETES: 'kubernetes',
  JWKS: 'jwks',
};

/**
 * Step 1 of request processing (spec 2.2): the validator the request names,
 * or when it names none (`UNKNOWN`) the mode's default: `kubernetes` in
 * Kubernetes mode, `insecure` in standalone mode when it is enabled (it is
 * only when no token validator is configured).
 */
export function chooseValidator(
  req: Pick<SignRequestIdentity, 'tokenValidator'>,
  enabled: ReadonlyMap<TokenValidatorName, Validator>,
  mode: 'kubernetes' | 'standalone',
): Validator {
  const requested = BY_ENUM[req.tokenValidator];
  const name = requested ?? defaultFor(mode, enabled);
  if (name === undefined) {
    throw new ValidationError('validator_unspecified', 'a validator name must be specified in this environment');
  }
  const validator = enabled.get(name);
  if (!validator) throw new ValidationError('validator_not_enabled', 'the requested validator is not enabled');
  return validator;
}

function defaultFor(mode: 'kubernetes' | 'standalone', enabled: ReadonlyMap<TokenValidatorName, Validator>): TokenValidatorName | undefined {
  switch (mode) {
    case 'kubernetes':
      return 'kubernetes';
    case 'standalone':
      return enabled.has('insecure') ? 'insecure' : undefined;
  }
}
