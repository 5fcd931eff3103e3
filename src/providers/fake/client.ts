import { NoSecretError, TerminalError } from '../provider.ts';
import type { FindRef, RemoteRef, SecretsClient, StoreContext } from '../provider.ts';
import type { FakeDataEntry, FakeProviderHooks } from './spec.ts';

const textEncoder = new TextEncoder();

/** The entry a RemoteRef names: exact version when given; else the unversioned entry, else the last one for the key. */
export function selectEntry(data: readonly FakeDataEntry[], key: string, version: string | undefined): FakeDataEntry {
  const forKey = data.filter((entry) => entry.key === key);
  if (forKey.length === 0) throw new NoSecretError(`key "${key}" not found in the fake store's data`);
  if (version !== undefined) {
    const exact = forKey.find((entry) => entry.version === version);
    if (!exact) throw new NoSecretError(`key "${key}" has no version "${version}" in the fake store's data`);
    return exact;
  }
  return forKey.find((entry) => entry.version === undefined) ?? forKey[forKey.length - 1]!;
}

/** Serves one fake store's data. The data is copied at creation: a new store generation makes a new client. */
export function createFakeClient(data: readonly FakeDataEntry[], ctx: StoreContext, hooks: FakeProviderHooks): SecretsClient {
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
      return 'Ready';
    },
    async close() {
      await hooks.onCall?.('close', undefined, { signal: undefined, ctx });
    },
  };
}

/**
 * `dataFrom.find` over the fake data: name.regexp (unanchored, as ESO), path as a key prefix, and tags
 * (every tag asked for, with the same value, on the key's default entry). Values come back raw; the
 * ExternalSecret's decodingStrategy is applied by the caller.
 */
export function findSecrets(data: readonly FakeDataEntry[], find: FindRef): Record<string, Uint8Array> {
  const tags = Object.entries(find.tags ?? {});
  if (find.name === undefined && find.path === undefined && tags.length === 0) {
    throw new TerminalError('dataFrom.find needs name.regexp, tags or path to select keys from the fake store');
  }
  let pattern: RegExp | undefined;
  if (find.name !== undefined) {
    try {
      pattern = new RegExp(find.name.regexp);
    } catch {
      throw new TerminalError(
        `dataFrom.find.name.regexp "${find.name.regexp}" is not a valid regular expression; fix its syntax`,
      );
    }
  }
  const keys = [...new Set(data.map((entry) => entry.key))].filter(
    (key) => (find.path === undefined || key.startsWith(find.path)) && (pattern === undefined || pattern.test(key)),
  );
  const found = keys
    .map((key) => selectEntry(data, key, undefined))
    .filter((entry) => tags.every(([name, value]) => entry.tags !== undefined && Object.hasOwn(entry.tags, name) && entry.tags[name] === value));
  // fromEntries defines own properties, so a key named "__proto__" stays data.
  return Object.fromEntries(found.map((entry) => [entry.key, textEncoder.encode(entry.value)]));
}
