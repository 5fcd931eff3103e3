// Reads from SSM Parameter Store: GetParameter (with decryption) for one key, GetParametersByPath for
// `find.path`, DescribeParameters (tag filters) + GetParameters (10 a call) for other `find`s.
import { DescribeParametersCommand, GetParameterCommand, GetParametersByPathCommand, GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { ParameterStringFilter } from '@aws-sdk/client-ssm';
import { NoSecretError } from '../provider.ts';
import type { FindRef, RemoteRef } from '../provider.ts';
import { awsCall } from './errors.ts';
import type { AwsReader } from './reader.ts';
import { compileFindName, stripPrefix } from './reader.ts';
import { describeFind } from './secrets-manager.ts';

/** GetParameters takes at most 10 names a call. */
export const GET_PARAMETERS_BATCH = 10;

/**
 * The GetParameter name for a ref: `name:version` (a number) or `name:label`, from remoteRef.version or
 * written into the key itself (a parameter name cannot hold ":"). Pure.
 */
export function parameterName(prefix: string, ref: Pick<RemoteRef, 'key' | 'version'>): string {
  const name = prefix + ref.key;
  if (ref.version === undefined || ref.version === '' || name.includes(':')) return name;
  return `${name}:${ref.version}`;
}

const textEncoder = new TextEncoder();

export function createParameterStoreReader(options: { client: SSMClient; prefix: string; identity: () => string }): AwsReader {
  const { client, prefix } = options;
  const call = (action: string, subject: string) => ({ action: `ssm:${action}`, subject, identity: options.identity() });

  async function read(ref: RemoteRef, signal: AbortSignal): Promise<Uint8Array> {
    const name = parameterName(prefix, ref);
    const output = await awsCall(call('GetParameter', name), () =>
      client.send(new GetParameterCommand({ Name: name, WithDecryption: true }), { abortSignal: signal }),
    );
    const value = output.Parameter?.Value;
    if (value === undefined) throw new NoSecretError(`AWS parameter "${name}" has no value`);
    return textEncoder.encode(value);
  }

  async function byPath(path: string, find: FindRef, signal: AbortSignal): Promise<Record<string, Uint8Array>> {
    const matchesName = compileFindName(find);
    const result: Record<string, Uint8Array> = {};
    let nextToken: string | undefined;
    do {
      const page = await awsCall(call('GetParametersByPath', describeFind(find)), () =>
        client.send(new GetParametersByPathCommand({ Path: path, Recursive: true, WithDecryption: true, MaxResults: 10, NextToken: nextToken }), {
          abortSignal: signal,
        }),
      );
      for (const parameter of page.Parameters ?? []) {
        if (parameter.Name === undefined || parameter.Value === undefined) continue;
        const name = stripPrefix(parameter.Name, prefix);
        if (matchesName(name)) result[name] = textEncoder.encode(parameter.Value);
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return result;
  }

  async function described(find: FindRef, signal: AbortSignal): Promise<Record<string, Uint8Array>> {
    const matchesName = compileFindName(find);
    const filters: ParameterStringFilter[] = Object.entries(find.tags ?? {}).map(([key, value]) => ({ Key: `tag:${key}`, Option: 'Equals', Values: [value] }));
    if (prefix !== '') filters.push({ Key: 'Name', Option: 'BeginsWith', Values: [prefix] });
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await awsCall(call('DescribeParameters', describeFind(find)), () =>
        client.send(new DescribeParametersCommand({ MaxResults: 50, NextToken: nextToken, ...(filters.length > 0 ? { ParameterFilters: filters } : {}) }), {
          abortSignal: signal,
        }),
      );
      for (const parameter of page.Parameters ?? []) {
        if (parameter.Name === undefined || !parameter.Name.startsWith(prefix)) continue;
        if (matchesName(stripPrefix(parameter.Name, prefix))) names.push(parameter.Name);
      }
      nextToken = page.NextToken;
    } while (nextToken);
    const result: Record<string, Uint8Array> = {};
    for (let start = 0; start < names.length; start += GET_PARAMETERS_BATCH) {
      const batch = names.slice(start, start + GET_PARAMETERS_BATCH);
      const output = await awsCall(call('GetParameters', describeFind(find)), () =>
        client.send(new GetParametersCommand({ Names: batch, WithDecryption: true }), { abortSignal: signal }),
      );
      for (const parameter of output.Parameters ?? []) {
        if (parameter.Name === undefined || parameter.Value === undefined) continue;
        result[stripPrefix(parameter.Name, prefix)] = textEncoder.encode(parameter.Value);
      }
    }
    return result;
  }

  return {
    // The whole value: the ExternalSecret controller applies property and decodingStrategy.
    getSecret: read,
    async getAllSecrets(find, signal) {
      if (find.path !== undefined && Object.keys(find.tags ?? {}).length === 0) return byPath(prefix + find.path, find, signal);
      const all = await described(find, signal);
      if (find.path === undefined) return all;
      // path and tags together: the tag-filtered listing, narrowed to the path.
      return Object.fromEntries(Object.entries(all).filter(([name]) => name.startsWith(find.path!)));
    },
    close() {
      client.destroy();
    },
  };
}
