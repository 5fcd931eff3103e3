// PushSecret writes to KMS Secrets Manager: CreateSecret with our mark in its tags (managed-by=secret-relay,
// secret-relay.dev/push-secret=<namespace>/<name>) and the metadata's tags, description and encryption key;
// PutSecretValue (a new version, which KMS moves ACSCurrent to) over a secret that carries our mark (or on the adopt
// opt-in: TagResource adds it) and only when the value changed; DeleteSecret (KMS' recovery window) for what we
// created. A secret in its deletion window that we created is restored (RestoreSecret) before it is written again;
// anyone else's is left alone, as any secret without our mark.
import { createHash, randomUUID } from 'node:crypto';
import { TerminalError } from '../../util/errors.ts';
import type { DeleteRequest, DeleteResult, PushRequest, PushResult } from '../push.ts';
import { mergeProperty, notOwned, ownershipOf, removeProperty, MARK_MANAGED_BY_KEY, MARK_MANAGED_BY_VALUE, MARK_OWNER_KEY, pushMetadataSpec, MARK_KEYS } from '../push.ts';
import { IN_DELETE_WINDOW, isScheduledForDeletion, secretValueBytes, tagsOf, toleratedCode, type KmsCall } from './kms.ts';

/** KMS tag limits: keys 1–128 characters and not starting with aliyun or acs:, values up to 128 characters. */
export const ALIBABA_TAG_LIMITS = { key: 128, value: 128 } as const;
const RESERVED_TAG_PREFIX = /^(aliyun|acs:)/i;

const NOT_FOUND = (code: string | undefined) => code === 'Forbidden.ResourceNotFound';

export interface AlibabaPushMetadata {
  readonly tags: Readonly<Record<string, string>>;
  readonly description?: string | undefined;
  /** CreateSecret's EncryptionKeyId: the KMS key protecting the secret (on create only; KMS cannot change it). */
  readonly encryptionKeyId?: string | undefined;
  /** text (default when the value is UTF-8) or binary (base64 on the wire; the reader gives the bytes back). */
  readonly secretDataType?: 'text' | 'binary' | undefined;
}

/** data[].metadata (PushSecretMetadata) spec for Alibaba: tags, description, encryptionKeyId, secretDataType. Pure. */
export function parseAlibabaMetadata(metadata: Readonly<Record<string, unknown>> | undefined): AlibabaPushMetadata {
  const spec = pushMetadataSpec(metadata);
  const text = spec.text;
  const tags = spec.stringMap('tags', MARK_KEYS);
  for (const [key, value] of Object.entries(tags)) {
    if (key.length === 0 || key.length > ALIBABA_TAG_LIMITS.key || RESERVED_TAG_PREFIX.test(key)) {
      throw new TerminalError(`data[].metadata.spec.tags: the key "${key.slice(0, 140)}" is refused by KMS (1–${ALIBABA_TAG_LIMITS.key} characters, not starting with aliyun or acs:)`);
    }
    if (value.length > ALIBABA_TAG_LIMITS.value) throw new TerminalError(`data[].metadata.spec.tags.${key}: KMS takes tag values of at most ${ALIBABA_TAG_LIMITS.value} characters`);
  }
  const secretDataType = text('secretDataType');
  if (secretDataType !== undefined && secretDataType !== 'text' && secretDataType !== 'binary') throw new TerminalError('data[].metadata.spec.secretDataType must be text or binary');
  return { tags, description: text('description'), encryptionKeyId: text('encryptionKeyId'), secretDataType };
}

/**
 * The owner tag's value: "<namespace>/<name>", or its SHA-256 when longer than a KMS tag value may be (a namespace
 * and a name of up to 63 and 253 characters). Pure.
 */
export function ownerTagValue(owner: string): string {
  return owner.length <= ALIBABA_TAG_LIMITS.value ? owner : `sha256:${createHash('sha256').update(owner).digest('hex')}`;
}

