// The gcp test bed in one call: the identity fake (STS, IAM Credentials) trusting the cluster in `kubeconfigPath`,
// and the Secret Manager fake behind it, on free loopback ports.
import { startGoogleIdentity, type GoogleIdentity } from './iam.ts';
import { startFakeSecretManager, type FakeSecretManager } from './secret-manager.ts';

export { Role } from './secret-manager.ts';
export type { FakeSecretManager } from './secret-manager.ts';
export type { GoogleIdentity, ServiceAccountKeyFile } from './iam.ts';

export interface GcpFake {
  readonly identity: GoogleIdentity;
  readonly secretManager: FakeSecretManager;
  /** spec.provider.gcpsm.endpoints for a store pointed at the fakes. */
  readonly endpoints: { readonly secretManager: string; readonly sts: string; readonly iamCredentials: string };
  stop(): Promise<void>;
}

export async function startGcpFake(options: { kubeconfigPath: string; issuer: string; clock?: () => number; pageSizeCap?: number }): Promise<GcpFake> {
  const identity = await startGoogleIdentity(options);
  const secretManager = await startFakeSecretManager(identity, options);
  return {
    identity,
    secretManager,
    endpoints: { secretManager: `http://${secretManager.address}`, sts: identity.stsEndpoint, iamCredentials: identity.iamEndpoint },
    async stop() {
      await secretManager.stop();
      await identity.stop();
    },
  };
}
