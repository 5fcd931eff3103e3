// The ExternalSecret controller: its caches, the watches that requeue an ExternalSecret (its store changed or
// became ready, its Secret was edited or deleted, its namespace's labels changed under a ClusterSecretStore)
// and the reconciler with its dependencies.
import { API_GROUP, API_GROUP_VERSION, API_VERSION, ConditionType, EventReason, Kind, Plural, parseExternalSecret, type ExternalSecret } from '../../api/index.ts';
import { readConfigMapData } from '../../k8s/reads.ts';
import { createFinalizerEditor } from '../../k8s/finalizers.ts';
import { ClusterSecretStoreKind, ExternalSecretKind, ManagedSecretKind, NamespaceKind, SecretStoreKind, type RawCustomObject, type V1Namespace, type V1Secret } from '../../k8s/kinds.ts';
import { ExternalSecretIndex } from '../external-secret-index.ts';
import { memoizeParse } from '../informer-parse-cache.ts';
import type { ControllerModule } from '../module.ts';
import { keyOf, watch } from '../runtime/manager.ts';
import { syncedResourceVersionOf } from './decide.ts';
import { observeTarget } from './desired-secret.ts';
import { createLeaseKeeper } from './generators.ts';
import { localGeneratorsFor } from '../generators/local.ts';
import { createExternalSecretReconciler, type InvalidObject, type ParsedObject } from './reconciler.ts';
import { resolveStore } from './store-ref.ts';
import { DEFAULT_SANDBOX_OPTIONS, workerSandbox } from './sandbox.ts';
import { createTemplateEngine } from '../../templates/engine.ts';

