// Reading the KV secrets engine, v1 or v2: one secret (a version of it, or its custom_metadata), its fields as a map,
// and find (recursive LIST under a path, name regexp, tags = v2 custom_metadata). getSecret returns the whole data
// object as JSON; the ExternalSecret controller applies property and decoding, so readers of different properties of
// one secret share one call.
import type { FindRef, RemoteRef } from '../provider.ts';
import { NoSecretError, TerminalError } from '../provider.ts';
import { KvV2DataSchema, KvV2MetadataSchema, ListSchema, parseOrThrow } from './api.ts';
import type { VaultSession } from './session.ts';
import { encodePath } from './transport.ts';
import { compileFindName } from '../kit/find.ts';

export const KvLimits = {
  /** Levels of folders a find descends. */
  findDepth: 16,
  /** Keys a find lists before it stops with an error (narrow the path). */
  findKeys: 10_000,
  /** Secrets a find may return. */
  findResults: 1_000,
} as const;

export interface KvSettings {
  /** spec.provider.vault.path: the mount; undefined when keys carry it as their first segment. */
  readonly mount: string | undefined;
  readonly version: 'v1' | 'v2';
}

/** Where a remote key lives: its mount and the path inside the mount. Pure. */
export function splitKey(settings: KvSettings, key: string): { mount: string; inner: string } {
  const clean = key.replace(/^\/+|\/+$/g, '');
  if (settings.mount !== undefined) {
    const mount = settings.mount;
    // A key written with the mount in front ("secret/app" with path "secret") is not prefixed twice.
    const inner = clean.startsWith(`${mount}/`) ? clean.slice(mount.length + 1) : clean;
    if (inner === '') throw new TerminalError(`remote key "${key}" names no secret inside mount ${mount}`);
    return { mount, inner };
  }
  const slash = clean.indexOf('/');
  if (slash <= 0 || slash === clean.length - 1) {
    throw new TerminalError(`remote key "${key}" must start with the KV mount (e.g. secret/app) because the store sets no spec.provider.vault.path`);
  }
  return { mount: clean.slice(0, slash), inner: clean.slice(slash + 1) };
}

/** The API path of a read: v2 inserts data/ (or metadata/) after the mount. Pure. */
export function kvPath(settings: KvSettings, key: string, kind: 'data' | 'metadata'): string {
  const { mount, inner } = splitKey(settings, key);
  return settings.version === 'v2' ? `${encodePath(mount)}/${kind}/${encodePath(inner)}` : `${encodePath(mount)}/${encodePath(inner)}`;
}

const encoder = new TextEncoder();
const encode = (value: unknown): Uint8Array => encoder.encode(typeof value === 'string' ? value : JSON.stringify(value));

export interface KvReader {
  getSecret(ref: RemoteRef, signal: AbortSignal): Promise<Uint8Array>;
  getAllSecrets(find: FindRef, signal: AbortSignal): Promise<Record<string, Uint8Array>>;
}

