// The Secret an ExternalSecret asks for, and whether the one in the cluster still is it — pure functions.
// Drift is detected with a keyed HMAC of the data we wrote (the key lives in the operator's namespace), so
// the annotation tells nothing about the values to someone who can read annotations but not data.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ObservedTarget } from './decide.ts';
import { ExternalSecretReason, MANAGED_LABEL, ROTATED_ANNOTATION } from '../../api/meta.ts';
import { CREDENTIAL_SECRET_TYPE_MESSAGE, CREDENTIAL_SECRET_TYPES } from '../../api/external-secret.ts';
import { TerminalError } from '../../util/errors.ts';

export { MANAGED_LABEL };
export const DATA_HMAC_ANNOTATION = 'secret-relay.dev/data-hmac';
export const MANAGED_KEYS_ANNOTATION = 'secret-relay.dev/managed-keys';
/** Label and annotation keys a template wrote, so that removing one from the template removes it from the Secret. */
export const TEMPLATED_LABELS_ANNOTATION = 'secret-relay.dev/templated-labels';
export const TEMPLATED_ANNOTATIONS_ANNOTATION = 'secret-relay.dev/templated-annotations';

export type CreationPolicy = 'Owner' | 'Orphan' | 'Merge' | 'None' | 'CreateOrMerge';

export interface SecretOwner {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

export interface DesiredSecretInput {
  readonly namespace: string;
  readonly name: string;
  readonly creationPolicy: Exclude<CreationPolicy, 'None'>;
  readonly immutable: boolean;
  readonly owner: SecretOwner;
  readonly data: ReadonlyMap<string, Uint8Array>;
  readonly hmacKey: Uint8Array;
  /** spec.target.template.type; Opaque when absent. */
  readonly type?: string | undefined;
  /** Rendered template metadata; reserved secret-relay.dev/ keys are refused before this point. */
  readonly labels?: Readonly<Record<string, string>> | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  /** The owner's secret-relay.dev/rotate value the generated values answer (kept in secret-relay.dev/rotated). */
  readonly rotated?: string | undefined;
}

/** A server-side-apply body: only the fields secret-relay owns. */
export interface SecretApplyBody {
  readonly apiVersion: 'v1';
  readonly kind: 'Secret';
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Record<string, string>;
    readonly annotations: Record<string, string>;
    readonly ownerReferences?: {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller: boolean;
      blockOwnerDeletion: boolean;
    }[];
  };
  readonly type?: string;
  readonly immutable?: boolean;
  readonly data: Record<string, string>;
}

/** What the reconciler knows of an existing Secret (from the cache or a read). */
export interface ExistingSecret {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly data: Readonly<Record<string, string>>; // base64, as the API returns it
  readonly immutable: boolean;
  readonly ownerUids: readonly string[];
  readonly type?: string | undefined;
}

/** Annotations the token controller acts on (kubernetes.io/service-account.name, .uid): never written. */
export const TOKEN_CONTROLLER_ANNOTATION_PREFIX = 'kubernetes.io/service-account.';
const TOKEN_ANNOTATION_MESSAGE =
  `secret-relay never writes Secrets with annotations under ${TOKEN_CONTROLLER_ANNOTATION_PREFIX} (the token controller acts on them)`;

/**
 * A Secret secret-relay will not write (issue 24; the apiserver's admission policy refuses it too): Ready=False
 * InvalidSpec, not retried until the ExternalSecret changes, the Secret left as it was.
 */
export class CredentialSecretError extends TerminalError {
  readonly reason = ExternalSecretReason.InvalidSpec;
}

function isCredentialType(type: string | undefined): boolean {
  return type !== undefined && (CREDENTIAL_SECRET_TYPES as readonly string[]).includes(type);
}

function hasTokenControllerAnnotation(annotations: Readonly<Record<string, string>> | undefined): boolean {
  return Object.keys(annotations ?? {}).some((key) => key.startsWith(TOKEN_CONTROLLER_ANNOTATION_PREFIX));
}

/**
 * Refuses an existing target secret-relay must not write into (Merge, CreateOrMerge, adoption, update): one of a
 * credential type, or carrying a token-controller annotation (the merged Secret would carry it too).
 */