export const externalSecretController: ControllerModule = {
  name: 'externalsecret',
  build(ctx) {
    const externalSecrets = ctx.informer(ExternalSecretKind);
    const managedSecrets = ctx.informer(ManagedSecretKind);
    const parse = memoizeParse(parseExternalSecret);
    const index = new ExternalSecretIndex();

    const getExternalSecret = (namespace: string, name: string): ParsedObject<ExternalSecret> | undefined => {
      const raw = externalSecrets.get(name, namespace);
      if (raw === undefined) return undefined;
      const result = parse(raw);
      return result.ok ? result : { ok: false, error: result.error, raw: raw as InvalidObject };
    };

    // dataFrom[].sourceRef.generatorRef: leases live on the ExternalSecret's status; a finalizer holds a deleted
    // ExternalSecret until they are revoked. RBAC: get and patch externalsecrets (finalizers).
    const leases = createLeaseKeeper({
      generators: ctx.generators,
      status: ctx.status,
      finalizers: createFinalizerEditor(ctx.kube, { group: API_GROUP, version: API_VERSION, plural: Plural.ExternalSecret }),
      logger: ctx.logger,
      audit: ctx.audit,
      metrics: ctx.metrics,
      clock: ctx.clock,
      warn: (es, message) =>
        ctx.events.record(
          { apiVersion: API_GROUP_VERSION, kind: Kind.ExternalSecret, namespace: es.metadata.namespace ?? '', name: es.metadata.name, uid: es.metadata.uid ?? '' },
          'Warning',
          EventReason.UpdateFailed,
          message,
        ),
    });

    // Templates and property reads on tenant values run in worker threads with a deadline and a heap limit.
    const templateEngine = createTemplateEngine();
    const sandbox = workerSandbox(templateEngine, ctx.isolation?.sandbox ?? DEFAULT_SANDBOX_OPTIONS, {
      ran: (seconds, outcome) => ctx.metrics.sandboxRan(outcome, seconds),
      queued: (n) => ctx.metrics.setSandboxQueued(n),
      overBudget: () => ctx.metrics.sandboxBudgetRefused(),
      namespacesOverBudget: (n) => ctx.metrics.setSandboxNamespacesOverBudget(n),
    });

    const queue = ctx.queue('externalsecret');
    const reconcile = createExternalSecretReconciler({
      clock: ctx.clock,
      failuresOf: (key) => queue.retries(key),
      getExternalSecret,
      getManagedSecret: (namespace, name) => managedSecrets.get(name, namespace),
      resolveStore: (es, ref) => resolveStore(es, ctx.stores, ref),
      clientFor: ctx.clientFor,
      secrets: ctx.secrets,
      status: ctx.status,
      events: ctx.events,
      audit: ctx.audit,
      hmacKey: ctx.hmacKey,
      ...(ctx.refreshTimePeriodMs !== undefined ? { refreshTimePeriodMs: ctx.refreshTimePeriodMs } : {}),
      onSynced: (statusWrite) => ctx.metrics.synced(statusWrite),
      templateEngine,
      sandbox,
      ...(ctx.isolation ? { minRefreshIntervalMs: ctx.isolation.minRefreshIntervalMs } : {}),
      leases,
      localGenerators: localGeneratorsFor(ctx.kube),
      remoteChanges: ctx.remoteChanges,
      // templateFrom reads ConfigMaps and Secrets of the ExternalSecret's own namespace (RBAC: get on both).
      templateSources: {
        configMapData: (namespace, name) => readConfigMapData(ctx.kube, namespace, name),
        async secretData(namespace, name) {
          const secret = await ctx.secrets.read(namespace, name);
          return secret ? (secret.data ?? {}) : undefined;
        },
      },
    });

    // A store's ExternalSecrets are requeued when it changes or its readiness does (they wait for Ready).
    const storeUsers = (kind: 'SecretStore' | 'ClusterSecretStore') =>
      watch<RawCustomObject>({
        kind: kind === 'SecretStore' ? SecretStoreKind : ClusterSecretStoreKind,
        fingerprint: (store) => `${store.metadata?.generation ?? 0}/${store.status?.conditions?.find((c) => c.type === ConditionType.Ready)?.status ?? ''}`,
        map: (store) => index.usingStore(kind, kind === 'SecretStore' ? store.metadata?.namespace : undefined, store.metadata?.name ?? ''),
      });

    return {
      primary: {
        kind: ExternalSecretKind,
        observe(event, obj) {
          if (event === 'delete') return index.remove(keyOf(obj));
          const parsed = parse(obj);
          if (parsed.ok) index.upsert(parsed.value);
        },
        // Spec, labels and annotations (force-sync) matter; status does not: it is ours.
        fingerprint: (obj) =>
          syncedResourceVersionOf({ generation: obj.metadata?.generation ?? 0, labels: obj.metadata?.labels ?? {}, annotations: obj.metadata?.annotations ?? {} }),
      },
      watches: [
        storeUsers('SecretStore'),
        storeUsers('ClusterSecretStore'),
        // Our own applies come back as updates too: only a Secret that no longer holds what we wrote (edited by
        // hand, label removed) or that was deleted concerns its ExternalSecrets.
        watch<V1Secret>({
          kind: ManagedSecretKind,
          events: ['update', 'delete'],
          map(secret, event) {
            const targeting = () => index.targeting(secret.metadata?.namespace ?? '', secret.metadata?.name ?? '');
            if (event === 'delete') return targeting();
            const existing = { labels: secret.metadata?.labels ?? {}, annotations: secret.metadata?.annotations ?? {}, data: secret.data ?? {}, immutable: false, ownerUids: [] };
            const scope = { namespace: secret.metadata?.namespace ?? '', name: secret.metadata?.name ?? '' };
            return observeTarget(existing, ctx.hmacKey, scope).state !== 'intact' ? targeting() : [];
          },
        }),
        // A namespace's labels decide whether a ClusterSecretStore serves it.
        watch<V1Namespace>({ kind: NamespaceKind, events: ['update'], map: (ns) => index.inNamespaceUsingClusterStores(ns.metadata?.name ?? '') }),
      ],
      reconcile,
      // An ExternalSecret naming a store of another controller class is left to that installation.
      serves: (key) => {
        const [namespace, name] = key.split('/') as [string, string];
        const raw = externalSecrets.get(name, namespace);
        return raw === undefined || ctx.classes.servesExternalSecretSpec(namespace, raw.spec);
      },
    };
  },
};
