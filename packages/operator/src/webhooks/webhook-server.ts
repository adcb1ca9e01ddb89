import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import type { TlsMaterial } from '@tsdapr/grpc';
import type { Logger, Runner } from '@tsdapr/runtime';
import { validateComponent, type ValidatedComponent } from './component-validation.js';
import { handleConversionReview } from './subscription-conversion.js';

export interface WebhookDeps {
  readonly logger: Logger;
}

interface AdmissionRequest {
  uid?: string;
  namespace?: string;
  kind?: { kind?: string };
  object?: ValidatedComponent;
}

/** POST /convert (Subscription ConversionReview) and POST /validate (Component AdmissionReview). */
export function webhookApp(deps: WebhookDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '6mb' }));
  app.post('/convert', (req: Request, res: Response) => {
    res.json(handleConversionReview(req.body));
  });
  app.post('/validate', (req: Request, res: Response) => {
    const request = (req.body as { request?: AdmissionRequest } | undefined)?.request;
    const respond = (allowed: boolean, warnings: string[], message?: string): void => {
      res.json({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: request?.uid ?? '', allowed, ...(warnings.length ? { warnings } : {}), ...(message ? { status: { code: 422, message } } : {}) } });
    };
    if (!request?.object || request.kind?.kind !== 'Component') return respond(true, []);
    // Only what the submitted object itself shows: whoever may submit a
    // Component (in any namespace) learns nothing here about Secrets or the
    // app ids that run. Those checks go to the Component's status only
    // (component-validation.ts; ADR 0004, amendment).
    try {
      const result = validateComponent(request.object);
      respond(result.denied === undefined, result.warnings, result.denied);
    } catch (err) {
      deps.logger.error({ err }, 'component validation failed');
      respond(true, ['the operator could not validate this Component']);
    }
  });
  return app;
}

/** The HTTPS webhook server (port 19443) on the operator's SVID, re-keyed when it rotates. */
export function webhookServer(options: { host?: string | undefined; port: number; tls: TlsMaterial; deps: WebhookDeps; onListening?: (port: number) => void }): Runner {
  return async (signal) => {
    const identity = options.tls.currentIdentity;
    if (!identity) throw new Error('webhook server: no serving certificate yet');
    const server = createServer({ cert: identity.certificateChainPem, key: identity.privateKeyPem, minVersion: 'TLSv1.2' }, webhookApp(options.deps));
    const onIdentity = (update: { certificate: Buffer; privateKey: Buffer } | null): void => {
      if (update) server.setSecureContext({ cert: update.certificate, key: update.privateKey, minVersion: 'TLSv1.2' });
    };
    options.tls.addIdentityCertificateListener(onIdentity);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => resolve());
      });
      options.deps.logger.info({ port: (server.address() as AddressInfo).port }, 'webhook server listening (/convert, /validate)');
      await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    } finally {
      options.tls.removeIdentityCertificateListener(onIdentity);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  };
}
