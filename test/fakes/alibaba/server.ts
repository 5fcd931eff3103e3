// A faithful fake of Alibaba Cloud KMS Secrets Manager and STS, since no emulator exists. It speaks the RPC wire format
// (parameters in the query and/or a form body, JSON answers, errors as {Code, Message, RequestId, HostId} with
// Alibaba's HTTP status) and refuses what Alibaba refuses:
// - KMS: RPC signature V1 (HMAC-SHA1; what the Node SDK sends) or V3 (ACS3-HMAC-SHA256; what the Python SDK sends),
//   signature.ts, checked in full; SignatureNonce used twice → SignatureNonceUsed;
//   Timestamp outside ±15 min → InvalidTimeStamp.Expired; unknown AccessKeyId → InvalidAccessKeyId.NotFound; STS
//   credentials without their SecurityToken, with another one, or past expiry → InvalidSecurityToken.*; a RAM policy
//   per identity → Forbidden.NoPermission; unknown secret/version → Forbidden.ResourceNotFound.
// - STS AssumeRoleWithOIDC (anonymous): the OIDC token's RS256 signature against the apiserver's /openid/v1/jwks, its
//   issuer against the OIDC provider's, audience (client ID) sts.aliyuncs.com, expiry, and the role's trust condition
//   on oidc:sub; returns Credentials in Alibaba's JSON shape.
// - GetSecretValue by VersionStage (ACSCurrent default, ACSPrevious, custom) or VersionId, text and binary
//   SecretDataType; DescribeSecret (description, tags with FetchTags; a secret in its deletion window is described
//   with PlannedDeleteTime, while GetSecretValue answers it Forbidden.ResourceNotFound — the latter not confirmed
//   against KMS' published material); ListSecrets with Filters and pages (PlannedDeleteTime on such a secret).
// - Writes (PushSecret): CreateSecret (Tags, Description; Rejected.ResourceExist 409 for a name taken,
//   Rejected.ResourceInDeleteWindow 409 for one in its deletion window), PutSecretValue (a new VersionId, which takes
//   ACSCurrent; a VersionId the secret has → Rejected.ResourceExist), DeleteSecret (RecoveryWindowInDays 7–30, default
//   30, or ForceDeleteWithoutRecovery; one already in its window → Rejected.ResourceInDeleteWindow 409, as DeleteSecret's
//   API reference lists), RestoreSecret, TagResource/UntagResource, UpdateSecret (description); names,
//   tags (keys 1–128, not aliyun…/acs:…, values ≤ 128, 20 per secret) and 30 KiB values checked as KMS checks them;
//   each write allowed by the identity's RAM policy per action and secret, and recorded as ActionTrail would.
// Every request is counted by action; faults (throttling, …) can be injected. Plain http on loopback: both SDKs take
// protocol "http", so no certificate is needed.
import { createPublicKey, randomBytes, randomUUID, timingSafeEqual, type KeyObject } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkToken, fetchJwks, type Jwk } from '../../support/sts-web-identity-check.ts';
import { ACS3_ALGORITHM, canonicalRequestV3, missingSignedHeaders, parseV3Authorization, sha256Hex, signatureMatches, signV3 } from './signature.ts';

export const KMS_VERSION = '2016-01-20';
export const STS_VERSION = '2015-04-01';
export const STS_AUDIENCE = 'sts.aliyuncs.com';
/** Alibaba accepts a Timestamp within 15 minutes of its own clock. */
export const TIMESTAMP_WINDOW_MS = 15 * 60_000;
/** A secret value: at most 30 KiB (KMS' SecretData limit for a generic secret). */
export const MAX_SECRET_DATA_BYTES = 30 * 1024;
/** Tags per secret. */
export const MAX_TAGS = 20;

export interface FakeSecretVersion {
  readonly versionId: string;
  readonly data: string;
  readonly dataType: 'text' | 'binary';
  readonly stages: Set<string>;
  readonly createTime: string;
}

export interface FakeSecret {
  readonly name: string;
  description: string;
  tags: Record<string, string>;
  readonly versions: FakeSecretVersion[];
  readonly createTime: string;
  plannedDeleteTime?: string;
}

/** A RAM policy, reduced to what KMS checks: may this identity do `action` (e.g. kms:GetSecretValue) on `secret`? */
export type Allow = (action: string, secretName: string | undefined) => boolean;
export const allowAll: Allow = () => true;
/** `allow` taking effect `ms` from now, as RAM policy changes propagate: a grant made after the ExternalSecret. */
export function effectiveIn(ms: number, allow: Allow = allowAll, now: () => number = Date.now): Allow {
  const at = now() + ms;
  return (action, secretName) => now() >= at && allow(action, secretName);
}

export interface FakeRole {
  readonly arn: string;
  readonly oidcProviderArn: string;
  /** oidc:sub values the trust policy allows (StringEquals), e.g. system:serviceaccount:ns:name. */
  readonly subjects: readonly string[];
  readonly allow: Allow;
  /** MaxSessionDuration; default 3600 s. */
  readonly maxSessionSeconds?: number;
  /** Sessions of this role stop working this long after they are issued, whatever their Expiration says (revoked). */
  readonly sessionsExpireAfterMs?: number;
}

export interface FakeFault {
  /** e.g. kms:GetSecretValue, sts:AssumeRoleWithOIDC. */
  readonly action: string;
  readonly status: number;
  readonly code: string;
  readonly message?: string;
  times?: number;
}

