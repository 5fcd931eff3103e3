// The PushSecret controller: its caches (PushSecrets, the stores, namespaces for ClusterSecretStore conditions), the
// watches that bring a PushSecret back (a store it uses changed or became ready), and the reconciler.
// RBAC: list/watch pushsecrets, patch their status, get+patch them (the cleanup finalizer); get secrets (the source).
import type { ExternalSecret, PushSecret, LabelSelector } from '../../api/index.ts';
import { API_GROUP, API_VERSION, Plural, parsePushSecret } from '../../api/index.ts';
import { createFinalizerEditor } from '../../k8s/finalizers.ts';
import { ClusterSecretStoreKind, SecretStoreKind, type KindDescriptor, type RawCustomObject } from '../../k8s/kinds.ts';
import { memoizeParse } from '../informer-parse-cache.ts';
import type { ControllerModule } from '../module.ts';
import { watch } from '../runtime/manager.ts';
import { resolveStore, type ResolvedStore } from '../externalsecret/store-ref.ts';
import { selectorMatches } from '../secretstore/namespace-conditions.ts';
import { createPushSecretReconciler, type CachedPushSecret, type SourceData, type StoreSelection } from './reconciler.ts';
import type { Condition } from '../conditions.ts';
import { localGeneratorsFor } from '../generators/local.ts';
import { generatedSource } from './generated-source.ts';

export const PushSecretKind: KindDescriptor<RawCustomObject> = { kind: 'PushSecret', group: API_GROUP, version: API_VERSION, plural: Plural.PushSecret, namespaced: true };

const NAME = 'pushsecret';

