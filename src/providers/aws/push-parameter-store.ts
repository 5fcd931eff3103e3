// PushSecret writes to SSM Parameter Store: PutParameter (a SecureString by default, with the metadata's KMS key
// when given) tagged with our mark, PutParameter Overwrite for ours, a property merged into a JSON value,
// DeleteParameter for what we created. A parameter without our tags is never overwritten or deleted unless the
// PushSecret adopts it (AddTagsToResource adds the mark).
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  GetParameterCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { NoSecretError, TerminalError } from '../provider.ts';
import type { DeleteRequest, DeleteResult, PushRequest, PushResult } from '../push.ts';
import { markOf, mergeProperty, notOwned, ownershipOf, removeProperty, valueText, pushMetadataSpec, MARK_KEYS } from '../push.ts';
import { awsCall } from './errors.ts';

export interface ParameterPushMetadata {
  readonly type: 'String' | 'StringList' | 'SecureString';
  readonly kmsKeyID?: string | undefined;
  readonly tier?: 'Standard' | 'Advanced' | 'Intelligent-Tiering' | undefined;
  /** tier.policies as PutParameter's Policies: the JSON array as written (ESO sends it unchanged too). */
  readonly policies?: string | undefined;
  readonly description?: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
}

/** PutParameter's Policies holds at most 4096 characters; AWS takes at most 10 policies per parameter. */
export const PARAMETER_POLICY_LIMITS = { chars: 4096, count: 10 } as const;

/**
 * data[].metadata (ESO's PushSecretMetadata for Parameter Store) → settings. SecureString unless told otherwise.
 * tier.policies (Expiration, ExpirationNotification, NoChangeNotification) are sent as PutParameter's Policies;
 * Parameter Store applies policies to advanced parameters only, so they need tier Advanced (or
 * Intelligent-Tiering, which then picks Advanced) — ESO drops them silently otherwise, secret-relay says so. Pure.
 */
export function parseParameterMetadata(metadata: Readonly<Record<string, unknown>> | undefined): ParameterPushMetadata {
  const spec = pushMetadataSpec(metadata);
  // ESO's field is secretType.
  const type = spec.text('secretType') ?? 'SecureString';
  if (type !== 'String' && type !== 'StringList' && type !== 'SecureString') throw new TerminalError('data[].metadata.spec.secretType must be String, StringList or SecureString');
  const tierSpec = spec.fields['tier'] as { type?: unknown; policies?: unknown } | undefined;
  const tier = tierSpec?.type;
  if (tier !== undefined && tier !== 'Standard' && tier !== 'Advanced' && tier !== 'Intelligent-Tiering') throw new TerminalError('data[].metadata.spec.tier.type must be Standard, Advanced or Intelligent-Tiering');
  const policies = parsePolicies(tierSpec?.policies, tier);
  const tags = spec.stringMap('tags', MARK_KEYS, 'parameter');
  return { type, kmsKeyID: spec.text('kmsKeyID'), tier: tier as ParameterPushMetadata['tier'], policies, description: spec.text('description'), tags };
}

function parsePolicies(policies: unknown, tier: unknown): string | undefined {
  if (policies === undefined || policies === null) return undefined;
  const where = 'data[].metadata.spec.tier.policies';
  if (!Array.isArray(policies) || !policies.every((p) => typeof p === 'object' && p !== null && !Array.isArray(p))) {
    throw new TerminalError(`${where} must be a list of policies ({type, version, attributes}), as ESO's example`);
  }
  if (policies.length === 0) return undefined;
  if (policies.length > PARAMETER_POLICY_LIMITS.count) throw new TerminalError(`${where} lists ${policies.length} policies; Parameter Store takes at most ${PARAMETER_POLICY_LIMITS.count}`);
  if (tier !== 'Advanced' && tier !== 'Intelligent-Tiering') {
    throw new TerminalError(`${where} need tier.type Advanced (or Intelligent-Tiering): Parameter Store applies policies to advanced parameters only`);
  }
  const text = JSON.stringify(policies);
  if (text.length > PARAMETER_POLICY_LIMITS.chars) throw new TerminalError(`${where} is ${text.length} characters as JSON; PutParameter takes at most ${PARAMETER_POLICY_LIMITS.chars}`);
  return text;
}

