// Shared by the suites that run the aws provider against moto (aws, aws-acm, change-feeds). moto does not check
// web-identity tokens, so every AWS request goes through test/support/sts-web-identity-check.ts, which verifies them
// against the apiserver's JWKS, counts requests and injects faults.
import { startMoto, type Moto } from './moto.ts';
import { startStsWebIdentityCheck, type StsWebIdentityCheck } from './sts-web-identity-check.ts';
import { SERVICE_ACCOUNT_ISSUER } from './cluster.ts';
import { createAwsProvider } from '../../src/providers/aws/provider.ts';
import type { AwsProvider } from '../../src/api/types.generated.ts';
import type { SecretsClient, StoreContext } from '../../src/providers/provider.ts';
import { systemClock, type Clock } from '../../src/util/clock.ts';

export const AWS_REGION = 'us-east-1';
/** What a suite writes its test data to moto with (moto takes any keys). */
export const motoSeedCredentials = { accessKeyId: 'AKIASEEDSEEDSEED', secretAccessKey: 'seed' };

/** moto, and the STS web-identity check in front of it: stores name `check.endpoint`, the suite seeds `moto.endpoint`. */
export async function startMotoBehindCheck(kubeconfigPath: string): Promise<{ moto: Moto; check: StsWebIdentityCheck }> {
  const moto = await startMoto();
  try {
    return { moto, check: await startStsWebIdentityCheck({ upstream: moto.endpoint, kubeconfigPath, issuer: SERVICE_ACCOUNT_ISSUER }) };
  } catch (error) {
    await moto.stop();
    throw error;
  }
}

/**
 * A client straight from the aws provider (no operator) with static keys (AKIADIRECTDIRECT), as a namespaced
 * SecretStore "direct" would build it: for the read-path tests. The ServiceAccount calls are refused.
 */
export function directAwsClient(spec: Partial<AwsProvider> & Pick<AwsProvider, 'service' | 'endpoint'>, clock: Clock = systemClock): Promise<SecretsClient> {
  const notUsed = async (): Promise<never> => {
    throw new Error('not used by the direct client');
  };
  const ctx: StoreContext = {
    storeKind: 'SecretStore',
    storeName: 'direct',
    storeNamespace: 'direct',
    namespace: 'direct',
    clock,
    kube: {
      readSecretKey: async (ref) => new TextEncoder().encode(ref.key === 'id' ? 'AKIADIRECTDIRECT' : 'direct-secret'),
      createServiceAccountToken: notUsed,
      readServiceAccountAnnotations: notUsed,
      readConfigMapKey: notUsed,
    },
  };
  return createAwsProvider().newClient(
    {
      region: AWS_REGION,
      auth: { secretRef: { accessKeyIDSecretRef: { name: 'k', key: 'id' }, secretAccessKeySecretRef: { name: 'k', key: 'key' } } },
      ...spec,
    } as AwsProvider,
    ctx,
  );
}
