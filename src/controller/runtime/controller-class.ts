// Controller classes (ESO's spec.controller): several installations share a cluster, each serving the stores of its
// class (--controller-class). As ESO: a store without a class is served by every installation; an ExternalSecret is
// served unless a store it names exists and belongs to another class. An object not served is never reconciled —
// no status, no finalizer, no Event, no Secret write — so the installation of its class owns it alone.

/** ESO's default class: `--controller-class` when not given, and what a store may name to mean it. */
export const DEFAULT_CONTROLLER_CLASS = 'default';

export interface ControllerClass {
  /** The class this installation serves. */
  readonly name: string;
  /** Whether a store with this spec.controller is served here (empty or absent: by every installation). */
  servesStoreClass(storeClass: unknown): boolean;
}

export function controllerClass(name: string = DEFAULT_CONTROLLER_CLASS): ControllerClass {
  return {
    name,
    servesStoreClass: (storeClass) => storeClass === undefined || storeClass === null || storeClass === '' || storeClass === name,
  };
}

/** What controllers ask of the installation's class, answered from the shared caches. */
export interface ClassFilter {
  readonly name: string;
  /** A store (raw, as cached) is served here. */
  servesStore(store: { readonly spec?: unknown } | undefined): boolean;
  /**
   * An ExternalSecret spec (raw) in `namespace` is served here: no store it names exists with another class.
   * `namespace` undefined (a ClusterExternalSecret's template): only ClusterSecretStores are looked up.
   */
  servesExternalSecretSpec(namespace: string | undefined, spec: unknown): boolean;
}

export function classFilter(
  served: ControllerClass,
  stores: { secretStore(namespace: string, name: string): { readonly spec?: unknown } | undefined; clusterSecretStore(name: string): { readonly spec?: unknown } | undefined },
): ClassFilter {
  const servesStore = (store: { readonly spec?: unknown } | undefined) => store === undefined || served.servesStoreClass(storeClassOf(store));
  return {
    name: served.name,
    servesStore,
    servesExternalSecretSpec(namespace, spec) {
      return storeRefsOf(spec).every((ref) => {
        if (ref.kind === 'ClusterSecretStore') return servesStore(stores.clusterSecretStore(ref.name));
        return namespace === undefined || servesStore(stores.secretStore(namespace, ref.name));
      });
    },
  };
}

/** A store's spec.controller as stored (read raw, so a store that fails our schema is still left to its class). */
export function storeClassOf(store: { readonly spec?: unknown } | undefined): unknown {
  const spec = store?.spec;
  return typeof spec === 'object' && spec !== null ? (spec as { controller?: unknown }).controller : undefined;
}

/** The stores an ExternalSecret spec names: secretStoreRef and every entry's sourceRef.storeRef. */
export function storeRefsOf(spec: unknown): { kind: 'SecretStore' | 'ClusterSecretStore'; name: string }[] {
  if (typeof spec !== 'object' || spec === null) return [];
  const refs: { kind: 'SecretStore' | 'ClusterSecretStore'; name: string }[] = [];
  const add = (ref: unknown) => {
    if (typeof ref !== 'object' || ref === null) return;
    const { name, kind } = ref as { name?: unknown; kind?: unknown };
    if (typeof name !== 'string' || name === '') return;
    refs.push({ kind: kind === 'ClusterSecretStore' ? 'ClusterSecretStore' : 'SecretStore', name });
  };
  const { secretStoreRef, data, dataFrom } = spec as { secretStoreRef?: unknown; data?: unknown; dataFrom?: unknown };
  add(secretStoreRef);
  for (const entry of [...(Array.isArray(data) ? data : []), ...(Array.isArray(dataFrom) ? dataFrom : [])]) {
    add((entry as { sourceRef?: { storeRef?: unknown } } | null)?.sourceRef?.storeRef);
  }
  return refs;
}
