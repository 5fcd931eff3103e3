// The `aws` provider: AWS Secrets Manager or SSM Parameter Store, one authenticated session per store
// generation (and per ExternalSecret namespace under referent auth).
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { AwsProviderSchema } from '../../api/secret-store.ts';
import type { AwsProvider } from '../../api/types.generated.ts';
import type { Clock } from '../../util/clock.ts';
import { checkProviderSpec, specOrThrow, type CheckedSpec } from '../kit/index.ts';
import type { Provider, SecretsClient, StoreContext } from '../provider.ts';
import { buildAwsSession, planAwsAuth, sdkClientConfig } from './auth.ts';
import type { AwsClientSettings } from './auth.ts';
import { awsCall } from './errors.ts';
import { createParameterStoreReader } from './parameter-store.ts';
import type { AwsReader } from './reader.ts';
import { createSecretsManagerReader } from './secrets-manager.ts';

export type { AwsProvider as AwsProviderSpec } from '../../api/types.generated.ts';

/** The SDK's standard retry mode: 3 attempts, exponential backoff with full jitter, longer for throttling. */
export const DEFAULT_MAX_ATTEMPTS = 3;

export interface AwsProviderOptions {
  /** Attempts per call, the SDK retrying throttling and transient errors with jittered backoff. Default 3. */
  readonly maxAttempts?: number;
  /** The operator's own credentials (stores without auth). Default: the SDK's node provider chain. For tests. */
  readonly defaultCredentials?: () => AwsCredentialIdentityProvider;
  /** Overrides ctx.clock for credential expiry (tests). */
  readonly clock?: Clock;
}

/** The spec checked with the CRD's schema (it comes from the cluster) and the rules the schema cannot say. Pure. */
function checkAwsSpec(spec: unknown): CheckedSpec<AwsProvider> {
  return checkProviderSpec<AwsProvider>('aws', AwsProviderSchema, spec, (value) => ({
    warnings:
      (value.externalID !== undefined || (value.sessionTags?.length ?? 0) > 0) && value.role === undefined
        ? ['spec.provider.aws.externalID and sessionTags apply only when assuming spec.provider.aws.role, which is not set']
        : [],
  }));
}

/** Problems in an aws store spec (pure). */
export function validateAwsSpec(spec: unknown): { warnings: string[]; errors: string[] } {
  const { warnings, errors } = checkAwsSpec(spec);
  return { warnings, errors };
}

export function createAwsProvider(options: AwsProviderOptions = {}): Provider<AwsProvider> {
  return {
    name: 'aws',
    validateStore: (spec) => validateAwsSpec(spec),
    clientPartition(spec, ctx) {
      // Only the referent flag matters here; the store's own namespace does not.
      const plan = planAwsAuth(spec, { storeKind: ctx.storeKind, storeNamespace: undefined, namespace: ctx.namespace });
      return plan.referent ? ctx.namespace : undefined;
    },
    async newClient(rawSpec, ctx) {
      return createAwsClient(specOrThrow('aws', checkAwsSpec(rawSpec)), ctx, options);
    },
  };
}

async function createAwsClient(spec: AwsProvider, ctx: StoreContext, options: AwsProviderOptions): Promise<SecretsClient> {
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
  const reader: AwsReader =
    spec.service === 'SecretsManager'
      ? createSecretsManagerReader({ client: new SecretsManagerClient(clientConfig), prefix, identity })
      : createParameterStoreReader({ client: new SSMClient(clientConfig), prefix, identity });
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