export const pushSecretController: ControllerModule = {
  name: NAME,
  build(ctx) {
    const pushSecrets = ctx.informer(PushSecretKind);
    const secretStores = ctx.informer(SecretStoreKind);
    const clusterSecretStores = ctx.informer(ClusterSecretStoreKind);
    const parse = memoizeParse(parsePushSecret);

    const getPushSecret = (namespace: string, name: string): CachedPushSecret | undefined => {
      const raw = pushSecrets.get(name, namespace);
      if (raw === undefined) return undefined;
      const parsed = parse(raw);
      if (parsed.ok) return parsed;
      return { ok: false, error: parsed.error, uid: raw.metadata?.uid ?? '', generation: raw.metadata?.generation, conditions: (raw.status as { conditions?: Condition[] } | undefined)?.conditions };
    };
    const resolve = (namespace: string, kind: 'SecretStore' | 'ClusterSecretStore', name: string) =>
      resolveStore({ metadata: { name: '-', namespace }, spec: { secretStoreRef: { name, kind } } } as unknown as ExternalSecret, ctx.stores);
    const labelled = (namespace: string, kind: 'SecretStore' | 'ClusterSecretStore', selector: LabelSelector): string[] =>
      (kind === 'SecretStore' ? secretStores.list().filter((s) => s.metadata?.namespace === namespace) : clusterSecretStores.list())
        .filter((s) => selectorMatches(selector, s.metadata?.labels ?? {}))
        // Stores of another controller class are left to their installation (as ESO).
        .filter((s) => ctx.classes.servesStore(s))
        .map((s) => s.metadata?.name ?? '')
        .sort();

    const selectStores = (ps: PushSecret): StoreSelection => {
      const namespace = ps.metadata.namespace ?? '';
      const stores: ResolvedStore[] = [];
      const seen = new Set<string>();
      for (const ref of ps.spec.secretStoreRefs) {
        const names = ref.name !== undefined ? [ref.name] : labelled(namespace, ref.kind, ref.labelSelector ?? {});
        for (const name of names) {
          const resolution = resolve(namespace, ref.kind, name);
          if (!resolution.ok) return { ok: false, message: resolution.message };
          const key = `${ref.kind}/${name}`;
          if (!seen.has(key)) stores.push(resolution.store);
          seen.add(key);
        }
      }
      return { ok: true, stores };
    };

    const localGenerators = localGeneratorsFor(ctx.kube);
    const readSource = async (ps: PushSecret, signal: AbortSignal): Promise<SourceData> => {
      const namespace = ps.metadata.namespace ?? '';
      if (ps.spec.selector.generatorRef) return generatedSource(ps, localGenerators, ctx.secrets, signal);
      const name = ps.spec.selector.secret?.name;
      if (name === undefined) return { ok: false, message: 'spec.selector names no Secret' };
      const secret = await ctx.secrets.read(namespace, name);
      if (!secret) return { ok: false, message: `Secret ${namespace}/${name} (spec.selector.secret.name) does not exist` };
      const data = new Map(Object.entries(secret.data ?? {}).map(([key, value]) => [key, new Uint8Array(Buffer.from(value, 'base64'))]));
      return { ok: true, data, name: `Secret ${namespace}/${name}` };
    };

    const reconcile = createPushSecretReconciler({
      clock: ctx.clock,
      hmacKey: ctx.hmacKey,
      getPushSecret,
      selectStores,
      storeByStatusKey: (namespace, kind, name) => {
        const resolution = resolve(namespace, kind, name);
        return resolution.ok ? resolution.store : undefined;
      },
      readSource,
      clientFor: ctx.clientFor,
      status: ctx.status,
      events: ctx.events,
      audit: ctx.audit,
      finalizers: createFinalizerEditor(ctx.kube, { group: API_GROUP, version: API_VERSION, plural: Plural.PushSecret }),
      minRefreshIntervalMs: ctx.isolation?.minRefreshIntervalMs,
      onWrite: (provider, result) => ctx.metrics.pushWrite(provider, result),
    });

    /** PushSecrets that may use a store of this kind and name (by name, or through a label selector). */
    const usersOf = (kind: 'SecretStore' | 'ClusterSecretStore') => (store: RawCustomObject): string[] =>
      pushSecrets
        .list()
        .filter((raw) => kind === 'ClusterSecretStore' || raw.metadata?.namespace === store.metadata?.namespace)
        .filter((raw) => {
          const refs = (raw.spec as { secretStoreRefs?: { name?: string; kind?: string; labelSelector?: unknown }[] } | undefined)?.secretStoreRefs ?? [];
          return refs.some((ref) => (ref.kind ?? 'SecretStore') === kind && (ref.labelSelector !== undefined || ref.name === store.metadata?.name));
        })
        .map((raw) => `${raw.metadata?.namespace ?? ''}/${raw.metadata?.name ?? ''}`);
    const storeFingerprint = (store: RawCustomObject) =>
      JSON.stringify([store.metadata?.generation ?? 0, store.metadata?.labels ?? {}, (store.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.find((c) => c.type === 'Ready')?.status ?? '']);

    return {
      // The spec (generation), the adopt/rotate annotations and deletion (finalizers) count; our status writes do not.
      primary: {
        kind: PushSecretKind,
        fingerprint: (ps) => JSON.stringify([ps.metadata?.generation ?? 0, ps.metadata?.annotations ?? {}, ps.metadata?.deletionTimestamp ?? null, ps.metadata?.finalizers ?? []]),
      },
      watches: [
        watch<RawCustomObject>({ kind: SecretStoreKind, map: usersOf('SecretStore'), fingerprint: storeFingerprint }),
        watch<RawCustomObject>({ kind: ClusterSecretStoreKind, map: usersOf('ClusterSecretStore'), fingerprint: storeFingerprint }),
      ],
      reconcile,
      // A PushSecret naming a store of another controller class is that installation's: never reconciled here.
      serves: (key) => {
        const [namespace, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
        const refs = (pushSecrets.get(name, namespace)?.spec as { secretStoreRefs?: { name?: string; kind?: string }[] } | undefined)?.secretStoreRefs ?? [];
        return refs.every((ref) => ref.name === undefined || ctx.classes.servesStore(ref.kind === 'ClusterSecretStore' ? clusterSecretStores.get(ref.name) : secretStores.get(ref.name, namespace)));
      },
    };
  },
};
