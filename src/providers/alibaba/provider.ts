// The `alibaba` provider: Alibaba Cloud KMS Secrets Manager, one authenticated session per store generation (and per
// ExternalSecret namespace under referent auth). RRSA per store: each store's own ServiceAccount token is exchanged
// with STS AssumeRoleWithOIDC, where ESO could only use the controller pod's token file.
import { readFile } from 'node:fs/promises';
import { AlibabaProviderSchema } from '../../api/secret-store.ts';
import type { AlibabaProvider } from '../../api/types.generated.ts';
import type { Clock } from '../../util/clock.ts';
import { checkProviderSpec, specOrThrow, type CheckedSpec } from '../kit/index.ts';
import type { Provider, SecretsClient, StoreContext } from '../provider.ts';
import { createAlibabaSession, planAlibabaAuth, type AlibabaAuthPlan } from './auth.ts';
import { kmsDefaultHost, resolveEndpoint } from './endpoints.ts';
import { createKmsCall, createKmsReader } from './kms.ts';
import { createAlibabaWriter } from './push.ts';
import { loadAlibabaSdk, type AlibabaSdk } from './sdk.ts';

export type { AlibabaProvider as AlibabaProviderSpec } from '../../api/types.generated.ts';

export interface AlibabaProviderOptions {
  /** Overrides ctx.clock for credential expiry (tests). */
  readonly clock?: Clock | undefined;
  /** Replaces the SDK loader (unit tests). */
  readonly loadSdk?: (() => Promise<AlibabaSdk>) | undefined;
  /** Reads oidcTokenFilePath; default the file system. */
  readonly readTokenFile?: ((path: string) => Promise<string>) | undefined;
  /** Renew STS credentials this long before expiry (tests); default the kit's. */
  readonly refreshBeforeMs?: number | undefined;
}

function check(spec: unknown): CheckedSpec<AlibabaProvider> {
  // Plain http and the operator's token file are the kit's tenancy rules (alibabaTenancy declares them).
  return checkProviderSpec<AlibabaProvider>('alibaba', AlibabaProviderSchema, spec);
}

/** Problems in an alibaba store spec (pure). */
export function validateAlibabaSpec(spec: unknown): { warnings: string[]; errors: string[] } {
  const { warnings, errors } = check(spec);
  return { warnings, errors };
}

export function createAlibabaProvider(options: AlibabaProviderOptions = {}): Provider<AlibabaProvider> {
  // The SDK is loaded once, when the first alibaba client is built.
  let sdk: Promise<AlibabaSdk> | undefined;
  const loadSdk = (): Promise<AlibabaSdk> => {
    sdk ??= (options.loadSdk ?? loadAlibabaSdk)();
    sdk.catch(() => (sdk = undefined));
    return sdk;
  };
  return {
    name: 'alibaba',
    validateStore: (spec) => validateAlibabaSpec(spec),
    clientPartition(spec, ctx) {
      const plan = planAlibabaAuth(spec, { storeKind: ctx.storeKind, storeName: '', storeNamespace: undefined, namespace: ctx.namespace });
      return plan.referent ? ctx.namespace : undefined;
    },
    changeFeed: {
      source: 'alibaba-mns',
      describe: (spec) => spec.changeFeed?.queue.queueURL,
      async run(rawSpec, ctx, sink, signal) {
        const spec = specOrThrow('alibaba', check(rawSpec));
        const { runMnsFeed } = await import('./mns-feed.ts');
        return runMnsFeed(spec, ctx, sink, signal, {
          clock: options.clock ?? ctx.clock,
          sdk: loadSdk,
          readTokenFile: options.readTokenFile ?? ((path) => readFile(path, 'utf8')),
          refreshBeforeMs: options.refreshBeforeMs,
        });
      },
    },
    async newClient(rawSpec, ctx) {
      const spec = specOrThrow('alibaba', check(rawSpec));
      return createAlibabaClient(spec, ctx, options, loadSdk);
    },
  };
}

async function createAlibabaClient(
  spec: AlibabaProvider,
  ctx: StoreContext,
  options: AlibabaProviderOptions,
  loadSdk: () => Promise<AlibabaSdk>,
): Promise<SecretsClient> {
  const clock = options.clock ?? ctx.clock;
  const plan: AlibabaAuthPlan = planAlibabaAuth(spec, ctx);
  const session = createAlibabaSession(plan, {
    ctx,
    clock,
    regionId: spec.regionID,
    sdk: loadSdk,
    readTokenFile: options.readTokenFile ?? ((path) => readFile(path, 'utf8')),
    refreshBeforeMs: options.refreshBeforeMs,
  });
  const sdk = await loadSdk();
  const kmsOptions = {
    sdk,
    endpoint: resolveEndpoint(spec.endpoint, kmsDefaultHost(spec.regionID)),
    regionId: spec.regionID,
    credentials: (signal: AbortSignal) => session.credentials.get(signal),
    invalidateCredentials: () => session.credentials.invalidate(),
    identity: session.identity,
  };
  const rpc = createKmsCall(kmsOptions);
  const reader = createKmsReader(kmsOptions, rpc);
  const writer = createAlibabaWriter(rpc);

  // Authenticate now so a wrong role or a missing ServiceAccount shows on the store, not at the first read.
  // Under referent auth this client may be the store controller's (operator namespace): authenticate lazily.
  if (!plan.referent) await session.credentials.get(AbortSignal.timeout(60_000));

  return {
    identity: session.identity,
    getSecret: (ref, signal) => reader.getSecret(ref, signal),
    getAllSecrets: (find, signal) => reader.getAllSecrets(find, signal),
    pushSecret: writer.pushSecret,
    deleteSecret: writer.deleteSecret,
    async validate(signal) {
      // Credentials depend on each ExternalSecret's namespace: nothing to check for the store as a whole.
      if (plan.referent) return 'Unknown';
      await reader.validate(signal);
      return 'Ready';
    },
    async close() {},
  };
}
