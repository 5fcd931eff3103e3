// A faithful fake of google.cloud.secretmanager.v1.SecretManagerService over gRPC, built from the .proto files the
// official npm client ships (so every message is the real one). Semantics as documented: secrets with labels and
// annotations, numbered versions, the `latest` alias (the most recently created version, whatever its state),
// ENABLED / DISABLED / DESTROYED, global and regional (projects/P/locations/L) resources, ListSecrets and
// ListSecretVersions filters and page tokens. Every call must carry a bearer token issued by the identity fake
// (iam.ts) for a principal granted the permission on that secret or its project; status codes and messages are
// Google's. Faults can be injected per method; every call is counted.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { GoogleIdentity, Principal } from './iam.ts';
import type { FakePubSub } from './pubsub.ts';
import * as http2 from 'node:http2';

const require = createRequire(import.meta.url);
// Both packages' entry points are build/src/index.js; their .proto trees are build/protos (google-gax holds
// google/api, google/iam and google/protobuf, which the Secret Manager protos import).
const protosOf = (pkg: string): string => join(dirname(require.resolve(pkg)), '../protos');
const SM_PROTOS = protosOf('@google-cloud/secret-manager');
const GAX_PROTOS = protosOf('google-gax');

/** Secret Manager's label rules: keys start with a lowercase letter; keys and values hold lowercase letters, digits, _ and -, at most 63 characters. */
function refuseBadLabels(labels: Record<string, string> | undefined): void {
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(key) || !/^[a-z0-9_-]{0,63}$/.test(value)) {
      throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid label: ${key}. Label keys must start with a lowercase letter and, like values, hold only lowercase letters, digits, underscores and dashes (at most 63 characters).`);
    }
  }
}

export const Role = {
  accessor: 'roles/secretmanager.secretAccessor',
  viewer: 'roles/secretmanager.viewer',
  admin: 'roles/secretmanager.admin',
} as const;
export type RoleName = (typeof Role)[keyof typeof Role];

const PERMISSIONS: Record<RoleName, readonly string[]> = {
  [Role.accessor]: ['secretmanager.versions.access'],
  [Role.viewer]: ['secretmanager.secrets.get', 'secretmanager.secrets.list', 'secretmanager.versions.get', 'secretmanager.versions.list'],
  [Role.admin]: [
    'secretmanager.versions.access',
    'secretmanager.secrets.get',
    'secretmanager.secrets.list',
    'secretmanager.versions.get',
    'secretmanager.versions.list',
    'secretmanager.secrets.create',
    'secretmanager.secrets.update',
    'secretmanager.secrets.delete',
    'secretmanager.versions.add',
    'secretmanager.versions.enable',
    'secretmanager.versions.disable',
    'secretmanager.versions.destroy',
  ],
};

type VersionState = 'ENABLED' | 'DISABLED' | 'DESTROYED';

interface Version {
  readonly number: number;
  readonly createTime: number;
  state: VersionState;
  data: Buffer | undefined;
  destroyTime?: number;
}

interface StoredSecret {
  /** projects/NUMBER[/locations/L]/secrets/ID */
  readonly name: string;
  readonly createTime: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Pub/Sub topics (projects/P/topics/T) Secret Manager publishes this secret's changes to. */
  topics: string[];
  readonly versions: Version[];
  /** member → role → when the grant takes effect (ms). */
  readonly grants: Map<string, Map<RoleName, number>>;
}

export interface SecretManagerCall {
  readonly method: string;
  /** The resource name asked for, as sent. */
  readonly name: string;
  readonly principal: string | undefined;
  readonly code: grpc.status;
}

export interface InjectedSecretManagerFault {
  readonly method: string;
  readonly code: grpc.status;
  readonly message: string;
  /** How many calls fail; default every one until cleared. */
  times?: number;
  /** Only calls about resources whose name starts with this (e.g. projects/p/secrets/s); default any. */
  readonly resourcePrefix?: string;
  /**
   * status (default): answer `code`; stall: never answer (the client's deadline ends the call); reset: reset the
   * call's HTTP/2 stream (RST_STREAM), as a proxy dropping it would.
   */
  readonly effect?: 'status' | 'stall' | 'reset';
}

export interface FakeSecretManager {
  /** host:port of the insecure (loopback) gRPC endpoint. */
  readonly address: string;
  readonly calls: SecretManagerCall[];
  /** Calls of `method` (e.g. AccessSecretVersion) whose name passes `name`. */
  count(method: string, name?: (name: string) => boolean): number;
  /** Creates a secret (global or in `location`) with a first version when `value` is given; returns its name. */
  createSecret(project: string, id: string, options?: { value?: string | Buffer; labels?: Record<string, string>; annotations?: Record<string, string>; location?: string; topics?: readonly string[] }): string;
  /** Adds a version; returns its number. */
  addVersion(project: string, id: string, value: string | Buffer, location?: string): number;
  setVersionState(project: string, id: string, version: number, state: VersionState, location?: string): void;
  /** Deletes a secret with its versions and grants. */
  deleteSecret(project: string, id: string, location?: string): void;
  /**
   * Grants a role on one secret (or, with id undefined, on the whole project) to an IAM member; with effectiveInMs
   * it takes effect that long after this call, as IAM changes propagate.
   */
  grant(member: string, role: RoleName, project: string, id?: string, location?: string, options?: { readonly effectiveInMs?: number }): void;
  inject(fault: InjectedSecretManagerFault): void;
  /** Removes the faults injected with this resourcePrefix (calls stalled meanwhile stay stalled). */
  clearFaults(resourcePrefix: string): void;
  /** A secret's labels, annotations and the latest enabled version's value as text (undefined when absent). */
  inspect(project: string, id: string): { labels: Record<string, string>; annotations: Record<string, string>; versions: number; latest: string | undefined } | undefined;
  /** Forgets calls and faults (not secrets). */
  clear(): void;
  /** Drops every secret and grant. */
  reset(): void;
  stop(): Promise<void>;
}

/**
 * The HTTP/2 stream under a grpc-js server call: the call wraps interceptors, the innermost holds the stream.
 * Private API of @grpc/grpc-js 1.x, used only to reset one call.
 */
function http2StreamOf(call: unknown): http2.ServerHttp2Stream | undefined {
  let inner = (call as { call?: unknown }).call as { stream?: http2.ServerHttp2Stream; nextCall?: unknown } | undefined;
  for (let depth = 0; inner && depth < 8; depth++) {
    if (inner.stream) return inner.stream;
    inner = inner.nextCall as typeof inner;
  }
  return undefined;
}

class RpcError extends Error {
  readonly code: grpc.status;
  constructor(code: grpc.status, message: string) {
    super(message);
    this.code = code;
  }
}

const timestamp = (ms: number) => ({ seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 });

/** A ListSecrets / ListSecretVersions filter: space-separated terms, all must hold (Google's AND). */
function parseFilter(filter: string): { field: string; op: ':' | '='; value: string }[] {
  const terms: { field: string; op: ':' | '='; value: string }[] = [];
  const pattern = /([A-Za-z_.\-0-9]+)\s*([:=])\s*("(?:[^"\\]|\\.)*"|[^\s]+)/g;
  const rest = filter.replace(/\bAND\b/g, ' ').trim();
  for (const match of rest.matchAll(pattern)) {
    const raw = match[3]!;
    terms.push({ field: match[1]!, op: match[2] as ':' | '=', value: raw.startsWith('"') ? (JSON.parse(raw) as string) : raw });
  }
  if (rest !== '' && terms.length === 0) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid filter: ${filter}`);
  return terms;
}

