// The `vault` provider: HashiCorp Vault or OpenBao, KV v1/v2, one authenticated session per store generation (and
// per ExternalSecret namespace under referent auth). The token is reused while its TTL lasts, renewed before it ends,
// replaced when renewal fails, and revoked when the store changes or is deleted (close()). It also serves the
// VaultDynamicSecret generator kind (dataFrom[].sourceRef.generatorRef) through the provider's generators hook.
import { vaultAuditFeed } from './audit-feed.ts';
import type { AuditStream } from './audit-stream.ts';
import { VaultProviderSchema } from '../../api/secret-store.ts';
import { Plural } from '../../api/meta.ts';
import type { VaultProvider } from '../../api/types.generated.ts';
import type { Provider, SecretsClient, StoreContext } from '../provider.ts';
import { planVaultAuth } from './auth.ts';
import { createKvReader } from './kv.ts';
import { createKvWriter } from './push.ts';
import { connectVault, parseVaultSpec, tlsReferent, validateVaultSpec, type VaultProviderOptions } from './connection.ts';
import { createVaultDynamicSecretGenerator } from './dynamic.ts';

export { connectVault, parseVaultSpec, validateVaultSpec, type VaultConnection, type VaultProviderOptions } from './connection.ts';
export type { VaultProvider as VaultProviderSpec } from '../../api/types.generated.ts';

/** `auditStream`: the operator's listener for socket audit devices (--vault-audit-listen), for change feeds. */
export function createVaultProvider(options: VaultProviderOptions = {}, feeds: { readonly auditStream?: AuditStream | undefined } = {}): Provider<VaultProvider> {
  return {
    name: 'vault',
    changeFeed: vaultAuditFeed(feeds.auditStream, (raw) => parseVaultSpec(raw)),
    validateStore: (spec) => validateVaultSpec(spec),
    clientPartition(rawSpec, ctx) {
      const parsed = VaultProviderSchema.safeParse(rawSpec);
      if (!parsed.success) return undefined;
      const spec = parsed.data as VaultProvider;
      let referent: boolean;
      try {
        referent = planVaultAuth(spec.auth, { storeKind: ctx.storeKind, storeNamespace: undefined, namespace: ctx.namespace }).referent;
      } catch {
        // A spec that cannot log in (e.g. gcp without an identity): newClient reports why; the partition does not matter.
        return undefined;
      }
      return referent || tlsReferent(spec, ctx.storeKind) ? ctx.namespace : undefined;
    },
    async newClient(rawSpec, ctx) {
      const spec = parseVaultSpec(rawSpec);
      return createVaultClient(spec, ctx, options);
    },
    // RBAC: get vaultdynamicsecrets (the generator's spec); its leases live on the ExternalSecret's status.
    generators: (host) => ({
      VaultDynamicSecret: createVaultDynamicSecretGenerator({
        clock: host.clock,
        readGenerator: (namespace, name, signal) => host.readCustomObject(Plural.VaultDynamicSecret, namespace, name, signal),
        resolveStore: (namespace, ref) => host.resolveStore(namespace, ref),
        kubeAccess: (onlyNamespace, description) => host.kubeAccess(onlyNamespace, description),
        assertTenancy: (declaration, storeKind) => host.assertTenancy(declaration, storeKind),
        options,
      }),
    }),
  };
}

async function createVaultClient(spec: VaultProvider, ctx: StoreContext, options: VaultProviderOptions): Promise<SecretsClient> {
  const connection = await connectVault(spec, ctx, options, AbortSignal.timeout(60_000));
  const { session } = connection;
  const reader = createKvReader(session, { mount: spec.path, version: spec.version });
  const writer = createKvWriter(session, { mount: spec.path, version: spec.version });
  // Log in now so a refused role or a missing ServiceAccount shows on the store, not at the first read.
  // Under referent auth this client may be the store controller's (operator namespace): log in lazily.
  if (!connection.referent) {
    try {
      await session.tokens.token(AbortSignal.timeout(60_000));
    } catch (err) {
      await connection.close(AbortSignal.timeout(10_000)).catch(() => {});
      throw err;
    }
  }
  return {
    identity: connection.identity,
    getSecret: (ref, signal) => reader.getSecret(ref, signal),
    getAllSecrets: (find, signal) => reader.getAllSecrets(find, signal),
    pushSecret: writer.pushSecret,
    deleteSecret: writer.deleteSecret,
    async validate(signal) {
      if (connection.referent) return 'Unknown';
      // lookup-self needs no policy beyond "default": a least-privilege token still validates.
      await session.withToken((token) => session.api.lookupSelf(token, signal), signal);
      return 'Ready';
    },
    close: () => connection.close(AbortSignal.timeout(10_000)),
  };
}
