/**
 * Errors with a stable machine-readable code. The code is what metrics label
 * and what transports map to a status; the message is for people.
 */
export class TsdaprError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A value supplied by the user (a flag, a file, a request) that cannot be used. */
export class InvalidInputError extends TsdaprError {}

export function errorCode(err: unknown): string {
  return err instanceof TsdaprError ? err.code : 'internal';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
