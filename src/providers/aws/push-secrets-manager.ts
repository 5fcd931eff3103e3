// PushSecret writes to AWS Secrets Manager: CreateSecret (tagged with our mark) or PutSecretValue, a property merged
// into a JSON secret, DeleteSecret for what we created. A secret without our tags is never written or deleted
// unless the PushSecret adopts it (then TagResource adds the mark). A secret of ours scheduled for deletion (an
// earlier deletionPolicy Delete) is restored before it is written again.
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  TagResourceCommand,
  type DescribeSecretCommandOutput,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { NoSecretError, TerminalError } from '../provider.ts';
import type { DeleteRequest, DeleteResult, PushRequest, PushResult } from '../push.ts';
import { markOf, mergeProperty, notOwned, ownershipOf, removeProperty, valueText, pushMetadataSpec, MARK_KEYS } from '../push.ts';
import { awsCall } from './errors.ts';

/** ESO's PushSecretMetadata spec for Secrets Manager (the fields secret-relay reads). */
export interface SecretsManagerPushMetadata {
  readonly tags: Readonly<Record<string, string>>;
  readonly description?: string | undefined;
  readonly kmsKeyID?: string | undefined;
  readonly secretPushFormat: 'string' | 'binary';
}

/** data[].metadata → the settings, refusing what is not ours to set (the mark's tags) or not understood. Pure. */
export function parseSecretsManagerMetadata(metadata: Readonly<Record<string, unknown>> | undefined): SecretsManagerPushMetadata {
  const spec = pushMetadataSpec(metadata);
  const tags = spec.stringMap('tags', MARK_KEYS);
  const format = spec.fields['secretPushFormat'] ?? 'string';
  if (format !== 'string' && format !== 'binary') throw new TerminalError('data[].metadata.spec.secretPushFormat must be string or binary');
  return { tags, description: spec.text('description'), kmsKeyID: spec.text('kmsKeyID'), secretPushFormat: format };
}

const tagList = (tags: Readonly<Record<string, string>>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

export function createSecretsManagerWriter(options: { client: SecretsManagerClient; prefix: string; identity: () => string }) {
  const { client, prefix } = options;
  const call = (action: string, subject: string) => ({ action: `secretsmanager:${action}`, subject, identity: options.identity() });

  const describe = async (id: string, signal: AbortSignal): Promise<DescribeSecretCommandOutput | undefined> => {
    try {
      return await awsCall(call('DescribeSecret', id), () => client.send(new DescribeSecretCommand({ SecretId: id }), { abortSignal: signal }));
    } catch (err) {
      if (err instanceof NoSecretError) return undefined;
      throw err;
    }
  };
  /** The current value as text; undefined when the secret has no version yet. */
  const currentText = async (id: string, signal: AbortSignal): Promise<{ text?: string; binary?: Uint8Array } | undefined> => {
    try {
      const out = await awsCall(call('GetSecretValue', id), () => client.send(new GetSecretValueCommand({ SecretId: id }), { abortSignal: signal }));
      return out.SecretString !== undefined ? { text: out.SecretString } : out.SecretBinary !== undefined ? { binary: new Uint8Array(out.SecretBinary) } : undefined;
    } catch (err) {
      if (err instanceof NoSecretError) return undefined;
      throw err;
    }
  };

  return {
    async pushSecret(request: PushRequest, signal: AbortSignal): Promise<PushResult> {
      const id = prefix + request.remoteKey;
      const what = `AWS secret "${id}"`;
      const meta = parseSecretsManagerMetadata(request.metadata);
      if (meta.secretPushFormat === 'binary' && request.property !== undefined) throw new TerminalError(`${what}: secretPushFormat binary cannot set a property; leave remoteRef.property out`);
      const body = (current: string | undefined): { SecretString: string } | { SecretBinary: Uint8Array } => {
        if (meta.secretPushFormat === 'binary') return { SecretBinary: request.value };
        const text = valueText(request.value, what);
        return { SecretString: request.property === undefined ? text : mergeProperty(current, request.property, text, what) };
      };
      const existing = await describe(id, signal);
      if (existing === undefined) {
        await awsCall(call('CreateSecret', id), () =>
          client.send(
            new CreateSecretCommand({
              Name: id,
              ...body(undefined),
              Tags: tagList({ ...meta.tags, ...markOf(request.owner) }),
              ...(meta.description !== undefined ? { Description: meta.description } : {}),
              ...(meta.kmsKeyID !== undefined ? { KmsKeyId: meta.kmsKeyID } : {}),
            }),
            { abortSignal: signal },
          ),
        );
        return 'created';
      }
      const tags = Object.fromEntries((existing.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      const ownership = ownershipOf(tags, request.owner);
      if (request.updatePolicy === 'IfNotExists' && existing.DeletedDate === undefined) return 'exists';
      if (ownership !== 'ours' && !request.adopt) throw notOwned(what, ownership, tags);
      if (existing.DeletedDate !== undefined) {
        await awsCall(call('RestoreSecret', id), () => client.send(new RestoreSecretCommand({ SecretId: id }), { abortSignal: signal }));
      }
      const wantedTags = { ...meta.tags, ...markOf(request.owner) };
      if (Object.entries(wantedTags).some(([key, value]) => tags[key] !== value)) {
        await awsCall(call('TagResource', id), () => client.send(new TagResourceCommand({ SecretId: id, Tags: tagList(wantedTags) }), { abortSignal: signal }));
      }
      const current = await currentText(id, signal);
      const next = body(current?.text);
      const same = 'SecretString' in next ? current?.text === next.SecretString : current?.binary !== undefined && Buffer.from(current.binary).equals(Buffer.from(next.SecretBinary));
      if (same) return ownership === 'ours' ? 'unchanged' : 'updated';
      await awsCall(call('PutSecretValue', id), () => client.send(new PutSecretValueCommand({ SecretId: id, ...next }), { abortSignal: signal }));
      return 'updated';
    },

    async deleteSecret(request: DeleteRequest, signal: AbortSignal): Promise<DeleteResult> {
      const id = prefix + request.remoteKey;
      const what = `AWS secret "${id}"`;
      const existing = await describe(id, signal);
      if (existing === undefined || existing.DeletedDate !== undefined) return 'absent';
      const tags = Object.fromEntries((existing.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      if (ownershipOf(tags, request.owner) !== 'ours') return 'not-owned';
      if (request.property !== undefined) {
        const current = await currentText(id, signal);
        if (current?.text === undefined) return 'absent';
        const { value, changed } = removeProperty(current.text, request.property, what);
        if (!changed) return 'absent';
        if (value !== undefined) {
          await awsCall(call('PutSecretValue', id), () => client.send(new PutSecretValueCommand({ SecretId: id, SecretString: value }), { abortSignal: signal }));
          return 'deleted';
        }
      }
      // The default recovery window: a secret deleted by mistake can be restored for 30 days.
      await awsCall(call('DeleteSecret', id), () => client.send(new DeleteSecretCommand({ SecretId: id }), { abortSignal: signal }));
      return 'deleted';
    },
  };
}
