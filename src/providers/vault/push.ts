// PushSecret writes to Vault/OpenBao KV v2: the data written with check-and-set (cas: the version we read, 0 to
// create), so a concurrent writer is never silently overwritten — a CAS mismatch is retried from a fresh read; our
// mark lives in the secret's custom_metadata. KV v1 keeps no metadata to hold the mark, so pushes to it are refused.
import { NoSecretError, TerminalError } from '../provider.ts';
import type { DeleteRequest, DeleteResult, PushRequest, PushResult } from '../push.ts';
import { markOf, notOwned, ownershipOf, parseObject, valueText } from '../push.ts';
import { KvV2DataSchema, KvV2MetadataSchema, parseOrThrow } from './api.ts';
import type { KvSettings } from './kv.ts';
import { kvPath } from './kv.ts';
import type { VaultSession } from './session.ts';

/** A write refused because the secret changed since it was read (KV v2 check-and-set); retried from a fresh read. */
export class CasMismatchError extends Error {}

export function createKvWriter(session: VaultSession, settings: KvSettings) {
  const requireV2 = (key: string) => {
    if (settings.version !== 'v2') {
      throw new TerminalError(`remote key "${key}": pushing to a KV v1 mount is not supported — KV v1 keeps no metadata to mark the secret as secret-relay's, so it could not be told from someone else's; use a KV v2 mount`);
    }
  };
  const readMetadata = async (key: string, signal: AbortSignal) => {
    const path = kvPath(settings, key, 'metadata');
    try {
      const response = await session.request({ method: 'GET', path, signal }, `read ${path}`);
      return response?.data ? parseOrThrow(KvV2MetadataSchema, response.data, `read ${path}`) : undefined;
    } catch (err) {
      if (err instanceof NoSecretError) return undefined;
      throw err;
    }
  };
  /** The latest version's data; undefined when it has none (never written, or its latest version deleted). */
  const readData = async (key: string, signal: AbortSignal): Promise<Record<string, unknown> | undefined> => {
    const path = kvPath(settings, key, 'data');
    try {
      const response = await session.request({ method: 'GET', path, signal }, `read ${path}`);
      if (!response?.data) return undefined;
      return parseOrThrow(KvV2DataSchema, response.data, `read ${path}`).data ?? undefined;
    } catch (err) {
      if (err instanceof NoSecretError) return undefined;
      throw err;
    }
  };
  const writeData = async (key: string, data: Record<string, unknown>, cas: number, signal: AbortSignal): Promise<void> => {
    const path = kvPath(settings, key, 'data');
    try {
      await session.request({ method: 'POST', path, body: { data, options: { cas } }, signal }, `write ${path}`);
    } catch (err) {
      if (err instanceof TerminalError && /check-and-set/i.test(err.message)) {
        throw new CasMismatchError(`Vault write ${path}: the secret changed since it was read (check-and-set version ${cas}); it is read again and retried`);
      }
      throw err;
    }
  };
  const writeMark = async (key: string, existing: Readonly<Record<string, string>>, owner: string, signal: AbortSignal): Promise<void> => {
    const path = kvPath(settings, key, 'metadata');
    await session.request({ method: 'POST', path, body: { custom_metadata: { ...existing, ...markOf(owner) } }, signal }, `write ${path}`);
  };
  const nextData = (request: PushRequest, current: Record<string, unknown> | undefined, what: string): Record<string, unknown> => {
    const text = valueText(request.value, what);
    if (request.property !== undefined) return { ...(current ?? {}), [request.property]: text };
    // KV holds a map: the whole value must be a JSON object (a whole Secret pushed without secretKey is one).
    return parseObject(text, `${what} (the pushed value, without remoteRef.property)`);
  };

  return {
    async pushSecret(request: PushRequest, signal: AbortSignal): Promise<PushResult> {
      requireV2(request.remoteKey);
      const what = `Vault secret ${kvPath(settings, request.remoteKey, 'data')}`;
      const metadata = await readMetadata(request.remoteKey, signal);
      const version = metadata?.current_version ?? 0;
      const current = version > 0 ? await readData(request.remoteKey, signal) : undefined;
      const exists = metadata !== undefined && (version > 0 || Object.keys(metadata.custom_metadata ?? {}).length > 0);
      if (!exists) {
        // Created with cas 0: fails if someone created it since our read. The mark follows at once.
        await writeData(request.remoteKey, nextData(request, undefined, what), 0, signal);
        await writeMark(request.remoteKey, {}, request.owner, signal);
        return 'created';
      }
      if (request.updatePolicy === 'IfNotExists') return 'exists';
      const tags = metadata.custom_metadata ?? {};
      const ownership = ownershipOf(tags, request.owner);
      if (ownership !== 'ours' && !request.adopt) throw notOwned(what, ownership, tags);
      if (ownership !== 'ours') await writeMark(request.remoteKey, tags, request.owner, signal);
      const next = nextData(request, current, what);
      if (current !== undefined && JSON.stringify(current) === JSON.stringify(next)) return ownership === 'ours' ? 'unchanged' : 'updated';
      await writeData(request.remoteKey, next, version, signal);
      return 'updated';
    },

    async deleteSecret(request: DeleteRequest, signal: AbortSignal): Promise<DeleteResult> {
      requireV2(request.remoteKey);
      const metadata = await readMetadata(request.remoteKey, signal);
      if (metadata === undefined) return 'absent';
      if (ownershipOf(metadata.custom_metadata ?? {}, request.owner) !== 'ours') return 'not-owned';
      if (request.property !== undefined) {
        const current = await readData(request.remoteKey, signal);
        if (current === undefined || !(request.property in current)) return 'absent';
        const { [request.property]: _removed, ...rest } = current;
        if (Object.keys(rest).length > 0) {
          await writeData(request.remoteKey, rest, metadata.current_version ?? 0, signal);
          return 'deleted';
        }
      }
      // Deleting the metadata removes every version: the secret is gone, as it was before we created it.
      const path = kvPath(settings, request.remoteKey, 'metadata');
      await session.request({ method: 'DELETE', path, signal }, `delete ${path}`);
      return 'deleted';
    },
  };
}
