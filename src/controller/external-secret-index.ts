// Which ExternalSecrets a store or a Secret event concerns, kept as the ExternalSecret informer reports them,
// so a store or Secret change requeues exactly the ExternalSecrets that use it (no scan of all objects).
import type { ExternalSecret } from '../api/index.ts';

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function storeRefKey(kind: string, namespace: string | undefined, name: string): string {
  return kind === 'ClusterSecretStore' ? `ClusterSecretStore/${name}` : `SecretStore/${namespace}/${name}`;
}

export class ExternalSecretIndex {
  readonly #byStore = new Map<string, Set<string>>();
  readonly #byTarget = new Map<string, Set<string>>();
  /** What each ExternalSecret was last indexed under, so an update moves it. */
  readonly #indexed = new Map<string, { stores: string[]; targets: string[] }>();

  upsert(es: ExternalSecret): void {
    const key = objectKey(es.metadata.namespace, es.metadata.name);
    this.remove(key);
    // spec.secretStoreRef and every entry's own sourceRef.storeRef: a change to any of them concerns this object.
    const refs = [es.spec.secretStoreRef, ...es.spec.data.map((d) => d.sourceRef?.storeRef), ...(es.spec.dataFrom ?? []).map((d) => d.sourceRef?.storeRef)];
    const stores = [...new Set(refs.flatMap((ref) => (ref ? [storeRefKey(ref.kind ?? 'SecretStore', es.metadata.namespace, ref.name)] : [])))];
    // The bound (previous) target too: an event on the old Secret still concerns this ExternalSecret.
    const names = new Set([es.spec.target?.name ?? es.metadata.name, ...(es.status?.binding?.name ? [es.status.binding.name] : [])]);
    const targets = [...names].map((n) => objectKey(es.metadata.namespace, n));
    for (const store of stores) add(this.#byStore, store, key);
    for (const t of targets) add(this.#byTarget, t, key);
    this.#indexed.set(key, { stores, targets });
  }

  remove(key: string): void {
    const previous = this.#indexed.get(key);
    if (!previous) return;
    for (const store of previous.stores) del(this.#byStore, store, key);
    for (const t of previous.targets) del(this.#byTarget, t, key);
    this.#indexed.delete(key);
  }

  usingStore(kind: string, namespace: string | undefined, name: string): string[] {
    return [...(this.#byStore.get(storeRefKey(kind, namespace, name)) ?? [])];
  }

  targeting(namespace: string, secretName: string): string[] {
    return [...(this.#byTarget.get(objectKey(namespace, secretName)) ?? [])];
  }

  /** ExternalSecrets using any ClusterSecretStore (a namespace's labels changed). */
  inNamespaceUsingClusterStores(namespace: string): string[] {
    const keys: string[] = [];
    for (const [store, set] of this.#byStore) {
      if (!store.startsWith('ClusterSecretStore/')) continue;
      for (const key of set) if (key.startsWith(`${namespace}/`)) keys.push(key);
    }
    return keys;
  }
}

function add(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

function del(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
