/**
 * Readiness as the sum of named parts: the process is ready when every part
 * it registered says so. `/readyz` lists the parts that are not.
 */
export class Readiness {
  private readonly parts = new Map<string, boolean>();

  /** Registers a part (not ready) and returns its setter. */
  part(name: string): (ready: boolean) => void {
    this.parts.set(name, false);
    return (ready) => {
      this.parts.set(name, ready);
    };
  }

  get ready(): boolean {
    for (const ready of this.parts.values()) if (!ready) return false;
    return true;
  }

  notReady(): string[] {
    return [...this.parts].filter(([, ready]) => !ready).map(([name]) => name);
  }
}
