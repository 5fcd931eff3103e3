// Whose is the target Secret? A pure reading of its ownerReferences and managedFields, so that an
// ExternalSecret never overwrites — or, through an ownerReference, lets the garbage collector delete — a
// Secret it did not create, unless the user opts in to adoption (secret-relay.dev/adopt: "true").
import { ADOPT_ANNOTATION, API_GROUP, Kind } from '../../api/index.ts';

/** What ownership is read from; a k8s V1Secret fits. */
export interface OwnedObjectMeta {
  readonly ownerReferences?: readonly OwnerReferenceView[] | undefined;
  readonly managedFields?: readonly ManagedFieldsEntryView[] | undefined;
}

/** One metadata.managedFields entry; the fields not read here are passed through unchanged. */
export interface ManagedFieldsEntryView {
  readonly manager?: string | undefined;
  readonly fieldsV1?: object | undefined;
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
  /** creationPolicy Owner: it would become the Secret's controller, and the garbage collector would delete the Secret with it. */
  readonly controls: boolean;
}

/** Who else has the Secret. */
export type ForeignOwner =
  /** A controller ownerReference to another object: another ExternalSecret (ours or ESO's), a Deployment, … */
  | {
      readonly by: 'controller';
      readonly apiVersion: string;
      readonly kind: string;
      readonly name: string;
      readonly uid: string;
      /** A secret-relay ExternalSecret of this very name, since deleted (another uid): taken over without an opt-in. */
      readonly predecessor?: true;
    }
  /** No controller; written by these field managers (kubectl, helm, argocd-controller, another ExternalSecret), none of them ours. */
  | { readonly by: 'fields'; readonly managers: readonly string[] }
  /** We merged keys into it (Merge, CreateOrMerge) but these managers wrote other keys: Owner would let the garbage collector take theirs. */
  | { readonly by: 'shared'; readonly managers: readonly string[] };

export type TargetOwnership = { readonly owned: true } | { readonly owned: false; readonly owner: ForeignOwner };

/** The field-manager prefix of ESO's ExternalSecrets (externalsecrets.external-secrets.io/<name>). */
const ESO_FIELD_MANAGER_PREFIX = 'externalsecrets.external-secrets.io/';
const OUR_FIELD_MANAGER_PREFIX = `${API_GROUP}/`;

/**
 * Did this ExternalSecret create the Secret? Yes when a controller ownerReference names its uid, or — with no
 * controller ownerReference to anything else — when its field manager owns fields of it. The field manager is
 * per name, so an Orphan Secret left by a deleted ExternalSecret, and Secrets written by earlier versions of
 * this operator (managed label + our field manager, no ownerReference), stay in sync without an opt-in.
 *
 * A controller reference to a secret-relay ExternalSecret of this name but another uid names a deleted
 * predecessor (deleted and recreated before the garbage collector came, or a Secret restored from a backup
 * whose managedFields name the restore tool): the garbage collector deletes a Secret whose only owner is gone,
 * so it is foreign but marked `predecessor`, and taken over without an opt-in.
 */
export function classifyTarget(meta: OwnedObjectMeta, es: ClaimingExternalSecret): TargetOwnership {
  const managers = [...new Set((meta.managedFields ?? []).map((entry) => entry.manager ?? '').filter((m) => m !== ''))];
  const oursByFields = managers.includes(es.fieldManager);
  const controller = (meta.ownerReferences ?? []).find((ref) => ref.controller === true);
  if (controller) {
    if (controller.uid === es.uid) return { owned: true };
    const predecessor = isOurExternalSecret(controller) && controller.name === es.name;
    const owner = { by: 'controller', apiVersion: controller.apiVersion, kind: controller.kind, name: controller.name, uid: controller.uid } as const;
    return { owned: false, owner: predecessor ? { ...owner, predecessor: true } : owner };
  }
  if (!oursByFields) return { owned: false, owner: { by: 'fields', managers } };
  if (es.controls) {
    const sharedWith = othersKeysManagers(meta.managedFields ?? [], es.fieldManager);
    if (sharedWith.length > 0) return { owned: false, owner: { by: 'shared', managers: sharedWith } };
  }
  return { owned: true };
}

/** Managers other than ours that own data keys ours does not: the Secret holds someone else's keys. */
function othersKeysManagers(entries: readonly ManagedFieldsEntryView[], ours: string): string[] {
  const ourKeys = new Set(entries.filter((e) => e.manager === ours).flatMap((e) => dataKeysOf(e.fieldsV1)));
  const others = entries.filter((e) => e.manager !== ours && dataKeysOf(e.fieldsV1).some((key) => !ourKeys.has(key)));
  return [...new Set(others.map((e) => e.manager ?? ''))].filter((m) => m !== '');
}

function dataKeysOf(fieldsV1: object | undefined): string[] {
  const data = (fieldsV1 as Record<string, unknown> | undefined)?.['f:data'];
  if (typeof data !== 'object' || data === null) return [];
  return Object.keys(data).filter((k) => k.startsWith('f:')).map((k) => k.slice(2));
}

/** Whether the ExternalSecret carries the adoption opt-in. Only the exact value "true" counts. */
export function wantsAdoption(annotations: Readonly<Record<string, string>> | undefined): boolean {
  return annotations?.[ADOPT_ANNOTATION] === 'true';
}

