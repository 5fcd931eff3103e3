// What a ClusterExternalSecret asks for, decided from the caches — pure functions, no I/O.
// Selection: namespaces named in spec.namespaces, plus those whose labels match any of spec.namespaceSelectors (or
// the deprecated spec.namespaceSelector), as in ESO; a terminating namespace is never selected (nothing can be
// created there). Each selected namespace gets the ExternalSecret, owned by the ClusterExternalSecret (controller
// ownerReference, so the garbage collector removes them with it); an ExternalSecret of that name we did not create
// is never taken over; ours in a namespace that stopped matching is deleted.
import type { ClusterExternalSecret, Condition } from '../../api/index.ts';
import { API_GROUP_VERSION, ClusterExternalSecretReason, ConditionType, Kind, clusterExternalSecretChildName } from '../../api/index.ts';
import { selectorMatches } from '../secretstore/namespace-conditions.ts';
import { stableJson } from '../../util/stable-json.ts';

/** On every ExternalSecret a ClusterExternalSecret creates: its name, so its children are found from the cache. */
export const CLUSTER_EXTERNAL_SECRET_LABEL = 'secret-relay.dev/cluster-external-secret';

export interface NamespaceView {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly terminating: boolean;
}

/** What the plan needs of an ExternalSecret in the cache. */
export interface ChildView {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ownerReferences: readonly { readonly kind: string; readonly apiVersion: string; readonly name: string; readonly uid: string; readonly controller?: boolean | undefined }[];
}

export function selectNamespaces(ces: Pick<ClusterExternalSecret, 'spec'>, namespaces: readonly NamespaceView[]): string[] {
  const named = new Set(ces.spec.namespaces ?? []);
  const selectors = [...(ces.spec.namespaceSelectors ?? []), ...(ces.spec.namespaceSelector ? [ces.spec.namespaceSelector] : [])];
  return namespaces
    .filter((ns) => !ns.terminating && (named.has(ns.name) || selectors.some((selector) => selectorMatches(selector, ns.labels))))
    .map((ns) => ns.name)
    .sort();
}

/** Who controls an ExternalSecret: this ClusterExternalSecret, nobody, or someone else (described for the user). */
export function childOwnership(child: ChildView, ces: Pick<ClusterExternalSecret, 'metadata'>): { mine: true } | { mine: false; owner: string } {
  const controller = child.ownerReferences.find((ref) => ref.controller === true);
  if (controller && controller.kind === Kind.ClusterExternalSecret && controller.apiVersion === API_GROUP_VERSION && controller.uid === ces.metadata.uid) {
    return { mine: true };
  }
  if (controller) {
    const same = controller.kind === Kind.ClusterExternalSecret && controller.name === ces.metadata.name;
    return { mine: false, owner: same ? `an earlier ClusterExternalSecret named ${controller.name} (uid ${controller.uid})` : `${controller.kind} ${controller.name}` };
  }
  return { mine: false, owner: 'nobody (it was created by hand or by another tool)' };
}

export type ChildAction =
  | { readonly kind: 'apply'; readonly namespace: string }
  | { readonly kind: 'delete'; readonly namespace: string }
  | { readonly kind: 'refuse'; readonly namespace: string; readonly reason: string };

/**
 * What to do in each namespace: apply where selected (unless a foreign ExternalSecret holds the name), delete ours
 * where no longer selected. `children` are the ExternalSecrets of that name in the cache.
 */
export function planChildren(ces: Pick<ClusterExternalSecret, 'metadata' | 'spec'>, selected: readonly string[], children: readonly ChildView[]): ChildAction[] {
  const name = clusterExternalSecretChildName(ces);
  const byNamespace = new Map(children.filter((c) => c.name === name).map((c) => [c.namespace, c]));
  const actions: ChildAction[] = [];
  const wanted = new Set(selected);
  for (const namespace of selected) {
    const existing = byNamespace.get(namespace);
    const ownership = existing ? childOwnership(existing, ces) : ({ mine: true } as const);
    if (ownership.mine) actions.push({ kind: 'apply', namespace });
    else {
      actions.push({
        kind: 'refuse',
        namespace,
        reason: `ExternalSecret ${namespace}/${name} already exists and is controlled by ${ownership.owner}: it is left untouched; delete it, or set spec.externalSecretName to another name`,
      });
    }
  }
  for (const [namespace, child] of byNamespace) {
    if (!wanted.has(namespace) && childOwnership(child, ces).mine) actions.push({ kind: 'delete', namespace });
  }
  return actions;
}

