// The ClusterPushSecret controller: the same PushSecret in every namespace its selectors (or names) choose, owned by
// it (the garbage collector removes them with it; each child's own deletionPolicy decides about remote secrets),
// deleted from namespaces that stop matching, and under an earlier spec.pushSecretName once the new one is written.
// A PushSecret of that name we did not create is never taken over.
// One pass per ClusterPushSecret (namespaces change, a child changes or goes, and every refreshTime).
// RBAC: list/watch clusterpushsecrets, patch their status, update their finalizers (blockOwnerDeletion);
// create/patch/delete pushsecrets.
import type { ClusterPushSecret, Condition } from '../../api/index.ts';
import { API_GROUP, API_GROUP_VERSION, API_VERSION, ClusterExternalSecretReason, ConditionType, Kind, Plural, clusterPushSecretChildName, parseClusterPushSecret } from '../../api/index.ts';
import { createExternalSecretWriter } from '../../k8s/external-secret-writer.ts';
import { ClusterSecretStoreKind, NamespaceKind, type KindDescriptor, type RawCustomObject, type V1Namespace } from '../../k8s/kinds.ts';
import { describeError } from '../../k8s/describe-error.ts';
import { parseDuration } from '../../util/duration.ts';
import { TerminalError } from '../../util/errors.ts';
import { setCondition } from '../conditions.ts';
import { memoizeParse } from '../informer-parse-cache.ts';
import type { ControllerModule } from '../module.ts';
import { watch } from '../runtime/manager.ts';
import { selectorMatches } from '../secretstore/namespace-conditions.ts';
import { PushSecretKind } from '../pushsecret/module.ts';

export const ClusterPushSecretKind: KindDescriptor<RawCustomObject> = { kind: 'ClusterPushSecret', group: API_GROUP, version: API_VERSION, plural: Plural.ClusterPushSecret, namespaced: false };
/** On every PushSecret a ClusterPushSecret creates: its name, so its children are found from the cache. */
export const CLUSTER_PUSH_SECRET_LABEL = 'secret-relay.dev/cluster-push-secret';
const FIELD_MANAGER = 'secret-relay.dev/clusterpushsecret';
const NAME = 'clusterpushsecret';

/** Namespaces named or matching a selector, not terminating. Pure. */
export function selectPushNamespaces(cps: Pick<ClusterPushSecret, 'spec'>, namespaces: readonly { name: string; labels: Readonly<Record<string, string>>; terminating: boolean }[]): string[] {
  const named = new Set(cps.spec.namespaces ?? []);
  return namespaces
    .filter((ns) => !ns.terminating && (named.has(ns.name) || (cps.spec.namespaceSelectors ?? []).some((selector) => selectorMatches(selector, ns.labels))))
    .map((ns) => ns.name)
    .sort();
}