export interface SeenRequest {
  readonly action: string;
  readonly secretName: string | undefined;
  /** The AccessKeyId that signed it (KMS) or the role asked for (STS). */
  readonly principal: string | undefined;
  readonly refused: string | undefined;
}

/** A write to a secret, as ActionTrail records it (what the EventBridge part of the fakes forwards). */
export interface KmsApiCall {
  readonly eventName: string;
  readonly secretName: string;
  /** The role or AccessKeyId that made the call; undefined for a write made by the test itself. */
  readonly principal: string | undefined;
  readonly requestId: string;
  /** Epoch ms. */
  readonly at: number;
}

/** What a queue or other service of the fakes needs to authenticate a request signed with credentials STS issued here. */
export interface FakeCredential {
  readonly secret: string;
  /** Set for STS credentials: the SecurityToken that must come with them, and when they stop working. */
  readonly securityToken: string | undefined;
  readonly expiresAt: number | undefined;
  readonly principal: string;
  readonly allow: Allow;
}

export interface AlibabaFake {
  readonly kmsEndpoint: string;
  readonly stsEndpoint: string;
  readonly requests: SeenRequest[];
  /** Requests of this action that were answered (not refused), optionally only for one secret. */
  count(action: string, secretName?: string): number;
  addAccessKey(key: { id: string; secret: string; allow?: Allow }): void;
  addOidcProvider(provider: { arn: string; issuer: string; clientIds?: readonly string[] }): void;
  addRole(role: FakeRole): void;
  /** Creates the secret, or adds a version: ACSCurrent moves to it and ACSPrevious to the version it replaced. */
  putSecret(name: string, value: { data: string | Uint8Array; versionId?: string; stages?: readonly string[]; tags?: Record<string, string>; description?: string }): string;
  scheduleDeletion(name: string): void;
  /** What KMS holds for a secret, for assertions: undefined when it does not exist (in its deletion window or not). */
  inspect(name: string): { tags: Record<string, string>; description: string; versions: number; current: string | undefined; currentType: 'text' | 'binary' | undefined; plannedDeleteTime: string | undefined } | undefined;
  /** Calls `listener` for every write to a secret (as ActionTrail would record it); returns the unsubscribe. */
  onApiCall(listener: (call: KmsApiCall) => void): () => void;
  /** The credential an AccessKeyId stands for (a static key or an STS session), for the other fakes' signature checks. */
  credential(accessKeyId: string): FakeCredential | undefined;
  inject(fault: FakeFault): void;
  /** Every STS session issued so far expires now (as if its DurationSeconds had passed). */
  expireSessions(): void;
  /** Forgets requests and faults. */
  clearRequests(): void;
  /** Forgets secrets, identities, sessions, requests and faults. */
  reset(): void;
  stop(): Promise<void>;
}

export interface AlibabaFakeOptions {
  /** The cluster whose ServiceAccount tokens the OIDC providers trust: its /openid/v1/jwks is read with this kubeconfig. */
  readonly kubeconfigPath?: string;
  /** The signing keys instead (unit tests of the fake itself). */
  readonly jwks?: readonly Jwk[];
  readonly clock?: () => number;
  readonly host?: string;
}

