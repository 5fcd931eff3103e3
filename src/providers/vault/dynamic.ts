// The VaultDynamicSecret generator: calls a Vault path that issues credentials (database/creds/<role>, aws/creds/…,
// pki/issue/…), renews and revokes their leases. One authenticated connection per generator object (per store, for
// storeRef), replaced when the object or its store changes, closed (token revoked) when the operator stops.
import type { VaultDynamicSecret, VaultProvider } from '../../api/types.generated.ts';
import { parseVaultDynamicSecret } from '../../api/vault-dynamic-secret.ts';
import type { Clock } from '../../util/clock.ts';
import { parseDuration } from '../../util/duration.ts';
import type { Generated, Generator, GeneratorObjectRef, LeaseSettings, RevocationListener } from '../generator.ts';
import { TerminalError } from '../provider.ts';
import type { GeneratorStore, StoreContext, StoreKind, StoreKubeAccess, TenancyDeclaration } from '../provider.ts';
import { connectVault, parseVaultSpec, type VaultConnection, type VaultProviderOptions } from './connection.ts';
import { encodePath } from './transport.ts';
import { declaredTenancy, dotSegmentProblem, sharedStoreCallProblem } from '../kit/index.ts';

/** The store a generator's spec.storeRef names (the contract's GeneratorStore). */
export type StoreForGenerator = GeneratorStore;

export interface VaultDynamicSecretDeps {
  /** The raw object, or undefined when it does not exist. */
  readonly readGenerator: (namespace: string, name: string, signal: AbortSignal) => Promise<unknown>;
  /** A store named by spec.storeRef, as an ExternalSecret of `namespace` may use it (ClusterSecretStore conditions, readiness). */
  readonly resolveStore: (namespace: string, ref: { name: string; kind: StoreKind }) => { ok: true; store: StoreForGenerator } | { ok: false; message: string };
  /** Kube access limited to `onlyNamespace` (undefined: any, for a ClusterSecretStore). */
  readonly kubeAccess: (onlyNamespace: string | undefined, description: string) => StoreKubeAccess;
  /** The operator's tenancy rules (GeneratorHost.assertTenancy): an inline spec counts as a SecretStore. */
  readonly assertTenancy: (declaration: TenancyDeclaration, storeKind: StoreKind) => void;
  readonly clock: Clock;
  readonly options?: VaultProviderOptions | undefined;
}

export interface VaultDynamicSecretGenerator extends Generator {
  /** Closes every connection (revoking the tokens it logged in for). */
  close(): Promise<void>;
}

const encoder = new TextEncoder();

interface CachedConnection {
  readonly fingerprint: string;
  /** What the connection was made from, for reports: "generation 3", "SecretStore vault, generation 2". */
  readonly from: string;
  readonly connection: Promise<VaultConnection>;
}

/** Never served through a ClusterSecretStore: token minting (auth/token/create …) and the server's own configuration. */
export const VAULT_FORBIDDEN_GENERATOR_PREFIXES = ['auth/token', 'sys'] as const;

/**
 * Lease IDs come back from the ExternalSecret's status, which whoever may write that status in the namespace can edit:
 * renew and revoke serve only leases Vault issued under the generator's own path (Vault names a lease
 * `<path>/<id>`), so an edited status cannot renew or revoke another team's credentials with the store's identity.
 * A lease issued before the generator's path changed is then left to its TTL.
 */
function assertOwnLease(vds: VaultDynamicSecret, leaseId: string): void {
  const path = vds.spec.path.replace(/^\/+|\/+$/g, '');
  if (!leaseId.startsWith(`${path}/`) || dotSegmentProblem(leaseId, 'the lease') !== undefined) {
    throw new TerminalError(`VaultDynamicSecret ${vds.metadata.namespace}/${vds.metadata.name}: lease ${leaseId} is not a lease of this generator's path ${path}; it is left to its TTL`);
  }
}

/** Closing a connection revokes its token; a silent Vault must not hold the caller longer than this. */
const CLOSE_TIMEOUT_MS = 10_000;

