// Reads from KMS Secrets Manager: GetSecretValue for one key (VersionStage or VersionId; text or binary), DescribeSecret
// for metadataPolicy Fetch (tags and description), ListSecrets (tag filters, pages of 100) then GetSecretValue per
// match for `find`. property/decoding are applied by the controller on the whole value.
import { NoSecretError } from '../../util/errors.ts';
import type { FindRef, RemoteRef } from '../provider.ts';
import type { AlibabaCredentials } from './auth.ts';
import { describeEndpoint, type Endpoint } from './endpoints.ts';
import { alibabaCall, alibabaErrorInfo, classifyAlibabaError, type AlibabaCallContext } from './errors.ts';
import type { AlibabaSdk, KmsRpc } from './sdk.ts';
import { compileFindName } from '../kit/find.ts';

export { compileFindName };

/** ListSecrets' largest page. */
export const LIST_PAGE_SIZE = 100;
/** GetSecretValue calls in flight for one `find` (KMS allows far more per second; this keeps one find from bursting). */
export const FIND_READ_CONCURRENCY = 8;
/** The stages KMS itself maintains. */
export const WELL_KNOWN_STAGES = ['ACSCurrent', 'ACSPrevious'] as const;
/** remoteRef.version prefixes: a custom VersionStage, or (explicitly) a VersionId. */
export const STAGE_PREFIX = 'stage/';
export const VERSION_ID_PREFIX = 'versionId/';

/**
 * remoteRef.version → GetSecretValue's VersionStage or VersionId. ESO sent every version as a VersionId, so a bare
 * value still is one (its manifests keep working); ACSCurrent and ACSPrevious are stages, `stage/<name>` a custom
 * stage, `versionId/<id>` a VersionId whatever it looks like. Pure.
 */
export function versionSelector(version: string | undefined): { VersionStage?: string; VersionId?: string } {
  if (version === undefined || version === '') return {};
  if ((WELL_KNOWN_STAGES as readonly string[]).includes(version)) return { VersionStage: version };
  if (version.startsWith(STAGE_PREFIX)) return { VersionStage: version.slice(STAGE_PREFIX.length) };
  if (version.startsWith(VERSION_ID_PREFIX)) return { VersionId: version.slice(VERSION_ID_PREFIX.length) };
  return { VersionId: version };
}

const textEncoder = new TextEncoder();

/** GetSecretValue's SecretData as bytes: text as UTF-8, binary (SecretDataType "binary") base64-decoded. Pure. */
export function secretValueBytes(response: Record<string, unknown>, name: string): Uint8Array {
  const data = response['SecretData'];
  if (typeof data !== 'string') throw new NoSecretError(`Alibaba Cloud secret "${name}" returned no SecretData`);
  if (response['SecretDataType'] === 'binary') return new Uint8Array(Buffer.from(data, 'base64'));
  return textEncoder.encode(data);
}

/** Tags in KMS' JSON shape ({Tags: {Tag: [{TagKey, TagValue}]}}) as a map. Pure. */
export function tagsOf(entry: Record<string, unknown>): Record<string, string> {
  const list = ((entry['Tags'] as { Tag?: unknown } | undefined)?.Tag ?? []) as { TagKey?: unknown; TagValue?: unknown }[];
  const tags: Record<string, string> = {};
  for (const tag of Array.isArray(list) ? list : []) if (typeof tag.TagKey === 'string') tags[tag.TagKey] = typeof tag.TagValue === 'string' ? tag.TagValue : '';
  return tags;
}

/** ListSecrets' Filters for find.tags: KMS ANDs keys, so one TagKey and one TagValue filter per tag narrows it; each pair is then checked exactly. */
export function listFilters(find: FindRef): string | undefined {
  const tags = Object.entries(find.tags ?? {});
  if (tags.length === 0) return undefined;
  return JSON.stringify([
    { Key: 'TagKey', Values: tags.map(([key]) => key) },
    { Key: 'TagValue', Values: tags.map(([, value]) => value) },
  ]);
}

