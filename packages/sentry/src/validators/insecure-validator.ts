import { checkCommon, requestedTrustDomain, validatedIdentity } from './common.js';
import type { SignRequestIdentity, ValidatedIdentity, Validator } from './validator.js';

/**
 * The standalone default (spec 2.4): only the common checks; the trust
 * domain is the request's, or `public`. It trusts whoever asks, so sentry
 * enables it only in standalone mode with no token validator configured.
 */
export function createInsecureValidator(): Validator {
  return {
    name: 'insecure',
    ready: () => true,
    validate: async (req: SignRequestIdentity): Promise<ValidatedIdentity> => {
      checkCommon(req);
      return Promise.resolve(validatedIdentity(requestedTrustDomain(req), req.namespace, req.id));
    },
  };
}
