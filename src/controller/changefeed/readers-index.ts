// Which ExternalSecrets read which remote keys of which store, kept as the ExternalSecret informer reports them, so
// a change notification refreshes exactly the ExternalSecrets that read a changed key (no scan of all objects).
// ClusterExternalSecret children are ExternalSecrets, so they are indexed like any other.
import type { ExternalSecret } from '../../api/index.ts';
import { compileGoRegexp } from '../../util/go-regexp.ts';
import { objectKey, storeRefKey } from '../external-secret-index.ts';

/** A dataFrom[].find of one ExternalSecret: which changed keys it may select (tags are not in a notification: any key). */
interface FindReader {
  readonly es: string;
  matches(key: string): boolean;
}

interface Indexed {
  readonly keys: readonly [store: string, key: string][];
  readonly finds: readonly [store: string, reader: FindReader][];
}

export class RemoteReadersIndex {
  /** store ref key → remote key → ExternalSecret keys. */
  readonly #byKey = new Map<string, Map<string, Set<string>>>();
  /** store ref key → finds over it. */
  readonly #finds = new Map<string, Set<FindReader>>();
  readonly #indexed = new Map<string, Indexed>();

  upsert(es: ExternalSecret): void {
    const key = objectKey(es.metadata.namespace, es.metadata.name);
    this.remove(key);
    const ns = es.metadata.namespace;
    const storeOf = (ref: { readonly kind?: string; readonly name: string } | undefined): string | undefined =>
      ref ? storeRefKey(ref.kind ?? 'SecretStore', ns, ref.name) : undefined;
    const main = storeOf(es.spec.secretStoreRef);
    const keys: [string, string][] = [];
    const finds: [string, FindReader][] = [];
    for (const entry of es.spec.data ?? []) if (main) keys.push([main, entry.remoteRef.key]);
    for (const entry of es.spec.dataFrom ?? []) {
      const store = storeOf(entry.sourceRef?.storeRef) ?? main;
      if (!store) continue;
      if (entry.extract) keys.push([store, entry.extract.key]);
      if (entry.find) finds.push([store, findReader(key, entry.find)]);
    }
    for (const [store, remote] of keys) {
      let byKey = this.#byKey.get(store);
      if (!byKey) this.#byKey.set(store, (byKey = new Map()));
      let set = byKey.get(remote);
      if (!set) byKey.set(remote, (set = new Set()));
      set.add(key);
    }
    for (const [store, reader] of finds) {
      let set = this.#finds.get(store);
      if (!set) this.#finds.set(store, (set = new Set()));
      set.add(reader);
    }
    this.#indexed.set(key, { keys, finds });
  }

  remove(key: string): void {
    const previous = this.#indexed.get(key);
    if (!previous) return;
    for (const [store, remote] of previous.keys) {
      const byKey = this.#byKey.get(store);
      const set = byKey?.get(remote);
      set?.delete(key);
      if (set?.size === 0) byKey!.delete(remote);
      if (byKey?.size === 0) this.#byKey.delete(store);
    }
    for (const [store, reader] of previous.finds) {
      const set = this.#finds.get(store);
      set?.delete(reader);
      if (set?.size === 0) this.#finds.delete(store);
    }
    this.#indexed.delete(key);
  }

  /** The ExternalSecrets (namespace/name) of `store` (storeRefKey) reading `remoteKey`. */
  readers(store: string, remoteKey: string): Set<string> {
    const found = new Set(this.#byKey.get(store)?.get(remoteKey) ?? []);
    for (const reader of this.#finds.get(store) ?? []) if (reader.matches(remoteKey)) found.add(reader.es);
    return found;
  }
}

function findReader(es: string, find: { readonly path?: string | undefined; readonly name?: { readonly regexp: string } | undefined }): FindReader {
  let name: ((key: string) => boolean) | undefined;
  if (find.name) {
    try {
      const re = compileGoRegexp(find.name.regexp);
      name = (key) => re.test(key);
    } catch {
      name = () => false; // the ExternalSecret reports the bad pattern itself
    }
  }
  return { es, matches: (key) => (find.path === undefined || key.startsWith(find.path)) && (name === undefined || name(key)) };
}