/** The ExternalSecret applied in one namespace (server-side apply body). `rawSpec` is externalSecretSpec as the user wrote it. */
export function desiredChild(ces: Pick<ClusterExternalSecret, 'metadata' | 'spec'>, namespace: string, rawSpec: unknown): Record<string, unknown> {
  const metadata = ces.spec.externalSecretMetadata ?? {};
  return {
    apiVersion: API_GROUP_VERSION,
    kind: Kind.ExternalSecret,
    metadata: {
      name: clusterExternalSecretChildName(ces),
      namespace,
      labels: { ...(metadata.labels ?? {}), [CLUSTER_EXTERNAL_SECRET_LABEL]: ces.metadata.name },
      ...(metadata.annotations && Object.keys(metadata.annotations).length > 0 ? { annotations: metadata.annotations } : {}),
      ownerReferences: [
        { apiVersion: API_GROUP_VERSION, kind: Kind.ClusterExternalSecret, name: ces.metadata.name, uid: ces.metadata.uid ?? '', controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: rawSpec,
  };
}

export interface ClusterExternalSecretOutcome {
  readonly provisioned: readonly string[];
  readonly failed: readonly { readonly namespace: string; readonly reason: string }[];
}

/** Status after a pass: sorted lists and the Ready condition (lastTransitionTime kept while the status holds). */
export function statusFor(
  ces: Pick<ClusterExternalSecret, 'metadata' | 'spec' | 'status'>,
  outcome: ClusterExternalSecretOutcome,
  now: number,
): { externalSecretName: string; provisionedNamespaces: string[]; failedNamespaces: { namespace: string; reason: string }[]; conditions: Condition[] } {
  const provisioned = [...outcome.provisioned].sort();
  const failed = [...outcome.failed].sort((a, b) => a.namespace.localeCompare(b.namespace));
  let status: 'True' | 'False';
  let reason: string;
  let message: string;
  if (failed.length === 0) {
    status = 'True';
    reason = ClusterExternalSecretReason.Provisioned;
    message = provisioned.length === 0 ? 'no namespace is selected' : `ExternalSecret ${clusterExternalSecretChildName(ces)} is in ${provisioned.length} namespace(s)`;
  } else {
    status = 'False';
    reason = provisioned.length === 0 ? ClusterExternalSecretReason.NotProvisioned : ClusterExternalSecretReason.PartiallyProvisioned;
    const first = failed[0]!;
    message = `${failed.length} of ${failed.length + provisioned.length} selected namespace(s) failed (see status.failedNamespaces); first: ${first.namespace}: ${first.reason}`;
  }
  const previous = ces.status?.conditions?.find((c) => c.type === ConditionType.Ready);
  const lastTransitionTime = previous && previous.status === status ? previous.lastTransitionTime : new Date(now).toISOString();
  return {
    externalSecretName: clusterExternalSecretChildName(ces),
    provisionedNamespaces: provisioned,
    failedNamespaces: failed,
    conditions: [{ type: ConditionType.Ready, status, reason, message, lastTransitionTime, ...(ces.metadata.generation !== undefined ? { observedGeneration: ces.metadata.generation } : {}) }],
  };
}

/** On each child: a digest of what we applied, so an unchanged child is recognised from the cache without a write. */
export const CHILD_DIGEST_ANNOTATION = 'secret-relay.dev/cluster-external-secret-digest';

/** The child body with its digest annotation (sha256 over the body as applied; the spec holds no secret values). */
export function withDigest(body: Record<string, unknown>, sha256: (text: string) => string): { body: Record<string, unknown>; digest: string } {
  const digest = sha256(stableJson(body));
  const metadata = body['metadata'] as { annotations?: Record<string, string> };
  return { body: { ...body, metadata: { ...metadata, annotations: { ...(metadata.annotations ?? {}), [CHILD_DIGEST_ANNOTATION]: digest } } }, digest };
}
