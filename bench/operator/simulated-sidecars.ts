import type { Client, ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { clientCredentials, operatorService, SPIFFE_CHANNEL_OPTIONS, type TlsIdentity } from '@tsdapr/grpc';

interface ComponentUpdateEvent {
  readonly component: Buffer;
  readonly type: string;
}

type ComponentUpdateCall = (request: { namespace: string; pod_name: string }) => ClientReadableStream<ComponentUpdateEvent>;

/** Every stream's first arrival time of one marker value of the watched Component. */
interface Arrivals {
  readonly at: Array<number | undefined>;
  received: number;
  onComplete: (() => void) | undefined;
}

/**
 * N simulated daprd sidecars, each on its own TCP connection with its own
 * SVID, each holding a `ComponentUpdate` stream as daprd 1.17 does. They note
 * when each marker (the value of the watched Component's metadata entry named
 * `markerName`, unique per change) first reaches each stream; a change is
 * complete when it has reached all of them. A marker, not the
 * resourceVersion: an operator may write the Component's status right after a
 * change, and a stream that gets only the later version has still got the change.
 */
export class SimulatedSidecars {
  private readonly clients: Client[] = [];
  private readonly streams: Array<ClientReadableStream<ComponentUpdateEvent>> = [];
  private readonly arrivals = new Map<string, Arrivals>();
  private readonly failures: string[] = [];
  private closing = false;
  /** Every event of the watched Component on any stream, marker or not (an operator may send more than one per change). */
  eventsReceived = 0;

  constructor(
    private readonly componentName: string,
    private readonly markerName: string,
    private readonly count: number,
  ) {}

  /** Opens every stream. `identityOf(i)` is sidecar i's SVID; the server must present `operatorId`. */
  open(options: { address: string; namespace: string; trustAnchorsPem: string; operatorId: string; identityOf: (index: number) => TlsIdentity }): void {
    const { Client: OperatorClient } = operatorService();
    for (let index = 0; index < this.count; index++) {
      const client = new OperatorClient(
        options.address,
        clientCredentials({ trustAnchorsPem: options.trustAnchorsPem, expectedServerId: options.operatorId, identity: options.identityOf(index) }),
        // A local subchannel pool: one TCP connection per sidecar, as separate daprds have.
        { ...SPIFFE_CHANNEL_OPTIONS, 'grpc.use_local_subchannel_pool': 1 },
      );
      const call = (client as unknown as { ComponentUpdate: ComponentUpdateCall }).ComponentUpdate.bind(client);
      const stream = call({ namespace: options.namespace, pod_name: `sidecar-${index}` });
      stream.on('data', (event: ComponentUpdateEvent) => this.onEvent(index, event, performance.now()));
      stream.on('error', (err: ServiceError) => {
        if (!this.closing) this.failures.push(`sidecar ${index}: ${err.code} ${err.details}`);
      });
      this.clients.push(client);
      this.streams.push(stream);
    }
  }

  /** Stream errors so far; a measurement with any is not reported. */
  get errors(): readonly string[] {
    return this.failures;
  }

  private onEvent(index: number, event: ComponentUpdateEvent, at: number): void {
    const component = JSON.parse(event.component.toString('utf8')) as { metadata?: { name?: string }; spec?: { metadata?: Array<{ name?: string; value?: unknown }> } };
    if (component.metadata?.name !== this.componentName) return;
    this.eventsReceived++;
    const marker = component.spec?.metadata?.find((entry) => entry.name === this.markerName)?.value;
    if (typeof marker !== 'string') return;
    const arrivals = this.arrivalsOf(marker);
    if (arrivals.at[index] !== undefined) return;
    arrivals.at[index] = at;
    arrivals.received++;
    if (arrivals.received === this.count) arrivals.onComplete?.();
  }

  private arrivalsOf(marker: string): Arrivals {
    let arrivals = this.arrivals.get(marker);
    if (!arrivals) {
      arrivals = { at: new Array<number | undefined>(this.count), received: 0, onComplete: undefined };
      this.arrivals.set(marker, arrivals);
    }
    return arrivals;
  }

  /**
   * Resolves with each stream's first arrival time (performance.now()) of
   * `marker`, which may be before the write returned: the event can beat the
   * API server's response. Rejects after `timeoutMs`.
   */
  async arrivalTimes(marker: string, timeoutMs: number): Promise<number[]> {
    const arrivals = this.arrivalsOf(marker);
    if (arrivals.received < this.count) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          arrivals.onComplete = undefined;
          reject(new Error(`change ${marker} reached ${arrivals.received} of ${this.count} streams within ${timeoutMs} ms${this.failures.length ? `; stream errors: ${this.failures.slice(0, 3).join('; ')}` : ''}`));
        }, timeoutMs);
        arrivals.onComplete = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.arrivals.delete(marker);
    return arrivals.at as number[];
  }

  close(): void {
    this.closing = true;
    for (const stream of this.streams) stream.cancel();
    for (const client of this.clients) client.close();
  }
}