export function describeFind(find: FindRef): string {
  const parts: string[] = [];
  if (find.path !== undefined) parts.push(`name prefix ${find.path}`);
  if (find.name !== undefined) parts.push(`name ~ ${find.name.regexp}`);
  for (const [key, value] of Object.entries(find.tags ?? {})) parts.push(`tag ${key}=${value}`);
  return `find ${parts.join(', ') || '(everything)'}`;
}

export interface KmsReaderOptions {
  readonly sdk: AlibabaSdk;
  readonly endpoint: Endpoint;
  readonly regionId: string;
  /** The store's credentials (memoized, renewed before expiry). */
  readonly credentials: (signal: AbortSignal) => Promise<AlibabaCredentials>;
  /** Forget the credentials (STS said the SecurityToken expired): the next call renews them. */
  readonly invalidateCredentials: () => void;
  readonly identity: string;
}

export interface KmsReader {
  getSecret(ref: RemoteRef, signal: AbortSignal): Promise<Uint8Array>;
  getAllSecrets(find: FindRef, signal: AbortSignal): Promise<Record<string, Uint8Array>>;
  /** A cheap authenticated call (ListSecrets, one entry), for the store's Ready condition. */
  validate(signal: AbortSignal): Promise<void>;
}

/**
 * One KMS call with the store's session; an expired SecurityToken renews the session and retries once, the second
 * refusal is terminal. `tolerated` errors (raw, by code) resolve to `{ToleratedCode: code}` instead of throwing.
 */
export type KmsCall = (
  action: string,
  params: Record<string, string | number>,
  subject: string | undefined,
  signal: AbortSignal,
  tolerated?: (code: string | undefined) => boolean,
) => Promise<Record<string, unknown>>;

/** The code a tolerated KMS error resolved to (see KmsCall). */
export const toleratedCode = (response: Record<string, unknown>): string | undefined => (typeof response['ToleratedCode'] === 'string' ? response['ToleratedCode'] : undefined);

export function createKmsCall(options: KmsReaderOptions): KmsCall {
  const { sdk, endpoint, regionId, identity } = options;
  // One SDK client per credentials value: a renewed session gets a fresh client, the old one is dropped with it.
  const clients = new WeakMap<AlibabaCredentials, KmsRpc>();
  const clientFor = (credentials: AlibabaCredentials): KmsRpc => {
    let client = clients.get(credentials);
    if (!client) {
      client = sdk.kms(endpoint, regionId, credentials);
      clients.set(credentials, client);
    }
    return client;
  };
  const context = (action: string, subject: string | undefined): AlibabaCallContext => ({
    action: `kms:${action}`,
    subject,
    identity,
    region: regionId,
    endpoint: describeEndpoint(endpoint),
  });

  return async function rpc(action, params, subject, signal, tolerated) {
    const attempt = async () => {
      const credentials = await options.credentials(signal);
      try {
        return await clientFor(credentials).call(action, params);
      } catch (error) {
        const code = alibabaErrorInfo(error).code;
        if (tolerated?.(code)) return { ToleratedCode: code };
        throw error;
      }
    };
    return alibabaCall(context(action, subject), async () => {
      try {
        return await attempt();
      } catch (error) {
        if (classifyAlibabaError(error) !== 'token_expired') throw error;
        options.invalidateCredentials();
        return attempt();
      }
    }, signal);
  };
}

/** KMS' code for a write (and possibly a read) of a secret in its deletion window. */
export const IN_DELETE_WINDOW = 'Rejected.ResourceInDeleteWindow';

/** A DescribeSecret answer or ListSecrets entry of a secret in its deletion window. Pure. */
export const isScheduledForDeletion = (entry: Record<string, unknown>): boolean => typeof entry['PlannedDeleteTime'] === 'string' && entry['PlannedDeleteTime'] !== '';