export const clusterPushSecretController: ControllerModule = {
  name: NAME,
  build(ctx) {
    const all = ctx.informer(ClusterPushSecretKind);
    const pushSecrets = ctx.informer(PushSecretKind);
    const namespaces = ctx.informer(NamespaceKind);
    const clusterSecretStores = ctx.informer(ClusterSecretStoreKind);
    const parse = memoizeParse(parseClusterPushSecret);
    const writer = createExternalSecretWriter(ctx.kube, Plural.PushSecret);
    const statusRef = (name: string) => ({ group: API_GROUP, version: API_VERSION, plural: Plural.ClusterPushSecret, name });
    const isChildOf = (ps: RawCustomObject, cps: { metadata: { uid?: string | undefined } }) =>
      (ps.metadata?.ownerReferences ?? []).some((ref) => ref.controller === true && ref.kind === Kind.ClusterPushSecret && ref.uid === cps.metadata.uid);

    async function reconcile(name: string) {
      const raw = all.get(name);
      if (!raw) return;
      const parsed = parse(raw);
      const conditions = (raw.status as { conditions?: Condition[] } | undefined)?.conditions;
      if (!parsed.ok) {
        await ctx.status.patch(statusRef(name), { conditions: setCondition(conditions, { type: ConditionType.Ready, status: 'False', reason: ClusterExternalSecretReason.InvalidSpec, message: parsed.error }, ctx.clock.now(), raw.metadata?.generation) });
        throw new TerminalError(parsed.error);
      }
      const cps = parsed.value;
      const childName = clusterPushSecretChildName(cps);
      const views = namespaces.list().map((ns: V1Namespace) => ({ name: ns.metadata?.name ?? '', labels: ns.metadata?.labels ?? {}, terminating: ns.metadata?.deletionTimestamp !== undefined }));
      const selected = selectPushNamespaces(cps, views);
      const provisioned: string[] = [];
      const failed: { namespace: string; reason: string }[] = [];
      // Failures a retry may lift (not a PushSecret someone else holds): the pass fails, so the queue retries it.
      const retryable: string[] = [];
      for (const namespace of selected) {
        const existing = pushSecrets.get(childName, namespace);
        if (existing && !isChildOf(existing, cps)) {
          failed.push({ namespace, reason: `PushSecret ${namespace}/${childName} exists and is not this ClusterPushSecret's: left untouched` });
          continue;
        }
        const body = {
          apiVersion: API_GROUP_VERSION,
          kind: Kind.PushSecret,
          metadata: {
            name: childName,
            namespace,
            labels: { ...(cps.spec.pushSecretMetadata?.labels ?? {}), [CLUSTER_PUSH_SECRET_LABEL]: cps.metadata.name },
            annotations: { ...(cps.spec.pushSecretMetadata?.annotations ?? {}) },
            ownerReferences: [{ apiVersion: API_GROUP_VERSION, kind: Kind.ClusterPushSecret, name: cps.metadata.name, uid: cps.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
          },
          // The spec as written (not the parsed one): no defaults stored, what the user wrote is what the child holds.
          spec: (raw.spec as { pushSecretSpec?: unknown }).pushSecretSpec,
        };
        try {
          // Not forced when creating: a PushSecret someone made meanwhile is refused (409), not taken over.
          await writer.apply(body, FIELD_MANAGER, existing !== undefined);
          provisioned.push(namespace);
        } catch (err) {
          const conflict = (err as { code?: unknown }).code === 409;
          if (!conflict) retryable.push(namespace);
          failed.push({ namespace, reason: conflict ? `PushSecret ${namespace}/${childName} is managed by someone else: left untouched` : describeError(err) });
        }
      }
      // Ours where no longer wanted: a namespace that stopped matching, or an earlier spec.pushSecretName where the
      // current one is written (until then the old one keeps the namespace served).
      const written = new Set(provisioned);
      for (const child of pushSecrets.list()) {
        const namespace = child.metadata?.namespace ?? '';
        const current = child.metadata?.name === childName;
        if (child.metadata?.labels?.[CLUSTER_PUSH_SECRET_LABEL] !== cps.metadata.name || !isChildOf(child, cps)) continue;
        if (selected.includes(namespace) && (current || !written.has(namespace))) continue;
        try {
          await writer.delete(namespace, child.metadata?.name ?? '', { uid: child.metadata?.uid ?? '' });
        } catch (err) {
          retryable.push(namespace);
          failed.push({ namespace, reason: `deleting PushSecret ${child.metadata?.name ?? ''}: ${describeError(err)}` });
        }
      }
      const reason = failed.length === 0 ? ClusterExternalSecretReason.Provisioned : provisioned.length > 0 ? ClusterExternalSecretReason.PartiallyProvisioned : ClusterExternalSecretReason.NotProvisioned;
      const message = failed.length === 0 ? `PushSecret ${childName} in ${provisioned.length} namespaces` : failed.map((f) => `${f.namespace}: ${f.reason}`).join('; ');
      await ctx.status.patch(statusRef(name), {
        pushSecretName: childName,
        provisionedNamespaces: provisioned,
        failedNamespaces: failed.map((f) => ({ namespace: f.namespace, reason: f.reason.slice(0, 1024) })),
        conditions: setCondition(conditions, { type: ConditionType.Ready, status: failed.length === 0 ? 'True' : 'False', reason, message }, ctx.clock.now(), cps.metadata.generation),
      });
      // Retried with backoff, not only at refreshTime (which may be 0: never).
      if (retryable.length > 0) throw new Error(`ClusterPushSecret ${name}: ${failed.filter((f) => retryable.includes(f.namespace)).map((f) => `${f.namespace}: ${f.reason}`).join('; ')}`);
      const refreshMs = parseDuration(cps.spec.refreshTime ?? '1m');
      return refreshMs > 0 ? { requeueAfter: refreshMs } : undefined;
    }

    return {
      primary: { kind: ClusterPushSecretKind, fingerprint: (cps) => JSON.stringify([cps.metadata?.generation ?? 0, cps.metadata?.uid ?? '']) },
      watches: [
        watch<V1Namespace>({ kind: NamespaceKind, map: () => all.list().map((cps) => cps.metadata?.name ?? ''), fingerprint: (ns) => JSON.stringify([ns.metadata?.labels ?? {}, ns.metadata?.deletionTimestamp ?? null]) }),
        watch<RawCustomObject>({ kind: PushSecretKind, events: ['update', 'delete'], map: (ps) => (ps.metadata?.labels?.[CLUSTER_PUSH_SECRET_LABEL] ? [ps.metadata.labels[CLUSTER_PUSH_SECRET_LABEL]] : []), fingerprint: (ps) => String(ps.metadata?.generation ?? 0) }),
      ],
      reconcile: (key) => reconcile(key),
      // One whose PushSecrets name a ClusterSecretStore of another controller class is left to that installation.
      serves: (key) => {
        const refs = ((all.get(key)?.spec as { pushSecretSpec?: { secretStoreRefs?: { name?: string; kind?: string }[] } } | undefined)?.pushSecretSpec?.secretStoreRefs) ?? [];
        return refs.every((ref) => ref.kind !== 'ClusterSecretStore' || ref.name === undefined || ctx.classes.servesStore(clusterSecretStores.get(ref.name)));
      },
    };
  },
};
