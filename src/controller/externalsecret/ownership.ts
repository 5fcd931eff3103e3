// Whose is the target Secret? A pure reading of its ownerReferences and managedFields, so that an
// ExternalSecret never overwrites — or, through an ownerReference, lets the garbage collector delete — a
// Secret it did not create, unless the user opts in to adoption (secret-relay.dev/adopt: "true").
import { ADOPT_ANNOTATION, API_GROUP, Kind } from '../../api/index.ts';

/** What ownership is read from; a k8s V1Secret fits. */
export interface OwnedObjectMeta {
  readonly ownerReferences?: readonly OwnerReferenceView[] | undefined;
  readonly managedFields?: readonly { readonly manager?: string | undefined }[] | undefined;
}

export interface OwnerReferenceView {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean | undefined;
}

/** The ExternalSecret asking. `fieldManager` is the one its applies use (secret-relay.dev/<name>). */
export interface ClaimingExternalSecret {
  readonly uid: string;
  readonly name: string;
  readonly fieldManager: string;
}

/** Who else has the Secret. */
export type ForeignOwner =
  /** A controller ownerReference to another object: another ExternalSecret (ours or ESO's), a Deployment, … */
  | { readonly by: 'controller'; readonly apiVersion: string; readonly kind: string; readonly name: string; readonly uid: string }
  /** No controller; written by these field managers (kubectl, helm, argocd-controller, another ExternalSecret), none of them ours. */
  | { readonly by: 'fields'; readonly managers: readonly string[] };

export type TargetOwnership = { readonly owned: true } | { readonly owned: false; readonly owner: ForeignOwner };

/** The field-manager prefix of ESO's ExternalSecrets (externalsecrets.external-secrets.io/<name>). */
const ESO_FIELD_MANAGER_PREFIX = 'externalsecrets.external-secrets.io/';
const OUR_FIELD_MANAGER_PREFIX = `${API_GROUP}/`;

/**
 * Did this ExternalSecret create the Secret? Yes when a controller ownerReference names its uid, or — with no
 * controller ownerReference to anything else — when its field manager owns fields of it. The field manager is
 * per name, so an Orphan Secret left by a deleted ExternalSecret, and Secrets written by earlier versions of
 * this operator (managed label + our field manager, no ownerReference), stay in sync without an opt-in; so does
 * an Owner Secret whose controller reference still names a deleted predecessor of the same name, since that
 * reference was written under our field manager (the next apply replaces it).
 */
export function classifyTarget(meta: OwnedObjectMeta, es: ClaimingExternalSecret): TargetOwnership {
  const managers = [...new Set((meta.managedFields ?? []).map((entry) => entry.manager ?? '').filter((m) => m !== ''))];
  const oursByFields = managers.includes(es.fieldManager);
  const controller = (meta.ownerReferences ?? []).find((ref) => ref.controller === true);
  if (controller) {
    if (controller.uid === es.uid) return { owned: true };
    const predecessor = isOurExternalSecret(controller) && controller.name === es.name && oursByFields;
    if (predecessor) return { owned: true };
    return { owned: false, owner: { by: 'controller', apiVersion: controller.apiVersion, kind: controller.kind, name: controller.name, uid: controller.uid } };
  }
  if (oursByFields) return { owned: true };
  return { owned: false, owner: { by: 'fields', managers } };
}

/** Whether the ExternalSecret carries the adoption opt-in. Only the exact value "true" counts. */
export function wantsAdoption(annotations: Readonly<Record<string, string>> | undefined): boolean {
  return annotations?.[ADOPT_ANNOTATION] === 'true';
}

/** "ExternalSecret db", "ESO ExternalSecret db (external-secrets.io)", "Deployment web", "kubectl-create, helm". */
export function describeForeignOwner(owner: ForeignOwner): string {
  if (owner.by === 'controller') {
    const group = owner.apiVersion.includes('/') ? owner.apiVersion.slice(0, owner.apiVersion.indexOf('/')) : '';
    if (group === API_GROUP && owner.kind === Kind.ExternalSecret) return `it is owned by ExternalSecret ${owner.name}`;
    if (group === 'external-secrets.io' && owner.kind === 'ExternalSecret') return `it is owned by ESO's ExternalSecret ${owner.name} (external-secrets.io)`;
    return `it is owned by ${owner.kind} ${owner.name}${group ? ` (${group})` : ''}`;
  }
  const shown = owner.managers.slice(0, 3).map(describeManager);
  if (shown.length === 0) return 'this ExternalSecret did not create it';
  const more = owner.managers.length > 3 ? ` and ${owner.managers.length - 3} more` : '';
  return `this ExternalSecret did not create it (written by ${shown.join(', ')}${more})`;
}

function describeManager(manager: string): string {
  if (manager.startsWith(OUR_FIELD_MANAGER_PREFIX)) return `ExternalSecret ${manager.slice(OUR_FIELD_MANAGER_PREFIX.length)}`;
  if (manager.startsWith(ESO_FIELD_MANAGER_PREFIX)) return `ESO's ExternalSecret ${manager.slice(ESO_FIELD_MANAGER_PREFIX.length)}`;
  return manager;
}

/** The one-line Ready message of a refusal: which Secret, who has it, and the two ways forward. */
export function refusalMessage(namespace: string, secretName: string, owner: ForeignOwner): string {
  return (
    `Secret ${namespace}/${secretName} exists and ${describeForeignOwner(owner)}; nothing was written. ` +
    `Set spec.target.name to a Secret of its own, or annotate this ExternalSecret ${ADOPT_ANNOTATION}="true" to take the Secret over ` +
    `(keys it does not declare are then removed; creationPolicy CreateOrMerge keeps them)`
  );
}

/** What an adoption must change before our apply can take the Secret over. */
export interface AdoptionPatch {
  /** The ownerReferences to keep: every non-controller one. The controller reference is replaced by ours (Owner) or dropped (Orphan). */
  readonly ownerReferences: readonly OwnerReferenceView[];
  /** Data keys the ExternalSecret does not declare: removed, so the adopted Secret is what this ExternalSecret would have created. */
  readonly removedKeys: readonly string[];
}

/**
 * Server-side apply cannot drop fields another manager owns, and an object may have only one controller
 * reference: so the foreign controller reference and the keys we do not declare go in a patch before the apply.
 */
export function adoptionPatch(
  existing: { readonly ownerReferences?: readonly OwnerReferenceView[] | undefined; readonly dataKeys: readonly string[] },
  desiredKeys: ReadonlySet<string>,
): AdoptionPatch {
  return {
    ownerReferences: (existing.ownerReferences ?? []).filter((ref) => ref.controller !== true),
    removedKeys: existing.dataKeys.filter((key) => !desiredKeys.has(key)).sort(),
  };
}

function isOurExternalSecret(ref: OwnerReferenceView): boolean {
  return ref.kind === Kind.ExternalSecret && ref.apiVersion.startsWith(OUR_FIELD_MANAGER_PREFIX);
}