export function createVaultDynamicSecretGenerator(deps: VaultDynamicSecretDeps): VaultDynamicSecretGenerator {
  const connections = new Map<string, CachedConnection>();

  const load = async (ref: GeneratorObjectRef, signal: AbortSignal): Promise<VaultDynamicSecret> => {
    const raw = await deps.readGenerator(ref.namespace, ref.name, signal);
    if (raw === undefined) throw new TerminalError(`VaultDynamicSecret ${ref.namespace}/${ref.name} does not exist; create it or fix dataFrom[].sourceRef.generatorRef.name`);
    const parsed = parseVaultDynamicSecret(raw);
    if (!parsed.ok) throw new TerminalError(parsed.error);
    return parsed.value;
  };

  /** Server + auth, and the context it authenticates in. */
  const target = (vds: VaultDynamicSecret): { spec: VaultProvider; ctx: StoreContext; fingerprint: string; from: string } => {
    const namespace = vds.metadata.namespace ?? '';
    if (vds.spec.provider) {
      const description = `VaultDynamicSecret ${namespace}/${vds.metadata.name}`;
      return {
        spec: parseVaultSpec(vds.spec.provider),
        ctx: { storeKind: 'SecretStore', storeName: vds.metadata.name, storeNamespace: namespace, namespace, kube: deps.kubeAccess(namespace, description), clock: deps.clock },
        fingerprint: `vds/${vds.metadata.uid}/${vds.metadata.generation}`,
        from: `generation ${vds.metadata.generation}`,
      };
    }
    const storeRef = vds.spec.storeRef!;
    const resolved = deps.resolveStore(namespace, { name: storeRef.name, kind: storeRef.kind });
    if (!resolved.ok) throw new TerminalError(`VaultDynamicSecret ${namespace}/${vds.metadata.name}: ${resolved.message}`);
    const { store } = resolved;
    if (store.providerName !== 'vault') {
      throw new TerminalError(`VaultDynamicSecret ${namespace}/${vds.metadata.name}: ${store.kind} ${store.name} is a ${store.providerName} store, not a vault one`);
    }
    const described = store.kind === 'ClusterSecretStore' ? `ClusterSecretStore ${store.name}` : `SecretStore ${namespace}/${store.name}`;
    return {
      spec: parseVaultSpec(store.providerSpec),
      ctx: {
        storeKind: store.kind,
        storeName: store.name,
        storeNamespace: store.kind === 'SecretStore' ? namespace : undefined,
        namespace,
        kube: deps.kubeAccess(store.kind === 'SecretStore' ? namespace : undefined, described),
        clock: deps.clock,
      },
      // One connection per store generation and namespace (referent auth resolves in the generator's namespace).
      fingerprint: `store/${store.uid}/${store.generation}/${namespace}`,
      from: `${store.kind} ${store.name}, generation ${store.generation}`,
    };
  };

  /**
   * Closes a connection (revoking its token) and says how it went: to `listener` (the ExternalSecret being served
   * shows a failure), else to the log. A connection that never connected holds no token.
   */
  const retire = async (key: string, cached: CachedConnection, listener: RevocationListener | undefined): Promise<void> => {
    let connection: VaultConnection;
    try {
      connection = await cached.connection;
    } catch {
      return;
    }
    const subject = `the Vault token of VaultDynamicSecret ${key} (${cached.from})`;
    const started = deps.clock.now();
    let error: string | undefined;
    try {
      await connection.close(AbortSignal.timeout(CLOSE_TIMEOUT_MS));
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    const report = { subject, identity: connection.identity, durationMs: deps.clock.now() - started, ...(error !== undefined ? { error } : {}) };
    if (listener) listener(report);
    else if (error !== undefined) deps.options?.logger?.warn({ subject, identity: connection.identity, err: error }, 'could not revoke a Vault token; it ends at its TTL');
  };

  const connectionFor = async (vds: VaultDynamicSecret, signal: AbortSignal, onRevocation?: RevocationListener): Promise<VaultConnection> => {
    const { spec, ctx, fingerprint, from } = target(vds);
    // Before any login: an inline spec or a store must not make the operator act as itself or send tokens in clear text,
    // and a ClusterSecretStore serves only the calls its admin opted in to.
    deps.assertTenancy(declaredTenancy('vault', spec), ctx.storeKind);
    const refused = sharedStoreCallProblem(
      { storeKind: ctx.storeKind, storeName: ctx.storeName, method: vds.spec.method, path: vds.spec.path, returnsCredentials: vds.spec.resultType === 'Auth' },
      spec.generators && { allowedPathPrefixes: spec.generators.allowedPathPrefixes, allowedMethods: spec.generators.allowedMethods ?? ['GET', 'POST'] },
      VAULT_FORBIDDEN_GENERATOR_PREFIXES,
    );
    if (refused !== undefined) throw new TerminalError(`VaultDynamicSecret ${vds.metadata.namespace}/${vds.metadata.name}: ${refused}`);
    const key = `${vds.metadata.namespace}/${vds.metadata.name}`;
    const cached = connections.get(key);
    if (cached?.fingerprint === fingerprint) return cached.connection;
    // The old connection's token is revoked beside the new login; the caller hears how that went.
    if (cached) void retire(key, cached, onRevocation);
    const connection = connectVault(spec, ctx, deps.options ?? {}, signal);
    connections.set(key, { fingerprint, from, connection });
    connection.catch(() => {
      if (connections.get(key)?.connection === connection) connections.delete(key);
    });
    return connection;
  };

  const settingsOf = (vds: VaultDynamicSecret): LeaseSettings => ({
    renewAtPercent: vds.spec.renewAtPercent,
    rotateBeforeMs: parseDuration(vds.spec.rotateBeforeMaxTTL),
  });

  return {
    async settings(ref, signal) {
      return settingsOf(await load(ref, signal));
    },

    async generate(ref, signal, onRevocation): Promise<Generated> {
      const vds = await load(ref, signal);
      const { session } = await connectionFor(vds, signal, onRevocation);
      const { method, parameters } = vds.spec;
      const path = encodePath(vds.spec.path);
      const query = method === 'GET' && parameters ? Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])) : undefined;
      const what = `${method} ${path} (VaultDynamicSecret ${ref.namespace}/${ref.name})`;
      const response = await session.request({ method, path, signal, ...(method !== 'GET' ? { body: parameters ?? {} } : {}), ...(query ? { query } : {}) }, what);
      const result = vds.spec.resultType === 'Auth' ? (response?.auth as Record<string, unknown> | null | undefined) : response?.data;
      const entries = Object.entries(result ?? {}).filter(([, value]) => value !== null && value !== undefined);
      if (entries.length === 0 && !vds.spec.allowEmptyResponse) {
        throw new TerminalError(`Vault ${what}: the response has no ${vds.spec.resultType === 'Auth' ? 'auth' : 'data'}; check the path, or set allowEmptyResponse`);
      }
      const data = new Map(entries.map(([key, value]) => [key, encoder.encode(typeof value === 'string' ? value : JSON.stringify(value))]));
      // A token issued through resultType Auth is not a lease of sys/leases; it ends at its own TTL.
      const leaseId = vds.spec.resultType === 'Data' ? (response?.lease_id ?? '') : '';
      return {
        data,
        ...(leaseId !== '' ? { lease: { leaseId, renewable: response?.renewable ?? false, leaseDurationSeconds: response?.lease_duration ?? 0 } } : {}),
      };
    },

    async renew(ref, leaseId, incrementSeconds, signal, onRevocation) {
      const vds = await load(ref, signal);
      assertOwnLease(vds, leaseId);
      const { session } = await connectionFor(vds, signal, onRevocation);
      return session.withToken((token) => session.api.renewLease(token, leaseId, incrementSeconds, signal), signal);
    },

    async revoke(ref, leaseId, signal, onRevocation) {
      const vds = await load(ref, signal);
      assertOwnLease(vds, leaseId);
      const { session } = await connectionFor(vds, signal, onRevocation);
      await session.withToken((token) => session.api.revokeLease(token, leaseId, signal), signal);
    },

    async close() {
      // Shutdown serves no ExternalSecret: a failure goes to the log.
      const all = [...connections.entries()];
      connections.clear();
      await Promise.all(all.map(([key, cached]) => retire(key, cached, undefined)));
    },
  };
}
