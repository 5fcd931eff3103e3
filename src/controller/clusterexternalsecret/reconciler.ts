// ClusterExternalSecret: the parent key (its name) plans every namespace from the caches and fans the work out as
// one child key per namespace (`<namespace>/<name>`), so a change covering 1,000 namespaces goes through the work
// queue's rate limit and per-key backoff instead of 1,000 writes in one reconcile. A child applies or deletes one
// ExternalSecret, then asks the parent (after a short settle) to refresh the status. A child of ours under another
// name (spec.externalSecretName changed) is deleted by its namespace's key: nothing else would ever remove it.
import { createHash } from 'node:crypto';
import type { ClusterExternalSecret, Condition } from '../../api/index.ts';
import { API_GROUP, API_GROUP_VERSION, API_VERSION, ClusterExternalSecretReason, ConditionType, Kind, Plural, clusterExternalSecretChildName } from '../../api/index.ts';
import type { EventRecorder } from '../../k8s/events.ts';
import type { ExternalSecretWriter } from '../../k8s/external-secret-writer.ts';
import type { StatusWriter } from '../../k8s/status.ts';
import type { Clock } from '../../util/clock.ts';
import { parseDuration } from '../../util/duration.ts';
import { TerminalError } from '../../util/errors.ts';
import { describeError } from '../../k8s/describe-error.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import { objectKey } from '../runtime/manager.ts';
import { childOwnership, desiredChild, planChildren, selectNamespaces, statusFor, withDigest, CHILD_DIGEST_ANNOTATION, type ChildView, type NamespaceView } from './plan.ts';

export const CLUSTER_EXTERNAL_SECRET_FIELD_MANAGER = 'secret-relay.dev/clusterexternalsecret';
/** Children report to the parent after this long, so a wave of child writes gives one status patch, not one each. */
export const STATUS_SETTLE_MS = 1_000;

export interface CachedChild extends ChildView {
  readonly uid: string;
  readonly annotations: Readonly<Record<string, string>>;
}

export type CachedClusterExternalSecret =
  | { readonly ok: true; readonly value: ClusterExternalSecret; readonly rawExternalSecretSpec: unknown }
  | { readonly ok: false; readonly error: string; readonly name: string; readonly uid: string; readonly conditions: readonly Condition[] | undefined };

export interface ClusterExternalSecretReconcilerDeps {
  readonly clock: Clock;
  readonly getClusterExternalSecret: (name: string) => CachedClusterExternalSecret | undefined;
  readonly listNamespaces: () => readonly NamespaceView[];
  readonly getNamespace: (name: string) => NamespaceView | undefined;
  readonly getExternalSecret: (namespace: string, name: string) => CachedChild | undefined;
  /** ExternalSecrets labelled as children of this ClusterExternalSecret (of one namespace, when given). */
  readonly childrenOf: (cesName: string, namespace?: string) => readonly CachedChild[];
  readonly writer: ExternalSecretWriter;
  readonly status: StatusWriter;
  readonly events: EventRecorder;
  readonly enqueue: (key: string, afterMs?: number) => void;
}

