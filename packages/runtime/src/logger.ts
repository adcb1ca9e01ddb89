import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** A short service name, bound to every line as `scope`, as upstream does. */
  readonly service: string;
  readonly level: LevelWithSilent;
  /** JSON lines always; when false, still JSON (pretty printing is a client's job). */
  readonly json?: boolean;
  readonly destination?: pino.DestinationStream;
}

/**
 * Paths that can carry secrets anywhere in a log object. Tokens, keys and
 * certificate requests never reach a log line.
 */
export const REDACTED_PATHS: readonly string[] = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'key',
  '*.key',
  'privateKey',
  '*.privateKey',
  'issuerKey',
  '*.issuerKey',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'data',
  '*.data',
];

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { scope: `dapr.${options.service}`, pid: process.pid },
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** A logger that drops everything: for tests and tools. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
