// Where the apiserver is and who we are to it: a kubeconfig file's current context, or the in-cluster
// ServiceAccount. Pure resolution (file contents in, a connection description out), so every rule below is
// unit-tested without a cluster; reading credentials that change (token files, exec plugins, certificate
// files) happens per request in ./credentials.ts.
//
// Follows client-go's clientcmd where it matters to an operator: relative paths are relative to the
// kubeconfig's folder, `*-data` wins over the file of the same field, a `token` wins over a `tokenFile`, and
// the in-cluster config is https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT with the mounted token
// and CA. A user's `as`/`as-groups`/`as-uid`/`as-user-extra` are honoured (Impersonate-* headers, as client-go
// sends them): silently dropping them would run the operator as the underlying, usually admin, identity. Several
// files (a KUBECONFIG list) merge as kubectl merges them: the first file to set a cluster, user or context name
// wins it whole, current-context comes from the first file that sets one, and relative paths are relative to the
// file that holds them. What client-go supports and we refuse, each with its own message: `auth-provider`
// (removed from kubectl 1.26; use the exec plugin that replaced it) and `proxy-url`.
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** A file's path or its contents (inline data wins, as in client-go). */
export type FileOrData = { readonly file: string } | { readonly data: Buffer };

export interface ExecPlugin {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: readonly { readonly name: string; readonly value: string }[];
  readonly apiVersion: string;
  readonly installHint: string | undefined;
  /** Passed to the plugin in KUBERNETES_EXEC_INFO when provideClusterInfo is set. */
  readonly cluster: { readonly server: string; readonly 'certificate-authority-data'?: string; readonly 'insecure-skip-tls-verify'?: boolean; readonly 'tls-server-name'?: string } | undefined;
}

export type UserAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'token-file'; readonly path: string }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'exec'; readonly plugin: ExecPlugin };

export interface Connection {
  /** The apiserver's base URL, without a trailing slash. */
  readonly server: string;
  readonly ca: FileOrData | undefined;
  readonly insecureSkipTlsVerify: boolean;
  readonly tlsServerName: string | undefined;
  readonly clientCertificate: FileOrData | undefined;
  readonly clientKey: FileOrData | undefined;
  readonly auth: UserAuth;
  /** Act as this user (the apiserver checks that the credentials may impersonate it). */
  readonly impersonate?: Impersonation | undefined;
}