export function assertWritableTarget(namespace: string, name: string, existing: ExistingSecret | undefined): void {
  if (!existing) return;
  if (isCredentialType(existing.type)) {
    throw new CredentialSecretError(`target Secret ${namespace}/${name} is of type ${existing.type}: ${CREDENTIAL_SECRET_TYPE_MESSAGE}; choose another target`);
  }
  if (hasTokenControllerAnnotation(existing.annotations)) {
    throw new CredentialSecretError(`target Secret ${namespace}/${name} carries an annotation under ${TOKEN_CONTROLLER_ANNOTATION_PREFIX}: ${TOKEN_ANNOTATION_MESSAGE}; choose another target`);
  }
}

export function buildDesiredSecret(input: DesiredSecretInput): SecretApplyBody {
  // Whatever the source — spec.target.template.type (also refused by the CRD), template metadata, templateFrom,
  // or the ExternalSecret's own annotations copied when there is no template. The key is not quoted: a rendered
  // key may be derived from a secret value.
  if (isCredentialType(input.type)) throw new CredentialSecretError(`spec.target.template.type: ${CREDENTIAL_SECRET_TYPE_MESSAGE}`);
  if (hasTokenControllerAnnotation(input.annotations)) {
    throw new CredentialSecretError(
      `${TOKEN_ANNOTATION_MESSAGE}: remove it from the template's annotations, or from the ExternalSecret's own annotations (copied to the Secret when there is no template)`,
    );
  }
  const keys = [...input.data.keys()].sort();
  const data: Record<string, string> = {};
  for (const key of keys) data[key] = Buffer.from(input.data.get(key)!).toString('base64');
  const templatedLabels = Object.keys(input.labels ?? {}).sort();
  const templatedAnnotations = Object.keys(input.annotations ?? {}).sort();
  const annotations: Record<string, string> = {
    ...input.annotations,
    [DATA_HMAC_ANNOTATION]: dataHmac(input.hmacKey, input.data, input),
    [MANAGED_KEYS_ANNOTATION]: keys.join(','),
    ...(input.rotated ? { [ROTATED_ANNOTATION]: input.rotated } : {}),
    ...(templatedLabels.length > 0 ? { [TEMPLATED_LABELS_ANNOTATION]: templatedLabels.join(',') } : {}),
    ...(templatedAnnotations.length > 0 ? { [TEMPLATED_ANNOTATIONS_ANNOTATION]: templatedAnnotations.join(',') } : {}),
  };
  const base = {
    apiVersion: 'v1' as const,
    kind: 'Secret' as const,
    data,
  };
  const labels = { ...input.labels, [MANAGED_LABEL]: 'true' };
  if (input.creationPolicy === 'Merge' || input.creationPolicy === 'CreateOrMerge') {
    // Someone else owns this Secret (or may): we add our keys and markers, nothing else — the type only when the
    // template names one (CreateOrMerge creating it; the apiserver defaults Opaque otherwise).
    const type = input.creationPolicy === 'CreateOrMerge' && input.type !== undefined ? { type: input.type } : {};
    return { ...base, metadata: { name: input.name, namespace: input.namespace, labels, annotations }, ...type };
  }
  return {
    ...base,
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels,
      annotations,
      ...(input.creationPolicy === 'Owner'
        ? {
            ownerReferences: [
              { ...input.owner, controller: true, blockOwnerDeletion: true },
            ],
          }
        : {}),
    },
    type: input.type ?? 'Opaque',
    ...(input.immutable ? { immutable: true } : {}),
  };
}

/** The Secret an HMAC is for: its key is derived from it. */
export interface HmacScope {
  readonly namespace: string;
  readonly name: string;
}

/**
 * The HMAC key of one Secret, derived from the operator's key and the Secret's namespace/name: equal data in two
 * Secrets (two teams' namespaces) gives unequal annotations, so an annotation reveals no cross-namespace equality.
 */
