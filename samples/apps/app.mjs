// The sample app of tsdapr's getting-started path and of its real-pod tests: one small
// HTTP server (no dependencies) that uses its Dapr sidecar the way an application does,
// and exposes each step on a route so that a person or a test can drive it with curl.
//
//   GET  /hello                      who answered (app id and pod name)
//   POST /call/<app-id>/<method>     service invocation through the sidecar
//   PUT  /state/<key>, GET ...       the `statestore` Component
//   POST /publish/<topic>            the `pubsub` Component; deliveries: GET /received
//   POST /actor/<type>/<id>/<method> actor invocation (this app hosts ACTOR_TYPES)
//   POST /reminder/<id>/<name>       an actor reminder due in 1 s; deliveries: GET /reminders
//   POST /job/schedule/<name>        a job (jobs API; the body, or due in 1 s); deliveries: GET /jobs
//
// Environment: APP_ID, APP_PORT (3000), DAPR_HTTP_PORT (3500, set by the injector),
// ACTOR_TYPES (comma-separated, default none).
import { createServer } from 'node:http';
import { hostname } from 'node:os';

const appId = process.env.APP_ID ?? 'app';
const port = Number(process.env.APP_PORT ?? 3000);
const sidecar = `http://127.0.0.1:${process.env.DAPR_HTTP_PORT ?? 3500}`;
const actorTypes = (process.env.ACTOR_TYPES ?? '').split(',').filter(Boolean);

const received = [];
const reminders = [];
const jobs = [];
const actorCalls = new Map();

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A call to the sidecar; its status and body are passed back to the caller as they are. */
async function viaSidecar(method, path, body) {
  const response = await fetch(`${sidecar}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: await response.text() };
}

const json = (status, value) => ({ status, body: JSON.stringify(value), type: 'application/json' });

/** Routes: each returns { status, body, type? }. */
async function route(method, url, body) {
  const parts = url.split('/').filter(Boolean).map(decodeURIComponent);
  const [first, ...rest] = parts;
  if (method === 'GET' && url === '/healthz') return { status: 200, body: 'ok' };
  if (method === 'GET' && url === '/dapr/config') return json(200, { entities: actorTypes, actorIdleTimeout: '1h', drainOngoingCallTimeout: '1s' });
  if (method === 'GET' && url === '/hello') return { status: 200, body: `hello from ${appId} (${hostname()})` };
  if (method === 'POST' && first === 'call' && rest.length === 2) return viaSidecar('GET', `/v1.0/invoke/${rest[0]}/method/${rest[1]}`);
  if (first === 'state' && rest.length === 1) {
    if (method === 'PUT') return viaSidecar('POST', '/v1.0/state/statestore', [{ key: rest[0], value: body }]);
    if (method === 'GET') return viaSidecar('GET', `/v1.0/state/statestore/${rest[0]}`);
  }
  if (method === 'POST' && first === 'publish' && rest.length === 1) return viaSidecar('POST', `/v1.0/publish/pubsub/${rest[0]}`, { message: body, from: appId });
  // Subscription route (samples/apps/k8s/subscription.yaml): a CloudEvent.
  if (method === 'POST' && url === '/orders') {
    received.push(JSON.parse(body).data);
    return json(200, { status: 'SUCCESS' });
  }
  if (method === 'GET' && url === '/received') return json(200, received);
  if (method === 'POST' && first === 'actor' && rest.length === 3) return viaSidecar('POST', `/v1.0/actors/${rest[0]}/${rest[1]}/method/${rest[2]}`);
  if (method === 'POST' && first === 'reminder' && rest.length === 2 && actorTypes[0]) {
    return viaSidecar('POST', `/v1.0/actors/${actorTypes[0]}/${rest[0]}/reminders/${rest[1]}`, { dueTime: '1s' });
  }
  if (method === 'GET' && url === '/reminders') return json(200, reminders);
  if (method === 'POST' && first === 'job' && rest[0] === 'schedule' && rest.length === 2) {
    // A body is the job as the jobs API takes it, e.g. {"schedule":"@every 10s"}; none: due in 1 s.
    return viaSidecar('POST', `/v1.0-alpha1/jobs/${rest[1]}`, body ? JSON.parse(body) : { dueTime: '1s', data: { from: appId } });
  }
  // A triggered job (daprd calls POST /job/<name>).
  if (method === 'POST' && first === 'job' && rest.length === 1) {
    jobs.push(rest[0]);
    return { status: 200, body: '' };
  }
  if (method === 'GET' && url === '/jobs') return json(200, jobs);
  // Actor calls from daprd: PUT /actors/<type>/<id>/method/<name> (reminders: .../method/remind/<name>).
  if (first === 'actors' && actorTypes.includes(rest[0] ?? '')) {
    const [, id, kind, name, reminderName] = rest;
    if (method === 'PUT' && kind === 'method' && name === 'remind' && reminderName) {
      reminders.push(`${id}/${reminderName}`);
      return json(200, {});
    }
    if (method === 'PUT' && kind === 'method') {
      const count = (actorCalls.get(id) ?? 0) + 1;
      actorCalls.set(id, count);
      return json(200, { actor: id, method: name, calls: count, host: hostname() });
    }
    return json(200, {});
  }
  return { status: 404, body: `no route ${method} ${url}` };
}

const server = createServer((req, res) => {
  readBody(req)
    .then((body) => route(req.method ?? 'GET', (req.url ?? '/').split('?')[0], body))
    .then(
      (answer) => res.writeHead(answer.status, { 'content-type': answer.type ?? 'text/plain' }).end(answer.body),
      (err) => res.writeHead(502, { 'content-type': 'text/plain' }).end(`sidecar call failed: ${err.message}`),
    );
});
server.listen(port, () => console.log(JSON.stringify({ level: 'info', msg: 'listening', appId, port, actorTypes })));
// Graceful stop: the kubelet sends SIGTERM.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
