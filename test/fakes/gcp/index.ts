// The gcp test bed in one call: the identity fake (STS, IAM Credentials) trusting the cluster in `kubeconfigPath`,
// and the Secret Manager fake behind it, on free loopback ports.
import { startGoogleIdentity, type GoogleIdentity } from './iam.ts';
import { startFakeSecretManager, type FakeSecretManager } from './secret-manager.ts';
import { startFakePubSub, type FakePubSub } from './pubsub.ts';

export { Role } from './secret-manager.ts';
export type { FakeSecretManager } from './secret-manager.ts';
export { PubSubRole, type FakePubSub } from './pubsub.ts';
export type { GoogleIdentity, ServiceAccountKeyFile } from './iam.ts';

export interface GcpFake {
  readonly identity: GoogleIdentity;
  readonly secretManager: FakeSecretManager;
  readonly pubsub: FakePubSub;
  /** spec.provider.gcpsm.endpoints for a store pointed at the fakes. */
  readonly endpoints: { readonly secretManager: string; readonly sts: string; readonly iamCredentials: string; readonly pubsub: string };
  stop(): Promise<void>;
}

export async function startGcpFake(options: { kubeconfigPath: string; issuer: string; clock?: () => number; pageSizeCap?: number }): Promise<GcpFake> {
  const identity = await startGoogleIdentity(options);
  const pubsub = await startFakePubSub(identity, options);
  const secretManager = await startFakeSecretManager(identity, { ...options, pubsub });
  return {
    identity,
    secretManager,
    pubsub,
    endpoints: { secretManager: `http://${secretManager.address}`, sts: identity.stsEndpoint, iamCredentials: identity.iamEndpoint, pubsub: `http://${pubsub.address}` },
    async stop() {
      await secretManager.stop();
      await pubsub.stop();
      await identity.stop();
    },
  };
}
