// The SecretStore and ClusterSecretStore controllers: one reconciler, two kinds. A store is revalidated when
// its spec changes (its generation; our status writes do not count); a deleted store's clients are closed.
import type { StoreKind } from '../../providers/provider.ts';
import { ClusterSecretStoreKind, SecretStoreKind } from '../../k8s/kinds.ts';
import type { ControllerModule } from '../module.ts';
import { createStoreReconciler } from './reconciler.ts';
import { createStoreValidations } from './validations.ts';

function storeController(kind: StoreKind): ControllerModule {
  const name = kind.toLowerCase();
  return {
    name,
    build(ctx) {
      const stores = ctx.informer(kind === 'SecretStore' ? SecretStoreKind : ClusterSecretStoreKind);
      // A validation that outlived its short wait on the worker queues its store again when it ends.
      const queue = ctx.queue(name);
      const validations = createStoreValidations((key) => queue.add(key));
      return {
        primary: {
          kind: kind === 'SecretStore' ? SecretStoreKind : ClusterSecretStoreKind,
          fingerprint: (store) => String(store.metadata?.generation ?? 0),
          observe(event, store) {
            if (event === 'delete' && store.metadata?.uid) ctx.invalidateClients(store.metadata.uid);
          },
        },
        // A store of another controller class is left to its installation: never reconciled here.
        serves: (key) => {
          const [namespace, name] = kind === 'SecretStore' ? (key.split('/') as [string, string]) : [undefined, key];
          return ctx.classes.servesStore(stores.get(name, namespace));
        },
        reconcile: createStoreReconciler({
          kind,
          clock: ctx.clock,
          registry: ctx.providers,
          getStore: (namespace, name) => ctx.stores.parsedStore(kind, namespace, name),
          clientFor: ctx.clientFor,
          operatorNamespace: ctx.operatorNamespace,
          status: ctx.status,
          events: ctx.events,
          tenancy: ctx.tenancy,
          validations,
        }),
      };
    },
  };
}

export const secretStoreController = storeController('SecretStore');
export const clusterSecretStoreController = storeController('ClusterSecretStore');
