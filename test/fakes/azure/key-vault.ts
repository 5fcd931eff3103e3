// A fake Azure Key Vault data plane over HTTPS, from Microsoft's REST reference, at the api-versions the SDKs send:
// secrets set (a new version; how test-bed users add secrets),
// secrets get / list / list versions (paged with nextLink), certificates get, keys get; attributes (enabled, nbf,
// exp, created, updated), tags; the challenge flow exactly as the service does it (a request without a token gets
// 401 with `WWW-Authenticate: Bearer authorization="…", resource="…"`); access tokens from the Entra ID fake checked
// for signature, expiry, audience (the vault resource) and tenant, then the caller's object id against the vault's
// role assignments (403 naming the missing action, as Key Vault's RBAC does); errors in Key Vault's JSON shape;
// injected 429s with Retry-After. One HTTPS server per vault (a vault is a host, and object ids carry it).
import { createHash, generateKeyPairSync, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FakeEntra } from './entra.ts';
import type { TestTls } from './tls.ts';
import { answerFault, type FaultRule } from '../../support/fault-proxy.ts';

export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';
/** api-versions the service accepts (7.x and the dated ones the current SDKs send). */
export const API_VERSIONS = ['7.0', '7.1', '7.2', '7.3', '7.4', '7.5', '7.6', '2025-07-01', '2026-04-01'];

export type VaultPermission = 'secrets/get' | 'secrets/list' | 'secrets/set' | 'secrets/delete' | 'certificates/get' | 'keys/get';
/** What the Key Vault Secrets User, Certificate User and Crypto User roles allow: every read, no write. */
export const READ_PERMISSIONS: readonly VaultPermission[] = ['secrets/get', 'secrets/list', 'certificates/get', 'keys/get'];
const ACTIONS: Record<VaultPermission, string> = {
  'secrets/get': 'Microsoft.KeyVault/vaults/secrets/getSecret/action',
  'secrets/list': 'Microsoft.KeyVault/vaults/secrets/readMetadata/action',
  'secrets/set': 'Microsoft.KeyVault/vaults/secrets/setSecret/action',
  'secrets/delete': 'Microsoft.KeyVault/vaults/secrets/delete',
  'certificates/get': 'Microsoft.KeyVault/vaults/certificates/read',
  'keys/get': 'Microsoft.KeyVault/vaults/keys/read',
};

export interface ObjectAttributes {
  readonly enabled?: boolean;
  /** Seconds since the epoch, as the REST API. */
  readonly nbf?: number;
  readonly exp?: number;
}

export interface SetOptions extends ObjectAttributes {
  readonly tags?: Record<string, string>;
  readonly contentType?: string;
}

interface Version {
  readonly version: string;
  readonly created: number;
  readonly attributes: ObjectAttributes;
  readonly tags: Record<string, string>;
}
interface SecretVersion extends Version {
  readonly value: string;
  readonly contentType?: string | undefined;
  readonly managed?: boolean;
}
interface CertificateVersion extends Version {
  readonly der: Buffer;
  readonly subject: string;
}
interface KeyVersion extends Version {
  readonly jwk: { kty: string; n: string; e: string };
}

/** One request the vault answered. */
export interface VaultRequest {
  readonly method: string;
  /** Path without the query, e.g. /secrets/db/ */
  readonly path: string;
  readonly status: number;
  readonly at: number;
  readonly authorized: boolean;
}

export interface InjectedThrottle {
  /** Only requests whose path starts with this; default any. */
  readonly pathPrefix?: string;
  readonly retryAfterSeconds: number;
  /** How many requests to refuse; default every one until cleared. */
  times?: number;
}

