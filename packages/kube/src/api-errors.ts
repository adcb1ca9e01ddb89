import { TsdaprError } from '@tsdapr/runtime';

/**
 * Errors from the Kubernetes API, read the way client-node 1.x raises them:
 * the generated clients throw `ApiException` with the HTTP status in `.code`
 * and the raw response body (a `Status` object as JSON text) in `.body`; the
 * watch raises a plain `Error` with `.statusCode`. Everything here works on
 * `unknown` so callers can test any caught value.
 */

/** The parts of a `meta/v1 Status` body that are worth reading. */
export interface KubeStatus {
  readonly reason?: string;
  readonly message?: string;
  readonly code?: number;
}

/** The HTTP status of a failed Kubernetes call, or undefined for non-HTTP failures (DNS, TLS, abort). */
export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof KubeApiError) return err.status;
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, statusCode } = err as { code?: unknown; statusCode?: unknown };
  // ApiException.code is the HTTP status. Node's own errors put strings like
  // 'ECONNREFUSED' in `code`, which the number check skips.
  if (typeof code === 'number' && code >= 100 && code < 600) return code;
  if (typeof statusCode === 'number' && statusCode >= 100 && statusCode < 600) return statusCode;
  return undefined;
}

/** The `Status` object in an ApiException body, if the body is one (JSON text or already parsed). */
export function kubeStatusOf(err: unknown): KubeStatus | undefined {
  if (err instanceof KubeApiError) return err.kubeStatus;
  if (typeof err !== 'object' || err === null) return undefined;
  let body: unknown = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // Not JSON (for example an HTML error page from a proxy): there is no Status to read.
      return undefined;
    }
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const { reason, message, code } = body as Record<string, unknown>;
  const status: { reason?: string; message?: string; code?: number } = {};
  if (typeof reason === 'string') status.reason = reason;
  if (typeof message === 'string') status.message = message;
  if (typeof code === 'number') status.code = code;
  return status.reason === undefined && status.message === undefined && status.code === undefined ? undefined : status;
}

export const isNotFound = (err: unknown): boolean => httpStatusOf(err) === 404;
export const isConflict = (err: unknown): boolean => httpStatusOf(err) === 409;
/** 409 with reason AlreadyExists (a create of an existing object), as opposed to an update conflict. */
export const isAlreadyExists = (err: unknown): boolean => isConflict(err) && kubeStatusOf(err)?.reason === 'AlreadyExists';
export const isGone = (err: unknown): boolean => httpStatusOf(err) === 410;
export const isForbidden = (err: unknown): boolean => httpStatusOf(err) === 403;
export const isUnauthorized = (err: unknown): boolean => httpStatusOf(err) === 401;

/** Stable codes for the HTTP statuses callers branch on; anything else is `kube_api_error`. */
export type KubeApiErrorCode =
  | 'kube_not_found'
  | 'kube_conflict'
  | 'kube_already_exists'
  | 'kube_gone'
  | 'kube_forbidden'
  | 'kube_unauthorized'
  | 'kube_invalid'
  | 'kube_unavailable'
  | 'kube_api_error';

function codeFor(status: number | undefined, reason: string | undefined): KubeApiErrorCode {
  switch (status) {
    case 404:
      return 'kube_not_found';
    case 409:
      return reason === 'AlreadyExists' ? 'kube_already_exists' : 'kube_conflict';
    case 410:
      return 'kube_gone';
    case 403:
      return 'kube_forbidden';
    case 401:
      return 'kube_unauthorized';
    case 422:
      return 'kube_invalid';
    case undefined:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return 'kube_unavailable';
    default:
      return 'kube_api_error';
  }
}

/**
 * A failed Kubernetes call with a short message. client-node's ApiException
 * message embeds the whole body and every response header; this keeps the
 * status, the Status reason and message, and the original as `cause`.
 */
export class KubeApiError extends TsdaprError {
  declare readonly code: KubeApiErrorCode;
  /** The HTTP status, undefined when the request never got a response. */
  readonly status: number | undefined;
  readonly kubeStatus: KubeStatus | undefined;

  constructor(code: KubeApiErrorCode, message: string, details: { status?: number; kubeStatus?: KubeStatus; cause?: unknown }) {
    super(code, message, { cause: details.cause });
    this.status = details.status;
    this.kubeStatus = details.kubeStatus;
  }

  /**
   * Wraps any error from a Kubernetes call. `what` says what was attempted,
   * e.g. `get pod default/app-1`.
   */
  static from(err: unknown, what: string): KubeApiError {
    if (err instanceof KubeApiError) return err;
    const status = httpStatusOf(err);
    const kubeStatus = kubeStatusOf(err);
    const detail =
      status === undefined
        ? err instanceof Error
          ? `${err.name}: ${firstLine(err.message)}`
          : String(err)
        : `HTTP ${status}${kubeStatus?.reason ? ` ${kubeStatus.reason}` : ''}${kubeStatus?.message ? `: ${kubeStatus.message}` : ''}`;
    return new KubeApiError(codeFor(status, kubeStatus?.reason), `${what}: ${detail}`, {
      ...(status === undefined ? {} : { status }),
      ...(kubeStatus === undefined ? {} : { kubeStatus }),
      cause: err,
    });
  }
}

function firstLine(text: string): string {
  const nl = text.indexOf('\n');
  return nl < 0 ? text : text.slice(0, nl);
}

/**
 * Runs a read-modify-write until it does not hit an update conflict (another
 * writer, such as a controller writing status, bumped the resourceVersion
 * between the read and the write), as client-go's retry.RetryOnConflict.
 * A create's AlreadyExists is not an update conflict and is thrown at once.
 */
export async function retryOnConflict<T>(readModifyWrite: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readModifyWrite();
    } catch (err) {
      if (!isConflict(err) || isAlreadyExists(err) || attempt >= attempts) throw err;
    }
  }
}