const tagJson = (tags: Readonly<Record<string, string>>) => JSON.stringify(Object.entries(tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })));
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The value as KMS' SecretData and SecretDataType: text when asked or when it is UTF-8, else base64 binary. */
function secretData(value: Uint8Array, asked: AlibabaPushMetadata['secretDataType']): { SecretData: string; SecretDataType: 'text' | 'binary' } {
  if (asked !== 'binary') {
    try {
      return { SecretData: decoder.decode(value), SecretDataType: 'text' };
    } catch {
      if (asked === 'text') throw new TerminalError('the value is not UTF-8 text and data[].metadata.spec.secretDataType is text: remove it (binary values are stored as binary) or push text');
    }
  }
  return { SecretData: Buffer.from(value).toString('base64'), SecretDataType: 'binary' };
}

export function createAlibabaWriter(rpc: KmsCall) {
  /** DescribeSecret also describes a secret in its deletion window (with PlannedDeleteTime). */
  const describe = async (name: string, signal: AbortSignal): Promise<{ tags: Record<string, string>; description: string; scheduledForDeletion: boolean } | undefined> => {
    const response = await rpc('DescribeSecret', { SecretName: name, FetchTags: 'true' }, name, signal, NOT_FOUND);
    if (toleratedCode(response) !== undefined) return undefined;
    return { tags: tagsOf(response), description: typeof response['Description'] === 'string' ? response['Description'] : '', scheduledForDeletion: isScheduledForDeletion(response) };
  };
  const current = async (name: string, signal: AbortSignal): Promise<Uint8Array | undefined> => {
    const response = await rpc('GetSecretValue', { SecretName: name }, name, signal, NOT_FOUND);
    return toleratedCode(response) !== undefined ? undefined : secretValueBytes(response, name);
  };
  /** The tags of a secret in its deletion window, found by listing (should DescribeSecret not have described it). */
  const pendingDeletion = async (name: string, signal: AbortSignal): Promise<Record<string, string> | undefined> => {
    const response = await rpc('ListSecrets', { PageNumber: 1, PageSize: 100, FetchTags: 'true', Filters: JSON.stringify([{ Key: 'SecretName', Values: [name] }]) }, name, signal);
    const entries = ((response['SecretList'] as { Secret?: unknown } | undefined)?.Secret ?? []) as Record<string, unknown>[];
    const entry = entries.find((e) => e['SecretName'] === name);
    return entry === undefined ? undefined : tagsOf(entry);
  };
  /** A secret in its deletion window: ours is restored (to be written again); anyone else's is left as it is. */
  const restoreIfOurs = async (name: string, tags: Record<string, string> | undefined, owner: string, what: string, signal: AbortSignal): Promise<void> => {
    const ownership = ownershipOf(tags, owner);
    if (ownership !== 'ours') {
      throw new TerminalError(`${what} is scheduled for deletion and ${ownership === 'foreign' ? 'was not created by secret-relay' : `was created by PushSecret ${tags?.[MARK_OWNER_KEY] ?? '(unknown)'}`}: it is left untouched. Restore it (RestoreSecret) or push to another remote key`);
    }
    await rpc('RestoreSecret', { SecretName: name }, name, signal);
  };
  const putValue = (name: string, data: ReturnType<typeof secretData>, signal: AbortSignal) =>
    // A fresh VersionId per write: KMS refuses one the secret already has (Rejected.ResourceExist).
    rpc('PutSecretValue', { SecretName: name, VersionId: `secret-relay-${randomUUID()}`, ...data }, name, signal);

  return {
    async pushSecret(request: PushRequest, signal: AbortSignal): Promise<PushResult> {
      const name = request.remoteKey;
      const what = `Alibaba Cloud secret "${name}"`;
      const meta = parseAlibabaMetadata(request.metadata);
      const owner = ownerTagValue(request.owner);
      const mark = { [MARK_MANAGED_BY_KEY]: MARK_MANAGED_BY_VALUE, [MARK_OWNER_KEY]: owner };
      const textOf = (asked: AlibabaPushMetadata['secretDataType']) => {
        const data = secretData(request.value, asked);
        if (data.SecretDataType === 'binary') throw new TerminalError(`${what}: remoteRef.property sets a field of a JSON secret, and the value is not UTF-8 text`);
        return data.SecretData;
      };
      const existing = await describe(name, signal);
      // Ours, in its deletion window: restored, then written as any secret of ours (reported as created: it is back).
      const restored = existing?.scheduledForDeletion === true;
      if (restored) await restoreIfOurs(name, existing.tags, owner, what, signal);
      if (existing === undefined) {
        const data = request.property === undefined ? secretData(request.value, meta.secretDataType) : { SecretData: mergeProperty(undefined, request.property, textOf(meta.secretDataType), what), SecretDataType: 'text' as const };
        const created = await rpc(
          'CreateSecret',
          {
            SecretName: name,
            VersionId: `secret-relay-${randomUUID()}`,
            ...data,
            Tags: tagJson({ ...meta.tags, ...mark }),
            ...(meta.description !== undefined ? { Description: meta.description } : {}),
            ...(meta.encryptionKeyId !== undefined ? { EncryptionKeyId: meta.encryptionKeyId } : {}),
          },
          name,
          signal,
          (code) => code === IN_DELETE_WINDOW,
        );
        if (toleratedCode(created) === undefined) return 'created';
        // In its deletion window after all (not described): found by listing, then as above.
        await restoreIfOurs(name, await pendingDeletion(name, signal), owner, what, signal);
        await putValue(name, data, signal);
        return 'created';
      }
      if (request.updatePolicy === 'IfNotExists' && !restored) return 'exists';
      const ownership = ownershipOf(existing.tags, owner);
      if (ownership !== 'ours' && !request.adopt) throw notOwned(what, ownership, existing.tags);
      const wantedTags = { ...meta.tags, ...mark };
      if (Object.entries(wantedTags).some(([key, value]) => existing.tags[key] !== value)) await rpc('TagResource', { SecretName: name, Tags: tagJson(wantedTags) }, name, signal);
      if (meta.description !== undefined && meta.description !== existing.description) await rpc('UpdateSecret', { SecretName: name, Description: meta.description }, name, signal);
      const now = await current(name, signal);
      const data =
        request.property === undefined
          ? secretData(request.value, meta.secretDataType)
          : { SecretData: mergeProperty(now === undefined ? undefined : textOrRefuse(now, what), request.property, textOf(meta.secretDataType), what), SecretDataType: 'text' as const };
      const same = now !== undefined && Buffer.from(now).equals(data.SecretDataType === 'binary' ? Buffer.from(data.SecretData, 'base64') : Buffer.from(data.SecretData, 'utf8'));
      if (!same) await putValue(name, data, signal);
      if (restored) return 'created';
      if (same) return ownership === 'ours' ? 'unchanged' : 'updated';
      return 'updated';
    },

    async deleteSecret(request: DeleteRequest, signal: AbortSignal): Promise<DeleteResult> {
      const name = request.remoteKey;
      const existing = await describe(name, signal);
      // Already in its deletion window: gone for us (KMS would refuse a second DeleteSecret, in its deletion window).
      if (existing === undefined || existing.scheduledForDeletion) return 'absent';
      if (ownershipOf(existing.tags, ownerTagValue(request.owner)) !== 'ours') return 'not-owned';
      if (request.property !== undefined) {
        const now = await current(name, signal);
        if (now === undefined) return 'absent';
        const what = `Alibaba Cloud secret "${name}"`;
        const { value, changed } = removeProperty(textOrRefuse(now, what), request.property, what);
        if (!changed) return 'absent';
        if (value !== undefined) {
          await putValue(name, { SecretData: value, SecretDataType: 'text' }, signal);
          return 'deleted';
        }
      }
      // KMS keeps it for its recovery window (30 days by default); a push of ours to the same name restores it.
      const deleted = await rpc('DeleteSecret', { SecretName: name }, name, signal, (code) => NOT_FOUND(code) || code === IN_DELETE_WINDOW);
      return toleratedCode(deleted) === undefined ? 'deleted' : 'absent';
    },
  };
}

function textOrRefuse(value: Uint8Array, what: string): string {
  try {
    return decoder.decode(value);
  } catch {
    throw new TerminalError(`${what} holds a binary value, so remoteRef.property cannot be set in it; push the whole value (no property) or use another remote key`);
  }
}
