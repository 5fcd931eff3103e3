import type { Clock } from '../util/clock.ts';
import { TerminalError, wrapClient } from './provider.ts';
import type { ProviderName, SecretsClient, StoreContext, StoreKind } from './provider.ts';
import type { ProviderRegistry } from './registry.ts';
import { withSharedCalls } from './shared-calls.ts';
import { untilAborted } from './abortable.ts';
import type { SharedCalls } from './shared-calls.ts';

/** Which store a client is for, and which version of its spec. */
export interface StoreClientKey {
  readonly kind: StoreKind;
  readonly namespace?: string | undefined;
  readonly name: string;
  readonly uid: string;
  readonly generation: number;
  readonly providerName: ProviderName;
  readonly providerSpec: unknown;
  /**
   * Set to the ExternalSecret's namespace when a ClusterSecretStore authenticates per referent
   * namespace (referent auth): each namespace then gets its own client and its own credentials.
   */
  readonly partition?: string | undefined;
}

/** pino's Logger fits. */
export interface ClientCacheLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface ClientCache {
  /**
   * The authenticated client for this store generation (and partition), built on first use.
   * Concurrent calls share one build; a failed build is not cached. A new generation retires the
   * clients of older generations of that store; asking for an older generation than the cached one
   * rejects with ClientRetiredError (the caller's view of the store is stale). `signal` only stops
   * this caller's wait, never the shared build.
   */
  get(store: StoreClientKey, ctx: StoreContext, signal: AbortSignal): Promise<SecretsClient>;
  /** The store was deleted: retire all its clients (every generation and partition). */
  invalidate(uid: string): Promise<void>;
  /** Retires clients unused for idleTtlMs. The owner calls it periodically; returns how many were retired. */
  sweep(): Promise<number>;
  /** Retires everything (shutdown). Resolves when every client is closed. */
  closeAll(): Promise<void>;
  /** Number of cached clients (built or building). */
  size(): number;
}

/**
 * Above the default ExternalSecret refreshInterval (1h), so a store used at that pace keeps its
 * session instead of re-authenticating on every refresh.
 */
export const defaultClientIdleTtlMs = 2 * 60 * 60 * 1000;

/** A call reached a client after its store changed or was deleted. Not terminal: the retry gets the new client. */
export class ClientRetiredError extends Error {
  override readonly name = 'ClientRetiredError';
}

/**
 * Identifies one authenticated session: store uid, generation and partition. Use it as the
 * `cacheKey` of withSharedCalls so that only callers with the same credentials share results.
 */
export function clientCacheKey(store: Pick<StoreClientKey, 'uid' | 'generation' | 'partition'>): string {
  return `${store.uid}\u0000${store.generation}\u0000${store.partition ?? ''}`;
}

function storeLabel(store: StoreClientKey): string {
  return store.namespace === undefined ? `${store.kind} ${store.name}` : `${store.kind} ${store.namespace}/${store.name}`;
}

interface Entry {
  readonly store: StoreClientKey;
  /** Resolves to the tracked client handed to callers; rejects when the build failed. */
  readonly client: Promise<SecretsClient>;
  /** The provider's own client, once built; only the cache closes it. */
  raw?: SecretsClient;
  lastUsed: number;
  /** Calls in flight through this entry's client; retiring waits for them before close(). */
  readonly calls: Set<Promise<unknown>>;
  retired: boolean;
  /** The build has finished (either way); only built clients are swept. */
  settled: boolean;
  /** Set by retire(); resolves once the provider client is closed. */
  closed?: Promise<void>;
}