interface ParsedRequest {
  readonly method: string;
  readonly path: string;
  /** The query string alone (what V3 signs). */
  readonly query: ReadonlyMap<string, string>;
  /** Query ∪ form body (what V1 signs, and where RPC parameters live). */
  readonly params: ReadonlyMap<string, string>;
  /** Lowercase names; repeated headers joined with commas. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

function parseRequest(incoming: http.IncomingMessage, body: Buffer): ParsedRequest {
  const url = new URL(incoming.url ?? '/', 'http://fake');
  const query = new Map<string, string>(url.searchParams);
  const params = new Map(query);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  if (body.length > 0 && (headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    for (const [name, value] of new URLSearchParams(body.toString('utf8'))) params.set(name, value);
  }
  return { method: incoming.method ?? 'GET', path: url.pathname, query, params, headers, body };
}

/** A refusal as the service answers it: the HTTP status and the service's error code (the MNS fake answers it too). */
export class AlibabaError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

interface Session {
  readonly secret: string;
  readonly securityToken: string;
  expiresAt: number;
  readonly role: FakeRole;
}

export async function startAlibabaFake(options: AlibabaFakeOptions): Promise<AlibabaFake> {
  const now = options.clock ?? Date.now;
  const keys = new Map<string, { key: KeyObject; alg: string }>();
  const loadKeys = async () => {
    if (options.jwks === undefined && options.kubeconfigPath === undefined) throw new Error('startAlibabaFake needs kubeconfigPath or jwks');
    for (const jwk of options.jwks ?? (await fetchJwks(options.kubeconfigPath!))) {
      if (jwk.kid === undefined) continue;
      keys.set(jwk.kid, { key: createPublicKey({ key: jwk, format: 'jwk' }), alg: jwk.alg ?? (jwk.kty === 'EC' ? 'ES256' : 'RS256') });
    }
  };
  await loadKeys();
  if (keys.size === 0) throw new Error('the apiserver published no signing keys at /openid/v1/jwks');

  const secrets = new Map<string, FakeSecret>();
  const accessKeys = new Map<string, { secret: string; allow: Allow }>();
  const oidcProviders = new Map<string, { issuer: string; clientIds: readonly string[] }>();
  const roles = new Map<string, FakeRole>();
  const sessions = new Map<string, Session>();
  const nonces = new Map<string, number>();
  const requests: SeenRequest[] = [];
  let faults: FakeFault[] = [];
  const apiCallListeners = new Set<(call: KmsApiCall) => void>();
  const recordApiCall = (eventName: string, secretName: string, principal: string | undefined) => {
    const call: KmsApiCall = { eventName, secretName, principal, requestId: randomUUID().toUpperCase(), at: now() };
    for (const listener of apiCallListeners) listener(call);
  };

  /** Timestamp within the window and a nonce never seen: V1 sends them as parameters, V3 as x-acs-* headers. */
  function checkFreshness(timestamp: string | undefined, nonce: string | undefined): void {
    if (!timestamp) throw new AlibabaError(400, 'MissingParameter', 'The input parameter "Timestamp" that is mandatory for processing this request is not supplied.');
    const at = Date.parse(timestamp);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(timestamp) || !Number.isFinite(at)) {
      throw new AlibabaError(400, 'InvalidTimeStamp.Format', 'Specified time stamp or date value is not well formatted.');
    }
    if (Math.abs(now() - at) > TIMESTAMP_WINDOW_MS) throw new AlibabaError(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.');
    if (!nonce) throw new AlibabaError(400, 'MissingParameter', 'The input parameter "SignatureNonce" that is mandatory for processing this request is not supplied.');
    for (const [seen, when] of nonces) if (now() - when > 2 * TIMESTAMP_WINDOW_MS) nonces.delete(seen);
    if (nonces.has(nonce)) throw new AlibabaError(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.');
    nonces.set(nonce, now());
  }

  /** The secret of an AccessKeyId and, for STS credentials, the session; InvalidAccessKeyId.NotFound when unknown. */
  function keyOf(id: string): { secret: string; session: Session | undefined; allow: Allow | undefined } {
    const session = sessions.get(id);
    const key = accessKeys.get(id);
    const secret = session?.secret ?? key?.secret;
    if (secret === undefined) throw new AlibabaError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
    return { secret, session, allow: key?.allow };
  }

  /** After the signature: STS credentials need their own, unexpired SecurityToken; static keys none. */
  function principalOf(id: string, token: string | undefined): { principal: string; allow: Allow } {
    const { session, allow } = keyOf(id);
    if (session) {
      if (!token) throw new AlibabaError(400, 'InvalidSecurityToken.MismatchWithAccessKey', 'Specified SecurityToken mismatch with the AccessKey.');
      if (token !== session.securityToken) throw new AlibabaError(400, 'InvalidSecurityToken.Malformed', 'Specified SecurityToken is malformed.');
      if (session.expiresAt <= now()) throw new AlibabaError(400, 'InvalidSecurityToken.Expired', 'Specified SecurityToken is expired.');
      return { principal: session.role.arn, allow: session.role.allow };
    }
    if (token) throw new AlibabaError(400, 'InvalidSecurityToken.MismatchWithAccessKey', 'Specified SecurityToken mismatch with the AccessKey.');
    return { principal: id, allow: allow! };
  }

  /** The identity that signed a KMS request (V1 or V3), after every check Alibaba makes before authorization. */
  function authenticate(request: ParsedRequest): { principal: string; allow: Allow } {
    const authorization = request.headers['authorization'];
    if (authorization?.startsWith(ACS3_ALGORITHM)) {
      const parsed = parseV3Authorization(authorization);
      if (!parsed) throw new AlibabaError(400, 'IncompleteSignature', 'The request signature does not conform to Aliyun standards.');
      checkFreshness(request.headers['x-acs-date'], request.headers['x-acs-signature-nonce']);
      const payloadHash = sha256Hex(request.body);
      if (request.headers['x-acs-content-sha256'] !== payloadHash) throw new AlibabaError(400, 'ContentSHA256NotMatched', 'The x-acs-content-sha256 header does not match the body.');
      if (missingSignedHeaders(parsed.signedHeaders, request.headers).length > 0 || !request.headers['x-acs-action']) {
        throw new AlibabaError(400, 'IncompleteSignature', 'The request signature does not conform to Aliyun standards.');
      }
      const { secret } = keyOf(parsed.accessKeyId);
      const canonical = canonicalRequestV3(request.method, request.path, request.query, request.headers, parsed.signedHeaders, payloadHash);
      const expected = Buffer.from(signV3(canonical, secret));
      const sent = Buffer.from(parsed.signature);
      if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
        throw new AlibabaError(400, 'SignatureDoesNotMatch', 'Specified signature is not matched with our calculation.');
      }
      return principalOf(parsed.accessKeyId, request.headers['x-acs-security-token']);
    }
    const params = request.params;
    for (const name of ['AccessKeyId', 'Signature', 'SignatureMethod', 'SignatureVersion', 'Format', 'Version']) {
      if (!params.get(name)) throw new AlibabaError(400, 'MissingParameter', `The input parameter "${name}" that is mandatory for processing this request is not supplied.`);
    }
    if (params.get('SignatureMethod') !== 'HMAC-SHA1') throw new AlibabaError(400, 'InvalidSignatureMethod', 'Specified signature method is not valid.');
    if (params.get('SignatureVersion') !== '1.0') throw new AlibabaError(400, 'UnsupportedSignatureVersion', 'Specified signature version is not supported.');
    checkFreshness(params.get('Timestamp'), params.get('SignatureNonce'));
    const id = params.get('AccessKeyId')!;
    if (!signatureMatches(request.method, params, keyOf(id).secret)) {
      throw new AlibabaError(400, 'SignatureDoesNotMatch', 'Specified signature is not matched with our calculation.');
    }
    return principalOf(id, params.get('SecurityToken'));
  }

  const secretOr404 = (name: string | undefined): FakeSecret => {
    const found = name === undefined ? undefined : secrets.get(name);
    if (!found || found.plannedDeleteTime !== undefined) throw new AlibabaError(404, 'Forbidden.ResourceNotFound', 'The resource you requested is not found');
    return found;
  };

  const tagList = (tags: Record<string, string>) => ({ Tag: Object.entries(tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })) });

  const required = (params: ReadonlyMap<string, string>, name: string): string => {
    const value = params.get(name);
    if (!value) throw new AlibabaError(400, 'MissingParameter', `The input parameter "${name}" that is mandatory for processing this request is not supplied.`);
    return value;
  };
  /** A secret that exists and is not in its deletion window, for a write. */
  const writable = (name: string): FakeSecret => {
    const secret = secrets.get(name);
    if (!secret) throw new AlibabaError(404, 'Forbidden.ResourceNotFound', 'The resource is not found.');
    if (secret.plannedDeleteTime !== undefined) throw new AlibabaError(409, 'Rejected.ResourceInDeleteWindow', 'The secret is planned to be deleted.');
    return secret;
  };
  const secretDataType = (params: ReadonlyMap<string, string>): 'text' | 'binary' => {
    const type = params.get('SecretDataType') ?? 'text';
    if (type !== 'text' && type !== 'binary') throw new AlibabaError(400, 'InvalidParameter', 'The specified parameter SecretDataType is not valid.');
    return type;
  };
  const checkedData = (data: string, type: 'text' | 'binary'): string => {
    if (type === 'binary' && !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) throw new AlibabaError(400, 'InvalidParameter', 'The specified parameter SecretData is not valid.');
    if (Buffer.byteLength(data) > MAX_SECRET_DATA_BYTES) throw new AlibabaError(400, 'InvalidParameter', 'The specified parameter SecretData is not valid.');
    return data;
  };
  /** The new version takes its stages: ACSCurrent moves to it and ACSPrevious to the version it replaced. */
  const addVersion = (secret: FakeSecret, version: FakeSecretVersion) => {
    if (version.stages.has('ACSCurrent')) {
      for (const v of secret.versions) v.stages.delete('ACSPrevious');
      for (const v of secret.versions) if (v.stages.delete('ACSCurrent')) v.stages.add('ACSPrevious');
    }
    for (const stage of version.stages) for (const v of secret.versions) if (stage !== 'ACSCurrent') v.stages.delete(stage);
    secret.versions.push(version);
  };
  /** Tags as KMS takes them: a JSON list of {TagKey, TagValue}; keys 1–128 characters, not aliyun… or acs:…, values ≤ 128. */
  const parseTags = (raw: string | undefined, field: string): Map<string, string> => {
    const tags = new Map<string, string>();
    if (raw === undefined) return tags;
    let list: { TagKey?: unknown; TagValue?: unknown }[];
    try {
      list = JSON.parse(raw) as typeof list;
      if (!Array.isArray(list)) throw new Error();
    } catch {
      throw new AlibabaError(400, 'InvalidParameter', `The specified parameter ${field} is not valid.`);
    }
    for (const tag of list) {
      if (typeof tag?.TagKey !== 'string' || typeof tag.TagValue !== 'string') throw new AlibabaError(400, 'InvalidParameter', `The specified parameter ${field} is not valid.`);
      if (tag.TagKey.length === 0 || tag.TagKey.length > 128 || /^(aliyun|acs:)/i.test(tag.TagKey) || tag.TagValue.length > 128) {
        throw new AlibabaError(400, 'InvalidParameter', `The specified parameter ${field} is not valid.`);
      }
      tags.set(tag.TagKey, tag.TagValue);
    }
    if (tags.size > MAX_TAGS) throw new AlibabaError(400, 'Rejected.LimitExceeded', 'The number of tags exceeds the limit.');
    return tags;
  };
  /** Secret names: 1–192 characters of letters, digits and _/+=.@-, not starting with acs/. */
  const checkSecretName = (name: string) => {
    if (!/^[A-Za-z0-9_/+=.@-]{1,192}$/.test(name) || name.startsWith('acs/')) throw new AlibabaError(400, 'InvalidParameter', 'The specified parameter SecretName is not valid.');
  };
  const checkVersionId = (id: string) => {
    if (id.length > 64) throw new AlibabaError(400, 'InvalidParameter', 'The specified parameter VersionId is not valid.');
  };

  /** Writes made by one request, recorded (as ActionTrail would) once it is answered. */
  let writes: { eventName: string; secretName: string; principal: string | undefined }[] = [];

  function kms(action: string, params: ReadonlyMap<string, string>, allow: Allow, writer: string | undefined): Record<string, unknown> {
    const name = params.get('SecretName');
    const permitted = (secretName: string | undefined) => {
      if (!allow(`kms:${action}`, secretName)) throw new AlibabaError(403, 'Forbidden.NoPermission', 'This operation is forbidden by permission system.');
    };
    switch (action) {
      case 'GetSecretValue': {
        if (!name) throw new AlibabaError(400, 'MissingParameter', 'The input parameter "SecretName" that is mandatory for processing this request is not supplied.');
        permitted(name);
        const secret = secretOr404(name);
        const versionId = params.get('VersionId');
        const stage = params.get('VersionStage') ?? (versionId ? undefined : 'ACSCurrent');
        const version = secret.versions.find((v) => (versionId === undefined || v.versionId === versionId) && (stage === undefined || v.stages.has(stage)));
        if (!version) throw new AlibabaError(404, 'Forbidden.ResourceNotFound', 'The resource you requested is not found');
        return {
          SecretName: secret.name,
          VersionId: version.versionId,
          CreateTime: version.createTime,
          SecretData: version.data,
          SecretDataType: version.dataType,
          SecretType: 'Generic',
          VersionStages: { VersionStage: [...version.stages] },
        };
      }
      case 'DescribeSecret': {
        permitted(name);
        // A secret in its deletion window is still described, with its PlannedDeleteTime (a field of DescribeSecret's
        // documented response; Terraform's alicloud_kms_secret reads planned_delete_time from it, and its tests that
        // delete with a recovery window skip the destroy check, which a 404 would pass).
        const secret = secrets.get(name ?? '');
        if (!secret) throw new AlibabaError(404, 'Forbidden.ResourceNotFound', 'The resource you requested is not found');
        return {
          Arn: `acs:kms:fake-region:1234567890123456:secret/${secret.name}`,
          SecretName: secret.name,
          Description: secret.description,
          CreateTime: secret.createTime,
          UpdateTime: secret.versions.at(-1)!.createTime,
          SecretType: 'Generic',
          ...(secret.plannedDeleteTime ? { PlannedDeleteTime: secret.plannedDeleteTime } : {}),
          ...(params.get('FetchTags') === 'true' ? { Tags: tagList(secret.tags) } : {}),
        };
      }
      case 'ListSecrets': {
        permitted(undefined);
        const pageNumber = Number(params.get('PageNumber') ?? '1');
        const pageSize = Number(params.get('PageSize') ?? '10');
        if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) throw new AlibabaError(400, 'InvalidParameter', 'The specified parameter PageSize is not valid.');
        if (!Number.isInteger(pageNumber) || pageNumber < 1) throw new AlibabaError(400, 'InvalidParameter', 'The specified parameter PageNumber is not valid.');
        let filters: { Key: string; Values: string[] }[] = [];
        const rawFilters = params.get('Filters');
        if (rawFilters !== undefined) {
          try {
            filters = JSON.parse(rawFilters) as typeof filters;
            if (!Array.isArray(filters) || !filters.every((f) => typeof f.Key === 'string' && Array.isArray(f.Values))) throw new Error();
          } catch {
            throw new AlibabaError(400, 'InvalidParameter', 'The specified parameter Filters is not valid.');
          }
        }
        // Keys AND, values of one key OR; SecretName and Description match fuzzily (substring), tags exactly.
        const matches = (secret: FakeSecret) =>
          filters.every(({ Key, Values }) => {
            switch (Key) {
              case 'SecretName':
                return Values.some((v) => secret.name.includes(v));
              case 'Description':
                return Values.some((v) => secret.description.includes(v));
              case 'TagKey':
                return Values.some((v) => v in secret.tags);
              case 'TagValue':
                return Values.some((v) => Object.values(secret.tags).includes(v));
              default:
                throw new AlibabaError(400, 'InvalidParameter', `The specified filter key ${Key} is not valid.`);
            }
          });
        const all = [...secrets.values()].filter(matches).sort((a, b) => (a.name < b.name ? -1 : 1));
        const page = all.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
        const withTags = params.get('FetchTags') === 'true';
        return {
          PageNumber: pageNumber,
          PageSize: pageSize,
          TotalCount: all.length,
          SecretList: {
            Secret: page.map((secret) => ({
              SecretName: secret.name,
              CreateTime: secret.createTime,
              UpdateTime: secret.versions.at(-1)!.createTime,
              SecretType: 'Generic',
              ...(secret.plannedDeleteTime ? { PlannedDeleteTime: secret.plannedDeleteTime } : {}),
              ...(withTags ? { Tags: tagList(secret.tags) } : {}),
            })),
          },
        };
      }
      case 'CreateSecret': {
        const secretName = required(params, 'SecretName');
        const versionId = required(params, 'VersionId');
        const data = required(params, 'SecretData');
        checkSecretName(secretName);
        checkVersionId(versionId);
        const dataType = secretDataType(params);
        const tags = parseTags(params.get('Tags'), 'Tags');
        permitted(secretName);
        const found = secrets.get(secretName);
        if (found?.plannedDeleteTime !== undefined) throw new AlibabaError(409, 'Rejected.ResourceInDeleteWindow', 'The secret is planned to be deleted.');
        if (found) throw new AlibabaError(409, 'Rejected.ResourceExist', 'The resource already exists.');
        const secret: FakeSecret = { name: secretName, description: params.get('Description') ?? '', tags: Object.fromEntries(tags), versions: [], createTime: isoSeconds(now()) };
        secrets.set(secretName, secret);
        addVersion(secret, { versionId, data: checkedData(data, dataType), dataType, stages: new Set(['ACSCurrent']), createTime: isoSeconds(now()) });
        writes.push({ eventName: 'CreateSecret', secretName, principal: writer });
        return { Arn: `acs:kms:fake-region:1234567890123456:secret/${secretName}`, SecretName: secretName, VersionId: versionId, SecretType: 'Generic' };
      }
      case 'PutSecretValue': {
        const secretName = required(params, 'SecretName');
        const versionId = required(params, 'VersionId');
        const data = required(params, 'SecretData');
        checkVersionId(versionId);
        const dataType = secretDataType(params);
        let stages = ['ACSCurrent'];
        const rawStages = params.get('VersionStages');
        if (rawStages !== undefined) {
          try {
            stages = JSON.parse(rawStages) as string[];
            if (!Array.isArray(stages) || stages.length === 0 || !stages.every((stage) => typeof stage === 'string' && stage !== '')) throw new Error();
          } catch {
            throw new AlibabaError(400, 'InvalidParameter', 'The specified parameter VersionStages is not valid.');
          }
        }
        permitted(secretName);
        const secret = writable(secretName);
        if (secret.versions.some((v) => v.versionId === versionId)) throw new AlibabaError(409, 'Rejected.ResourceExist', 'The resource already exists.');
        addVersion(secret, { versionId, data: checkedData(data, dataType), dataType, stages: new Set(stages), createTime: isoSeconds(now()) });
        writes.push({ eventName: 'PutSecretValue', secretName, principal: writer });
        return { SecretName: secretName, VersionId: versionId, VersionStages: { VersionStage: stages } };
      }
      case 'DeleteSecret': {
        const secretName = required(params, 'SecretName');
        const force = params.get('ForceDeleteWithoutRecovery');
        if (force !== undefined && force !== 'true' && force !== 'false') throw new AlibabaError(400, 'InvalidParameter', 'The specified parameter ForceDeleteWithoutRecovery is not valid.');
        const days = Number(params.get('RecoveryWindowInDays') ?? '30');
        if (!Number.isInteger(days) || days < 7 || days > 30) throw new AlibabaError(400, 'InvalidParameter', 'The specified parameter RecoveryWindowInDays is not valid.');
        permitted(secretName);
        const secret = writable(secretName);
        if (force === 'true') secrets.delete(secretName);
        else secret.plannedDeleteTime = isoSeconds(now() + days * 86_400_000);
        writes.push({ eventName: 'DeleteSecret', secretName, principal: writer });
        return { SecretName: secretName, ...(force === 'true' ? {} : { PlannedDeleteTime: secret.plannedDeleteTime }) };
      }
      case 'RestoreSecret': {
        const secretName = required(params, 'SecretName');
        permitted(secretName);
        const secret = secrets.get(secretName);
        if (!secret) throw new AlibabaError(404, 'Forbidden.ResourceNotFound', 'The resource is not found.');
        if (secret.plannedDeleteTime === undefined) throw new AlibabaError(400, 'Rejected.SecretNotInDeleteWindow', 'The secret is not planned to be deleted.');
        delete secret.plannedDeleteTime;
        writes.push({ eventName: 'RestoreSecret', secretName, principal: writer });
        return { SecretName: secretName };
      }
      case 'TagResource': {
        const secretName = required(params, 'SecretName');
        const tags = parseTags(required(params, 'Tags'), 'Tags');
        if (tags.size === 0) throw new AlibabaError(400, 'InvalidParameter', 'The specified parameter Tags is not valid.');
        permitted(secretName);
        const secret = writable(secretName);
        for (const [key, value] of tags) secret.tags[key] = value;
        if (Object.keys(secret.tags).length > MAX_TAGS) throw new AlibabaError(400, 'Rejected.LimitExceeded', 'The number of tags exceeds the limit.');
        writes.push({ eventName: 'TagResource', secretName, principal: writer });
        return {};
      }
      case 'UntagResource': {
        const secretName = required(params, 'SecretName');
        let keys: string[];
        try {
          keys = JSON.parse(required(params, 'TagKeys')) as string[];
          if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string')) throw new Error();
        } catch {
          throw new AlibabaError(400, 'InvalidParameter', 'The specified parameter TagKeys is not valid.');
        }
        permitted(secretName);
        const secret = writable(secretName);
        for (const key of keys) delete secret.tags[key];
        writes.push({ eventName: 'UntagResource', secretName, principal: writer });
        return {};
      }
      case 'UpdateSecret': {
        const secretName = required(params, 'SecretName');
        permitted(secretName);
        const secret = writable(secretName);
        const description = params.get('Description');
        if (description !== undefined) secret.description = description;
        writes.push({ eventName: 'UpdateSecret', secretName, principal: writer });
        return { SecretName: secretName };
      }
      default:
        throw new AlibabaError(404, 'InvalidAction.NotFound', `Specified api is not found, please check your url and method.`);
    }
  }

  function assumeRoleWithOIDC(params: ReadonlyMap<string, string>): Record<string, unknown> {
    for (const name of ['OIDCProviderArn', 'RoleArn', 'OIDCToken', 'RoleSessionName']) {
      if (!params.get(name)) throw new AlibabaError(400, `MissingParameter`, `The input parameter "${name}" that is mandatory for processing this request is not supplied.`);
    }
    const sessionName = params.get('RoleSessionName')!;
    if (!/^[A-Za-z0-9._@-]{2,64}$/.test(sessionName)) throw new AlibabaError(400, 'InvalidParameter.RoleSessionName', 'The parameter RoleSessionName is wrongly formed.');
    const provider = oidcProviders.get(params.get('OIDCProviderArn')!);
    if (!provider) throw new AlibabaError(404, 'EntityNotExist.OIDCProvider', 'The specified OIDC provider does not exist.');
    const role = roles.get(params.get('RoleArn')!);
    if (!role) throw new AlibabaError(404, 'EntityNotExist.Role', 'The specified Role not exists.');
    const { claims, refused } = checkToken(params.get('OIDCToken')!, keys, { issuer: provider.issuer, audience: STS_AUDIENCE, now: now() });
    if (refused !== undefined) {
      if (refused === 'expired') throw new AlibabaError(400, 'AuthenticationFail.OIDCToken.Expired', 'The OIDC token has expired.');
      if (refused.startsWith('issuer')) throw new AlibabaError(400, 'AuthenticationFail.OIDCToken.IssuerNotMatch', "The issuer of the OIDC token does not match the OIDC provider's issuer URL.");
      if (refused.startsWith('audience')) throw new AlibabaError(400, 'AuthenticationFail.OIDCToken.ClientIdNotMatch', "The audience of the OIDC token is not a client ID of the OIDC provider.");
      throw new AlibabaError(400, 'AuthenticationFail.OIDCToken.Invalid', 'The OIDC token is invalid: its signature cannot be verified with the OIDC provider\'s keys.');
    }
    const audiences = Array.isArray(claims['aud']) ? (claims['aud'] as string[]) : [String(claims['aud'])];
    if (!audiences.some((aud) => provider.clientIds.includes(aud))) {
      throw new AlibabaError(400, 'AuthenticationFail.OIDCToken.ClientIdNotMatch', 'The audience of the OIDC token is not a client ID of the OIDC provider.');
    }
    if (role.oidcProviderArn !== params.get('OIDCProviderArn') || !role.subjects.includes(String(claims['sub']))) {
      throw new AlibabaError(403, 'AuthenticationFail.NoPermission', 'You are not authorized to assume the role: its trust policy does not allow this OIDC token (oidc:sub).');
    }
    const duration = Number(params.get('DurationSeconds') ?? '3600');
    if (!Number.isInteger(duration) || duration < 900 || duration > (role.maxSessionSeconds ?? 3600)) {
      throw new AlibabaError(400, 'InvalidParameter.DurationSeconds', 'The DurationSeconds is out of range.');
    }
    const accessKeyId = `STS.${randomBytes(12).toString('hex')}`;
    const expiration = now() + duration * 1000;
    const session: Session = {
      secret: randomBytes(20).toString('base64url'),
      securityToken: `CAIS${randomBytes(96).toString('base64')}`,
      expiresAt: role.sessionsExpireAfterMs === undefined ? expiration : now() + role.sessionsExpireAfterMs,
      role,
    };
    sessions.set(accessKeyId, session);
    const roleName = role.arn.slice(role.arn.indexOf(':role/') + ':role/'.length);
    return {
      Credentials: { AccessKeyId: accessKeyId, AccessKeySecret: session.secret, SecurityToken: session.securityToken, Expiration: isoSeconds(expiration) },
      AssumedRoleUser: { Arn: `acs:ram::1234567890123456:role/${roleName}/${sessionName}`, AssumedRoleId: `3${randomBytes(8).toString('hex')}:${sessionName}` },
      OIDCTokenInfo: {
        Subject: String(claims['sub']),
        Issuer: String(claims['iss']),
        ClientIds: audiences.join(','),
        IssuanceTime: isoSeconds(Number(claims['iat']) * 1000),
        ExpirationTime: isoSeconds(Number(claims['exp']) * 1000),
      },
    };
  }

  function handler(service: 'kms' | 'sts') {
    return (incoming: http.IncomingMessage, response: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const requestId = randomUUID().toUpperCase();
        const request = parseRequest(incoming, Buffer.concat(chunks));
        const { params, headers } = request;
        // V1 names the action and version as parameters, V3 as x-acs-action / x-acs-version headers.
        const action = params.get('Action') ?? headers['x-acs-action'] ?? '';
        const qualified = `${service}:${action}`;
        const answer = (status: number, body: Record<string, unknown>) =>
          response.writeHead(status, { 'content-type': 'application/json;charset=utf-8', 'x-acs-request-id': requestId }).end(JSON.stringify({ RequestId: requestId, ...body }));
        let principal: string | undefined;
        try {
          const fault = faults.find((f) => f.action === qualified && (f.times === undefined || f.times > 0));
          if (fault) {
            if (fault.times !== undefined) fault.times--;
            throw new AlibabaError(fault.status, fault.code, fault.message ?? `injected ${fault.code}`);
          }
          const version = params.get('Version') ?? headers['x-acs-version'];
          if (version !== (service === 'kms' ? KMS_VERSION : STS_VERSION)) throw new AlibabaError(400, 'InvalidVersion', 'Specified parameter Version is not valid.');
          if (service === 'kms') {
            const who = authenticate(request);
            principal = who.principal;
            writes = [];
            const body = kms(action, params, who.allow, who.principal);
            requests.push({ action: qualified, secretName: params.get('SecretName'), principal, refused: undefined });
            answer(200, body);
            for (const write of writes) recordApiCall(write.eventName, write.secretName, write.principal);
          } else {
            if (action !== 'AssumeRoleWithOIDC') throw new AlibabaError(404, 'InvalidAction.NotFound', 'Specified api is not found, please check your url and method.');
            // Anonymous, but still fresh and never replayed.
            checkFreshness(params.get('Timestamp') ?? headers['x-acs-date'], params.get('SignatureNonce') ?? headers['x-acs-signature-nonce']);
            principal = params.get('RoleArn');
            const body = assumeRoleWithOIDC(params);
            requests.push({ action: qualified, secretName: undefined, principal, refused: undefined });
            answer(200, body);
          }
        } catch (error) {
          if (!(error instanceof AlibabaError)) {
            answer(500, { Code: 'InternalError', Message: 'The request processing has failed due to some unknown error.', HostId: headers['host'] ?? '' });
            return;
          }
          requests.push({ action: qualified, secretName: params.get('SecretName'), principal, refused: error.code });
          answer(error.status, { Code: error.code, Message: error.message, HostId: headers['host'] ?? '', Recommend: 'https://api.aliyun.com/troubleshoot' });
        }
      });
    };
  }

  const host = options.host ?? '127.0.0.1';
  const listen = async (server: http.Server) => {
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return `http://${host}:${(server.address() as AddressInfo).port}`;
  };
  // The SDKs send every RPC parameter in the query string, SecretData included: room for a 30 KiB value, encoded.
  const kmsServer = http.createServer({ maxHeaderSize: 256 * 1024 }, handler('kms'));
  const stsServer = http.createServer(handler('sts'));
  const kmsEndpoint = await listen(kmsServer);
  const stsEndpoint = await listen(stsServer);

  return {
    kmsEndpoint,
    stsEndpoint,
    requests,
    count: (action, secretName) => requests.filter((r) => r.action === action && r.refused === undefined && (secretName === undefined || r.secretName === secretName)).length,
    addAccessKey(key) {
      accessKeys.set(key.id, { secret: key.secret, allow: key.allow ?? allowAll });
    },
    addOidcProvider(provider) {
      oidcProviders.set(provider.arn, { issuer: provider.issuer, clientIds: provider.clientIds ?? [STS_AUDIENCE] });
    },
    addRole(role) {
      roles.set(role.arn, role);
    },
    putSecret(name, value) {
      const binary = typeof value.data !== 'string';
      const data = typeof value.data === 'string' ? value.data : Buffer.from(value.data).toString('base64');
      let secret = secrets.get(name);
      if (!secret) {
        secret = { name, description: value.description ?? '', tags: { ...(value.tags ?? {}) }, versions: [], createTime: isoSeconds(now()) };
        secrets.set(name, secret);
      } else {
        if (value.description !== undefined) secret.description = value.description;
        if (value.tags !== undefined) secret.tags = { ...value.tags };
      }
      const versionId = value.versionId ?? `v${secret.versions.length + 1}`;
      const stages = new Set(value.stages ?? ['ACSCurrent']);
      if (stages.has('ACSCurrent')) {
        for (const version of secret.versions) version.stages.delete('ACSPrevious');
        for (const version of secret.versions) {
          if (version.stages.delete('ACSCurrent')) version.stages.add('ACSPrevious');
        }
      }
      for (const stage of stages) for (const version of secret.versions) if (stage !== 'ACSCurrent') version.stages.delete(stage);
      const created = secret.versions.length === 0;
      secret.versions.push({ versionId, data, dataType: binary ? 'binary' : 'text', stages, createTime: isoSeconds(now()) });
      recordApiCall(created ? 'CreateSecret' : 'PutSecretValue', name, undefined);
      return versionId;
    },
    scheduleDeletion(name) {
      const secret = secrets.get(name);
      if (secret) secret.plannedDeleteTime = isoSeconds(now() + 7 * 86_400_000);
      if (secret) recordApiCall('DeleteSecret', name, undefined);
    },
    inspect(name) {
      const secret = secrets.get(name);
      if (!secret) return undefined;
      const current = secret.versions.find((v) => v.stages.has('ACSCurrent'));
      return { tags: { ...secret.tags }, description: secret.description, versions: secret.versions.length, current: current?.data, currentType: current?.dataType, plannedDeleteTime: secret.plannedDeleteTime };
    },
    onApiCall(listener) {
      apiCallListeners.add(listener);
      return () => apiCallListeners.delete(listener);
    },
    credential(accessKeyId) {
      const session = sessions.get(accessKeyId);
      if (session) return { secret: session.secret, securityToken: session.securityToken, expiresAt: session.expiresAt, principal: session.role.arn, allow: session.role.allow };
      const key = accessKeys.get(accessKeyId);
      return key ? { secret: key.secret, securityToken: undefined, expiresAt: undefined, principal: accessKeyId, allow: key.allow } : undefined;
    },
    inject(fault) {
      faults.push(fault);
    },
    expireSessions() {
      for (const session of sessions.values()) session.expiresAt = Math.min(session.expiresAt, now());
    },
    clearRequests() {
      requests.length = 0;
      faults = [];
    },
    reset() {
      secrets.clear();
      accessKeys.clear();
      oidcProviders.clear();
      roles.clear();
      sessions.clear();
      nonces.clear();
      requests.length = 0;
      faults = [];
    },
    stop: async () => {
      for (const server of [kmsServer, stsServer]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}
