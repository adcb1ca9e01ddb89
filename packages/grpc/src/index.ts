export { loadDaprProto, daprService, daprProtoFile, daprProtoRoot, sentryService, placementService, operatorService, schedulerService, DAPR_PROTO_PACKAGE, PROTO_LOADER_OPTIONS, type DaprService, type DaprProtoName } from './protos.js';
export { formatSpiffeId, parseSpiffeId, uriSans, spiffeIdFromSubjectAltName, controlPlaneSpiffeId, SpiffeIdError, type SpiffeId } from './spiffe-id.js';
export { TlsMaterial, serverCredentials, clientCredentials, checkPeerSpiffeId, SPIFFE_CHANNEL_OPTIONS, type TlsIdentity, type ClientTlsOptions } from './tls-material.js';
export { peerSpiffeId, PeerIdentityError } from './peer-identity.js';
export { grpcServer, type GrpcServerOptions } from './server.js';
export type { SignCertificateRequest, SignCertificateResponse } from './sentry-messages.js';
