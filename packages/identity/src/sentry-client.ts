import { credentials, type ServiceError } from '@grpc/grpc-js';
import { SPIFFE_CHANNEL_OPTIONS, clientCredentials, sentryService, type SignCertificateRequest, type SignCertificateResponse } from '@tsdapr/grpc';

export interface SentryClient {
  sign(request: Partial<SignCertificateRequest>): Promise<SignCertificateResponse>;
  close(): void;
}

type SignCall = (request: unknown, callback: (err: ServiceError | null, response: SignCertificateResponse) => void) => void;

/**
 * A SignCertificate client that checks sentry's identity the way daprd does:
 * the server's only URI SAN must be the expected SPIFFE ID; no hostname check.
 * Without trust anchors it speaks plaintext (only for tests of bad transports).
 */
export function sentryClient(address: string, trustAnchorsPem: string | undefined, expectedServerId: string): SentryClient {
  const { Client } = sentryService();
  const channel = trustAnchorsPem ? clientCredentials({ trustAnchorsPem, expectedServerId }) : credentials.createInsecure();
  const client = new Client(address, channel, trustAnchorsPem ? SPIFFE_CHANNEL_OPTIONS : {});
  const signCall = (client as unknown as { SignCertificate: SignCall }).SignCertificate.bind(client);
  return {
    sign: (request) =>
      new Promise((resolve, reject) => {
        signCall({ token_validator: 'UNKNOWN', jwt_audiences: [], ...request }, (err, response) => (err ? reject(err) : resolve(response)));
      }),
    close: () => client.close(),
  };
}
