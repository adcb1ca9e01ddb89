/**
 * The same-server baseline of the admission benchmark, run as its own process
 * (forked by admission.ts) so the load generator's CPU and GC stay out of its
 * latency: on one HTTPS server, `/allow` answers every review "allowed" and
 * nothing else (the floor of Node + express + TLS), and `/mutate` is our
 * injector's real admission handler with fixed settings.
 * Tells its parent `{ port, ca }` over IPC once listening.
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Registry } from 'prom-client';
import { silentLogger } from '@tsdapr/runtime';
import { createInjectorMetrics, defaultInjectorSettings, selfSignedServingCertificate, webhookApp } from '@tsdapr/injector';

/** Settings need anchors to write into the sidecar; the handler never parses them. */
const ANCHORS = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIQ\n-----END CERTIFICATE-----\n';

export interface BaselineServerReady {
  readonly port: number;
  readonly ca: string;
}

const serving = await selfSignedServingCertificate({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
const metrics = createInjectorMetrics(new Registry());
const settings = defaultInjectorSettings({ trustAnchorsPem: ANCHORS });
const app = express();
app.post('/allow', express.raw({ type: () => true, limit: '6mb' }), (req, res) => {
  const review = JSON.parse((req.body as Buffer).toString('utf8')) as { apiVersion: string; request: { uid: string } };
  res.type('application/json').send(JSON.stringify({ apiVersion: review.apiVersion, kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } }));
});
app.use(webhookApp({ handler: { settings: () => settings, isAuthorized: () => true, metrics, logger: silentLogger() }, metrics, logger: silentLogger() }));
const server = createServer({ cert: serving.identity.certificateChainPem, key: serving.identity.privateKeyPem }, app);
server.listen(0, '127.0.0.1', () => {
  const ready: BaselineServerReady = { port: (server.address() as AddressInfo).port, ca: serving.caBundlePem };
  process.send?.(ready);
});
// The parent going away (normally or not) ends this process.
process.on('disconnect', () => process.exit(0));
