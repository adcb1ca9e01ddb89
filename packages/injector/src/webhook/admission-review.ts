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
/**
 * Entries of long lists (env, mounts, volumes) are only checked to be
 * objects with a string name, without copying them: a pod with a thousand
 * env vars must not cost a thousand object copies on the admission path.
 */
const named = z.custom<{ name: string }>((value) => typeof value === 'object' && value !== null && typeof (value as { name?: unknown }).name === 'string', {
  message: 'expected an object with a string "name"',
});
const mount = z.custom<{ name: string; mountPath: string }>(
  (value) => typeof value === 'object' && value !== null && typeof (value as { name?: unknown }).name === 'string' && typeof (value as { mountPath?: unknown }).mountPath === 'string',
  { message: 'expected a volume mount with a string "name" and "mountPath"' },
);
const containerSchema = z.looseObject({
  name: z.string(),
  env: z.array(named).nullish(),
  volumeMounts: z.array(mount).nullish(),
});

/**
 * The fields of a Pod the patch reads, with the types it assumes. Go
 * clients send nil lists and maps as null, which the patch code treats as
 * absent (it reads them with `?? []`).
 */
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
  return { ok: true, pod: result.data as Pod };
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
