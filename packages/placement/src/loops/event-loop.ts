/**
 * A serial event queue: the one way into a loop's state. `enqueue` handles
 * the event at once when the loop is idle; an event enqueued while another
 * is being handled (a loop closing a stream whose close comes straight back
 * as an event, say) waits its turn, so a handler never runs re-entrantly.
 * Node is single-threaded, so no locks are needed; what this buys is order.
 */
export class EventLoop<E> {
  private queue: E[] = [];
  private head = 0;
  private draining = false;

  constructor(
    private readonly handle: (event: E) => void,
    /** Called with a handler's exception (a bug); the loop goes on with the next event. */
    private readonly onError: (err: unknown, event: E) => void,
  ) {}

  enqueue(event: E): void {
    this.queue.push(event);
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.head < this.queue.length) {
        const next = this.queue[this.head++] as E;
        try {
          this.handle(next);
        } catch (err) {
          this.onError(err, next);
        }
      }
    } finally {
      this.queue = [];
      this.head = 0;
      this.draining = false;
    }
  }
}
