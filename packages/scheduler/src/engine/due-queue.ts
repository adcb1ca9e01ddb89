/** A job's current attempt, as the due index names it. */
export interface DueEntry {
  readonly key: string;
  readonly dueMs: number;
  readonly bucket: number;
  readonly composed: string;
}

/**
 * The due-soon entries in memory: a min-heap by due time with lazy removal
 * (a removed key stays in the heap until popped, and is skipped then).
 */
export class DueQueue {
  private heap: DueEntry[] = [];
  private readonly live = new Map<string, DueEntry>();

  get size(): number {
    return this.live.size;
  }

  has(key: string): boolean {
    return this.live.has(key);
  }

  /** False when the key is already queued. */
  push(entry: DueEntry): boolean {
    if (this.live.has(entry.key)) return false;
    this.live.set(entry.key, entry);
    this.heap.push(entry);
    this.up(this.heap.length - 1);
    return true;
  }

  remove(key: string): void {
    this.live.delete(key);
    // Lazy: the heap sheds dead entries as they reach the top; rebuild when mostly dead.
    if (this.heap.length > 1024 && this.heap.length > this.live.size * 4) this.rebuild();
  }

  clear(): void {
    this.heap = [];
    this.live.clear();
  }

  /** The earliest live entry, without removing it. */
  peek(): DueEntry | undefined {
    this.shed();
    return this.heap[0];
  }

  /** Removes and returns the earliest entry if it is due at `nowMs`. */
  popDue(nowMs: number): DueEntry | undefined {
    const top = this.peek();
    if (!top || top.dueMs > nowMs) return undefined;
    this.pop();
    this.live.delete(top.key);
    return top;
  }

  private shed(): void {
    while (this.heap.length > 0) {
      const top = this.heap[0];
      if (top && this.live.get(top.key) === top) return;
      this.pop();
    }
  }

  private pop(): void {
    const last = this.heap.pop();
    if (last && this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
  }

  private rebuild(): void {
    this.heap = [...this.live.values()];
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private up(at: number): void {
    const heap = this.heap;
    let i = at;
    const entry = heap[i] as DueEntry;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent] as DueEntry;
      if (above.dueMs <= entry.dueMs) break;
      heap[i] = above;
      i = parent;
    }
    heap[i] = entry;
  }

  private down(at: number): void {
    const heap = this.heap;
    const n = heap.length;
    let i = at;
    const entry = heap[i] as DueEntry;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (heap[right] as DueEntry).dueMs < (heap[child] as DueEntry).dueMs) child = right;
      if ((heap[child] as DueEntry).dueMs >= entry.dueMs) break;
      heap[i] = heap[child] as DueEntry;
      i = child;
    }
    heap[i] = entry;
  }
}
