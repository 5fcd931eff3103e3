// The StoreContext of a namespaced SecretStore "direct" in `ns`, as the operator builds it (its own kube client,
// confined to the namespace): for suites that call a provider's newClient straight, without the operator.
import type { KubeClient } from '../../src/k8s/kube-client.ts';
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
