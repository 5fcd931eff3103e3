// An aws store's client: the AWS SDK's clients behind the SecretsClient contract. Loaded with the first aws store.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsProvider } from '../../api/types.generated.ts';
import type { SecretsClient, StoreContext } from '../provider.ts';
import { buildAwsSession, planAwsAuth, sdkClientConfig } from './auth.ts';
import type { AwsClientSettings } from './auth.ts';
import { awsCall } from './errors.ts';
import { DEFAULT_MAX_ATTEMPTS, type AwsProviderOptions } from './options.ts';
import { createParameterStoreReader } from './parameter-store.ts';
import type { AwsReader } from './reader.ts';
import { createSecretsManagerReader } from './secrets-manager.ts';
import { createSecretsManagerWriter } from './push-secrets-manager.ts';
import { createParameterStoreWriter } from './push-parameter-store.ts';

export async function createAwsClient(spec: AwsProvider, ctx: StoreContext, options: AwsProviderOptions): Promise<SecretsClient> {
  const clock = options.clock ?? ctx.clock;
  const settings: AwsClientSettings = {
    region: spec.region,
    endpoint: spec.endpoint,
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
  };
  const plan = planAwsAuth(spec, ctx);
  const session = buildAwsSession(spec, plan, {
    ctx,
    settings,
    clock,
    ...(options.defaultCredentials ? { defaultCredentials: options.defaultCredentials } : {}),
  });
  const clientConfig = { ...sdkClientConfig(settings), retryMode: 'standard', credentials: session.credentials };
  const prefix = spec.prefix ?? '';
  const identity = (): string => session.identity;
  const secretsManager = spec.service === 'SecretsManager' ? new SecretsManagerClient(clientConfig) : undefined;
  const ssm = spec.service === 'ParameterStore' ? new SSMClient(clientConfig) : undefined;
  let reader: AwsReader;
  if (secretsManager) reader = createSecretsManagerReader({ client: secretsManager, prefix, identity });
  else if (ssm) reader = createParameterStoreReader({ client: ssm, prefix, identity });
  else {
    // The ACM client loads only for a CertificateManager store.
    const [{ ACMClient }, { createCertificateManagerReader }] = await Promise.all([import('@aws-sdk/client-acm'), import('./certificate-manager.ts')]);
    reader = createCertificateManagerReader({ client: new ACMClient(clientConfig), identity, clock });
  }
  // PushSecret writes, on the same SDK client (the store's identity and endpoint); none to Certificate Manager.
  const writer = secretsManager
    ? createSecretsManagerWriter({ client: secretsManager, prefix, identity })
    : ssm
      ? createParameterStoreWriter({ client: ssm, prefix, identity })
      : undefined;
  const sts = new STSClient(clientConfig);

  // Authenticate now so a wrong role or missing ServiceAccount shows on the store, not at the first read.
  // Under referent auth this client may be the store controller's (operator namespace): authenticate lazily.
  if (!plan.referent) await session.credentials();

  return {
    get identity() {
      return session.identity;
    },
    getSecret: (ref, signal) => reader.getSecret(ref, signal),
    getAllSecrets: (find, signal) => reader.getAllSecrets(find, signal),
    ...(writer
      ? { pushSecret: writer.pushSecret, deleteSecret: writer.deleteSecret }
      : { pushUnsupported: 'service CertificateManager only reads certificates; push to a store of service SecretsManager or ParameterStore' }),
    async validate(signal) {
      // Credentials depend on each ExternalSecret's namespace: nothing to check for the store as a whole.
      if (plan.referent) return 'Unknown';
      // Needs no IAM permission, so a least-privilege role (GetSecretValue on a few ARNs) still validates.
      await awsCall({ action: 'sts:GetCallerIdentity', identity: session.identity }, () =>
        sts.send(new GetCallerIdentityCommand({}), { abortSignal: signal }),
      );
      return 'Ready';
    },
    async close() {
      reader.close();
      sts.destroy();
    },
  };
}
