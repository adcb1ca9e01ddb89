import { readFileSync } from 'node:fs';

/** User + system CPU in ms from the text of /proc/<pid>/stat (clock ticks at `hz`, 100 on Linux). */
export function parseCpuMs(statText: string, hz = 100): number {
  // The command name (field 2) may hold spaces and ')' : fields are counted after the last ')'.
  const fields = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / hz;
}

/** A `VmRSS:` / `VmHWM:` line of /proc/<pid>/status, in MiB; NaN when absent. */
export function parseStatusMiB(statusText: string, field: 'VmRSS' | 'VmHWM'): number {
  const line = statusText.split('\n').find((l) => l.startsWith(`${field}:`));
  if (!line) return NaN;
  const kib = /(\d+)\s*kB/.exec(line);
  return kib ? Number(kib[1]) / 1024 : NaN;
}

export interface ProcessReading {
  readonly at: number;
  readonly cpuMs: number;
  readonly rssMiB: number;
  readonly hwmMiB: number;
}

/** One reading of a live process; undefined once it is gone. */
export function readProcess(pid: number): ProcessReading | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { at: Date.now(), cpuMs: parseCpuMs(stat), rssMiB: parseStatusMiB(status, 'VmRSS'), hwmMiB: parseStatusMiB(status, 'VmHWM') };
  } catch {
    return undefined;
  }
}

/**
 * Reads a process's CPU time and RSS every `intervalMs` while it runs and
 * keeps the peak; a reading on demand marks a phase boundary. At most
 * `maxSamples` readings are kept (the peak is tracked past that).
 */
export class ProcessSampler {
  private timer: NodeJS.Timeout | undefined;
  private readonly samples: ProcessReading[] = [];
  /** Highest VmRSS seen and highest VmHWM seen (the kernel's own peak), MiB. */
  peakRssMiB = NaN;
  peakHwmMiB = NaN;
  last: ProcessReading | undefined;

  constructor(
    readonly pid: number,
    private readonly intervalMs = 500,
    private readonly maxSamples = 7200,
  ) {}

  start(): this {
    this.read();
    this.timer = setInterval(() => this.read(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  /** Reads now (and stores it) and returns the reading. */
  read(): ProcessReading | undefined {
    const reading = readProcess(this.pid);
    if (!reading) return undefined;
    this.last = reading;
    if (this.samples.length < this.maxSamples) this.samples.push(reading);
    if (!(reading.rssMiB <= this.peakRssMiB)) this.peakRssMiB = reading.rssMiB;
    if (!(reading.hwmMiB <= this.peakHwmMiB)) this.peakHwmMiB = reading.hwmMiB;
    return reading;
  }

  /** The larger of the sampled VmRSS peak and the kernel's VmHWM. */
  get peakMiB(): number {
    return Math.max(Number.isNaN(this.peakRssMiB) ? -Infinity : this.peakRssMiB, Number.isNaN(this.peakHwmMiB) ? -Infinity : this.peakHwmMiB);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.read();
  }

  get sampleCount(): number {
    return this.samples.length;
  }
}
