// For suites that call a provider's newClient straight, without the operator (the *-push suites): the StoreContext of
// a namespaced SecretStore "direct" in `ns`, as the operator builds it (its own kube client, confined to the
// namespace), the cluster and clients behind it, and a PushSecret's write through such a client.
import { createKubeClient, type KubeClient } from '../../src/k8s/kube-client.ts';
import type { PushRequest, PushResult, SecretsClient } from '../../src/providers/provider.ts';
import type { LocalCluster } from './cluster.ts';
import type { TestKube } from './kube.ts';
import { adminKube } from './operator.ts';
import { useCluster } from './shared-cluster.ts';
import { createStoreKubeAccess } from '../../src/k8s/store-access.ts';
import type { StoreContext } from '../../src/providers/provider.ts';
import { systemClock } from '../../src/util/clock.ts';

export function directStoreContext(operatorKube: KubeClient, ns: string): StoreContext {
  return {
    storeKind: 'SecretStore',
    storeName: 'direct',
    storeNamespace: ns,
    namespace: ns,
    clock: systemClock,
    kube: createStoreKubeAccess(operatorKube, { onlyNamespace: ns, storeDescription: `SecretStore ${ns}/direct` }),
  };
}

/** The shared cluster, an admin client for the suite's own objects, and the operator's kube client for directStoreContext. */
export async function useClusterForDirectClients(): Promise<{ cluster: LocalCluster; kube: TestKube; operatorKube: KubeClient }> {
  const cluster = await useCluster();
  return { cluster, kube: adminKube(cluster.kubeconfigPath), operatorKube: createKubeClient({ kubeconfigPath: cluster.kubeconfigPath }) };
}

/**
 * `push(remoteKey, value, extra)` through `client` as PushSecret `owner` writes: updatePolicy Replace, no adoption;
 * `extra` sets the other fields (metadata, property, adopt, updatePolicy). A client that cannot push fails the call.
 */
export function pushAs(client: SecretsClient, owner = 'team/db'): (remoteKey: string, value: string | Uint8Array, extra?: Partial<PushRequest>) => Promise<PushResult> {
  return (remoteKey, value, extra = {}) =>
    client.pushSecret!({ remoteKey, value: typeof value === 'string' ? new TextEncoder().encode(value) : value, owner, adopt: false, updatePolicy: 'Replace', ...extra }, AbortSignal.timeout(30_000));
}
