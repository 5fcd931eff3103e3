// The change-feed controller: keeps one feed per store that configures one (SecretStores and ClusterSecretStores;
// a ClusterSecretStore's key is its bare name, a SecretStore's namespace/name), and the index of which
// ExternalSecrets read which remote keys. Notifications go through ctx.remoteChanges to the ExternalSecret
// controller's queue. Feeds run only while this replica leads (a feed deletes what it handled: one consumer).
import { API_GROUP_VERSION, parseExternalSecret } from '../../api/index.ts';
import { ClusterSecretStoreKind, ExternalSecretKind, SecretStoreKind, type RawCustomObject } from '../../k8s/kinds.ts';
import { createStoreKubeAccess } from '../../k8s/store-access.ts';
import { currentTerm } from '../../k8s/term.ts';
import { providerOfStore } from '../../providers/registry.ts';
import type { ChangeFeedSource, StoreContext } from '../../providers/provider.ts';
import { storeRefKey } from '../external-secret-index.ts';
import { memoizeParse } from '../informer-parse-cache.ts';
import type { ControllerModule } from '../module.ts';
import { keyOf, watch } from '../runtime/manager.ts';
import { FeedRunner, type StoreDescriptor } from './feed-runner.ts';

/** Feeds of SecretStores; it also keeps the index of which ExternalSecrets read which keys. */
export const changeFeedController = changeFeedModule('SecretStore');
/** Feeds of ClusterSecretStores (a module of its own so that each new leadership term lists them, as its primary kind). */
export const clusterChangeFeedController = changeFeedModule('ClusterSecretStore');

function changeFeedModule(kind: 'SecretStore' | 'ClusterSecretStore'): ControllerModule {
  return {
    name: kind === 'SecretStore' ? 'changefeed' : 'clusterchangefeed',
    build(ctx) {
      const parseES = memoizeParse(parseExternalSecret);
      /** Queue key → uid of the store last seen there, to stop the feed of a store that is gone. */
      const uids = new Map<string, string>();
      const runner = new FeedRunner({
        clock: ctx.clock,
        logger: ctx.logger,
        remoteChanges: ctx.remoteChanges,
        event: (store, type, reason, message) =>
          ctx.events.record({ apiVersion: API_GROUP_VERSION, kind: store.kind, namespace: store.namespace, name: store.name, uid: store.uid }, type, reason, message),
      });

      async function reconcile(key: string): Promise<void> {
        const cluster = kind === 'ClusterSecretStore';
        const [namespace, name] = cluster ? [undefined, key] : [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
        const parsed = ctx.stores.parsedStore(kind, namespace ?? '', name);
        const previous = uids.get(key);
        const uid = parsed?.ok ? (parsed.value.metadata.uid ?? '') : undefined;
        if (previous !== undefined && previous !== uid) {
          runner.stop(previous);
          ctx.remoteChanges.forgetStore(previous);
        }
        if (!parsed?.ok || uid === undefined) {
          uids.delete(key);
          return;
        }
        uids.set(key, uid);
        const store = parsed.value;
        const selected = providerOfStore(store.spec);
        const provider = 'error' in selected ? undefined : ctx.providers.get(selected.name);
        const feed = provider?.changeFeed;
        // A store of another controller class is its installation's: no feed here, and no status written for it.
        if (!ctx.classes.servesStore(store)) {
          runner.stop(uid);
          return;
        }
        const descriptor: StoreDescriptor = { kind, namespace, name, uid, identity: { ref: storeRefKey(kind, namespace, name), uid } };
        const runsFeed = feed !== undefined && !('error' in selected) && feed.describe(selected.spec) !== undefined;
        // A feed (or the webhook) removed from the spec leaves no status entry behind.
        const configured = new Set<ChangeFeedSource>();
        if (runsFeed) configured.add(feed.source);
        if (store.spec.changeWebhook) configured.add('webhook');
        await ctx.remoteChanges.feedStatus.keepOnly(descriptor, configured, store.status?.changeFeeds ?? []);
        if (!runsFeed) {
          runner.stop(uid);
          return;
        }
        const described = cluster ? `ClusterSecretStore ${name}` : `SecretStore ${namespace}/${name}`;
        const storeCtx: StoreContext = {
          storeKind: kind,
          storeName: name,
          storeNamespace: namespace,
          // The feed acts as the store itself: a ClusterSecretStore from the operator's namespace, as its validation does.
          namespace: namespace ?? ctx.operatorNamespace,
          kube: createStoreKubeAccess(ctx.kube, { onlyNamespace: namespace, storeDescription: described }),
          clock: ctx.clock,
        };
        // Started inside the reconcile, the feed belongs to this leadership term (its Kubernetes requests are fenced
        // with it) and stops when the term ends; the next term's first reconcile starts it again.
        runner.ensure(descriptor, `${uid}/${store.metadata.generation ?? 0}`, feed, selected.spec, storeCtx, currentTerm()?.signal);
      }

      const generation = (store: RawCustomObject) => `${store.metadata?.uid ?? ''}/${store.metadata?.generation ?? 0}`;
      return {
        primary: { kind: cluster(kind) ? ClusterSecretStoreKind : SecretStoreKind, fingerprint: generation },
        watches: cluster(kind) ? [] : [
          // Keeps the readers index; enqueues nothing here.
          watch<RawCustomObject>({
            kind: ExternalSecretKind,
            observe(event, obj) {
              if (event === 'delete') return ctx.remoteChanges.forget(keyOf(obj));
              const parsed = parseES(obj);
              if (parsed.ok) ctx.remoteChanges.index.upsert(parsed.value);
              else ctx.remoteChanges.index.remove(keyOf(obj));
            },
            map: () => [],
          }),
        ],
        reconcile: async (key) => {
          await reconcile(key);
        },
      };
    },
  };
}

function cluster(kind: string): boolean {
  return kind === 'ClusterSecretStore';
}