const tagList = (tags: Readonly<Record<string, string>>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

export function createParameterStoreWriter(options: { client: SSMClient; prefix: string; identity: () => string }) {
  const { client, prefix } = options;
  const call = (action: string, subject: string) => ({ action: `ssm:${action}`, subject, identity: options.identity() });

  const current = async (name: string, signal: AbortSignal): Promise<{ value: string; tags: Record<string, string> } | undefined> => {
    let value: string;
    try {
      const out = await awsCall(call('GetParameter', name), () => client.send(new GetParameterCommand({ Name: name, WithDecryption: true }), { abortSignal: signal }));
      value = out.Parameter?.Value ?? '';
    } catch (err) {
      if (err instanceof NoSecretError) return undefined;
      throw err;
    }
    const listed = await awsCall(call('ListTagsForResource', name), () =>
      client.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name }), { abortSignal: signal }),
    );
    return { value, tags: Object.fromEntries((listed.TagList ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])) };
  };

  return {
    async pushSecret(request: PushRequest, signal: AbortSignal): Promise<PushResult> {
      const name = prefix + request.remoteKey;
      const what = `AWS parameter "${name}"`;
      const meta = parseParameterMetadata(request.metadata);
      const text = valueText(request.value, what);
      const existing = await current(name, signal);
      const settings = {
        Name: name,
        Type: meta.type,
        ...(meta.type === 'SecureString' && meta.kmsKeyID !== undefined ? { KeyId: meta.kmsKeyID } : {}),
        ...(meta.tier !== undefined ? { Tier: meta.tier } : {}),
        ...(meta.policies !== undefined ? { Policies: meta.policies } : {}),
        ...(meta.description !== undefined ? { Description: meta.description } : {}),
      };
      if (existing === undefined) {
        const value = request.property === undefined ? text : mergeProperty(undefined, request.property, text, what);
        // Without Overwrite: refused (ParameterAlreadyExists, retried) if someone created it since our read.
        await awsCall(call('PutParameter', name), () =>
          client.send(new PutParameterCommand({ ...settings, Value: value, Tags: tagList({ ...meta.tags, ...markOf(request.owner) }) }), { abortSignal: signal }),
        );
        return 'created';
      }
      if (request.updatePolicy === 'IfNotExists') return 'exists';
      const ownership = ownershipOf(existing.tags, request.owner);
      if (ownership !== 'ours' && !request.adopt) throw notOwned(what, ownership, existing.tags);
      const wantedTags = { ...meta.tags, ...markOf(request.owner) };
      if (Object.entries(wantedTags).some(([key, value]) => existing.tags[key] !== value)) {
        await awsCall(call('AddTagsToResource', name), () =>
          client.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: name, Tags: tagList(wantedTags) }), { abortSignal: signal }),
        );
      }
      const value = request.property === undefined ? text : mergeProperty(existing.value, request.property, text, what);
      // The same value is written again when the metadata sets a tier, policies or a description: GetParameter does not
      // return them, and this push runs only when the value, the metadata or the store changed (the HMAC), so a
      // changed policy or tier is applied at once, at the cost of one parameter version.
      const settingsAsked = meta.tier !== undefined || meta.policies !== undefined || meta.description !== undefined;
      if (value === existing.value && !settingsAsked) return ownership === 'ours' ? 'unchanged' : 'updated';
      await awsCall(call('PutParameter', name), () => client.send(new PutParameterCommand({ ...settings, Value: value, Overwrite: true }), { abortSignal: signal }));
      return 'updated';
    },

    async deleteSecret(request: DeleteRequest, signal: AbortSignal): Promise<DeleteResult> {
      const name = prefix + request.remoteKey;
      const existing = await current(name, signal);
      if (existing === undefined) return 'absent';
      if (ownershipOf(existing.tags, request.owner) !== 'ours') return 'not-owned';
      if (request.property !== undefined) {
        const { value, changed } = removeProperty(existing.value, request.property, `AWS parameter "${name}"`);
        if (!changed) return 'absent';
        if (value !== undefined) {
          await awsCall(call('PutParameter', name), () => client.send(new PutParameterCommand({ Name: name, Value: value, Overwrite: true }), { abortSignal: signal }));
          return 'deleted';
        }
      }
      try {
        await awsCall(call('DeleteParameter', name), () => client.send(new DeleteParameterCommand({ Name: name }), { abortSignal: signal }));
      } catch (err) {
        if (err instanceof NoSecretError) return 'absent';
        throw err;
      }
      return 'deleted';
    },
  };
}