export interface Impersonation {
  readonly user: string;
  readonly uid: string | undefined;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

/** A kubeconfig (or in-cluster environment) we cannot use; its message says what and how to fix it. */
export class KubeconfigError extends Error {
  override readonly name = 'KubeconfigError';
}

type Entry = Record<string, unknown>;

/** The connection of a kubeconfig's current context. `path` resolves the relative file paths in it. */
export function connectionFromKubeconfig(text: string, path: string): Connection {
  return connectionFromKubeconfigs([{ text, path }]);
}

/** An entry of a (merged) kubeconfig and the folder of the file that holds it. */
interface Found {
  readonly entry: Entry;
  readonly base: string;
  readonly path: string;
}

/**
 * The connection of the current context of several kubeconfig files merged as kubectl merges a KUBECONFIG list:
 * per cluster, user and context name the first file that has it wins; current-context is the first one set.
 */
export function connectionFromKubeconfigs(files: ReadonlyArray<{ readonly text: string; readonly path: string }>): Connection {
  const clusters = new Map<string, Found>();
  const users = new Map<string, Found>();
  const contexts = new Map<string, Found>();
  let contextName: string | undefined;
  let contextFrom = '';
  for (const { text, path } of files) {
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (err) {
      throw new KubeconfigError(`${path} is not valid YAML (${(err as Error).message.split('\n')[0]})`);
    }
    if (doc === null || doc === undefined) continue; // an empty file, as kubectl allows
    if (!isEntry(doc)) throw new KubeconfigError(`${path} is not a kubeconfig (expected a mapping with clusters, users and contexts)`);
    const base = dirname(resolve(path));
    if (contextName === undefined && str(doc['current-context'])) {
      contextName = str(doc['current-context']);
      contextFrom = path;
    }
    for (const [list, field, into] of [
      [doc['clusters'], 'cluster', clusters],
      [doc['users'], 'user', users],
      [doc['contexts'], 'context', contexts],
    ] as const) {
      if (!Array.isArray(list)) continue;
      for (const item of list) {
        if (!isEntry(item) || typeof item['name'] !== 'string' || into.has(item['name'])) continue;
        into.set(item['name'], { entry: isEntry(item[field]) ? item[field] : {}, base, path });
      }
    }
  }
  const where = files.map((f) => f.path).join(':');
  const among = (what: string) => (files.length === 1 ? `its ${what}` : `the ${what} of ${where}`);
  if (!contextName) throw new KubeconfigError(`${where} has no current-context: set one with \`kubectl config use-context <name>\``);
  const context = contexts.get(contextName)?.entry;
  if (!context) throw new KubeconfigError(`${contextFrom}: current-context "${contextName}" is not among ${among('contexts')}`);
  const path = contexts.get(contextName)!.path;
  const clusterName = str(context['cluster']);
  const clusterFound = clusterName ? clusters.get(clusterName) : undefined;
  if (!clusterFound) throw new KubeconfigError(`${path}: context "${contextName}" names cluster "${clusterName ?? ''}", which is not among ${among('clusters')}`);
  const cluster = clusterFound.entry;
  const userName = str(context['user']);
  const userFound = userName ? users.get(userName) : undefined;
  const user = userFound?.entry ?? {};
  const userPath = userFound?.path ?? path;
  const userBase = userFound?.base ?? clusterFound.base;
  const server = str(cluster['server']);
  if (!server) throw new KubeconfigError(`${clusterFound.path}: cluster "${clusterName}" has no server`);
  if (str(cluster['proxy-url'])) throw new KubeconfigError(`${clusterFound.path}: cluster "${clusterName}" sets proxy-url, which secret-relay does not support; reach the apiserver directly`);
  if (isEntry(user['auth-provider'])) {
    const provider = str(user['auth-provider']['name']) ?? '?';
    throw new KubeconfigError(`${userPath}: user "${userName}" uses auth-provider "${provider}", which Kubernetes removed in 1.26 and secret-relay does not support; use its exec credential plugin instead (e.g. kubelogin, gke-gcloud-auth-plugin)`);
  }
  const file = (dataKey: string, fileKey: string, entry: Entry, base: string): FileOrData | undefined => {
    const data = str(entry[dataKey]);
    if (data) return { data: Buffer.from(data, 'base64') };
    const name = str(entry[fileKey]);
    return name ? { file: isAbsolute(name) ? name : resolve(base, name) } : undefined;
  };
  const impersonate = impersonation(user, userName ?? '', userPath);
  return {
    server: trimSlash(server),
    ca: file('certificate-authority-data', 'certificate-authority', cluster, clusterFound.base),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    tlsServerName: str(cluster['tls-server-name']),
    clientCertificate: file('client-certificate-data', 'client-certificate', user, userBase),
    clientKey: file('client-key-data', 'client-key', user, userBase),
    auth: userAuth(user, userName ?? '', userPath, userBase, server, cluster),
    ...(impersonate ? { impersonate } : {}),
  };
}

/** A user's `as`, `as-uid`, `as-groups` and `as-user-extra`, as client-go reads them; groups, uid or extra need `as`. */
function impersonation(user: Entry, userName: string, path: string): Impersonation | undefined {
  const as = str(user['as']);
  const uid = str(user['as-uid']);
  const groups = Array.isArray(user['as-groups']) ? user['as-groups'].map(String) : [];
  const extra: Record<string, string[]> = {};
  if (isEntry(user['as-user-extra'])) {
    for (const [key, values] of Object.entries(user['as-user-extra'])) extra[key] = Array.isArray(values) ? values.map(String) : [String(values)];
  }
  if (!as) {
    const without = [uid ? 'as-uid' : undefined, groups.length > 0 ? 'as-groups' : undefined, Object.keys(extra).length > 0 ? 'as-user-extra' : undefined].filter((x) => x !== undefined);
    if (without.length > 0) throw new KubeconfigError(`${path}: user "${userName}" sets ${without.join(' and ')} but not as (the user to impersonate); set as, or remove ${without.join(' and ')}`);
    return undefined;
  }
  return { user: as, uid, groups, extra };
}

/** The Impersonate-* headers of client-go's impersonating round tripper: one value per line of a repeated header. */
export function impersonationHeaders(impersonate: Impersonation): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = { 'Impersonate-User': impersonate.user };
  if (impersonate.uid) headers['Impersonate-Uid'] = impersonate.uid;
  if (impersonate.groups.length > 0) headers['Impersonate-Group'] = [...impersonate.groups];
  for (const [key, values] of Object.entries(impersonate.extra)) headers[`Impersonate-Extra-${headerKeyEscape(key)}`] = [...values];
  return headers;
}