export function createClientCache(options: {
  registry: ProviderRegistry;
  clock: Clock;
  logger?: ClientCacheLogger;
  idleTtlMs?: number;
  /** When given, every client handed out de-duplicates concurrent reads (keyed by clientCacheKey). */
  sharedCalls?: SharedCalls;
}): ClientCache {
  const { registry, clock, logger, sharedCalls } = options;
  const idleTtlMs = options.idleTtlMs ?? defaultClientIdleTtlMs;
  /** By uid + partition: one live generation per store and partition. */
  const entries = new Map<string, Entry>();
  /** The same entries by store uid, so a get() looks only at its own store's partitions. */
  const byUid = new Map<string, Set<Entry>>();
  const slotOf = (store: Pick<StoreClientKey, 'uid' | 'partition'>): string => `${store.uid}\u0000${store.partition ?? ''}`;

  function add(entry: Entry): void {
    entries.set(slotOf(entry.store), entry);
    let same = byUid.get(entry.store.uid);
    if (!same) byUid.set(entry.store.uid, (same = new Set()));
    same.add(entry);
  }

  function remove(entry: Entry): void {
    const slot = slotOf(entry.store);
    if (entries.get(slot) === entry) entries.delete(slot);
    const same = byUid.get(entry.store.uid);
    same?.delete(entry);
    if (same?.size === 0) byUid.delete(entry.store.uid);
  }

  function retire(entry: Entry): Promise<void> {
    if (entry.closed) return entry.closed;
    entry.retired = true;
    remove(entry);
    entry.closed = (async () => {
      try {
        await entry.client;
      } catch {
        return; // the build failed: nothing to close
      }
      const client = entry.raw!;
      // Let calls already running finish with the old session rather than fail mid-request.
      await Promise.allSettled([...entry.calls]);
      try {
        await client.close();
      } catch (error) {
        logger?.warn(
          { store: storeLabel(entry.store), uid: entry.store.uid, error: errorMessage(error) },
          'closing a provider client failed; it is dropped anyway',
        );
      }
    })();
    return entry.closed;
  }

  /** Wraps the provider's client to track calls and refuse new ones once retired. */
  function track(entry: Entry, client: SecretsClient): SecretsClient {
    function run<T>(call: () => Promise<T>): Promise<T> {
      if (entry.retired) {
        return Promise.reject(
          new ClientRetiredError(
            `the client for ${storeLabel(entry.store)} was closed because the store changed or was deleted; the request will be retried`,
          ),
        );
      }
      entry.lastUsed = clock.now();
      const promise = call();
      entry.calls.add(promise);
      const done = (): void => {
        entry.calls.delete(promise);
        entry.lastUsed = clock.now();
      };
      promise.then(done, done);
      return promise;
    }
    // The cache owns the session; a caller closing it would break every other user.
    const tracked = wrapClient(client, { around: (_operation, call) => run(call), close: async () => {} });
    return sharedCalls ? withSharedCalls(tracked, clientCacheKey(entry.store), sharedCalls) : tracked;
  }

  function build(store: StoreClientKey, ctx: StoreContext): Entry {
    const provider = registry.get(store.providerName);
    const entry: Entry = {
      store,
      client: Promise.resolve().then(async () => {
        if (!provider) {
          throw new TerminalError(
            `${storeLabel(store)} uses provider "${store.providerName}", which this build of secret-relay does not include; ` +
              `use one of: ${registry.names().join(', ')}`,
          );
        }
        entry.raw = await provider.newClient(store.providerSpec, ctx);
        return track(entry, entry.raw);
      }),
      lastUsed: clock.now(),
      calls: new Set(),
      retired: false,
      settled: false,
    };
    add(entry);
    // A failed build is forgotten so the next get() tries again; its callers see the error.
    entry.client.then(
      () => {
        entry.settled = true;
      },
      () => {
        entry.settled = true;
        entry.retired = true;
        remove(entry);
      },
    );
    return entry;
  }

  return {
    get(store, ctx, signal) {
      if (signal.aborted) return Promise.reject(signal.reason);
      const sameStore = [...(byUid.get(store.uid) ?? [])];
      const newest = Math.max(store.generation, ...sameStore.map((other) => other.store.generation));
      if (store.generation < newest) {
        // The caller read the store from a cache that has since moved on; its retry sees the new spec.
        return Promise.reject(
          new ClientRetiredError(
            `${storeLabel(store)} changed (generation ${store.generation} → ${newest}) while this request was prepared; the request will be retried`,
          ),
        );
      }
      // Clients of older generations (in any partition) hold sessions made from the old spec.
      for (const other of sameStore) if (other.store.generation < store.generation) void retire(other);
      const entry = entries.get(slotOf(store)) ?? build(store, ctx);
      entry.lastUsed = clock.now();
      return untilAborted(entry.client, signal);
    },
    async invalidate(uid) {
      await Promise.all([...(byUid.get(uid) ?? [])].map(retire));
    },
    async sweep() {
      const now = clock.now();
      const idle = [...entries.values()].filter(
        (entry) => entry.settled && entry.calls.size === 0 && now - entry.lastUsed >= idleTtlMs,
      );
      await Promise.all(idle.map(retire));
      return idle.length;
    },
    async closeAll() {
      await Promise.all([...entries.values()].map(retire));
    },
    size: () => entries.size,
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