export interface FakeVault {
  readonly name: string;
  readonly url: string;
  readonly tenantId: string;
  setSecret(name: string, value: string, options?: SetOptions): string;
  setCertificate(name: string, cert: { certPem: string; keyPem: string }, options?: SetOptions): string;
  setKey(name: string, options?: SetOptions): { version: string; n: string; e: string };
  /**
   * Replaces what `objectId` may do. `secrets`: a role assignment at the scope of those secrets (and certificates or
   * keys of those names) instead of the vault — Key Vault then refuses every other name with 403, existing or not;
   * `effectiveInMs`: the assignment takes effect that long after this call, as role assignments propagate.
   */
  grant(objectId: string, permissions?: readonly VaultPermission[], options?: { readonly secrets?: readonly string[]; readonly effectiveInMs?: number }): void;
  revoke(objectId: string): void;
  throttle(throttle: InjectedThrottle): void;
  /**
   * Decides each request before the fake does (test/support/fault-proxy.ts's faults: a status, a reset, a stall);
   * 'forward' (the default rule) lets the fake answer as it would. undefined restores the default.
   */
  setFaultRule(rule: FaultRule | undefined): void;
  readonly requests: VaultRequest[];
  /** Authorized GETs of `path` prefix (e.g. "/secrets/db"). */
  count(pathPrefix: string): number;
  /**
   * Calls `listener` with the event Key Vault publishes to Event Grid for each new version of a secret, certificate
   * or key (Microsoft.KeyVault.SecretNewVersionCreated …), and for `expiring`. Returns a function that unsubscribes.
   */
  onEvent(listener: (event: KeyVaultEvent) => void): () => void;
  /** Publishes SecretNearExpiry or SecretExpired for the current version of secret `name`, as the service does on its schedule. */
  expiring(name: string, event: 'SecretNearExpiry' | 'SecretExpired'): void;
  /** The current version of secret `name` (value, tags, contentType), or undefined; whether it is soft-deleted. */
  inspect(name: string): { value: string; tags: Record<string, string>; contentType?: string | undefined; versions: number } | undefined;
  isDeleted(name: string): boolean;
  /** Forgets requests and throttles (between tests); objects and grants stay. */
  clear(): void;
  stop(): Promise<void>;
}

/** What Key Vault publishes to Event Grid about an object (the event's `data`, as its docs spell it in CloudEvents schema). */
export interface KeyVaultEvent {
  /** SecretNewVersionCreated, CertificateNewVersionCreated, KeyNewVersionCreated, SecretNearExpiry, SecretExpired. */
  readonly type: string;
  readonly vaultName: string;
  readonly vaultUrl: string;
  readonly objectType: 'Secret' | 'Certificate' | 'Key';
  readonly objectName: string;
  readonly version: string;
  readonly nbf?: number | undefined;
  readonly exp?: number | undefined;
}

export interface FakeVaultOptions {
  readonly tls: TestTls;
  readonly entra: FakeEntra;
  readonly name: string;
  readonly tenantId: string;
  /** The resource tokens must be for; default https://vault.azure.net. */
  readonly resource?: string;
  readonly now?: () => number;
  /** Page size of listings; default 25 (the service's default maxresults). */
  readonly pageSize?: number;
}

const seconds = (ms: number) => Math.floor(ms / 1000);
const newVersion = () => randomBytes(16).toString('hex');