function matches(term: { field: string; op: ':' | '='; value: string }, fields: Record<string, string | undefined>): boolean {
  const actual = fields[term.field];
  if (actual === undefined) return false;
  if (term.op === '=') return actual === term.value;
  // ':' is "has": a substring match; a trailing * is a prefix match.
  return term.value.endsWith('*') ? actual.startsWith(term.value.slice(0, -1)) : actual.includes(term.value);
}

function page<T>(items: readonly T[], pageSize: number, pageToken: string, cap: number): { items: T[]; nextPageToken: string } {
  const start = pageToken === '' ? 0 : Number(Buffer.from(pageToken, 'base64url').toString('utf8'));
  if (!Number.isInteger(start) || start < 0) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'Invalid page token.');
  const size = Math.min(pageSize > 0 ? Math.min(pageSize, 25_000) : 25_000, cap);
  const slice = items.slice(start, start + size);
  const next = start + size < items.length ? Buffer.from(String(start + size)).toString('base64url') : '';
  return { items: slice, nextPageToken: next };
}

export interface FakeSecretManagerOptions {
  readonly clock?: () => number;
  /** Pages hold at most this many items whatever page_size asks (Google may return fewer than asked): tests of paging. */
  readonly pageSizeCap?: number;
  /** Where the secrets' `topics` live: each change is published there as Secret Manager documents. */
  readonly pubsub?: FakePubSub | undefined;
}

