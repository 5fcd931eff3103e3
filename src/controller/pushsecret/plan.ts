// What a PushSecret asks for, decided without I/O: the values to push (from the source Secret's data) and where,
// the keyed HMAC that says whether a destination already holds them, and the status bookkeeping.
import { createHmac } from 'node:crypto';
import type { PushSecret, PushSecretSyncedEntry } from '../../api/index.ts';
import type { StoreKind } from '../../providers/provider.ts';
import { stableJson } from '../../util/stable-json.ts';
import { TerminalError } from '../../util/errors.ts';

/** One value to push to every selected store. */
export interface PushItem {
  /** The status key inside a store's map: remoteKey, or remoteKey/property (as ESO). */
  readonly statusKey: string;
  readonly secretKey: string | undefined;
  readonly remoteKey: string;
  readonly property: string | undefined;
  readonly value: Uint8Array;
  readonly metadata: Readonly<Record<string, unknown>> | undefined;
  readonly conversionStrategy: 'None' | 'ReverseUnicode';
}

/** The outer key of status.syncedPushSecrets: "SecretStore/name" (as ESO). */
export const storeStatusKey = (kind: StoreKind, name: string): string => `${kind}/${name}`;

export function parseStoreStatusKey(key: string): { kind: StoreKind; name: string } | undefined {
  const slash = key.indexOf('/');
  const kind = key.slice(0, slash);
  if (kind !== 'SecretStore' && kind !== 'ClusterSecretStore') return undefined;
  return { kind, name: key.slice(slash + 1) };
}

export const itemStatusKey = (remoteKey: string, property: string | undefined): string => (property ? `${remoteKey}/${property}` : remoteKey);

/** "_U0024_" → "$": the reverse of ESO's Unicode key conversion. Pure. */
export function reverseUnicode(key: string): string {
  return key.replace(/_U([0-9a-fA-F]{4,6})_/g, (_match, hex: string) => String.fromCodePoint(Number.parseInt(hex, 16)));
}

const decoder = new TextDecoder();

/**
 * The items of spec.data from the source data (key → bytes). A missing key is the user's to fix: refused naming
 * it (never its value). Without secretKey the whole Secret is one JSON object of its keys (as ESO pushes it).
 */
export function pushItems(ps: Pick<PushSecret, 'spec'>, source: ReadonlyMap<string, Uint8Array>, sourceName: string): PushItem[] {
  const items: PushItem[] = [];
  const seen = new Set<string>();
  for (const [index, entry] of (ps.spec.data ?? []).entries()) {
    const { secretKey, remoteRef } = entry.match;
    const statusKey = itemStatusKey(remoteRef.remoteKey, remoteRef.property);
    if (seen.has(statusKey)) throw new TerminalError(`spec.data[${index}] pushes to ${statusKey} again; each remote key (and property) may come from one entry`);
    seen.add(statusKey);
    let value: Uint8Array;
    if (secretKey === undefined || secretKey === '') {
      const whole: Record<string, string> = {};
      for (const [key, bytes] of [...source.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) whole[key] = decoder.decode(bytes);
      value = new TextEncoder().encode(JSON.stringify(whole));
    } else {
      const key = entry.conversionStrategy === 'ReverseUnicode' ? reverseUnicode(secretKey) : secretKey;
      const found = source.get(key) ?? source.get(secretKey);
      if (found === undefined) throw new TerminalError(`spec.data[${index}].match.secretKey: ${sourceName} has no key "${secretKey}"`);
      value = found;
    }
    items.push({ statusKey, secretKey, remoteKey: remoteRef.remoteKey, property: remoteRef.property, value, metadata: entry.metadata as Record<string, unknown> | undefined, conversionStrategy: entry.conversionStrategy });
  }
  return items;
}

/**
 * The keyed HMAC of one push: the destination (store, its spec generation, remote key, property), what is written
 * (value, metadata) and how (updatePolicy, adoption). Equal to the one in status: the destination already holds it.
 * Keyed, so the status never lets anyone test a guess of the value.
 */
export function pushHmac(
  key: Uint8Array,
  parts: { readonly store: string; readonly storeGeneration: number; readonly item: PushItem; readonly updatePolicy: string; readonly adopt: boolean },
): string {
  const mac = createHmac('sha256', key);
  mac.update(stableJson({ store: parts.store, storeGeneration: parts.storeGeneration, remoteKey: parts.item.remoteKey, property: parts.item.property ?? null, metadata: parts.item.metadata ?? null, updatePolicy: parts.updatePolicy, adopt: parts.adopt }));
  mac.update('\u0000');
  mac.update(parts.item.value);
  return mac.digest('hex');
}

export type SyncedMap = Readonly<Record<string, Readonly<Record<string, PushSecretSyncedEntry>>>>;

/**
 * A JSON merge patch turning `before` into `after` for status.syncedPushSecrets: a merge patch merges maps, so
 * entries that went must be set to null explicitly. Pure.
 */
export function syncedPatch(before: SyncedMap | undefined, after: SyncedMap): Record<string, unknown> | undefined {
  const patch: Record<string, unknown> = {};
  for (const storeKey of new Set([...Object.keys(before ?? {}), ...Object.keys(after)])) {
    const was = before?.[storeKey];
    const now = after[storeKey];
    if (now === undefined) {
      patch[storeKey] = null;
      continue;
    }
    const inner: Record<string, unknown> = {};
    for (const key of new Set([...Object.keys(was ?? {}), ...Object.keys(now)])) {
      if (now[key] === undefined) inner[key] = null;
      else if (stableJson(was?.[key]) !== stableJson(now[key])) inner[key] = now[key];
    }
    if (Object.keys(inner).length > 0) patch[storeKey] = inner;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}