/** A child key: one namespace of a ClusterExternalSecret. */
export const childKey = (namespace: string, cesName: string): string => objectKey(namespace, cesName);

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function createClusterExternalSecretReconciler(deps: ClusterExternalSecretReconcilerDeps) {
  /** Per ClusterExternalSecret: namespaces whose child could not be written, and why (what the status reports). */
  const failures = new Map<string, Map<string, string>>();
  const failuresOf = (name: string) => {
    let map = failures.get(name);
    if (!map) failures.set(name, (map = new Map()));
    return map;
  };
  const target = (ces: { name: string; uid: string }) => ({ apiVersion: API_GROUP_VERSION, kind: Kind.ClusterExternalSecret, name: ces.name, uid: ces.uid });
  const statusRef = (name: string) => ({ group: API_GROUP, version: API_VERSION, plural: Plural.ClusterExternalSecret, name });

  const fail = async (ces: ClusterExternalSecret, namespace: string, reason: string) => {
    const known = failuresOf(ces.metadata.name);
    if (known.get(namespace) === reason) return;
    known.set(namespace, reason);
    await deps.events.record(target({ name: ces.metadata.name, uid: ces.metadata.uid ?? '' }), 'Warning', ClusterExternalSecretReason.PartiallyProvisioned, `namespace ${namespace}: ${reason}`);
  };

  async function reconcileParent(name: string): Promise<ReconcileResult> {
    const entry = deps.getClusterExternalSecret(name);
    if (!entry) {
      failures.delete(name); // the garbage collector removes the children with their owner
      return;
    }
    if (!entry.ok) {
      const already = entry.conditions?.find((c) => c.type === ConditionType.Ready);
      if (already?.reason !== ClusterExternalSecretReason.InvalidSpec || already.message !== entry.error) {
        await deps.status.patch(statusRef(name), {
          conditions: [{ type: ConditionType.Ready, status: 'False', reason: ClusterExternalSecretReason.InvalidSpec, message: entry.error, lastTransitionTime: new Date(deps.clock.now()).toISOString() }],
        });
        await deps.events.record(target(entry), 'Warning', ClusterExternalSecretReason.InvalidSpec, entry.error);
      }
      throw new TerminalError(entry.error);
    }
    const ces = entry.value;
    const childName = clusterExternalSecretChildName(ces);
    const selected = selectNamespaces(ces, deps.listNamespaces());
    const byNamespace = new Map<string, CachedChild>();
    const renamedIn = new Set<string>();
    for (const child of deps.childrenOf(name)) {
      if (child.name === childName) byNamespace.set(child.namespace, child);
      else if (childOwnership(child, ces).mine) renamedIn.add(child.namespace);
    }
    for (const namespace of selected) {
      const child = deps.getExternalSecret(namespace, childName);
      if (child) byNamespace.set(namespace, child);
    }
    const known = failuresOf(name);
    for (const namespace of [...known.keys()]) if (!selected.includes(namespace)) known.delete(namespace);

    const provisioned: string[] = [];
    const failed: { namespace: string; reason: string }[] = [];
    for (const action of planChildren(ces, selected, [...byNamespace.values()])) {
      if (action.kind === 'refuse') {
        await fail(ces, action.namespace, action.reason);
        failed.push({ namespace: action.namespace, reason: action.reason });
        continue;
      }
      if (action.kind === 'delete') {
        deps.enqueue(childKey(action.namespace, name));
        continue;
      }
      const { digest } = withDigest(desiredChild(ces, action.namespace, entry.rawExternalSecretSpec), sha256);
      const existing = byNamespace.get(action.namespace);
      const reason = known.get(action.namespace);
      if (existing?.annotations[CHILD_DIGEST_ANNOTATION] === digest) {
        known.delete(action.namespace);
        provisioned.push(action.namespace);
      } else if (reason !== undefined) {
        failed.push({ namespace: action.namespace, reason }); // the child key retries with its own backoff
      } else {
        deps.enqueue(childKey(action.namespace, name));
      }
    }

    // Ours under an earlier spec.externalSecretName: its namespace's key deletes it (and writes the new one first).
    for (const namespace of renamedIn) deps.enqueue(childKey(namespace, name));

    const next = statusFor(ces, { provisioned, failed }, deps.clock.now());
    const current = ces.status;
    const same =
      current?.externalSecretName === next.externalSecretName &&
      JSON.stringify(current.provisionedNamespaces ?? []) === JSON.stringify(next.provisionedNamespaces) &&
      JSON.stringify(current.failedNamespaces ?? []) === JSON.stringify(next.failedNamespaces) &&
      JSON.stringify((current.conditions ?? []).map(({ lastTransitionTime: _t, ...rest }) => rest)) === JSON.stringify(next.conditions.map(({ lastTransitionTime: _t, ...rest }) => rest));
    if (!same) await deps.status.patch(statusRef(name), next);
    const refreshMs = parseDuration(ces.spec.refreshTime ?? '1m');
    return refreshMs > 0 ? { requeueAfter: refreshMs } : undefined;
  }

  async function reconcileChild(namespace: string, name: string): Promise<ReconcileResult> {
    const entry = deps.getClusterExternalSecret(name);
    if (!entry?.ok) return; // gone (children go with it) or invalid (the parent reports it)
    const ces = entry.value;
    const childName = clusterExternalSecretChildName(ces);
    const ns = deps.getNamespace(namespace);
    const wanted = ns !== undefined && selectNamespaces(ces, [ns]).length === 1;
    const existing = deps.getExternalSecret(namespace, childName);
    const known = failuresOf(name);
    const report = () => deps.enqueue(name, STATUS_SETTLE_MS);
    try {
      if (wanted) {
        const ownership = existing ? childOwnership(existing, ces) : ({ mine: true } as const);
        if (!ownership.mine) return; // the parent reports it; nothing to retry until that ExternalSecret changes
        const { body } = withDigest(desiredChild(ces, namespace, entry.rawExternalSecretSpec), sha256);
        try {
          // Not forced when we create it: if an ExternalSecret of that name appeared meanwhile, its fields are
          // someone else's and the apiserver refuses (409) instead of letting us take it over.
          await deps.writer.apply(body as { metadata: { name: string; namespace: string } }, CLUSTER_EXTERNAL_SECRET_FIELD_MANAGER, existing !== undefined);
        } catch (err) {
          if ((err as { code?: unknown }).code === 409) {
            await fail(ces, namespace, `ExternalSecret ${namespace}/${childName} already exists and is managed by someone else: it is left untouched; delete it, or set spec.externalSecretName to another name`);
            report();
            return;
          }
          if ((err as { code?: unknown }).code === 404 && deps.getNamespace(namespace) === undefined) return; // namespace deleted meanwhile
          throw err;
        }
        known.delete(namespace);
      } else if (existing && childOwnership(existing, ces).mine) {
        await deps.writer.delete(namespace, childName, { uid: existing.uid });
        known.delete(namespace);
      }
      // Ours under an earlier spec.externalSecretName: gone once the current one is written (or not wanted here).
      for (const child of deps.childrenOf(name, namespace)) {
        if (child.name !== childName && childOwnership(child, ces).mine) await deps.writer.delete(namespace, child.name, { uid: child.uid });
      }
      report();
    } catch (err) {
      await fail(ces, namespace, describeError(err));
      report();
      throw err;
    }
  }

  return async function reconcile(key: string): Promise<ReconcileResult> {
    const slash = key.indexOf('/');
    return slash < 0 ? reconcileParent(key) : reconcileChild(key.slice(0, slash), key.slice(slash + 1));
  };
}