export function createKmsReader(options: KmsReaderOptions, rpc: KmsCall = createKmsCall(options)): KmsReader {

  async function readValue(name: string, version: string | undefined, signal: AbortSignal): Promise<Uint8Array> {
    // A secret scheduled for deletion reads as gone. How GetSecretValue refuses one is not in KMS' published material
    // (its API reference points to the error center): Forbidden.ResourceNotFound or the Rejected.ResourceInDeleteWindow
    // its writes answer (CreateSecret, DeleteSecret), both are taken for "not found".
    const response = await rpc('GetSecretValue', { SecretName: name, ...versionSelector(version) }, name, signal, (code) => code === IN_DELETE_WINDOW);
    if (toleratedCode(response) !== undefined) throw new NoSecretError(`Alibaba Cloud secret "${name}" in region ${options.regionId} is scheduled for deletion (${IN_DELETE_WINDOW})`);
    return secretValueBytes(response, name);
  }

  async function readMetadata(name: string, signal: AbortSignal): Promise<Uint8Array> {
    const response = await rpc('DescribeSecret', { SecretName: name, FetchTags: 'true' }, name, signal);
    // DescribeSecret still describes a secret in its deletion window, with the time it goes (PlannedDeleteTime).
    if (isScheduledForDeletion(response)) throw new NoSecretError(`Alibaba Cloud secret "${name}" in region ${options.regionId} is scheduled for deletion (PlannedDeleteTime ${String(response['PlannedDeleteTime'])})`);
    const description = typeof response['Description'] === 'string' ? response['Description'] : '';
    return textEncoder.encode(JSON.stringify({ description, tags: tagsOf(response) }));
  }

  async function list(find: FindRef, signal: AbortSignal): Promise<string[]> {
    const matchesName = compileFindName(find);
    const filters = listFilters(find);
    const wanted = Object.entries(find.tags ?? {});
    const prefix = find.path ?? '';
    const names: string[] = [];
    for (let page = 1; ; page++) {
      const response = await rpc(
        'ListSecrets',
        { PageNumber: page, PageSize: LIST_PAGE_SIZE, FetchTags: 'true', ...(filters ? { Filters: filters } : {}) },
        describeFind(find),
        signal,
      );
      const entries = ((response['SecretList'] as { Secret?: unknown } | undefined)?.Secret ?? []) as Record<string, unknown>[];
      for (const entry of entries) {
        const name = entry['SecretName'];
        if (typeof name !== 'string') continue;
        // A secret scheduled for deletion reads as gone, as in the console.
        if (isScheduledForDeletion(entry)) continue;
        if (!name.startsWith(prefix) || !matchesName(name)) continue;
        const tags = tagsOf(entry);
        if (!wanted.every(([key, value]) => tags[key] === value)) continue;
        names.push(name);
      }
      const total = Number(response['TotalCount'] ?? 0);
      if (entries.length === 0 || page * LIST_PAGE_SIZE >= total) break;
    }
    return names;
  }

  return {
    getSecret(ref, signal) {
      return ref.metadataPolicy === 'Fetch' ? readMetadata(ref.key, signal) : readValue(ref.key, ref.version, signal);
    },
    async getAllSecrets(find, signal) {
      const names = await list(find, signal);
      const result: Record<string, Uint8Array> = {};
      let next = 0;
      const worker = async () => {
        while (next < names.length) {
          const name = names[next++]!;
          try {
            result[name] = await readValue(name, undefined, signal);
          } catch (error) {
            // Deleted between the listing and the read: not part of the result.
            if (!(error instanceof NoSecretError)) throw error;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(FIND_READ_CONCURRENCY, names.length) }, worker));
      return result;
    },
    async validate(signal) {
      // KMS checks the signature, the AccessKey and the SecurityToken before the RAM policy, so a role allowed only
      // kms:GetSecretValue on a few secrets is still proven authenticated by a denied ListSecrets.
      await rpc('ListSecrets', { PageNumber: 1, PageSize: 1 }, undefined, signal, (code) => code === 'Forbidden.NoPermission');
    },
  };
}
