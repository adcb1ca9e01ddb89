import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call daprd made to the app: the body as received and when it arrived. */
export interface Delivery {
  readonly body: string;
  readonly contentType: string | undefined;
  readonly at: number;
}

export interface SchedulerApp {
  readonly port: number;
  /** Job triggers by job name (`POST /job/<name>`, dapr/dapr:pkg/runtime/scheduler/internal/cluster). */
  jobDeliveries(name: string): readonly Delivery[];
  /** Reminder calls by `<actor id>/<reminder name>` (`PUT /actors/<type>/<id>/method/remind/<name>`). */
  reminderDeliveries(actorId: string, reminder: string): readonly Delivery[];
  /** Makes the app answer this job's triggers with `status` (default 200). */
  answerJob(name: string, status: number): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * An HTTP app for a sidecar that uses the scheduler: it receives job
 * triggers at `POST /job/<name>` and hosts one actor type (told to daprd at
 * `/dapr/config`), recording every reminder delivered to it. Everything else
 * an actor is asked to do succeeds.
 */
export async function startSchedulerApp(actorType: string): Promise<SchedulerApp> {
  const jobs = new Map<string, Delivery[]>();
  const reminders = new Map<string, Delivery[]>();
  const jobStatus = new Map<string, number>();
  const record = (into: Map<string, Delivery[]>, key: string, delivery: Delivery): void => {
    const list = into.get(key) ?? [];
    list.push(delivery);
    into.set(key, list);
  };
  const actorPrefix = `/actors/${actorType}/`;
  const server: Server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const url = decodeURI((req.url ?? '').split('?')[0] ?? '');
      const delivery = { body, contentType: req.headers['content-type'], at: Date.now() };
      if (req.method === 'GET' && url === '/dapr/config') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ entities: [actorType], actorIdleTimeout: '1h', drainOngoingCallTimeout: '1s' }));
      } else if (req.method === 'POST' && url.startsWith('/job/')) {
        const name = url.slice('/job/'.length);
        record(jobs, name, delivery);
        res.writeHead(jobStatus.get(name) ?? 200).end();
      } else if (url.startsWith(actorPrefix)) {
        const match = /^([^/]+)\/method\/remind\/(.+)$/.exec(url.slice(actorPrefix.length));
        if (req.method === 'PUT' && match) record(reminders, `${match[1]}/${match[2]}`, delivery);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else if (url === '/healthz') {
        res.writeHead(200).end();
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    jobDeliveries: (name) => jobs.get(name) ?? [],
    reminderDeliveries: (actorId, reminder) => reminders.get(`${actorId}/${reminder}`) ?? [],
    answerJob: (name, status) => jobStatus.set(name, status),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
