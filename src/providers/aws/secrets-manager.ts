// Reads from AWS Secrets Manager: GetSecretValue for one key, ListSecrets (filtered) + BatchGetSecretValue
// (20 a call) for `find`. Whole values: property/decoding are applied by the ExternalSecret controller.
import {
  BatchGetSecretValueCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { Filter, SecretValueEntry } from '@aws-sdk/client-secrets-manager';
import { AccessDeniedError, NoSecretError } from '../provider.ts';
import type { FindRef, RemoteRef } from '../provider.ts';
import { awsCall } from './errors.ts';
import type { AwsReader } from './reader.ts';
import { compileFindName, stripPrefix } from './reader.ts';

/** BatchGetSecretValue takes at most 20 secret ids a call. */
export const BATCH_SIZE = 20;
const VERSION_ID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * remoteRef.version → GetSecretValue's VersionId or VersionStage: "uuid/<id>" (as ESO) or a bare UUID is a
 * VersionId; anything else a staging label (AWSCURRENT, AWSPREVIOUS, or a custom stage). Pure.
 */
export function secretVersionSelector(version: string | undefined): { VersionId?: string; VersionStage?: string } {
  if (version === undefined || version === '') return {};
  if (version.startsWith('uuid/')) return { VersionId: version.slice('uuid/'.length) };
  if (VERSION_ID_PATTERN.test(version)) return { VersionId: version };
  return { VersionStage: version };
}

const textEncoder = new TextEncoder();

function valueBytes(entry: { SecretString?: string | undefined; SecretBinary?: Uint8Array | undefined }, what: string): Uint8Array {
  if (entry.SecretString !== undefined) return textEncoder.encode(entry.SecretString);
  if (entry.SecretBinary !== undefined) return new Uint8Array(entry.SecretBinary);
  throw new NoSecretError(`AWS secret ${what} has neither SecretString nor SecretBinary`);
}

export function createSecretsManagerReader(options: { client: SecretsManagerClient; prefix: string; identity: () => string }): AwsReader {
  const { client, prefix } = options;
  const call = (action: string, subject: string) => ({ action: `secretsmanager:${action}`, subject, identity: options.identity() });

  async function read(ref: RemoteRef, signal: AbortSignal): Promise<Uint8Array> {
    const id = prefix + ref.key;
    const output = await awsCall(call('GetSecretValue', id), () =>
      client.send(new GetSecretValueCommand({ SecretId: id, ...secretVersionSelector(ref.version) }), { abortSignal: signal }),
    );
    return valueBytes(output, `"${id}"`);
  }

  async function list(find: FindRef, signal: AbortSignal): Promise<string[]> {
    const matchesName = compileFindName(find);
    const filters: Filter[] = [];
    // ListSecrets' name filter is a prefix match: it serves find.path (and the store prefix).
    const namePrefix = prefix + (find.path ?? '');
    if (namePrefix !== '') filters.push({ Key: 'name', Values: [namePrefix] });
    const tags = Object.entries(find.tags ?? {});
    // tag-key / tag-value filters narrow the listing; each pair is checked exactly below.
    for (const [key, value] of tags) filters.push({ Key: 'tag-key', Values: [key] }, { Key: 'tag-value', Values: [value] });
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await awsCall(call('ListSecrets', describeFind(find)), () =>
        client.send(new ListSecretsCommand({ MaxResults: 100, NextToken: nextToken, ...(filters.length > 0 ? { Filters: filters } : {}) }), {
          abortSignal: signal,
        }),
      );
      for (const entry of page.SecretList ?? []) {
        const name = entry.Name;
        if (name === undefined || entry.DeletedDate !== undefined) continue;
        if (!name.startsWith(namePrefix)) continue;
        const entryTags = new Map((entry.Tags ?? []).map((tag) => [tag.Key, tag.Value]));
        if (!tags.every(([key, value]) => entryTags.get(key) === value)) continue;
        if (!matchesName(stripPrefix(name, prefix))) continue;
        names.push(name);
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return names;
  }

  return {
    // The whole value: the ExternalSecret controller applies property and decodingStrategy.
    getSecret: read,
    async getAllSecrets(find, signal) {
      const names = await list(find, signal);
      const result: Record<string, Uint8Array> = {};
      for (let start = 0; start < names.length; start += BATCH_SIZE) {
        const ids = names.slice(start, start + BATCH_SIZE);
        const output = await awsCall(call('BatchGetSecretValue', describeFind(find)), () =>
          client.send(new BatchGetSecretValueCommand({ SecretIdList: ids }), { abortSignal: signal }),
        );
        const failed = (output.Errors ?? []).filter((error) => error.ErrorCode !== 'ResourceNotFoundException');
        if (failed.length > 0) {
          const first = failed[0]!;
          const denied = /AccessDenied/i.test(first.ErrorCode ?? '');
          const message = `AWS secretsmanager:BatchGetSecretValue could not read "${first.SecretId}" for ${options.identity()} (${first.ErrorCode})`;
          throw denied ? new AccessDeniedError(`${message}: allow secretsmanager:GetSecretValue on it for that identity`) : new Error(message);
        }
        for (const entry of output.SecretValues ?? ([] as SecretValueEntry[])) {
          if (entry.Name === undefined) continue;
          result[stripPrefix(entry.Name, prefix)] = valueBytes(entry, `"${entry.Name}"`);
        }
      }
      return result;
    },
    close() {
      client.destroy();
    },
  };
}

export function describeFind(find: FindRef): string {
  const parts: string[] = [];
  if (find.path !== undefined) parts.push(`path ${find.path}`);
  if (find.name !== undefined) parts.push(`name ~ ${find.name.regexp}`);
  for (const [key, value] of Object.entries(find.tags ?? {})) parts.push(`tag ${key}=${value}`);
  return `find ${parts.join(', ') || '(everything)'}`;
}
