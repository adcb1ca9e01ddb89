import { InvalidInputError, parseDuration } from '@tsdapr/runtime';
import { z } from 'zod';

/** What sentry reads from the `daprsystem` Configuration's `spec.mtls`. */
export interface SentryConfig {
  readonly workloadCertTtlMs: number;
  readonly allowedClockSkewMs: number;
  readonly tokenValidators: ReadonlyArray<{ readonly name: string; readonly options: Readonly<Record<string, string>> }>;
}

export const DEFAULT_SENTRY_CONFIG: SentryConfig = {
  workloadCertTtlMs: 24 * 3_600_000,
  allowedClockSkewMs: 15 * 60_000,
  tokenValidators: [],
};

const duration = z.string().optional();
const mtlsSchema = z
  .object({
    workloadCertTTL: duration,
    allowedClockSkew: duration,
    controlPlaneTrustDomain: z.string().optional(),
    tokenValidators: z
      .array(z.object({ name: z.string().min(1), options: z.record(z.string(), z.string()).optional() }))
      .optional(),
  })
  .loose();
const configurationSchema = z.object({ spec: z.object({ mtls: mtlsSchema.optional() }).loose().optional() }).loose();

/** Validates a Configuration object; a bad field is an error that names it, never a silent default. */
export function sentryConfigFromConfiguration(configuration: unknown, source: string): SentryConfig {
  const parsed = configurationSchema.safeParse(configuration);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidInputError('config_invalid', `${source}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid Configuration'}`);
  }
  const mtls = parsed.data.spec?.mtls ?? {};
  const field = (name: 'workloadCertTTL' | 'allowedClockSkew', fallback: number): number => {
    const text = mtls[name];
    if (text === undefined || text === '') return fallback;
    let ms: number;
    try {
      ms = parseDuration(text);
    } catch (err) {
      throw new InvalidInputError('config_invalid', `${source}: spec.mtls.${name}: ${(err as Error).message}`, { cause: err });
    }
    if (ms <= 0 && name === 'workloadCertTTL') throw new InvalidInputError('config_invalid', `${source}: spec.mtls.workloadCertTTL must be positive, got "${text}"`);
    if (ms < 0) throw new InvalidInputError('config_invalid', `${source}: spec.mtls.${name} must not be negative, got "${text}"`);
    return ms;
  };
  return {
    workloadCertTtlMs: field('workloadCertTTL', DEFAULT_SENTRY_CONFIG.workloadCertTtlMs),
    allowedClockSkewMs: field('allowedClockSkew', DEFAULT_SENTRY_CONFIG.allowedClockSkewMs),
    tokenValidators: (mtls.tokenValidators ?? []).map((validator) => ({ name: validator.name, options: validator.options ?? {} })),
  };
}
