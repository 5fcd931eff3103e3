// What a PushSecret asks for, decided without I/O: the values to push (from the source Secrets' data: spec.data,
// and spec.dataTo's bulk rules per store) and where,
// the keyed HMAC that says whether a destination already holds them, and the status bookkeeping.
import { createHmac } from 'node:crypto';
import { PushSecretLimits, type PushSecret, type PushSecretSyncedEntry } from '../../api/index.ts';
import type { PushSecretDataTo, PushSecretRewrite } from '../../api/types.generated.ts';
import { compileGoRegexp } from '../../util/go-regexp.ts';
import { selectorMatches } from '../secretstore/namespace-conditions.ts';
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
const encoder = new TextEncoder();

/** One Secret whose data is pushed: spec.selector's Secret (or each it selects by label), or the generated one. */
export interface SourceSecret {
  /** For messages, e.g. "Secret team-a/db" (never a value). */
  readonly name: string;
  /** After spec.template, when there is one. */
  readonly data: ReadonlyMap<string, Uint8Array>;
}

/** The store a set of items goes to: spec.dataTo[].storeRef picks rules per store (by name or labels). */
export interface StoreTarget {
  readonly kind: StoreKind;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Renames keys as rewrite steps do (regexp, transform): original key → new key. Throws naming the step. */
export type KeyRenamer = (steps: readonly PushSecretRewrite[], keys: readonly string[], where: string) => Map<string, string>;

/** The whole of a source (or the keys a bundle matched) as one JSON object of its keys, as ESO pushes it. */
function jsonOfKeys(entries: Iterable<readonly [string, Uint8Array]>): Uint8Array {
  const whole: Record<string, string> = {};
  for (const [key, bytes] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) whole[key] = decoder.decode(bytes);
  return encoder.encode(JSON.stringify(whole));
}

/** Whether spec.dataTo[] rule applies to this store: its storeRef by kind and name, or by kind and labels (as ESO). */
function ruleTargets(rule: PushSecretDataTo, store: StoreTarget): boolean {
  const ref = rule.storeRef;
  if (!ref) return false;
  if ((ref.kind ?? 'SecretStore') !== store.kind) return false;
  if (ref.name !== undefined) return ref.name === store.name;
  return ref.labelSelector !== undefined && selectorMatches(ref.labelSelector, store.labels);
}

/**
 * spec.dataTo checked against the stores selected, before anything is pushed (ESO's rules): every rule names a
 * storeRef, by a name listed in spec.secretStoreRefs or a label selector matching one of the selected stores; a
 * bundle (remoteKey) takes no rewrite; the match regexp compiles (Go syntax). Pure.
 */
export function checkDataTo(ps: Pick<PushSecret, 'spec'>, stores: readonly StoreTarget[]): void {
  for (const [index, rule] of (ps.spec.dataTo ?? []).entries()) {
    const at = `spec.dataTo[${index}]`;
    const ref = rule.storeRef;
    if (!ref || (ref.name === undefined && ref.labelSelector === undefined)) throw new TerminalError(`${at}.storeRef must name a store (name or labelSelector), as in ESO`);
    const kind = ref.kind ?? 'SecretStore';
    if (ref.name !== undefined && !ps.spec.secretStoreRefs.some((listed) => listed.name === ref.name && (listed.kind ?? 'SecretStore') === kind)) {
      throw new TerminalError(`${at}.storeRef: ${kind} ${ref.name} is not in spec.secretStoreRefs`);
    }
    if (ref.name === undefined && !stores.some((store) => ruleTargets(rule, store))) throw new TerminalError(`${at}.storeRef.labelSelector matches none of the stores spec.secretStoreRefs selects`);
    if (rule.remoteKey && (rule.rewrite?.length ?? 0) > 0) throw new TerminalError(`${at}: remoteKey (one bundle) and rewrite (a remote key per Secret key) cannot be used together`);
    if (rule.match?.regexp !== undefined) matcher(rule.match.regexp, `${at}.match.regexp`);
  }
}

function matcher(source: string, where: string): (key: string) => boolean {
  try {
    const pattern = compileGoRegexp(source);
    return (key) => pattern.test(key);
  } catch (err) {
    throw new TerminalError(`${where}: "${source}" is not a valid Go regular expression (${err instanceof Error ? err.message : String(err)})`);
  }
}

/**
 * The items for one store: spec.data from each source, and the spec.dataTo rules that target this store — each
 * matched key its own remote secret (rewritten), or all of them one JSON bundle (remoteKey). A key spec.data names
 * is not also pushed by a rule (explicit wins, as ESO). Two items for one remote key (and property) are refused,
 * naming both, never a value. A missing key is the user's to fix: refused naming it.
 */
export function pushItems(ps: Pick<PushSecret, 'spec'>, sources: readonly SourceSecret[], store: StoreTarget, rename: KeyRenamer): PushItem[] {
  const items: PushItem[] = [];
  const origins = new Map<string, string>();
  const many = sources.length > 1;
  const add = (item: PushItem, origin: string) => {
    const earlier = origins.get(item.statusKey);
    if (earlier !== undefined) {
      throw new TerminalError(`${origin} pushes to ${item.statusKey}, as does ${earlier}; each remote key (and property) may come from one source`);
    }
    origins.set(item.statusKey, origin);
    items.push(item);
  };
  for (const source of sources) {
    const from = many ? ` of ${source.name}` : '';
    const named = new Set<string>();
    for (const [index, entry] of (ps.spec.data ?? []).entries()) {
      const { secretKey, remoteRef } = entry.match;
      const statusKey = itemStatusKey(remoteRef.remoteKey, remoteRef.property);
      let value: Uint8Array;
      if (secretKey === undefined || secretKey === '') {
        value = jsonOfKeys(source.data);
      } else {
        const key = entry.conversionStrategy === 'ReverseUnicode' ? reverseUnicode(secretKey) : secretKey;
        const found = source.data.get(key) ?? source.data.get(secretKey);
        if (found === undefined) throw new TerminalError(`spec.data[${index}].match.secretKey: ${source.name} has no key "${secretKey}"`);
        named.add(source.data.has(key) ? key : secretKey);
        value = found;
      }
      add(
        { statusKey, secretKey, remoteKey: remoteRef.remoteKey, property: remoteRef.property, value, metadata: entry.metadata as Record<string, unknown> | undefined, conversionStrategy: entry.conversionStrategy },
        `spec.data[${index}]${from}`,
      );
    }
    for (const [index, rule] of (ps.spec.dataTo ?? []).entries()) {
      if (!ruleTargets(rule, store)) continue;
      const at = `spec.dataTo[${index}]`;
      // Matched on the converted keys; items keep the Secret's own key (ESO).
      const byConverted = new Map<string, string>();
      for (const key of [...source.data.keys()].sort()) byConverted.set(rule.conversionStrategy === 'ReverseUnicode' ? reverseUnicode(key) : key, key);
      const matches = rule.match?.regexp !== undefined ? matcher(rule.match.regexp, `${at}.match.regexp`) : () => true;
      const matched = [...byConverted].filter(([converted, original]) => matches(converted) && !named.has(original));
      if (matched.length === 0) continue;
      const metadata = rule.metadata as Record<string, unknown> | undefined;
      if (rule.remoteKey) {
        const value = jsonOfKeys(matched.map(([converted, original]) => [converted, source.data.get(original)!] as const));
        add({ statusKey: rule.remoteKey, secretKey: undefined, remoteKey: rule.remoteKey, property: undefined, value, metadata, conversionStrategy: 'None' }, `${at}${from}`);
        continue;
      }
      const renamed = (rule.rewrite?.length ?? 0) > 0 ? rename(rule.rewrite!, matched.map(([converted]) => converted), at) : new Map(matched.map(([converted]) => [converted, converted]));
      for (const [converted, original] of matched) {
        const remoteKey = renamed.get(converted) ?? converted;
        if (remoteKey === '') throw new TerminalError(`${at}.rewrite turns key "${converted}" into an empty remote key`);
        if (remoteKey.length > PushSecretLimits.remoteKey) throw new TerminalError(`${at}.rewrite turns key "${converted}" into a remote key longer than ${PushSecretLimits.remoteKey} characters`);
        add({ statusKey: remoteKey, secretKey: original, remoteKey, property: undefined, value: source.data.get(original)!, metadata, conversionStrategy: 'None' }, `${at} (key "${original}"${from})`);
      }
    }
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
