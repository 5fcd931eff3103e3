// Where the apiserver is and who we are to it: a kubeconfig file's current context, or the in-cluster
// ServiceAccount. Pure resolution (file contents in, a connection description out), so every rule below is
// unit-tested without a cluster; reading credentials that change (token files, exec plugins, certificate
// files) happens per request in ./credentials.ts.
//
// Follows client-go's clientcmd where it matters to an operator: relative paths are relative to the
// kubeconfig's folder, `*-data` wins over the file of the same field, a `token` wins over a `tokenFile`, and
// the in-cluster config is https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT with the mounted token
// and CA. What client-go supports and we refuse, each with its own message: `auth-provider` (removed from
// kubectl 1.26; use the exec plugin that replaced it) and `proxy-url`.
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
}

/** A kubeconfig (or in-cluster environment) we cannot use; its message says what and how to fix it. */
export class KubeconfigError extends Error {
  override readonly name = 'KubeconfigError';
}

type Entry = Record<string, unknown>;

/** The connection of a kubeconfig's current context. `path` resolves the relative file paths in it. */
export function connectionFromKubeconfig(text: string, path: string): Connection {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new KubeconfigError(`${path} is not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (!isEntry(doc)) throw new KubeconfigError(`${path} is not a kubeconfig (expected a mapping with clusters, users and contexts)`);
  const base = dirname(resolve(path));
  const contextName = str(doc['current-context']);
  if (!contextName) throw new KubeconfigError(`${path} has no current-context: set one with \`kubectl config use-context <name>\``);
  const context = named(doc['contexts'], contextName, 'context');
  if (!context) throw new KubeconfigError(`${path}: current-context "${contextName}" is not among its contexts`);
  const clusterName = str(context['cluster']);
  const cluster = clusterName ? named(doc['clusters'], clusterName, 'cluster') : undefined;
  if (!cluster) throw new KubeconfigError(`${path}: context "${contextName}" names cluster "${clusterName ?? ''}", which is not among its clusters`);
  const userName = str(context['user']);
  const user = userName ? (named(doc['users'], userName, 'user') ?? {}) : {};
  const server = str(cluster['server']);
  if (!server) throw new KubeconfigError(`${path}: cluster "${clusterName}" has no server`);
  if (str(cluster['proxy-url'])) throw new KubeconfigError(`${path}: cluster "${clusterName}" sets proxy-url, which secret-relay does not support; reach the apiserver directly`);
  if (isEntry(user['auth-provider'])) {
    const provider = str(user['auth-provider']['name']) ?? '?';
    throw new KubeconfigError(`${path}: user "${userName}" uses auth-provider "${provider}", which Kubernetes removed in 1.26 and secret-relay does not support; use its exec credential plugin instead (e.g. kubelogin, gke-gcloud-auth-plugin)`);
  }
  const file = (dataKey: string, fileKey: string, entry: Entry): FileOrData | undefined => {
    const data = str(entry[dataKey]);
    if (data) return { data: Buffer.from(data, 'base64') };
    const name = str(entry[fileKey]);
    return name ? { file: isAbsolute(name) ? name : resolve(base, name) } : undefined;
  };
  return {
    server: trimSlash(server),
    ca: file('certificate-authority-data', 'certificate-authority', cluster),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    tlsServerName: str(cluster['tls-server-name']),
    clientCertificate: file('client-certificate-data', 'client-certificate', user),
    clientKey: file('client-key-data', 'client-key', user),
    auth: userAuth(user, userName ?? '', path, base, server, cluster),
  };
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

/** The same connection authenticating with `token` instead of its user (--kube-token). */
export function withBearerToken(connection: Connection, token: string): Connection {
  return { ...connection, clientCertificate: undefined, clientKey: undefined, auth: { kind: 'token', token } };
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
