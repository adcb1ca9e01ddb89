export { TsdaprError, InvalidInputError, errorCode, errorMessage } from './errors.js';
export { runAll, isAbortError, untilAborted, sleep, type Runner } from './runner.js';
export { createLogger, silentLogger, REDACTED_PATHS, type Logger, type LoggerOptions } from './logger.js';
export { parseDuration, formatDuration } from './duration.js';
export { Readiness } from './readiness.js';
export { adminServer, healthRoutes, listen, metricsRoutes, type AdminServerOptions } from './admin-server.js';
export { runUntilSignal, serviceMain, type RunnableService } from './service-main.js';
export { parseFlags, usage, HelpRequested, type FlagSpec, type FlagValues } from './flags.js';
export { createMetricsRegistry } from './metrics.js';