/** client-go's headerKeyEscape: bytes not legal in a header name (and '%') percent-encoded. */
function headerKeyEscape(key: string): string {
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /^[A-Za-z0-9!#$&'*+\-.^_`|~]$/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function userAuth(user: Entry, userName: string, path: string, base: string, server: string, cluster: Entry): UserAuth {
  const token = str(user['token']);
  if (token) return { kind: 'token', token };
  const tokenFile = str(user['tokenFile']);
  if (tokenFile) return { kind: 'token-file', path: isAbsolute(tokenFile) ? tokenFile : resolve(base, tokenFile) };
  const exec = user['exec'];
  if (isEntry(exec)) {
    const command = str(exec['command']);
    if (!command) throw new KubeconfigError(`${path}: user "${userName}" has an exec credential plugin without a command`);
    const env = Array.isArray(exec['env']) ? exec['env'].filter(isEntry).map((e) => ({ name: str(e['name']) ?? '', value: str(e['value']) ?? '' })) : [];
    const caData = str(cluster['certificate-authority-data']);
    const tlsServerName = str(cluster['tls-server-name']);
    return {
      kind: 'exec',
      plugin: {
        command,
        args: Array.isArray(exec['args']) ? exec['args'].map(String) : [],
        env,
        apiVersion: str(exec['apiVersion']) ?? 'client.authentication.k8s.io/v1',
        installHint: str(exec['installHint']),
        cluster:
          exec['provideClusterInfo'] === true
            ? {
                server,
                ...(caData ? { 'certificate-authority-data': caData } : {}),
                ...(cluster['insecure-skip-tls-verify'] === true ? { 'insecure-skip-tls-verify': true } : {}),
                ...(tlsServerName ? { 'tls-server-name': tlsServerName } : {}),
              }
            : undefined,
      },
    };
  }
  const username = str(user['username']);
  if (username) return { kind: 'basic', username, password: str(user['password']) ?? '' };
  return { kind: 'none' };
}

export const IN_CLUSTER_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';
export const IN_CLUSTER_CA_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';

/** The in-cluster connection: the ServiceAccount token (re-read as the kubelet rotates it) and the cluster CA. */
export function inClusterConnection(env: Readonly<Record<string, string | undefined>>): Connection {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) throw new KubeconfigError('not running in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set): pass --kubeconfig=<file> or set KUBECONFIG');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: { file: IN_CLUSTER_CA_FILE },
    insecureSkipTlsVerify: false,
    tlsServerName: undefined,
    clientCertificate: undefined,
    clientKey: undefined,
    auth: { kind: 'token-file', path: IN_CLUSTER_TOKEN_FILE },
  };
}

/** The same connection authenticating with `token` instead of its user (--kube-token): the user's impersonation goes with it. */
export function withBearerToken(connection: Connection, token: string): Connection {
  return { ...connection, clientCertificate: undefined, clientKey: undefined, auth: { kind: 'token', token }, impersonate: undefined };
}

function named(list: unknown, name: string, field: string): Entry | undefined {
  if (!Array.isArray(list)) return undefined;
  for (const item of list) {
    if (isEntry(item) && item['name'] === name) return isEntry(item[field]) ? item[field] : {};
  }
  return undefined;
}

function isEntry(value: unknown): value is Entry {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function trimSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}
