import { NoSecretError, TerminalError } from '../provider.ts';
import type { FindRef, RemoteRef, SecretsClient, StoreContext } from '../provider.ts';
import type { FakeDataEntry, FakeProviderHooks } from './spec.ts';
import { convertKey } from '../../util/key-conversion.ts';
import { compileFindName } from '../kit/find.ts';

const textEncoder = new TextEncoder();

/**
 * The entry a RemoteRef names, as ESO's fake provider: with `version`, the entry of that version; without, the
 * unversioned entry only — a key that has only versioned entries does not exist without a version. An entry
 * listed twice (same key and version) takes the last one, as ESO's map does.
 */
export function selectEntry(data: readonly FakeDataEntry[], key: string, version: string | undefined): FakeDataEntry {
  const forKey = data.filter((entry) => entry.key === key);
  if (forKey.length === 0) throw new NoSecretError(`key "${key}" not found in the fake store's data`);
  const wanted = version ?? '';
  const exact = forKey.findLast((entry) => (entry.version ?? '') === wanted);
  if (exact) return exact;
  if (version !== undefined) throw new NoSecretError(`key "${key}" has no version "${version}" in the fake store's data`);
  throw new NoSecretError(`key "${key}" has only versioned entries in the fake store's data; set remoteRef.version`);
}

/** For find: the entry with the highest version string (Go's byte order; unversioned counts as ""), as ESO's fake. */
function latestEntry(forKey: readonly FakeDataEntry[]): FakeDataEntry {
  let latest = forKey[0]!;
  for (const entry of forKey.slice(1)) {
    if (Buffer.compare(Buffer.from(latest.version ?? ''), Buffer.from(entry.version ?? '')) <= 0) latest = entry;
  }
  return latest;
}

/** Serves one fake store's data. The data is copied at creation: a new store generation makes a new client. */
export function createFakeClient(data: readonly FakeDataEntry[], ctx: StoreContext, hooks: FakeProviderHooks, validationResult?: number): SecretsClient {
  const entries = data.map((entry) => ({ ...entry }));

  async function enter(op: 'getSecret' | 'getAllSecrets' | 'validate', ref: RemoteRef | FindRef | undefined, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    await hooks.onCall?.(op, ref, { signal, ctx });
    signal.throwIfAborted();
  }

  return {
    identity: 'fake',
    async getSecret(ref, signal) {
      await enter('getSecret', ref, signal);
      // The whole value: the ExternalSecret controller applies property and decodingStrategy.
      return textEncoder.encode(selectEntry(entries, ref.key, ref.version).value);
    },
    async getAllSecrets(find, signal) {
      await enter('getAllSecrets', find, signal);
      return findSecrets(entries, find);
    },
    async validate(signal) {
      await enter('validate', undefined, signal);
      return validationResult === 1 ? 'Unknown' : validationResult === 2 ? 'Error' : 'Ready';
    },
    async close() {
      await hooks.onCall?.('close', undefined, { signal: undefined, ctx });
    },
  };
}

/**
 * `dataFrom.find` over the fake data: name.regexp (Go's regexp, unanchored, as ESO), path as a key prefix, and tags
 * (every tag asked for, with the same value, on the entry found). Each key gives its highest version, and names are
 * converted with the find's conversionStrategy before any rewrite, as ESO's fake provider does. Values come back
 * raw; the ExternalSecret's decodingStrategy is applied by the caller.
 */
export function findSecrets(data: readonly FakeDataEntry[], find: FindRef): Record<string, Uint8Array> {
  const tags = Object.entries(find.tags ?? {});
  if (find.name === undefined && find.path === undefined && tags.length === 0) {
    throw new TerminalError('dataFrom.find needs name.regexp, tags or path to select keys from the fake store');
  }
  const matchesName = compileFindName(find);
  const byKey = new Map<string, FakeDataEntry[]>();
  for (const entry of data) {
    if (find.path !== undefined && !entry.key.startsWith(find.path)) continue;
    if (!matchesName(entry.key)) continue;
    byKey.set(entry.key, [...(byKey.get(entry.key) ?? []), entry]);
  }
  const found = [...byKey.values()]
    .map(latestEntry)
    .filter((entry) => tags.every(([name, value]) => entry.tags !== undefined && Object.hasOwn(entry.tags, name) && entry.tags[name] === value));
  const out: Record<string, Uint8Array> = {};
  for (const entry of found) {
    const key = convertKey(find.conversionStrategy ?? 'Default', entry.key);
    if (Object.hasOwn(out, key)) {
      throw new TerminalError(`dataFrom.find: two fake keys become "${key}" (conversionStrategy ${find.conversionStrategy ?? 'Default'}); narrow name.regexp`);
    }
    // defineProperty, so a key named "__proto__" stays data.
    Object.defineProperty(out, key, { value: textEncoder.encode(entry.value), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
