// The ClusterExternalSecret controller: its caches (ClusterExternalSecrets, ExternalSecrets, Namespaces), the
// watches that bring a ClusterExternalSecret back (a namespace created, relabelled or deleted; one of its
// ExternalSecrets edited or deleted; a foreign ExternalSecret of its name deleted), and the reconciler.
// RBAC: list/watch clusterexternalsecrets and patch their status; create/patch/delete externalsecrets.
import { API_GROUP, API_VERSION, Plural, parseClusterExternalSecret, clusterExternalSecretChildName, type ClusterExternalSecret } from '../../api/index.ts';
import { createExternalSecretWriter } from '../../k8s/external-secret-writer.ts';
import { ExternalSecretKind, NamespaceKind, type KindDescriptor, type RawCustomObject, type V1Namespace } from '../../k8s/kinds.ts';
import { memoizeParse } from '../informer-parse-cache.ts';
import type { ControllerModule } from '../module.ts';
import { watch } from '../runtime/manager.ts';
import { CLUSTER_EXTERNAL_SECRET_LABEL, type NamespaceView } from './plan.ts';
import { createClusterExternalSecretReconciler, STATUS_SETTLE_MS, type CachedChild, type CachedClusterExternalSecret } from './reconciler.ts';

export const ClusterExternalSecretKind: KindDescriptor<RawCustomObject> = { kind: 'ClusterExternalSecret', group: API_GROUP, version: API_VERSION, plural: Plural.ClusterExternalSecret, namespaced: false };

const NAME = 'clusterexternalsecret';

export const clusterExternalSecretController: ControllerModule = {
  name: NAME,
  build(ctx) {
    const all = ctx.informer(ClusterExternalSecretKind);
    const externalSecrets = ctx.informer(ExternalSecretKind);
    const namespaces = ctx.informer(NamespaceKind);
    const parse = memoizeParse(parseClusterExternalSecret);
    const queue = ctx.queue(NAME);

    const namespaceView = (ns: V1Namespace): NamespaceView => ({ name: ns.metadata?.name ?? '', labels: ns.metadata?.labels ?? {}, terminating: ns.metadata?.deletionTimestamp !== undefined });
    const childView = (es: RawCustomObject): CachedChild => ({
      namespace: es.metadata?.namespace ?? '',
      name: es.metadata?.name ?? '',
      uid: es.metadata?.uid ?? '',
      labels: es.metadata?.labels ?? {},
      annotations: es.metadata?.annotations ?? {},
      ownerReferences: (es.metadata?.ownerReferences ?? []).map((ref) => ({ apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid, controller: ref.controller })),
    });
    const getClusterExternalSecret = (name: string): CachedClusterExternalSecret | undefined => {
      const raw = all.get(name);
      if (raw === undefined) return undefined;
      const parsed = parse(raw);
      if (!parsed.ok) return { ok: false, error: parsed.error, name, uid: raw.metadata?.uid ?? '', conditions: raw.status?.conditions as never };
      return { ok: true, value: parsed.value, rawExternalSecretSpec: (raw.spec as { externalSecretSpec?: unknown } | undefined)?.externalSecretSpec };
    };
    const parsedAll = (): ClusterExternalSecret[] => all.list().flatMap((raw) => {
      const parsed = parse(raw);
      return parsed.ok ? [parsed.value] : [];
    });

    return {
      // Our status writes do not count: the spec (generation) and labels do.
      primary: { kind: ClusterExternalSecretKind, fingerprint: (ces) => String(ces.metadata?.generation ?? 0) },
      watches: [
        // A namespace appeared, changed labels or went: every ClusterExternalSecret decides again where it applies.
        watch<V1Namespace>({
          kind: NamespaceKind,
          map: () => all.list().map((ces) => ces.metadata?.name ?? ''),
          fingerprint: (ns) => JSON.stringify([ns.metadata?.labels ?? {}, ns.metadata?.deletionTimestamp ?? null]),
        }),
        // One of its ExternalSecrets was edited (its digest no longer matches) or deleted; or a foreign one that
        // blocked a namespace went. Reported after the settle, so a wave of child writes gives one status pass.
        watch<RawCustomObject>({
          kind: ExternalSecretKind,
          events: ['update', 'delete'],
          delayMs: STATUS_SETTLE_MS,
          map: (es, event) => {
            const owner = es.metadata?.labels?.[CLUSTER_EXTERNAL_SECRET_LABEL];
            const keys = new Set<string>(owner ? [owner] : []);
            if (event === 'delete') for (const ces of parsedAll()) if (clusterExternalSecretChildName(ces) === es.metadata?.name) keys.add(ces.metadata.name);
            return keys;
          },
        }),
      ],
      reconcile: createClusterExternalSecretReconciler({
        clock: ctx.clock,
        getClusterExternalSecret,
        listNamespaces: () => namespaces.list().map(namespaceView),
        getNamespace: (name) => {
          const ns = namespaces.get(name);
          return ns ? namespaceView(ns) : undefined;
        },
        getExternalSecret: (namespace, name) => {
          const es = externalSecrets.get(name, namespace);
          return es ? childView(es) : undefined;
        },
        childrenOf: (name, namespace) => externalSecrets.list(namespace).filter((es) => es.metadata?.labels?.[CLUSTER_EXTERNAL_SECRET_LABEL] === name).map(childView),
        writer: createExternalSecretWriter(ctx.kube),
        status: ctx.status,
        events: ctx.events,
        enqueue: (key, afterMs) => queue.add(key, afterMs),
      }),
      // One whose template names a ClusterSecretStore of another controller class is left to that installation
      // (parent and child keys alike; the key of a child is `<namespace>/<name>`).
      serves: (key) => {
        const raw = all.get(key.slice(key.indexOf('/') + 1));
        return raw === undefined || ctx.classes.servesExternalSecretSpec(undefined, (raw.spec as { externalSecretSpec?: unknown } | undefined)?.externalSecretSpec);
      },
    };
  },
};
