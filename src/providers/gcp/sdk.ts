// Google's client libraries, loaded on first use (dynamic import when the first gcpsm client is built), so an operator
// with no gcpsm store never pays their memory or start-up time.
import type * as GoogleAuthLibrary from 'google-auth-library';
import type * as SecretManagerLibrary from '@google-cloud/secret-manager';
import type * as GrpcLibrary from '@grpc/grpc-js';

export type GoogleAuthSdk = Pick<typeof GoogleAuthLibrary, 'IdentityPoolClient' | 'JWT' | 'GoogleAuth' | 'OAuth2Client'>;
export type SecretManagerServiceClient = InstanceType<typeof SecretManagerLibrary.v1.SecretManagerServiceClient>;

export interface GcpSdk {
  readonly auth: GoogleAuthSdk;
  readonly SecretManagerServiceClient: typeof SecretManagerLibrary.v1.SecretManagerServiceClient;
  readonly grpcCredentials: typeof GrpcLibrary.credentials;
}

/** Loads the libraries once per caller-held loader (no module-level state). */
export function createSdkLoader(): () => Promise<GcpSdk> {
  let loading: Promise<GcpSdk> | undefined;
  return () =>
    (loading ??= Promise.all([import('google-auth-library'), import('@google-cloud/secret-manager'), import('@grpc/grpc-js')]).then(([auth, sm, grpc]) => ({
      auth,
      SecretManagerServiceClient: sm.v1.SecretManagerServiceClient,
      grpcCredentials: grpc.credentials,
    })));
}
