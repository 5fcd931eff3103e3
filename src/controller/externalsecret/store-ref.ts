// Which store serves an ExternalSecret, and may it — a pure function of the caches.
import type { ExternalSecret, SecretStore, SecretStoreRef, ClusterSecretStore } from '../../api/index.ts';
import { storeCompat } from '../../api/eso-compat.ts';
import { type ProviderRetry, providerRetryOf } from './provider-retry.ts';
import { ConditionType, ExternalSecretReason } from '../../api/index.ts';
import type { ProviderName, StoreKind } from '../../providers/provider.ts';
import { providerOfStore } from '../../providers/registry.ts';
import { namespaceAllowed } from '../secretstore/namespace-conditions.ts';
import type { Condition } from '../conditions.ts';

export interface ResolvedStore {
  readonly kind: StoreKind;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly uid: string;
  readonly generation: number;
  readonly providerName: ProviderName;
  readonly providerSpec: unknown;
  /** spec.retrySettings: retries of a failed provider call within a sync; none when absent. */
  readonly retry?: ProviderRetry;
}

export type StoreResolution =
  | { readonly ok: true; readonly store: ResolvedStore }
  | { readonly ok: false; readonly reason: string; readonly message: string };

/** A cached store, parsed: `ok: false` with the schema's complaint (naming the field) when it fails it. */
export type ParsedStore =
  | { readonly ok: true; readonly value: SecretStore | ClusterSecretStore }
  | { readonly ok: false; readonly error: string; readonly raw: InvalidStoreObject };

/** What is read of a store that fails the schema, to write its Ready condition. */
export interface InvalidStoreObject {
  readonly metadata?: { readonly uid?: string; readonly generation?: number } | undefined;
  readonly status?: { readonly conditions?: readonly Condition[] } | undefined;
}

export interface StoreLookup {
  /** Valid stores only: one that fails the schema is never served. */
  secretStore(namespace: string, name: string): SecretStore | undefined;
  clusterSecretStore(name: string): ClusterSecretStore | undefined;
  /** The store as cached, valid or not (namespace ignored for a ClusterSecretStore); undefined when it does not exist. */
  parsedStore(kind: StoreKind, namespace: string, name: string): ParsedStore | undefined;
  namespaceLabels(name: string): Readonly<Record<string, string>> | undefined;
}

/**
 * The store `ref` names for `es` (spec.secretStoreRef when no ref is given: an entry's own sourceRef.storeRef
 * otherwise), checked as every read needs it: it exists, it is valid and Ready, and it serves the namespace.
 */
export function resolveStore(es: ExternalSecret, lookup: StoreLookup, ref: SecretStoreRef | undefined = es.spec.secretStoreRef): StoreResolution {
  const namespace = es.metadata.namespace ?? '';
  if (ref === undefined) {
    return {
      ok: false,
      reason: ExternalSecretReason.StoreNotFound,
      message: 'spec.secretStoreRef is not set and an entry names no sourceRef.storeRef: set spec.secretStoreRef, or a storeRef on every entry',
    };
  }
  const kind: StoreKind = ref.kind ?? 'SecretStore';
  const store = kind === 'ClusterSecretStore' ? lookup.clusterSecretStore(ref.name) : lookup.secretStore(namespace, ref.name);
  const described = kind === 'ClusterSecretStore' ? `ClusterSecretStore ${ref.name}` : `SecretStore ${namespace}/${ref.name}`;
  if (!store) {
    // One that exists but fails the schema is not ready (its own Ready=False says the same), not absent.
    const parsed = lookup.parsedStore(kind, namespace, ref.name);
    if (parsed && !parsed.ok) return { ok: false, reason: ExternalSecretReason.StoreNotReady, message: `${parsed.error}; fix the store` };
    return { ok: false, reason: ExternalSecretReason.StoreNotFound, message: `${described} does not exist` };
  }
  if (kind === 'ClusterSecretStore') {
    const verdict = namespaceAllowed((store as ClusterSecretStore).spec.conditions, namespace, lookup.namespaceLabels(namespace));
    if (!verdict.allowed) return { ok: false, reason: ExternalSecretReason.NamespaceNotAllowed, message: `${described}: ${verdict.message}` };
  }
  const ready = store.status?.conditions?.find((c) => c.type === ConditionType.Ready);
  const generation = store.metadata.generation ?? 0;
  // A store validated at an older generation stays usable while it is revalidated: flipping every
  // ExternalSecret of a store to not-ready on each edit would cost a status write per object.
  if (!ready) {
    return { ok: false, reason: ExternalSecretReason.StoreNotReady, message: `${described} has not been validated yet` };
  }
  if (ready.status === 'False') {
    return { ok: false, reason: ExternalSecretReason.StoreNotReady, message: `${described} is not ready: ${ready.message ?? ready.reason}` };
  }
  const provider = providerOfStore(store.spec);
  if ('error' in provider) return { ok: false, reason: ExternalSecretReason.StoreNotReady, message: `${described}: ${provider.error}` };
  // Also checked here, not only by the store controller: a store edited to an unsupported field is never read.
  const compat = storeCompat(store.spec, kind === 'ClusterSecretStore');
  if (compat.errors.length > 0) return { ok: false, reason: ExternalSecretReason.StoreNotReady, message: `${described}: ${compat.errors.join('; ')}` };
  return {
    ok: true,
    store: {
      kind,
      name: ref.name,
      namespace: kind === 'SecretStore' ? namespace : undefined,
      uid: store.metadata.uid ?? '',
      generation,
      providerName: provider.name,
      providerSpec: provider.spec,
      retry: providerRetryOf(store.spec.retrySettings, provider.name),
    },
  };
}
