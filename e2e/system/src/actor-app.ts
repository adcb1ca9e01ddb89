import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The smallest app that hosts an actor type: it tells daprd its entities at
 * /dapr/config and answers every actor method with its own name, so a caller
 * sees which sidecar's app served the call.
 */
export async function startActorApp(name: string, actorType: string, port = 0): Promise<{ port: number; calls: number; reminders: number; close(): Promise<void> }> {
  const state = { calls: 0, reminders: 0 };
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '';
    if (req.method === 'GET' && url === '/dapr/config') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ entities: [actorType], actorIdleTimeout: '1h', drainOngoingCallTimeout: '1s' }));
    } else if (url.startsWith(`/actors/${actorType}/`)) {
      if (url.includes('/method/remind/')) state.reminders++;
      else if (url.includes('/method/')) state.calls++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ host: name }));
    } else if (url === '/healthz') {
      res.writeHead(200).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get calls() {
      return state.calls;
    },
    /** Reminder deliveries (`PUT /actors/<type>/<id>/method/remind/<name>`). */
    get reminders() {
      return state.reminders;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
