// The `gcpsm` provider: Google Cloud Secret Manager, one authenticated session per store generation (and per
// ExternalSecret namespace under referent auth). The SDKs are imported when the first gcpsm client is built.
import { GcpsmProviderSchema } from '../../api/secret-store.ts';
import type { GcpsmProvider } from '../../api/types.generated.ts';
import type { Clock } from '../../util/clock.ts';
import type { Provider, SecretsClient, StoreContext } from '../provider.ts';
import { checkProviderSpec, specOrThrow } from '../kit/index.ts';
import { createGcpCredentials, gkeMetadataLookup, type MetadataLookup } from './credentials.ts';
import { checkGcpSpec, parentName, planGcpAuth, secretManagerEndpoint, tokenEndpoints } from './plan.ts';
import { createGcpReader } from './reader.ts';
import { createSdkLoader, type GcpSdk } from './sdk.ts';
import { createGcpWriter } from './push.ts';

export type { GcpsmProvider as GcpsmProviderSpec } from '../../api/types.generated.ts';

export interface GcpProviderOptions {
  /** The GKE metadata server (cluster name, location, project when a workloadIdentity store leaves them out). For tests. */
  readonly metadata?: MetadataLookup;
  /** Overrides ctx.clock for token expiry (tests). */
  readonly clock?: Clock;
}

/** Problems in a gcpsm store spec (pure), checked with the CRD's own schema. */
export function validateGcpSpec(spec: unknown): { warnings: string[]; errors: string[] } {
  const { warnings, errors } = checkProviderSpec<GcpsmProvider>('gcpsm', GcpsmProviderSchema, spec, checkGcpSpec);
  return { warnings, errors };
}

export function createGcpProvider(options: GcpProviderOptions = {}): Provider<GcpsmProvider> {
  const loadSdk = createSdkLoader();
  return {
    name: 'gcpsm',
    validateStore: (spec) => validateGcpSpec(spec),
    clientPartition(spec, ctx) {
      // Only the referent flag matters here; the store's own namespace does not.
      return planGcpAuth(spec, { storeKind: ctx.storeKind, storeNamespace: undefined, namespace: ctx.namespace }).referent ? ctx.namespace : undefined;
    },
    changeFeed: {
      source: 'gcp-pubsub',
      describe: (spec) => spec.changeFeed?.pubsub.subscription,
      async run(rawSpec, ctx, sink, signal) {
        const spec = specOrThrow('gcpsm', checkProviderSpec<GcpsmProvider>('gcpsm', GcpsmProviderSchema, rawSpec, checkGcpSpec));
        const { runPubSubFeed } = await import('./pubsub-feed.ts');
        return runPubSubFeed(spec, ctx, sink, signal, { sdk: await loadSdk(), clock: options.clock ?? ctx.clock, metadata: options.metadata });
      },
    },
    async newClient(rawSpec, ctx) {
      const spec = specOrThrow('gcpsm', checkProviderSpec<GcpsmProvider>('gcpsm', GcpsmProviderSchema, rawSpec, checkGcpSpec));
      return createGcpClient(spec, ctx, await loadSdk(), options);
    },
  };
}

async function createGcpClient(spec: GcpsmProvider, ctx: StoreContext, sdk: GcpSdk, options: GcpProviderOptions): Promise<SecretsClient> {
  const clock = options.clock ?? ctx.clock;
  const { plan, referent } = planGcpAuth(spec, ctx);
  const endpoints = tokenEndpoints(spec);
  const credentials = createGcpCredentials(plan, {
    ctx,
    clock,
    sdk: sdk.auth,
    tokenUrl: endpoints.tokenUrl,
    iamCredentials: endpoints.iamCredentials,
    metadata: options.metadata ?? gkeMetadataLookup(),
  });
  // checkGcpSpec refuses a spec without projectID.
  const projectID = spec.projectID ?? '';
  const endpoint = secretManagerEndpoint(spec);
  const client = new sdk.SecretManagerServiceClient({
    apiEndpoint: endpoint.host,
    port: endpoint.port,
    // Channel credentials only: the store's own access token goes on each call (reader.ts), so the library never
    // looks for Application Default Credentials of the process. An empty OAuth2Client answers its universe check.
    sslCreds: endpoint.secure ? sdk.grpcCredentials.createSsl() : sdk.grpcCredentials.createInsecure(),
    authClient: new sdk.auth.OAuth2Client(),
    projectId: projectID,
  });
  const reader = createGcpReader({ client, credentials, parent: parentName(projectID, spec.location), latestOrFetch: spec.secretVersionSelectionPolicy === 'LatestOrFetch' });
  const writer = createGcpWriter({ client, credentials, parent: parentName(projectID, spec.location) });

  // Authenticate now so a wrong audience or binding shows on the store, not at the first read.
  // Under referent auth this client may be the store controller's (operator namespace): authenticate lazily.
  if (!referent) {
    try {
      await credentials.token(AbortSignal.timeout(60_000));
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  return {
    get identity() {
      return credentials.identity;
    },
    getSecret: (ref, signal) => reader.getSecret(ref, signal),
    getAllSecrets: (find, signal) => reader.getAllSecrets(find, signal),
    pushSecret: writer.pushSecret,
    deleteSecret: writer.deleteSecret,
    async validate(signal) {
      // Credentials depend on each ExternalSecret's namespace: nothing to check for the store as a whole.
      if (referent) return 'Unknown';
      // The token exchange (and impersonation) needs only the bindings the store's reads need anyway; any Secret
      // Manager call would need a permission (list, or access on some secret) a least-privilege identity may lack.
      await credentials.token(signal);
      return 'Ready';
    },
    async close() {
      await client.close();
    },
  };
}
