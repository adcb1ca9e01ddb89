import type { Logger } from './logger.js';
import { errorCode, errorMessage } from './errors.js';
import { HelpRequested, usage, type FlagSpec } from './flags.js';

export interface RunnableService {
  run(signal: AbortSignal): Promise<void>;
}

/**
 * Runs a service until SIGINT or SIGTERM, then lets it drain. A second
 * signal exits at once. Sets the exit code from the outcome.
 */
export async function runUntilSignal(service: RunnableService, logger: Logger): Promise<void> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    logger.info({ signal }, 'shutting down');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await service.run(controller.signal);
    logger.info('stopped');
  } catch (err) {
    logger.fatal({ err, code: errorCode(err) }, 'service failed');
    process.exitCode = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    logger.flush();
  }
}

/**
 * The whole of a service's `main`: build it (parsing flags, making the root
 * logger), run it until a signal, and turn `--help` and bad flags into the
 * usage text or a one-line error with exit code 2.
 */
export async function serviceMain(
  command: string,
  flags: Record<string, FlagSpec>,
  start: () => { service: RunnableService; logger: Logger },
): Promise<void> {
  try {
    const { service, logger } = start();
    await runUntilSignal(service, logger);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(`Usage: ${command} [flags]\n${usage(flags)}\n`);
    } else {
      process.stderr.write(`${command}: ${errorMessage(err)}\n`);
      process.exitCode = 2;
    }
  }
}
