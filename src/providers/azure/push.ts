// PushSecret writes to Azure Key Vault: SetSecret (a new version) with our mark in the secret's tags and the
// metadata's contentType and tags, only over a secret that carries our mark (or on the adopt opt-in); DeleteSecret
// (soft delete: the vault keeps it recoverable) for what we created. A name held by a deleted, recoverable secret
// cannot be set again: Key Vault refuses it (409) and so the push says to recover or purge it.
import type { SecretClient } from '@azure/keyvault-secrets';
import { NoSecretError, TerminalError } from '../provider.ts';
import type { DeleteRequest, DeleteResult, PushRequest, PushResult } from '../push.ts';
import { markOf, mergeProperty, notOwned, ownershipOf, removeProperty, valueText, pushMetadataSpec, MARK_KEYS } from '../push.ts';
import { azureCall } from './errors.ts';

/** data[].metadata spec (ESO's for Key Vault: tags, contentType … ; secret-relay reads these two). Pure. */
export function parseKeyVaultMetadata(metadata: Readonly<Record<string, unknown>> | undefined): { tags: Record<string, string>; contentType?: string | undefined } {
  const spec = pushMetadataSpec(metadata);
  return { tags: spec.stringMap('tags', MARK_KEYS), contentType: spec.text('contentType') };
}

export function createKeyVaultWriter(options: { secrets: SecretClient; vaultUrl: string; identity: () => string }) {
  const { secrets, vaultUrl } = options;
  const call = (action: string, subject: string) => ({ action, subject, identity: options.identity(), vaultUrl });
  const current = async (name: string, signal: AbortSignal) => {
    try {
      return await azureCall(call('get', `secret ${name}`), () => secrets.getSecret(name, { abortSignal: signal }));
    } catch (err) {
      if (err instanceof NoSecretError) return undefined;
      throw err;
    }
  };
  const set = async (name: string, value: string, tags: Record<string, string>, contentType: string | undefined, signal: AbortSignal) => {
    try {
      await azureCall(call('set', `secret ${name}`), () => secrets.setSecret(name, value, { tags, ...(contentType !== undefined ? { contentType } : {}), abortSignal: signal }));
    } catch (err) {
      if (/deleted but recoverable/i.test(String((err as Error).message))) {
        throw new TerminalError(`Key Vault secret ${name} in ${vaultUrl} is deleted but recoverable (soft delete): its name cannot be reused until it is recovered or purged`);
      }
      throw err;
    }
  };

  return {
    async pushSecret(request: PushRequest, signal: AbortSignal): Promise<PushResult> {
      const name = request.remoteKey;
      const what = `Key Vault secret ${name} in ${vaultUrl}`;
      const meta = parseKeyVaultMetadata(request.metadata);
      const text = valueText(request.value, what);
      const existing = await current(name, signal);
      if (existing === undefined) {
        await set(name, request.property === undefined ? text : mergeProperty(undefined, request.property, text, what), { ...meta.tags, ...markOf(request.owner) }, meta.contentType, signal);
        return 'created';
      }
      if (request.updatePolicy === 'IfNotExists') return 'exists';
      const tags = existing.properties.tags ?? {};
      const ownership = ownershipOf(tags, request.owner);
      if (ownership !== 'ours' && !request.adopt) throw notOwned(what, ownership, tags);
      const value = request.property === undefined ? text : mergeProperty(existing.value, request.property, text, what);
      const wantedTags = { ...tags, ...meta.tags, ...markOf(request.owner) };
      const sameTags = Object.entries(wantedTags).every(([key, v]) => tags[key] === v);
      if (value === existing.value && sameTags && (meta.contentType === undefined || meta.contentType === existing.properties.contentType)) return ownership === 'ours' ? 'unchanged' : 'updated';
      await set(name, value, wantedTags, meta.contentType ?? existing.properties.contentType, signal);
      return 'updated';
    },

    async deleteSecret(request: DeleteRequest, signal: AbortSignal): Promise<DeleteResult> {
      const name = request.remoteKey;
      const existing = await current(name, signal);
      if (existing === undefined) return 'absent';
      const tags = existing.properties.tags ?? {};
      if (ownershipOf(tags, request.owner) !== 'ours') return 'not-owned';
      if (request.property !== undefined) {
        const { value, changed } = removeProperty(existing.value ?? '', request.property, `Key Vault secret ${name}`);
        if (!changed) return 'absent';
        if (value !== undefined) {
          await set(name, value, tags, existing.properties.contentType, signal);
          return 'deleted';
        }
      }
      // Soft delete: the first call deletes; the vault keeps the secret recoverable for its retention period.
      await azureCall(call('delete', `secret ${name}`), () => secrets.beginDeleteSecret(name, { abortSignal: signal }));
      return 'deleted';
    },
  };
}