/** "ExternalSecret db", "ESO ExternalSecret db (external-secrets.io)", "Deployment web", "kubectl-create, helm". */
export function describeForeignOwner(owner: ForeignOwner): string {
  if (owner.by === 'controller') {
    const group = owner.apiVersion.includes('/') ? owner.apiVersion.slice(0, owner.apiVersion.indexOf('/')) : '';
    if (owner.predecessor) return `it is owned by a deleted ExternalSecret of the same name (uid ${owner.uid})`;
    if (group === API_GROUP && owner.kind === Kind.ExternalSecret) return `it is owned by ExternalSecret ${owner.name}`;
    if (group === 'external-secrets.io' && owner.kind === 'ExternalSecret') return `it is owned by ESO's ExternalSecret ${owner.name} (external-secrets.io)`;
    return `it is owned by ${owner.kind} ${owner.name}${group ? ` (${group})` : ''}`;
  }
  const shown = owner.managers.slice(0, 3).map(describeManager);
  const more = owner.managers.length > 3 ? ` and ${owner.managers.length - 3} more` : '';
  if (owner.by === 'shared') {
    return `this ExternalSecret only merged keys into it: it holds keys written by ${shown.join(', ')}${more}, which creationPolicy Owner would let the garbage collector delete with this ExternalSecret`;
  }
  if (shown.length === 0) return 'this ExternalSecret did not create it';
  return `this ExternalSecret did not create it (written by ${shown.join(', ')}${more})`;
}

/** The Event of an adoption: what was taken over, from whom, and which keys (names only) went. */
export function adoptionNote(secretName: string, owner: ForeignOwner, removedKeys: readonly string[]): string {
  const from = owner.by === 'controller' ? describeForeignOwner(owner).replace(/^it is owned by /, '') : owner.managers.map(describeManager).join(', ') || 'no field manager';
  const removed = removedKeys.length > 0 ? `; keys it did not declare were removed: ${removedKeys.join(', ')}` : '';
  return `Secret ${secretName} adopted from ${from}${removed}`;
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
export interface AdoptionPatch<Entry extends ManagedFieldsEntryView = ManagedFieldsEntryView> {
  /** The ownerReferences to keep: every non-controller one. The controller reference is replaced by ours (Owner) or dropped (Orphan). */
  readonly ownerReferences: readonly OwnerReferenceView[];
  /** Data keys the ExternalSecret does not declare: removed, so the adopted Secret is what this ExternalSecret would have created. */
  readonly removedKeys: readonly string[];
  /** managedFields with other managers' claims on what we write taken away (see releaseFields). */
  readonly managedFields: readonly Entry[];
}

/**
 * Server-side apply cannot drop fields another manager owns, an object may have only one controller reference,
 * and an apply of a value equal to another manager's leaves the field co-owned (measured: kubectl-create kept
 * f:data.f:password after a forced apply of the same bytes) — so a later removal of the key from the spec would
 * not remove it. Hence one patch before the apply: the foreign controller reference and the keys we do not
 * declare go, and the other managers' claims on the fields we write are released.
 */
export function adoptionPatch<Entry extends ManagedFieldsEntryView>(
  existing: { readonly ownerReferences?: readonly OwnerReferenceView[] | undefined; readonly managedFields?: readonly Entry[] | undefined; readonly dataKeys: readonly string[] },
  desired: { readonly keys: ReadonlySet<string>; readonly writesType: boolean; readonly fieldManager: string },
): AdoptionPatch<Entry> {
  const dropped = (existing.ownerReferences ?? []).filter((ref) => ref.controller === true).map((ref) => ref.uid);
  return {
    ownerReferences: (existing.ownerReferences ?? []).filter((ref) => ref.controller !== true),
    removedKeys: existing.dataKeys.filter((key) => !desired.keys.has(key)).sort(),
    managedFields: (existing.managedFields ?? []).flatMap((entry) => {
      if (entry.manager === desired.fieldManager) return [entry];
      const fields = releaseFields(entry.fieldsV1, [
        ...[...desired.keys].map((key) => ['f:data', `f:${key}`]),
        ...(desired.writesType ? [['f:type']] : []),
        ...dropped.map((uid) => ['f:metadata', 'f:ownerReferences', `k:${JSON.stringify({ uid })}`]),
      ]);
      return fields === undefined ? [] : [{ ...entry, fieldsV1: fields }];
    }),
  };
}

/**
 * A fieldsV1 set without the given paths; parents left empty are removed too (an empty `{}` would claim the
 * parent as a whole). undefined when nothing is left, so the entry goes.
 */
export function releaseFields(fieldsV1: object | undefined, paths: readonly (readonly string[])[]): object | undefined {
  const copy = structuredClone((fieldsV1 ?? {}) as Record<string, unknown>);
  for (const path of paths) removePath(copy, path);
  return Object.keys(copy).length === 0 ? undefined : copy;
}

function removePath(node: Record<string, unknown>, path: readonly string[]): void {
  const [head, ...rest] = path;
  if (head === undefined || !Object.hasOwn(node, head)) return;
  if (rest.length === 0) {
    delete node[head];
    return;
  }
  const child = node[head];
  if (typeof child !== 'object' || child === null) return;
  const hadChildren = Object.keys(child).length > 0;
  removePath(child as Record<string, unknown>, rest);
  if (hadChildren && Object.keys(child).length === 0) delete node[head];
}

function isOurExternalSecret(ref: OwnerReferenceView): boolean {
  return ref.kind === Kind.ExternalSecret && ref.apiVersion.startsWith(OUR_FIELD_MANAGER_PREFIX);
}
