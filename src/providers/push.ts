// The write half of the provider contract (PushSecret). A provider that can write implements
// SecretsClient.pushSecret/deleteSecret with its own API; the rules every provider keeps are here, pure:
//  - a remote secret carries a mark naming secret-relay and the PushSecret that created it (a tag, label or
//    custom metadata); one without our mark is never overwritten or deleted unless the PushSecret opts in to
//    adopting it (then the mark is added);
//  - IfNotExists never writes over an existing secret; a property is merged into a JSON object, its other fields kept;
//  - errors never carry a value.
import { TerminalError } from '../util/errors.ts';

/** The mark's keys. Providers whose label syntax is narrower (GCP) encode the values, see markValue. */
export const MARK_MANAGED_BY_KEY = 'managed-by';
export const MARK_MANAGED_BY_VALUE = 'secret-relay';
export const MARK_OWNER_KEY = 'secret-relay.dev/push-secret';

export interface PushRequest {
  /** The remote secret's name as the PushSecret wrote it (the provider applies its prefix or mount). */
  readonly remoteKey: string;
  /** A field of a JSON-object secret to set; undefined: the whole value. */
  readonly property?: string | undefined;
  readonly value: Uint8Array;
  /** Who pushes: "<namespace>/<name>" of the PushSecret; written into the mark. */
  readonly owner: string;
  /** Take over a remote secret without our mark (the PushSecret's secret-relay.dev/adopt annotation). */
  readonly adopt: boolean;
  readonly updatePolicy: 'Replace' | 'IfNotExists';
  /** data[].metadata as written (provider-specific: ESO's PushSecretMetadata). */
  readonly metadata?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * created: the remote secret is new (ours). updated/unchanged: it was ours (or adopted) and now holds the value.
 * exists: updatePolicy IfNotExists found it already there; nothing written.
 */
export type PushResult = 'created' | 'updated' | 'unchanged' | 'exists';

export interface DeleteRequest {
  readonly remoteKey: string;
  readonly property?: string | undefined;
  readonly owner: string;
}

/** deleted: gone (or its property removed); absent: nothing there; not-owned: it lacks our mark, left alone. */
export type DeleteResult = 'deleted' | 'absent' | 'not-owned';

/** A remote secret exists without our mark (or with another PushSecret's): nothing was written. */
export class RemoteNotOwnedError extends TerminalError {}

/** The mark as key/value pairs (tags, custom metadata). */
export function markOf(owner: string): Record<string, string> {
  return { [MARK_MANAGED_BY_KEY]: MARK_MANAGED_BY_VALUE, [MARK_OWNER_KEY]: owner };
}

export type Ownership = 'ours' | 'foreign' | 'other-push-secret';

/** Whose a remote secret is, from its tags/metadata. Pure. */
export function ownershipOf(tags: Readonly<Record<string, string>> | undefined, owner: string): Ownership {
  if (tags?.[MARK_MANAGED_BY_KEY] !== MARK_MANAGED_BY_VALUE) return 'foreign';
  return tags[MARK_OWNER_KEY] === owner ? 'ours' : 'other-push-secret';
}

/** The refusal for a remote secret that is not ours. Names it and what to do; never a value. */
export function notOwned(what: string, ownership: Ownership, tags: Readonly<Record<string, string>> | undefined): RemoteNotOwnedError {
  const whose = ownership === 'other-push-secret' ? `it was created by PushSecret ${tags?.[MARK_OWNER_KEY] ?? '(unknown)'}` : 'it was not created by secret-relay (no managed-by=secret-relay mark)';
  return new RemoteNotOwnedError(
    `${what} already exists and ${whose}: it is left untouched. Push to another remote key, delete it, or annotate the PushSecret secret-relay.dev/adopt=true to take it over`,
  );
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** The text of a value a provider stores as a string; refuses bytes that are not UTF-8 (naming the key). */
export function valueText(value: Uint8Array, what: string): string {
  try {
    return decoder.decode(value);
  } catch {
    throw new TerminalError(`${what}: the value is not UTF-8 text, which this store keeps only as text; push it base64-encoded (a template) or to a binary-capable store`);
  }
}

/**
 * The whole value after setting `property` in the current JSON object (undefined: none yet). Refuses a current value
 * that is not a JSON object. The property's value is the pushed text, as a JSON string. Pure.
 */
export function mergeProperty(current: string | undefined, property: string, value: string, what: string): string {
  const object = current === undefined || current === '' ? {} : parseObject(current, what);
  object[property] = value;
  return JSON.stringify(object);
}

/** The whole value after removing `property`; undefined when no field is left (delete the secret). Pure. */
export function removeProperty(current: string, property: string, what: string): { value: string | undefined; changed: boolean } {
  const object = parseObject(current, what);
  if (!(property in object)) return { value: current, changed: false };
  delete object[property];
  return { value: Object.keys(object).length === 0 ? undefined : JSON.stringify(object), changed: true };
}

export function parseObject(text: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TerminalError(`${what} does not hold a JSON object, so remoteRef.property cannot be set in it; push the whole value (no property) or use another remote key`);
  }
  return parsed as Record<string, unknown>;
}

export const utf8 = (text: string): Uint8Array => encoder.encode(text);

/** A data[].metadata's provider part (ESO's PushSecretMetadata `spec`), read field by field. */
export interface PushMetadataSpec {
  readonly fields: Readonly<Record<string, unknown>>;
  /** A string field, or undefined when unset. */
  text(field: string): string | undefined;
  /** A map of strings (tags, labels …) that must not set `reserved` keys: those carry our ownership mark. */
  stringMap(field: string, reserved: readonly string[], marked?: string): Record<string, string>;
}

/** Reads data[].metadata.spec; every wrong type is one refusal naming the field. Pure. */
export function pushMetadataSpec(metadata: Readonly<Record<string, unknown>> | undefined): PushMetadataSpec {
  const spec = metadata?.['spec'] ?? {};
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new TerminalError('data[].metadata.spec must be an object (ESO PushSecretMetadata)');
  const fields = spec as Record<string, unknown>;
  return {
    fields,
    text(field) {
      const value = fields[field];
      if (value === undefined) return undefined;
      if (typeof value !== 'string') throw new TerminalError(`data[].metadata.spec.${field} must be a string`);
      return value;
    },
    stringMap(field, reserved, marked = 'secret') {
      const raw = fields[field];
      const out: Record<string, string> = {};
      if (raw === undefined) return out;
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TerminalError(`data[].metadata.spec.${field} must be a map of keys to values`);
      for (const [key, value] of Object.entries(raw)) {
        if (typeof value !== 'string') throw new TerminalError(`data[].metadata.spec.${field}.${key} must be a string`);
        if (reserved.includes(key)) throw new TerminalError(`data[].metadata.spec.${field} must not set ${key}: secret-relay sets it to mark the ${marked} as this PushSecret's`);
        out[key] = value;
      }
      return out;
    },
  };
}

/** The keys of our ownership mark, which a user's tags may not set. */
export const MARK_KEYS: readonly string[] = [MARK_MANAGED_BY_KEY, MARK_OWNER_KEY];