export async function startFakeVault(options: FakeVaultOptions): Promise<FakeVault> {
  const now = options.now ?? Date.now;
  const resource = options.resource ?? KEY_VAULT_RESOURCE;
  const { tenantId } = options;
  const secrets = new Map<string, { name: string; versions: SecretVersion[] }>();
  /** Soft-deleted secrets (the vault's default): recoverable, and their names cannot be set again until purged. */
  const deletedSecrets = new Map<string, { name: string; versions: SecretVersion[]; deletedDate: number }>();
  const certificates = new Map<string, { name: string; versions: CertificateVersion[] }>();
  const keys = new Map<string, { name: string; versions: KeyVersion[] }>();
  const grants = new Map<string, { readonly permissions: Set<VaultPermission>; readonly names: Set<string> | undefined; readonly effectiveAt: number }>();
  const throttles: InjectedThrottle[] = [];
  const requests: VaultRequest[] = [];
  let url = '';

  const attributesJson = (v: Version, recoverable = true) => ({
    enabled: v.attributes.enabled ?? true,
    ...(v.attributes.nbf !== undefined ? { nbf: v.attributes.nbf } : {}),
    ...(v.attributes.exp !== undefined ? { exp: v.attributes.exp } : {}),
    created: v.created,
    updated: v.created,
    ...(recoverable ? { recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 } : {}),
  });
  const listeners = new Set<(event: KeyVaultEvent) => void>();
  const publish = (type: string, objectType: KeyVaultEvent['objectType'], name: string, v: Version) => {
    const event: KeyVaultEvent = { type, vaultName: options.name, vaultUrl: url, objectType, objectName: name, version: v.version, nbf: v.attributes.nbf, exp: v.attributes.exp };
    for (const listener of listeners) listener(event);
  };
  const push = <V extends Version>(map: Map<string, { name: string; versions: V[] }>, name: string, version: V) => {
    const entry = map.get(name.toLowerCase()) ?? { name, versions: [] };
    entry.versions.push(version);
    map.set(name.toLowerCase(), entry);
    const objectType = map === (secrets as Map<string, unknown>) ? 'Secret' : map === (certificates as Map<string, unknown>) ? 'Certificate' : 'Key';
    // A certificate's own secret gets no event of its own: the service announces the certificate.
    if (objectType === 'Secret' && (version as unknown as SecretVersion).managed) return;
    publish(`${objectType}NewVersionCreated`, objectType, entry.name, version);
  };
  const base = (options?: SetOptions) => ({
    version: newVersion(),
    created: seconds(now()),
    attributes: { ...(options?.enabled !== undefined ? { enabled: options.enabled } : {}), ...(options?.nbf !== undefined ? { nbf: options.nbf } : {}), ...(options?.exp !== undefined ? { exp: options.exp } : {}) },
    tags: options?.tags ?? {},
  });

  const secretBundle = (name: string, v: SecretVersion) => ({
    value: v.value,
    ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
    id: `${url}/secrets/${name}/${v.version}`,
    attributes: attributesJson(v),
    tags: v.tags,
    ...(v.managed ? { kid: `${url}/keys/${name}/${v.version}`, managed: true } : {}),
  });
  const deletedBundle = (name: string, v: SecretVersion, deletedDate: number) => ({
    ...secretBundle(name, v),
    value: undefined,
    recoveryId: `${url}/deletedsecrets/${name}`,
    deletedDate,
    scheduledPurgeDate: deletedDate + 90 * 86_400,
  });
  const secretItem = (name: string, v: SecretVersion, withVersion: boolean) => ({
    id: withVersion ? `${url}/secrets/${name}/${v.version}` : `${url}/secrets/${name}`,
    attributes: attributesJson(v),
    tags: v.tags,
    ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
    ...(v.managed ? { managed: true } : {}),
  });

  type Reply = { status: number; body: unknown; headers?: Record<string, string> };
  const error = (status: number, code: string, message: string, inner?: string): Reply => ({
    status,
    body: { error: { code, message, ...(inner ? { innererror: { code: inner } } : {}) } },
  });
  const challenge = { 'WWW-Authenticate': `Bearer authorization="${options.entra.authorityHost}/${tenantId}", resource="${resource}"` };
  const notFound = (kind: 'secret' | 'certificate' | 'key', id: string): Reply =>
    error(404, `${kind[0]!.toUpperCase()}${kind.slice(1)}NotFound`, `A ${kind} with (name/id) ${id} was not found in this key vault. If you recently deleted this ${kind} you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`);

  function authorize(header: string | undefined, permission: VaultPermission, objectPath: string): Reply | undefined {
    if (!header || !/^Bearer /i.test(header)) return { ...error(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.'), headers: challenge };
    const verified = options.entra.verifyAccessToken(header.slice('Bearer '.length).trim());
    if ('refused' in verified) return { ...error(401, 'Unauthorized', verified.refused), headers: challenge };
    const { claims } = verified;
    if (claims['aud'] !== resource && claims['aud'] !== `${resource}/`) {
      return { ...error(401, 'Unauthorized', `AKV10022: Invalid audience. Expected ${resource}, found: ${String(claims['aud'])}.`), headers: challenge };
    }
    if (claims['tid'] !== tenantId) {
      return { ...error(401, 'Unauthorized', `AKV10032: Invalid issuer. Expected one of https://sts.windows.net/${tenantId}/, https://login.microsoftonline.com/${tenantId}/v2.0, found ${String(claims['iss'])}.`), headers: challenge };
    }
    const objectId = String(claims['oid']);
    const assignment = grants.get(objectId);
    // RBAC is checked before the object is looked up: a name outside a per-secret assignment is refused, existing or not.
    const objectName = objectPath.split('/')[2]?.toLowerCase();
    const inScope = assignment !== undefined && (assignment.names === undefined || (objectName !== undefined && assignment.names.has(objectName)));
    if (!assignment || !inScope || assignment.effectiveAt > now() || !assignment.permissions.has(permission)) {
      return error(
        403,
        'Forbidden',
        'Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n' +
          `Caller: appid=${String(claims['appid'])};oid=${objectId};iss=${String(claims['iss'])}\r\nAction: '${ACTIONS[permission]}'\r\n` +
          `Resource: '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/test/providers/microsoft.keyvault/vaults/${options.name}${objectPath.toLowerCase()}'\r\n` +
          `Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: ${options.name};location=westeurope\r\n`,
        'ForbiddenByRbac',
      );
    }
    return undefined;
  }

  const pick = <V extends Version>(entry: { versions: V[] } | undefined, version: string | undefined): V | undefined =>
    entry === undefined ? undefined : version ? entry.versions.find((v) => v.version === version) : entry.versions[entry.versions.length - 1];

  function page<T>(items: T[], query: URLSearchParams, path: string, apiVersion: string): Reply {
    const max = Math.min(Number(query.get('maxresults') ?? options.pageSize ?? 25) || 25, 25);
    const skip = Number(query.get('$skiptoken') ?? '0') || 0;
    const slice = items.slice(skip, skip + max);
    const more = skip + max < items.length;
    return { status: 200, body: { value: slice, nextLink: more ? `${url}${path}?api-version=${apiVersion}&$skiptoken=${skip + max}&maxresults=${max}` : null } };
  }

  function route(method: string, path: string, query: URLSearchParams, authorization: string | undefined, text: string): Reply {
    const apiVersion = query.get('api-version');
    if (!apiVersion) return error(400, 'BadParameter', 'The api-version query parameter is required.');
    if (!API_VERSIONS.includes(apiVersion)) return error(400, 'BadParameter', `The specified version (${apiVersion}) is not recognized. Consider using the latest supported version (2025-07-01).`);
    const parts = path.split('/').filter((part) => part !== '');
    const [collection, name, version] = parts;
    const objectPath = `/${parts.join('/')}`;
    if (method === 'PUT' && collection === 'secrets' && name && parts.length === 2) {
      // Set Secret: a new version (how a test bed user adds secrets).
      if (!/^[0-9a-zA-Z-]{1,127}$/.test(name)) return error(400, 'BadParameter', `The secret name '${name}' is invalid: use 1-127 letters, digits and dashes.`);
      const denied = authorize(authorization, 'secrets/set', `/secrets/${name}`);
      if (denied) return denied;
      let body: { value?: unknown; tags?: unknown; contentType?: unknown; attributes?: { enabled?: unknown; nbf?: unknown; exp?: unknown } };
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        return error(400, 'BadParameter', 'The request body is not valid JSON.');
      }
      if (typeof body.value !== 'string') return error(400, 'BadParameter', 'Property value is required.');
      if (deletedSecrets.has(name.toLowerCase())) {
        return error(409, 'Conflict', `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`, 'ObjectIsDeletedButRecoverable');
      }
      const attributes = body.attributes ?? {};
      const v: SecretVersion = {
        ...base({
          ...(typeof attributes.enabled === 'boolean' ? { enabled: attributes.enabled } : {}),
          ...(typeof attributes.nbf === 'number' ? { nbf: attributes.nbf } : {}),
          ...(typeof attributes.exp === 'number' ? { exp: attributes.exp } : {}),
          ...(body.tags && typeof body.tags === 'object' ? { tags: body.tags as Record<string, string> } : {}),
        }),
        value: body.value,
        contentType: typeof body.contentType === 'string' ? body.contentType : undefined,
      };
      push(secrets, name, v);
      return { status: 200, body: secretBundle(secrets.get(name.toLowerCase())!.name, v) };
    }
    if (method === 'DELETE' && collection === 'secrets' && name && parts.length === 2) {
      // Delete Secret: soft delete, answering the DeletedSecretBundle.
      const denied = authorize(authorization, 'secrets/delete', `/secrets/${name}`);
      if (denied) return denied;
      const entry = secrets.get(name.toLowerCase());
      if (!entry) return notFound('secret', name);
      secrets.delete(name.toLowerCase());
      const deletedDate = seconds(now());
      deletedSecrets.set(name.toLowerCase(), { ...entry, deletedDate });
      return { status: 200, body: deletedBundle(entry.name, entry.versions[entry.versions.length - 1]!, deletedDate) };
    }
    if (method === 'GET' && collection === 'deletedsecrets' && name && parts.length === 2) {
      const denied = authorize(authorization, 'secrets/list', `/deletedsecrets/${name}`);
      if (denied) return denied;
      const entry = deletedSecrets.get(name.toLowerCase());
      if (!entry) return error(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
      return { status: 200, body: deletedBundle(entry.name, entry.versions[entry.versions.length - 1]!, entry.deletedDate) };
    }
    if (method !== 'GET') return error(405, 'MethodNotAllowed', `The ${method} method is not supported by this fake.`);
    if (collection === 'secrets' && parts.length === 1) {
      const denied = authorize(authorization, 'secrets/list', '/secrets');
      if (denied) return denied;
      const items = [...secrets.values()].map((entry) => secretItem(entry.name, entry.versions[entry.versions.length - 1]!, false));
      return page(items, query, '/secrets', apiVersion);
    }
    if (collection === 'secrets' && name && version === 'versions' && parts.length === 3) {
      const denied = authorize(authorization, 'secrets/list', objectPath);
      if (denied) return denied;
      const entry = secrets.get(name.toLowerCase());
      if (!entry) return notFound('secret', name);
      return page(entry.versions.map((v) => secretItem(entry.name, v, true)), query, `/secrets/${entry.name}/versions`, apiVersion);
    }
    if (collection === 'secrets' && name && parts.length <= 3) {
      const denied = authorize(authorization, 'secrets/get', `/secrets/${name}`);
      if (denied) return denied;
      const entry = secrets.get(name.toLowerCase());
      const v = pick(entry, version);
      if (!entry || !v) return notFound('secret', version ? `${name}/${version}` : name);
      if (v.attributes.enabled === false) return error(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled');
      return { status: 200, body: secretBundle(entry.name, v) };
    }
    if (collection === 'certificates' && name && parts.length <= 3) {
      const denied = authorize(authorization, 'certificates/get', `/certificates/${name}`);
      if (denied) return denied;
      const entry = certificates.get(name.toLowerCase());
      const v = pick(entry, version);
      if (!entry || !v) return notFound('certificate', version ? `${name}/${version}` : name);
      return {
        status: 200,
        body: {
          id: `${url}/certificates/${entry.name}/${v.version}`,
          kid: `${url}/keys/${entry.name}/${v.version}`,
          sid: `${url}/secrets/${entry.name}/${v.version}`,
          x5t: createHash('sha1').update(v.der).digest('base64url'),
          cer: v.der.toString('base64'),
          attributes: attributesJson(v),
          tags: v.tags,
          ...(version
            ? {}
            : {
                policy: {
                  id: `${url}/certificates/${entry.name}/policy`,
                  key_props: { exportable: true, kty: 'RSA', key_size: 2048, reuse_key: false },
                  secret_props: { contentType: 'application/x-pem-file' },
                  x509_props: { subject: v.subject, validity_months: 12 },
                  issuer: { name: 'Self' },
                  attributes: { enabled: true, created: v.created, updated: v.created },
                },
              }),
        },
      };
    }
    if (collection === 'keys' && name && parts.length <= 3) {
      const denied = authorize(authorization, 'keys/get', `/keys/${name}`);
      if (denied) return denied;
      const entry = keys.get(name.toLowerCase());
      const v = pick(entry, version);
      if (!entry || !v) return notFound('key', version ? `${name}/${version}` : name);
      return {
        status: 200,
        body: {
          key: { kid: `${url}/keys/${entry.name}/${v.version}`, kty: v.jwk.kty, key_ops: ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'], n: v.jwk.n, e: v.jwk.e },
          attributes: { ...attributesJson(v), exportable: false },
          tags: v.tags,
        },
      };
    }
    return error(404, 'NotFound', `The requested resource ${path} was not found.`);
  }

  let faultRule: FaultRule | undefined;
  const server = https.createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, (request, response) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => {
      const injected = faultRule?.({ method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers, body: text });
      if (injected && answerFault(injected, request, response)) return;
      const parsed = new URL(request.url ?? '/', url);
      const method = request.method ?? 'GET';
      const throttle = throttles.find((t) => (t.times === undefined || t.times > 0) && (t.pathPrefix === undefined || parsed.pathname.startsWith(t.pathPrefix)));
      let reply: Reply;
      if (throttle && request.headers.authorization) {
        if (throttle.times !== undefined) throttle.times--;
        reply = { ...error(429, 'Throttled', 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached'), headers: { 'Retry-After': String(throttle.retryAfterSeconds) } };
      } else {
        reply = route(method, parsed.pathname, parsed.searchParams, request.headers.authorization, text);
      }
      requests.push({ method, path: parsed.pathname, status: reply.status, at: now(), authorized: request.headers.authorization !== undefined });
      response.writeHead(reply.status, {
        'content-type': 'application/json; charset=utf-8',
        'x-ms-keyvault-service-version': '1.9.0.0',
        'x-ms-request-id': randomUUID(),
        'x-ms-keyvault-region': 'westeurope',
        ...(reply.headers ?? {}),
      });
      response.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    name: options.name,
    url,
    tenantId,
    setSecret(name, value, opts) {
      const v: SecretVersion = { ...base(opts), value, contentType: opts?.contentType };
      push(secrets, name, v);
      return v.version;
    },
    setCertificate(name, cert, opts) {
      const x509 = new X509Certificate(cert.certPem);
      const v: CertificateVersion = { ...base(opts), der: Buffer.from(x509.raw), subject: x509.subject.replace(/\n/g, ', ') };
      push(certificates, name, v);
      // The service keeps the certificate's secret (PEM with the key) and key under the same name and version.
      push(secrets, name, { ...v, value: cert.keyPem + cert.certPem, contentType: 'application/x-pem-file', managed: true });
      return v.version;
    },
    setKey(name, opts) {
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const jwk = pair.publicKey.export({ format: 'jwk' }) as { kty: string; n: string; e: string };
      const v: KeyVersion = { ...base(opts), jwk: { kty: 'RSA', n: jwk.n, e: jwk.e } };
      push(keys, name, v);
      return { version: v.version, n: jwk.n, e: jwk.e };
    },
    grant(objectId, permissions = READ_PERMISSIONS, grantOptions) {
      grants.set(objectId, {
        permissions: new Set(permissions),
        names: grantOptions?.secrets ? new Set(grantOptions.secrets.map((name) => name.toLowerCase())) : undefined,
        effectiveAt: now() + (grantOptions?.effectiveInMs ?? 0),
      });
    },
    revoke: (objectId) => void grants.delete(objectId),
    onEvent(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    expiring(name, event) {
      const entry = secrets.get(name.toLowerCase());
      const v = entry?.versions[entry.versions.length - 1];
      if (entry && v) publish(event, 'Secret', entry.name, v);
    },
    throttle: (t) => void throttles.push(t),
    setFaultRule: (rule) => void (faultRule = rule),
    requests,
    count: (prefix) => requests.filter((r) => r.authorized && r.status !== 401 && r.path.toLowerCase().startsWith(prefix.toLowerCase())).length,
    inspect(name) {
      const entry = secrets.get(name.toLowerCase());
      const v = entry?.versions[entry.versions.length - 1];
      return v ? { value: v.value, tags: { ...v.tags }, contentType: v.contentType, versions: entry!.versions.length } : undefined;
    },
    isDeleted: (name) => deletedSecrets.has(name.toLowerCase()),
    clear() {
      requests.splice(0);
      throttles.splice(0);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
