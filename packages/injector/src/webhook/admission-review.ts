import { z } from 'zod';
import type { Pod } from '../patch/pod-types.js';

/**
 * The AdmissionReview envelope (admission.k8s.io/v1, and v1beta1 which has
 * the same shape). Only what the injector reads is checked; everything else
 * passes through.
 */
const userInfoSchema = z.looseObject({
  username: z.string().optional(),
  uid: z.string().optional(),
  groups: z.array(z.string()).nullish(),
});

const requestSchema = z.looseObject({
  uid: z.string().min(1, 'request.uid is required'),
  kind: z.looseObject({ group: z.string().optional(), version: z.string().optional(), kind: z.string() }),
  namespace: z.string().optional(),
  name: z.string().optional(),
  operation: z.string().optional(),
  userInfo: userInfoSchema.optional(),
  object: z.unknown().optional(),
  dryRun: z.boolean().nullish(),
});

export const ADMISSION_API_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;

const reviewSchema = z.looseObject({
  apiVersion: z.enum(ADMISSION_API_VERSIONS),
  kind: z.literal('AdmissionReview'),
  request: requestSchema,
});

export type AdmissionReview = z.infer<typeof reviewSchema>;
export type AdmissionRequest = z.infer<typeof requestSchema>;
export type UserInfo = z.infer<typeof userInfoSchema>;

export function parseAdmissionReview(value: unknown): { ok: true; review: AdmissionReview } | { ok: false; error: string } {
  const result = reviewSchema.safeParse(value);
  if (result.success) return { ok: true, review: result.data };
  return { ok: false, error: `not an AdmissionReview: ${z.prettifyError(result.error).replace(/\n/g, ' ')}` };
}

const stringMap = z.record(z.string(), z.string()).nullish();
const named = z.looseObject({ name: z.string() });
const containerSchema = z.looseObject({
  name: z.string(),
  env: z.array(named).nullish(),
  volumeMounts: z.array(z.looseObject({ name: z.string(), mountPath: z.string() })).nullish(),
});

/** The fields of a Pod the patch reads, with the types it assumes; null lists (Go's nil) are accepted. */
const podSchema = z.looseObject({
  metadata: z
    .looseObject({
      name: z.string().nullish(),
      generateName: z.string().nullish(),
      labels: stringMap,
      annotations: stringMap,
      ownerReferences: z.array(z.looseObject({ controller: z.boolean().nullish() })).nullish(),
    })
    .nullish(),
  spec: z
    .looseObject({
      containers: z.array(containerSchema).nullish(),
      initContainers: z.array(containerSchema).nullish(),
      volumes: z.array(named).nullish(),
      tolerations: z.array(z.looseObject({})).nullish(),
    })
    .nullish(),
});

export function parsePod(value: unknown): { ok: true; pod: Pod } | { ok: false; error: string } {
  const result = podSchema.safeParse(value);
  if (!result.success) return { ok: false, error: z.prettifyError(result.error).replace(/\n/g, ' ') };
  return { ok: true, pod: withoutNulls(result.data) as Pod };
}

/** Go marshals nil slices and maps as null; the patch code treats absent and null alike by dropping nulls. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== null) out[key] = withoutNulls(item);
  return out;
}

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly patchType?: 'JSONPatch';
  /** Base64 of the JSON patch. */
  readonly patch?: string;
  readonly warnings?: readonly string[];
  readonly status?: { readonly code?: number; readonly message: string; readonly reason?: string };
}

export function reviewResponse(apiVersion: AdmissionReview['apiVersion'], response: AdmissionResponse): object {
  return { apiVersion, kind: 'AdmissionReview', response };
}
