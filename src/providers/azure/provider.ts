// The `azurekv` provider: Azure Key Vault secrets, certificates and keys, one authenticated session per store
// generation (and per ExternalSecret namespace under referent auth). The SDK is loaded with the first client.
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { AzureKVProviderSchema } from '../../api/secret-store.ts';
import type { AzureKVProvider } from '../../api/types.generated.ts';
import type { Clock } from '../../util/clock.ts';
import { checkProviderSpec, specOrThrow, type CheckedSpec } from '../kit/index.ts';
import type { Provider, SecretsClient, StoreContext } from '../provider.ts';
import { refusalPolicy } from './errors.ts';
import { createStoreCredential, type StoreCredential } from './credential.ts';
import { azureEndpoints, planAzureAuth } from './plan.ts';
import { createVaultReader } from './reader.ts';
import { loadAzureSdk, type AzureSdk } from './sdk.ts';
import { createKeyVaultWriter } from './push.ts';

export type { AzureKVProvider as AzureKVProviderSpec } from '../../api/types.generated.ts';

/** The SDK's default: 3 retries with exponential backoff, honouring Retry-After on 429 and 503. */
export const MAX_RETRIES = 3;

export interface AzureProviderOptions {
  /** Extra CA certificates (PEM) trusted by this provider's clients only, beside the system roots (test beds, private clouds). */
  readonly trustedCaPem?: string | undefined;
  /** Overrides ctx.clock (tests). */
  readonly clock?: Clock | undefined;
  /** Retries per call after the first attempt; default 3. */
  readonly maxRetries?: number | undefined;
  /** Called with each store's credential when its client is built (tests count token exchanges). */
  readonly onCredential?: ((storeName: string, credential: StoreCredential) => void) | undefined;
}

function checkAzureSpec(spec: unknown): CheckedSpec<AzureKVProvider> {
  return checkProviderSpec<AzureKVProvider>('azurekv', AzureKVProviderSchema, spec, (value) => {
    const warnings: string[] = [];
    if (value.authType !== 'WorkloadIdentity' && value.serviceAccountRef !== undefined) {
      warnings.push(`spec.provider.azurekv.serviceAccountRef is used only with authType WorkloadIdentity (this store uses ${value.authType})`);
    }
    if (value.authType !== 'ManagedIdentity' && value.identityId !== undefined) {
      warnings.push(`spec.provider.azurekv.identityId is used only with authType ManagedIdentity (this store uses ${value.authType})`);
    }
    if (value.authType === 'ManagedIdentity' && value.authSecretRef !== undefined) {
      warnings.push('spec.provider.azurekv.authSecretRef is not used with authType ManagedIdentity');
    }
    const { vaultUrl, keyVaultDnsSuffix } = azureEndpoints(value);
    const errors: string[] = [];
    if (keyVaultDnsSuffix !== undefined && !hostOf(vaultUrl).endsWith(keyVaultDnsSuffix.toLowerCase())) {
      errors.push(`spec.provider.azurekv.vaultUrl ${vaultUrl} is not under customCloudConfig.keyVaultDNSSuffix ${keyVaultDnsSuffix}`);
    }
    return { warnings, errors };
  });
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return '';
  }
}

export function validateAzureSpec(spec: unknown): { warnings: string[]; errors: string[] } {
  const { warnings, errors } = checkAzureSpec(spec);
  return { warnings, errors };
}

export function createAzureProvider(options: AzureProviderOptions = {}): Provider<AzureKVProvider> {
  let sdk: Promise<AzureSdk> | undefined;
  const loadSdk = (): Promise<AzureSdk> => {
    sdk ??= loadAzureSdk().catch((error: unknown) => {
      sdk = undefined;
      throw error;
    });
    return sdk;
  };
  return {
    name: 'azurekv',
    validateStore: (spec) => validateAzureSpec(spec),
    clientPartition(rawSpec, ctx) {
      const checked = checkAzureSpec(rawSpec);
      if (!checked.ok) return undefined;
      return planAzureAuth(checked.spec, { storeKind: ctx.storeKind, storeNamespace: undefined, namespace: ctx.namespace }).referent ? ctx.namespace : undefined;
    },
    changeFeed: {
      source: 'azure-queue',
      describe: (spec) => spec.changeFeed?.storageQueue.queueURL,
      async run(rawSpec, ctx, sink, signal) {
        const spec = specOrThrow('azurekv', checkAzureSpec(rawSpec));
        const { runQueueFeed } = await import('./queue-feed.ts');
        return runQueueFeed(spec, { ...ctx, clock: options.clock ?? ctx.clock }, sink, signal, await loadSdk(), { trustedCaPem: options.trustedCaPem });
      },
    },
    async newClient(rawSpec, ctx) {
      const spec = specOrThrow('azurekv', checkAzureSpec(rawSpec));
      return createAzureClient(spec, ctx, options, await loadSdk());
    },
  };
}

function createAzureClient(spec: AzureKVProvider, ctx: StoreContext, options: AzureProviderOptions, sdk: AzureSdk): SecretsClient {
  const clock = options.clock ?? ctx.clock;
  const plan = planAzureAuth(spec, ctx);
  const { vaultUrl } = azureEndpoints(spec);
  // Trust is per client: never process-wide (NODE_TLS_REJECT_UNAUTHORIZED, NODE_EXTRA_CA_CERTS).
  const agent = options.trustedCaPem ? new Agent({ ca: [...rootCertificates, options.trustedCaPem], keepAlive: true }) : undefined;
  const credential = createStoreCredential({ sdk, ctx: { ...ctx, clock }, plan, agent });
  options.onCredential?.(ctx.storeName, credential);
  const clientOptions = {
    ...(agent ? { agent } : {}),
    retryOptions: { maxRetries: options.maxRetries ?? MAX_RETRIES },
    additionalPolicies: [{ policy: refusalPolicy(), position: 'perCall' as const }],
    // A custom cloud's vault host need not end with the challenge's resource domain.
    ...(plan.endpoints.custom ? { disableChallengeResourceVerification: true } : {}),
  };
  const secretClient = new sdk.secrets.SecretClient(vaultUrl, credential, clientOptions);
  const writer = createKeyVaultWriter({ secrets: secretClient, vaultUrl, identity: () => credential.identity() });
  const reader = createVaultReader({
    vaultUrl,
    secrets: secretClient,
    certificates: new sdk.certificates.CertificateClient(vaultUrl, credential, clientOptions),
    keys: new sdk.keys.KeyClient(vaultUrl, credential, clientOptions),
    identity: () => credential.identity(),
    clock,
  });
  return {
    get identity() {
      return credential.identity();
    },
    getSecret: (ref, signal) => reader.getSecret(ref, signal),
    getAllSecrets: (find, signal) => reader.getAllSecrets(find, signal),
    pushSecret: writer.pushSecret,
    deleteSecret: writer.deleteSecret,
    async validate(signal) {
      // Credentials depend on each ExternalSecret's namespace: nothing to check for the store as a whole.
      if (plan.referent) return 'Unknown';
      // One GET of a secret that does not exist: the challenge, the token exchange and the identity's access, in one
      // call that needs no list permission (per-secret role assignments answer 'Unknown': see VaultReader.probe).
      return reader.probe(signal);
    },
    async close() {
      agent?.destroy();
    },
  };
}