function scopedKey(hmacKey: Uint8Array, scope: HmacScope): Buffer {
  return createHmac('sha256', hmacKey).update('secret-relay.dev/data-hmac/v2\0').update(scope.namespace).update('\0').update(scope.name).digest();
}

/** HMAC-SHA256 over the sorted keys and values, length-prefixed so no two data maps collide; keyed per Secret (v2). */
export function dataHmac(hmacKey: Uint8Array, data: ReadonlyMap<string, Uint8Array>, scope: HmacScope): string {
  return `v2:${macOf(scopedKey(hmacKey, scope), data)}`;
}

/** The v1 annotation (one key for every Secret): still accepted as intact, replaced by v2 at the Secret's next write. */
export function legacyDataHmac(hmacKey: Uint8Array, data: ReadonlyMap<string, Uint8Array>): string {
  return `v1:${macOf(hmacKey, data)}`;
}

function macOf(key: Uint8Array, data: ReadonlyMap<string, Uint8Array>): string {
  const mac = createHmac('sha256', key);
  for (const name of [...data.keys()].sort()) {
    const keyBytes = Buffer.from(name, 'utf8');
    const value = data.get(name)!;
    mac.update(lengthPrefix(keyBytes.length)).update(keyBytes).update(lengthPrefix(value.length)).update(value);
  }
  return mac.digest('base64url');
}

function lengthPrefix(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** Is the Secret in the cluster still what we last wrote? */
export function observeTarget(existing: ExistingSecret | undefined, hmacKey: Uint8Array, scope: HmacScope): ObservedTarget {
  if (!existing) return { state: 'missing' };
  const recorded = existing.annotations[DATA_HMAC_ANNOTATION];
  const keysAnnotation = existing.annotations[MANAGED_KEYS_ANNOTATION];
  if (existing.labels[MANAGED_LABEL] !== 'true' || recorded === undefined || keysAnnotation === undefined) {
    return { state: 'drifted' };
  }
  const ours = new Map<string, Uint8Array>();
  for (const key of keysAnnotation === '' ? [] : keysAnnotation.split(',')) {
    const encoded = existing.data[key];
    if (encoded === undefined) return { state: 'drifted' };
    ours.set(key, Buffer.from(encoded, 'base64'));
  }
  const expected = recorded.startsWith('v1:') ? legacyDataHmac(hmacKey, ours) : dataHmac(hmacKey, ours, scope);
  return equalStrings(expected, recorded) ? { state: 'intact' } : { state: 'drifted' };
}

/** Would applying `desired` change anything we own in `existing`? Saves a write per unchanged refresh. */
export function needsApply(desired: SecretApplyBody, existing: ExistingSecret | undefined): boolean {
  if (!existing) return true;
  for (const [k, v] of Object.entries(desired.metadata.labels)) if (existing.labels[k] !== v) return true;
  for (const [k, v] of Object.entries(desired.metadata.annotations)) if (existing.annotations[k] !== v) return true;
  for (const [k, v] of Object.entries(desired.data)) if (existing.data[k] !== v) return true;
  // Keys we wrote before but no longer want must be removed by an apply.
  const previous = existing.annotations[MANAGED_KEYS_ANNOTATION];
  if (previous && previous.split(',').some((k) => !(k in desired.data))) return true;
  // Likewise labels and annotations a template wrote before.
  if (dropsKeys(existing.annotations[TEMPLATED_LABELS_ANNOTATION], desired.metadata.labels)) return true;
  if (dropsKeys(existing.annotations[TEMPLATED_ANNOTATIONS_ANNOTATION], desired.metadata.annotations)) return true;
  if (desired.type !== undefined && existing.type !== undefined && desired.type !== existing.type) return true;
  for (const ref of desired.metadata.ownerReferences ?? []) if (!existing.ownerUids.includes(ref.uid)) return true;
  if ((desired.immutable ?? false) !== existing.immutable && desired.immutable !== undefined) return true;
  return false;
}

function dropsKeys(previous: string | undefined, desired: Readonly<Record<string, string>>): boolean {
  return previous !== undefined && previous !== '' && previous.split(',').some((key) => !Object.hasOwn(desired, key));
}

function equalStrings(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