export async function startFakeSecretManager(identity: GoogleIdentity, options: FakeSecretManagerOptions = {}): Promise<FakeSecretManager> {
  const now = options.clock ?? Date.now;
  const definition = await protoLoader.load('google/cloud/secretmanager/v1/service.proto', {
    includeDirs: [SM_PROTOS, GAX_PROTOS],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    google: { cloud: { secretmanager: { v1: { SecretManagerService: { service: grpc.ServiceDefinition } } } } };
  };
  const service = loaded.google.cloud.secretmanager.v1.SecretManagerService.service;

  const secrets = new Map<string, StoredSecret>(); // canonical name (project number) → secret
  const projectGrants = new Map<string, Map<string, Map<RoleName, number>>>(); // project number → member → role → effective at
  const calls: SecretManagerCall[] = [];
  let faults: InjectedSecretManagerFault[] = [];

  /** projects/ID-or-NUMBER[/locations/L] → projects/NUMBER[/locations/L]; undefined for an unknown project. */
  const canonicalParent = (parent: string): string | undefined => {
    const match = /^projects\/([^/]+)(\/locations\/[^/]+)?$/.exec(parent);
    if (!match) return undefined;
    const number = identity.projectNumber(match[1]!);
    return number ? `projects/${number}${match[2] ?? ''}` : undefined;
  };
  const splitSecret = (name: string): { parent: string; id: string; version?: string } | undefined => {
    const match = /^(projects\/[^/]+(?:\/locations\/[^/]+)?)\/secrets\/([^/]+)(?:\/versions\/([^/]+))?$/.exec(name);
    return match ? { parent: match[1]!, id: match[2]!, ...(match[3] !== undefined ? { version: match[3] } : {}) } : undefined;
  };
  const parentOfName = (project: string, location?: string): string => {
    const number = identity.projectNumber(project);
    if (!number) throw new Error(`fake: unknown project ${project}`);
    return `projects/${number}${location ? `/locations/${location}` : ''}`;
  };

  const allowed = (principal: Principal, permission: string, projectNumber: string, secret: StoredSecret | undefined): boolean => {
    const has = (grants: Map<string, Map<RoleName, number>> | undefined) =>
      principal.members.some((member) => [...(grants?.get(member) ?? [])].some(([role, effectiveAt]) => effectiveAt <= now() && PERMISSIONS[role].includes(permission)));
    return has(projectGrants.get(projectNumber)) || (secret !== undefined && has(secret.grants));
  };
  const denied = (permission: string, resource: string) =>
    new RpcError(grpc.status.PERMISSION_DENIED, `Permission '${permission}' denied for resource '${resource}' (or it may not exist).`);

  /** Authenticates, checks the permission on the secret (Google checks IAM before existence), returns it. */
  const authorize = (
    principal: Principal,
    permission: string,
    requested: string,
  ): { secret: StoredSecret | undefined; canonical: string; parts: NonNullable<ReturnType<typeof splitSecret>> } => {
    const parts = splitSecret(requested);
    if (!parts) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid resource field value in the request.`);
    const parent = canonicalParent(parts.parent);
    if (!parent) throw denied(permission, requested);
    const canonical = `${parent}/secrets/${parts.id}`;
    const secret = secrets.get(canonical);
    if (!allowed(principal, permission, parent.split('/')[1]!, secret)) throw denied(permission, requested);
    return { secret, canonical, parts };
  };

  const versionOf = (secret: StoredSecret | undefined, canonical: string, requested: string, allowLatestMissing: boolean): Version => {
    if (!secret) throw new RpcError(grpc.status.NOT_FOUND, allowLatestMissing ? `Secret [${canonical}] not found or has no versions.` : `Secret [${canonical}] not found.`);
    if (requested === 'latest') {
      const latest = secret.versions.at(-1);
      if (!latest) throw new RpcError(grpc.status.NOT_FOUND, `Secret [${canonical}] not found or has no versions.`);
      return latest;
    }
    if (!/^[1-9][0-9]*$/.test(requested)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid resource field value in the request.`);
    const found = secret.versions.find((v) => v.number === Number(requested));
    if (!found) throw new RpcError(grpc.status.NOT_FOUND, `Secret Version [${canonical}/versions/${requested}] not found.`);
    return found;
  };

  /**
   * What Secret Manager publishes to a secret's topics on each change (its "Event notifications" page): attributes
   * eventType, secretId (the secret's resource name), versionId (a version's, for version events), dataFormat JSON
   * and timestamp; data the JSON of the Secret or SecretVersion resource — never a payload.
   */
  const notify = (secret: StoredSecret, eventType: string, version?: Version) => {
    if (!options.pubsub || secret.topics.length === 0) return;
    const resource = version
      ? { name: `${secret.name}/versions/${version.number}`, createTime: new Date(version.createTime).toISOString(), state: version.state, etag: `"${version.createTime.toString(16)}"` }
      : { name: secret.name, replication: { automatic: {} }, createTime: new Date(secret.createTime).toISOString(), labels: secret.labels, topics: secret.topics.map((name) => ({ name })), etag: `"${secret.createTime.toString(16)}"` };
    const attributes: Record<string, string> = { eventType, dataFormat: 'JSON', secretId: secret.name, timestamp: new Date(now()).toISOString() };
    if (version) attributes['versionId'] = `${secret.name}/versions/${version.number}`;
    for (const topic of secret.topics) options.pubsub.publishAsService(topic, { data: Buffer.from(JSON.stringify(resource)), attributes });
  };

  const secretMessage = (secret: StoredSecret) => ({
    name: secret.name,
    topics: secret.topics.map((name) => ({ name })),
    replication: { automatic: {} },
    createTime: timestamp(secret.createTime),
    labels: secret.labels,
    annotations: secret.annotations,
    etag: `"${secret.createTime.toString(16)}"`,
  });
  const versionMessage = (secret: StoredSecret, version: Version) => ({
    name: `${secret.name}/versions/${version.number}`,
    createTime: timestamp(version.createTime),
    state: version.state,
    ...(version.destroyTime ? { destroyTime: timestamp(version.destroyTime) } : {}),
    etag: `"${version.createTime.toString(16)}"`,
  });

  type Handler = (request: Record<string, unknown>, principal: Principal) => unknown;
  const handlers: Record<string, { resource: (request: Record<string, unknown>) => string; run: Handler }> = {
    AccessSecretVersion: {
      resource: (r) => String(r['name']),
      run(request, principal) {
        const { secret, canonical, parts } = authorize(principal, 'secretmanager.versions.access', String(request['name']));
        const version = versionOf(secret, canonical, parts.version ?? '', true);
        if (version.state !== 'ENABLED') {
          throw new RpcError(grpc.status.FAILED_PRECONDITION, `Secret Version [${canonical}/versions/${version.number}] is in ${version.state} state.`);
        }
        return { name: `${canonical}/versions/${version.number}`, payload: { data: version.data } };
      },
    },
    GetSecretVersion: {
      resource: (r) => String(r['name']),
      run(request, principal) {
        const { secret, canonical, parts } = authorize(principal, 'secretmanager.versions.get', String(request['name']));
        return versionMessage(secret!, versionOf(secret, canonical, parts.version ?? '', false));
      },
    },
    GetSecret: {
      resource: (r) => String(r['name']),
      run(request, principal) {
        const { secret, canonical } = authorize(principal, 'secretmanager.secrets.get', String(request['name']));
        if (!secret) throw new RpcError(grpc.status.NOT_FOUND, `Secret [${canonical}] not found.`);
        return secretMessage(secret);
      },
    },
    ListSecrets: {
      resource: (r) => String(r['parent']),
      run(request, principal) {
        const requested = String(request['parent']);
        const parent = canonicalParent(requested);
        if (!parent || !allowed(principal, 'secretmanager.secrets.list', parent.split('/')[1]!, undefined)) throw denied('secretmanager.secrets.list', requested);
        const terms = parseFilter(String(request['filter'] ?? ''));
        const listed = [...secrets.values()]
          .filter((secret) => secret.name.startsWith(`${parent}/secrets/`))
          .filter((secret) => {
            const fields: Record<string, string | undefined> = { name: secret.name };
            for (const [key, value] of Object.entries(secret.labels)) fields[`labels.${key}`] = value;
            return terms.every((term) => matches(term, fields));
          })
          .sort((a, b) => (a.name < b.name ? -1 : 1));
        const { items, nextPageToken } = page(listed, Number(request['pageSize'] ?? 0), String(request['pageToken'] ?? ''), options.pageSizeCap ?? Infinity);
        return { secrets: items.map(secretMessage), nextPageToken, totalSize: listed.length };
      },
    },
    ListSecretVersions: {
      resource: (r) => String(r['parent']),
      run(request, principal) {
        const { secret, canonical } = authorize(principal, 'secretmanager.versions.list', String(request['parent']));
        if (!secret) throw new RpcError(grpc.status.NOT_FOUND, `Secret [${canonical}] not found.`);
        const terms = parseFilter(String(request['filter'] ?? ''));
        const listed = [...secret.versions]
          .reverse()
          .filter((version) => terms.every((term) => matches(term, { state: version.state, name: `${secret.name}/versions/${version.number}` })));
        const { items, nextPageToken } = page(listed, Number(request['pageSize'] ?? 0), String(request['pageToken'] ?? ''), options.pageSizeCap ?? Infinity);
        return { versions: items.map((version) => versionMessage(secret, version)), nextPageToken, totalSize: listed.length };
      },
    },
    AddSecretVersion: {
      resource: (r) => String(r['parent']),
      run(request, principal) {
        const { secret, canonical } = authorize(principal, 'secretmanager.versions.add', String(request['parent']));
        if (!secret) throw new RpcError(grpc.status.NOT_FOUND, `Secret [${canonical}] not found.`);
        const data = (request['payload'] as { data?: Buffer } | undefined)?.data ?? Buffer.alloc(0);
        const version: Version = { number: secret.versions.length + 1, createTime: now(), state: 'ENABLED', data: Buffer.from(data) };
        secret.versions.push(version);
        notify(secret, 'SECRET_VERSION_ADD', version);
        return versionMessage(secret, version);
      },
    },
    CreateSecret: {
      resource: (r) => `${String(r['parent'])}/secrets/${String(r['secretId'])}`,
      run(request, principal) {
        const requested = `${String(request['parent'])}/secrets/${String(request['secretId'])}`;
        const { secret, canonical } = authorize(principal, 'secretmanager.secrets.create', requested);
        if (secret) throw new RpcError(grpc.status.ALREADY_EXISTS, `Secret [${canonical}] already exists.`);
        const body = (request['secret'] ?? {}) as { labels?: Record<string, string>; annotations?: Record<string, string>; topics?: { name?: string }[] };
        refuseBadLabels(body.labels);
        const topics = (body.topics ?? []).map((t) => String(t.name ?? ''));
        if (topics.some((t) => !/^projects\/[^/]+\/topics\/[^/]+$/.test(t))) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'Invalid topic name: expected projects/*/topics/*.');
        const created: StoredSecret = { name: canonical, createTime: now(), labels: { ...body.labels }, annotations: { ...body.annotations }, topics, versions: [], grants: new Map() };
        secrets.set(canonical, created);
        notify(created, 'SECRET_CREATE');
        return secretMessage(created);
      },
    },
  };
  handlers['UpdateSecret'] = {
    resource: (r) => String((r['secret'] as { name?: unknown } | undefined)?.name),
    run(request, principal) {
      const body = (request['secret'] ?? {}) as { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
      const { secret, canonical } = authorize(principal, 'secretmanager.secrets.update', String(body.name));
      if (!secret) throw new RpcError(grpc.status.NOT_FOUND, `Secret [${canonical}] not found.`);
      refuseBadLabels(body.labels);
      const paths = ((request['updateMask'] as { paths?: string[] } | undefined)?.paths ?? []);
      if (paths.length === 0) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'The update_mask must name the fields to update.');
      for (const path of paths) {
        if (path === 'labels') secret.labels = { ...body.labels };
        else if (path === 'annotations') secret.annotations = { ...body.annotations };
        else throw new RpcError(grpc.status.INVALID_ARGUMENT, `Unsupported update_mask path: ${path}.`);
      }
      return secretMessage(secret);
    },
  };
  handlers['DeleteSecret'] = {
    resource: (r) => String(r['name']),
    run(request, principal) {
      const { secret, canonical } = authorize(principal, 'secretmanager.secrets.delete', String(request['name']));
      if (!secret) throw new RpcError(grpc.status.NOT_FOUND, `Secret [${canonical}] not found.`);
      secrets.delete(canonical);
      notify(secret, 'SECRET_DELETE');
      return {};
    },
  };
  for (const [method, state] of [
    ['DisableSecretVersion', 'DISABLED'],
    ['EnableSecretVersion', 'ENABLED'],
    ['DestroySecretVersion', 'DESTROYED'],
  ] as const) {
    const permission = `secretmanager.versions.${method.replace('SecretVersion', '').toLowerCase()}`;
    handlers[method] = {
      resource: (r) => String(r['name']),
      run(request, principal) {
        const { secret, canonical, parts } = authorize(principal, permission, String(request['name']));
        const version = versionOf(secret, canonical, parts.version ?? '', false);
        if (version.state === 'DESTROYED' && state !== 'DESTROYED') {
          throw new RpcError(grpc.status.FAILED_PRECONDITION, `Secret Version [${canonical}/versions/${version.number}] is in DESTROYED state.`);
        }
        version.state = state;
        if (state === 'DESTROYED') {
          version.data = undefined;
          version.destroyTime = now();
        }
        notify(secret!, `SECRET_VERSION_${method.replace('SecretVersion', '').toUpperCase()}`, version);
        return versionMessage(secret!, version);
      },
    };
  }

  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [method, definitionOfMethod] of Object.entries(service)) {
    const name = definitionOfMethod.originalName ?? method;
    const rpc = (definitionOfMethod.path.split('/').pop() ?? method) as string;
    implementation[name] = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const handler = handlers[rpc];
      const resource = handler?.resource(call.request) ?? '';
      const record = (code: grpc.status, principal?: Principal) => calls.push({ method: rpc, name: resource, principal: principal?.label, code });
      const fail = (code: grpc.status, message: string, principal?: Principal) => {
        record(code, principal);
        callback({ code, details: message, message, metadata: new grpc.Metadata() } as grpc.ServiceError);
      };
      const authorization = call.metadata.get('authorization')[0];
      const who = identity.authenticate(typeof authorization === 'string' ? authorization : undefined);
      if ('refused' in who) return fail(grpc.status.UNAUTHENTICATED, who.refused);
      const fault = faults.find((f) => f.method === rpc && (f.times === undefined || f.times > 0) && (f.resourcePrefix === undefined || resource.startsWith(f.resourcePrefix)));
      if (fault) {
        if (fault.times !== undefined) fault.times--;
        if (fault.effect === 'stall') return record(fault.code, who.principal);
        if (fault.effect === 'reset') {
          record(fault.code, who.principal);
          return http2StreamOf(call)?.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        }
        return fail(fault.code, fault.message, who.principal);
      }
      if (!handler) return fail(grpc.status.UNIMPLEMENTED, `Method ${rpc} is not implemented by the fake.`, who.principal);
      try {
        const result = handler.run(call.request, who.principal);
        record(grpc.status.OK, who.principal);
        callback(null, result);
      } catch (err) {
        if (err instanceof RpcError) return fail(err.code, err.message, who.principal);
        return fail(grpc.status.INTERNAL, err instanceof Error ? err.message : String(err), who.principal);
      }
    };
  }

  const server = new grpc.Server();
  server.addService(service, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );

  const find = (project: string, id: string, location?: string): StoredSecret => {
    const secret = secrets.get(`${parentOfName(project, location)}/secrets/${id}`);
    if (!secret) throw new Error(`fake: no secret ${id} in ${project}`);
    return secret;
  };

  const addVersion = (project: string, id: string, value: string | Buffer, location?: string): number => {
    const secret = find(project, id, location);
    const version: Version = { number: secret.versions.length + 1, createTime: now(), state: 'ENABLED', data: Buffer.from(value) };
    secret.versions.push(version);
    notify(secret, 'SECRET_VERSION_ADD', version);
    return secret.versions.length;
  };

  return {
    address: `127.0.0.1:${port}`,
    calls,
    count: (method, name) => calls.filter((c) => c.method === method && (name === undefined || name(c.name))).length,
    inspect(project, id) {
      const secret = secrets.get(`${parentOfName(project, undefined)}/secrets/${id}`);
      if (!secret) return undefined;
      const latest = [...secret.versions].reverse().find((v) => v.state === 'ENABLED');
      return { labels: { ...secret.labels }, annotations: { ...secret.annotations }, versions: secret.versions.length, latest: latest?.data?.toString('utf8') };
    },
    createSecret(project, id, opts = {}) {
      const name = `${parentOfName(project, opts.location)}/secrets/${id}`;
      if (secrets.has(name)) throw new Error(`fake: secret ${name} exists`);
      const created: StoredSecret = { name, createTime: now(), labels: { ...opts.labels }, annotations: { ...opts.annotations }, topics: [...(opts.topics ?? [])], versions: [], grants: new Map() };
      secrets.set(name, created);
      notify(created, 'SECRET_CREATE');
      if (opts.value !== undefined) addVersion(project, id, opts.value, opts.location);
      return name;
    },
    addVersion,
    setVersionState(project, id, number, state, location) {
      const version = find(project, id, location).versions.find((v) => v.number === number);
      if (!version) throw new Error(`fake: no version ${number} of ${id}`);
      version.state = state;
      if (state === 'DESTROYED') version.data = undefined;
      notify(find(project, id, location), `SECRET_VERSION_${state === 'ENABLED' ? 'ENABLE' : state === 'DISABLED' ? 'DISABLE' : 'DESTROY'}`, version);
    },
    deleteSecret(project, id, location) {
      const secret = find(project, id, location);
      secrets.delete(secret.name);
      notify(secret, 'SECRET_DELETE');
    },
    grant(member, role, project, id, location, grantOptions) {
      const target = id === undefined ? undefined : find(project, id, location);
      const number = parentOfName(project).split('/')[1]!;
      const grants = target ? target.grants : (projectGrants.get(number) ?? projectGrants.set(number, new Map()).get(number)!);
      (grants.get(member) ?? grants.set(member, new Map()).get(member)!).set(role, now() + (grantOptions?.effectiveInMs ?? 0));
    },
    inject: (fault) => void faults.push(fault),
    clearFaults(resourcePrefix) {
      faults = faults.filter((f) => f.resourcePrefix !== resourcePrefix);
    },
    clear() {
      calls.length = 0;
      faults = [];
    },
    reset() {
      secrets.clear();
      projectGrants.clear();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000).unref();
      }),
  };
}
