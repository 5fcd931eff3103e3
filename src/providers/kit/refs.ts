// Which namespace a Secret or ServiceAccount that a store references lives in — one rule for every provider:
// an explicit namespace wins; otherwise a SecretStore's own namespace; otherwise (a ClusterSecretStore) the
// namespace of the ExternalSecret being served ("referent auth": one identity per namespace).
import type { SecretKeySelector } from '../../api/types.generated.ts';
import type { StoreContext } from '../provider.ts';

/** Where a store is used from: all the rule needs. */
export type StoreWhere = Pick<StoreContext, 'storeKind' | 'storeNamespace' | 'namespace'>;

export interface ResolvedSecretKey {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
}

export interface ResolvedServiceAccount {
  readonly namespace: string;
  readonly name: string;
}

/** The namespace a reference resolves to. Pure. */
export function referenceNamespace(explicit: string | undefined, where: StoreWhere): string {
  return explicit ?? where.storeNamespace ?? where.namespace;
}

/**
 * Resolves a store's references and remembers whether any of them depends on the ExternalSecret's namespace, which
 * makes the store's session per namespace (`Provider.clientPartition`). Pure: create one per plan.
 */
export class RefResolver {
  readonly #where: StoreWhere;
  #referent = false;

  constructor(where: StoreWhere) {
    this.#where = where;
  }

  secretKey(selector: Pick<SecretKeySelector, 'name' | 'key' | 'namespace'>): ResolvedSecretKey {
    this.#note(selector.namespace);
    return { namespace: referenceNamespace(selector.namespace, this.#where), name: selector.name, key: selector.key };
  }

  serviceAccount(ref: { readonly name: string; readonly namespace?: string | undefined }): ResolvedServiceAccount {
    this.#note(ref.namespace);
    return { namespace: referenceNamespace(ref.namespace, this.#where), name: ref.name };
  }

  /** True when a ClusterSecretStore left a namespace out: the session belongs to the ExternalSecret's namespace. */
  get referent(): boolean {
    return this.#referent;
  }

  #note(explicit: string | undefined): void {
    if (explicit === undefined && this.#where.storeKind === 'ClusterSecretStore') this.#referent = true;
  }
}