export function createKvReader(session: VaultSession, settings: KvSettings): KvReader {
  const readData = async (key: string, version: string | undefined, signal: AbortSignal): Promise<Record<string, unknown>> => {
    if (version !== undefined && settings.version === 'v1') {
      throw new TerminalError(`remote key "${key}" asks for version ${version}, but KV v1 keeps no versions; remove remoteRef.version or use a KV v2 mount`);
    }
    if (version !== undefined && !/^[1-9][0-9]*$/.test(version)) {
      throw new TerminalError(`remote key "${key}": version "${version}" is not a KV v2 version number (1, 2, …)`);
    }
    const path = kvPath(settings, key, 'data');
    const what = `read ${path}${version ? ` version ${version}` : ''}`;
    const response = await session.request({ method: 'GET', path, ...(version ? { query: { version } } : {}), signal }, what);
    if (!response?.data) throw new NoSecretError(`Vault ${what}: no such secret`);
    if (settings.version === 'v1') return response.data;
    const v2 = parseOrThrow(KvV2DataSchema, response.data, what);
    // A deleted (not destroyed) version answers 200/404 with data null.
    if (v2.data === null) throw new NoSecretError(`Vault ${what}: the version is deleted`);
    return v2.data;
  };

  const readCustomMetadata = async (key: string, signal: AbortSignal): Promise<Record<string, string>> => {
    if (settings.version === 'v1') {
      throw new TerminalError(`remote key "${key}" asks for metadata (metadataPolicy Fetch), which only KV v2 keeps; use a KV v2 mount`);
    }
    const path = kvPath(settings, key, 'metadata');
    const response = await session.request({ method: 'GET', path, signal }, `read ${path}`);
    if (!response?.data) throw new NoSecretError(`Vault read ${path}: no such secret`);
    return parseOrThrow(KvV2MetadataSchema, response.data, `read ${path}`).custom_metadata ?? {};
  };

  /** Keys (relative to the mount) under `prefix`, depth first; folders end in '/'. */
  const listRecursive = async (mount: string, prefix: string, signal: AbortSignal): Promise<string[]> => {
    const found: string[] = [];
    let listed = 0;
    const walk = async (folder: string, depth: number): Promise<void> => {
      if (depth > KvLimits.findDepth) throw new TerminalError(`find under ${mount}/${prefix} goes deeper than ${KvLimits.findDepth} folders; narrow find.path`);
      const base = settings.version === 'v2' ? `${encodePath(mount)}/metadata` : encodePath(mount);
      const path = folder === '' ? base : `${base}/${encodePath(folder)}`;
      const response = await session.request({ method: 'LIST', path, signal }, `list ${path}`).catch((err: unknown) => {
        if (err instanceof NoSecretError) return undefined;
        throw err;
      });
      if (!response?.data) return;
      const { keys } = parseOrThrow(ListSchema, response.data, `list ${path}`);
      listed += keys.length;
      if (listed > KvLimits.findKeys) throw new TerminalError(`find under ${mount}/${prefix} lists more than ${KvLimits.findKeys} keys; narrow find.path`);
      for (const entry of keys) {
        const full = folder === '' ? entry : `${folder.replace(/\/$/, '')}/${entry}`;
        if (entry.endsWith('/')) await walk(full, depth + 1);
        else found.push(full);
      }
    };
    await walk(prefix, 0);
    return found;
  };

  return {
    async getSecret(ref, signal) {
      if (ref.metadataPolicy === 'Fetch') return encode(await readCustomMetadata(ref.key, signal));
      return encode(await readData(ref.key, ref.version, signal));
    },
    async getAllSecrets(find, signal) {
      // find.path (or the store's mount + find.path): where to search; names are matched relative to the mount.
      const start = find.path ?? '';
      let mount: string;
      let prefix: string;
      if (settings.mount !== undefined) {
        mount = settings.mount;
        const clean = start.replace(/^\/+|\/+$/g, '');
        prefix = clean === mount ? '' : clean.startsWith(`${mount}/`) ? clean.slice(mount.length + 1) : clean;
      } else {
        if (start === '') throw new TerminalError('find needs find.path starting with the KV mount (e.g. secret/team) because the store sets no spec.provider.vault.path');
        const clean = start.replace(/^\/+|\/+$/g, '');
        const slash = clean.indexOf('/');
        mount = slash < 0 ? clean : clean.slice(0, slash);
        prefix = slash < 0 ? '' : clean.slice(slash + 1);
      }
      const tags = Object.entries(find.tags ?? {});
      if (tags.length > 0 && settings.version === 'v1') {
        throw new TerminalError('find.tags matches KV v2 custom_metadata; KV v1 keeps no metadata: use name or path');
      }
      const matchesName = compileFindName(find);
      // LIST answers for a folder only: a prefix that ends mid-name lists its parent folder and filters.
      const folder = prefix === '' || prefix.endsWith('/') ? prefix : prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
      const candidates = (await listRecursive(mount, folder.replace(/\/$/, ''), signal)).filter((key) => key.startsWith(prefix.replace(/\/$/, '')));
      const out: Record<string, Uint8Array> = {};
      let count = 0;
      for (const key of candidates) {
        if (!matchesName(key)) continue;
        const full = `${mount}/${key}`;
        if (tags.length > 0) {
          const metadata = await readCustomMetadata(full, signal).catch((err: unknown) => {
            if (err instanceof NoSecretError) return undefined;
            throw err;
          });
          if (!metadata || !tags.every(([tag, value]) => metadata[tag] === value)) continue;
        }
        let data: Record<string, unknown>;
        try {
          data = await readData(full, undefined, signal);
        } catch (err) {
          // Listed but deleted meanwhile (or its latest version deleted): not found, not an error.
          if (err instanceof NoSecretError) continue;
          throw err;
        }
        if (++count > KvLimits.findResults) throw new TerminalError(`find under ${mount}/${prefix} matches more than ${KvLimits.findResults} secrets; narrow it`);
        out[key] = encode(data);
      }
      return out;
    },
  };
}
