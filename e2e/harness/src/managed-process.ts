import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync } from 'node:fs';

export interface ProcessOptions {
  /** A short name for messages, e.g. `etcd`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** stdout and stderr are appended to this file. */
  readonly logFile?: string;
  /** Otherwise every chunk of stdout and stderr is handed here. */
  readonly onOutput?: (chunk: Buffer) => void;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves when the process has exited, for whatever reason. */
  readonly exited: Promise<ExitStatus>;
  /** Whether the process has exited already. */
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL when it is still running after `graceMs`. Resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once, as a crash or an OOM kill would end it; resolves once it is gone. */
  kill(): Promise<void>;
}

/**
 * Every child still running. Module state on purpose: the process 'exit'
 * hook that reaps children on a crash has no other way to find them.
 */
const running = new Set<ChildProcess>();
let hooksInstalled = false;

/**
 * Starts a child that cannot outlive this process: it is killed by the
 * 'exit' hook, and on Linux also by the kernel (PR_SET_PDEATHSIG through
 * `setpriv`) when this process dies by a signal or SIGKILL.
 */
export function startProcess(options: ProcessOptions): ManagedProcess {
  installExitHooks();
  const [command, args] = withParentDeathSignal(options.command, options.args);
  const logFd = options.logFile ? openSync(options.logFile, 'a') : undefined;
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe'],
    });
  } finally {
    // The child has its own copy of the descriptor.
    if (logFd !== undefined) closeSync(logFd);
  }
  if (child.pid === undefined) {
    throw new Error(`cannot start ${options.name} (${options.command})`);
  }
  running.add(child);
  if (logFd === undefined) {
    const forward = options.onOutput ?? ((): void => undefined);
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
  }

  let exitStatus: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      exitStatus = { code, signal };
      resolve(exitStatus);
    });
    // A spawn error (e.g. ENOENT) comes without an 'exit'.
    child.once('error', () => {
      if (exitStatus) return;
      running.delete(child);
      exitStatus = { code: null, signal: null };
      resolve(exitStatus);
    });
  });

  return {
    name: options.name,
    pid: child.pid,
    exited,
    hasExited: () => exitStatus !== undefined,
    async stop(graceMs = 10_000): Promise<void> {
      if (exitStatus) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    async kill(): Promise<void> {
      if (exitStatus) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Describes how a process ended, for error messages. */
export function describeExit(status: ExitStatus): string {
  if (status.signal) return `was killed by ${status.signal}`;
  if (status.code === null) return 'could not be started';
  return `exited with code ${status.code}`;
}

let setprivAvailable: boolean | undefined;

function withParentDeathSignal(command: string, args: readonly string[]): [string, string[]] {
  if (setprivAvailable === undefined) setprivAvailable = process.platform === 'linux' && isExecutable('/usr/bin/setpriv');
  if (!setprivAvailable) return [command, [...args]];
  return ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', command, ...args]];
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false; // not there: children then rely on the exit hook alone
  }
}

function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}

const FATAL_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * 'exit' runs on a normal exit and after an uncaught exception. A signal
 * skips it, so when nobody else handles a fatal signal, children are killed
 * here and the signal is raised again to keep its default behaviour.
 * When someone else listens, they own the shutdown (and 'exit' backs them up).
 */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAll);
  for (const signal of FATAL_SIGNALS) {
    const onSignal = (): void => {
      if (process.listenerCount(signal) > 1) return;
      killAll();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Resolves, when the process exits, to an error naming it and how it ended: an `abortWhen` for waits. */
export function exitAsError(child: ManagedProcess): Promise<Error> {
  return child.exited.then((status) => new Error(`${child.name} ${describeExit(status)}`));
}

/** The last `lines` lines of a log file, for error messages ("(no log written)" when there is none). */
export function logTail(path: string, lines: number): string {
  if (!existsSync(path)) return '(no log written)';
  return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
