/** SignCertificateRequest as @grpc/proto-loader decodes it (keepCase, enums as names). */
export interface SignCertificateRequest {
  id: string;
  token: string;
  trust_domain: string;
  namespace: string;
  certificate_signing_request: Buffer;
  token_validator: 'UNKNOWN' | 'INSECURE' | 'KUBERNETES' | 'JWKS';
  jwt_audiences: string[];
}

export interface SignCertificateResponse {
  workload_certificate: Buffer;
  trust_chain_certificates: Buffer[];
  valid_until: { seconds: number | string; nanos: number };
}
