// The credentials of each request, from a Connection (./kubeconfig.ts): what is static is read once, what
// rotates is re-read — token files and certificate files at most once a minute (as client-go's cached file
// token source does; the kubelet rotates a projected ServiceAccount token well before it expires), an exec
// plugin's credential when it expires or the apiserver refuses it (401).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Clock } from '../util/clock.ts';
import type { Connection, ExecPlugin, FileOrData } from './kubeconfig.ts';

/** What TLS presents and trusts; `id` changes exactly when the material does (one connection pool per id). */
export interface TlsMaterial {
  readonly id: string;
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
  readonly rejectUnauthorized: boolean;
  readonly servername: string | undefined;
}

export interface RequestCredentials {
  /** The Authorization header, if any. */
  authorization(): Promise<string | undefined>;
  tls(): Promise<TlsMaterial>;
  /** The apiserver refused the credentials (401): the next request reads them anew. */
  refused(): void;
}

/** Files (tokens, certificates) are re-read at most this often: client-go's cached file token source period. */
const FILE_REREAD_MS = 60_000;
/** An exec credential is renewed this long before it expires, so no request goes out with an expired one. */
const EXEC_EXPIRY_SKEW_MS = 10_000;
/** A credential plugin that has not answered in this long is killed: one hung plugin must not stall every request. */
const EXEC_TIMEOUT_MS = 60_000;

export type RunPlugin = (plugin: ExecPlugin, execInfo: string) => Promise<string>;

export function createRequestCredentials(connection: Connection, clock: Clock, runPlugin: RunPlugin = runExecPlugin): RequestCredentials {
  const files = new Map<string, { readonly at: number; readonly value: Promise<Buffer> }>();
  const read = (source: FileOrData | undefined): Promise<Buffer | undefined> => {
    if (source === undefined) return Promise.resolve(undefined);
    if ('data' in source) return Promise.resolve(source.data);
    const now = clock.now();
    const cached = files.get(source.file);
    if (cached && now - cached.at < FILE_REREAD_MS) return cached.value;
    const value = readFile(source.file);
    files.set(source.file, { at: now, value });
    value.catch(() => files.delete(source.file));
    return value;
  };

  let exec: { readonly expiresAt: number; readonly value: Promise<ExecCredential> } | undefined;
  const execCredential = (plugin: ExecPlugin): Promise<ExecCredential> => {
    if (exec && clock.now() < exec.expiresAt) return exec.value;
    const value = runPlugin(plugin, execInfo(plugin)).then((stdout) => parseExecCredential(stdout, plugin));
    const entry = { expiresAt: Number.POSITIVE_INFINITY, value };
    exec = entry;
    value.then(
      (credential) => {
        if (exec === entry) exec = { expiresAt: credential.expiresAt - EXEC_EXPIRY_SKEW_MS, value };
      },
      () => {
        if (exec === entry) exec = undefined;
      },
    );
    return value;
  };

  const { auth } = connection;
  let last: TlsMaterial | undefined;
  return {
    async authorization() {
      switch (auth.kind) {
        case 'none':
          return undefined;
        case 'token':
          return `Bearer ${auth.token}`;
        case 'token-file': {
          let token: string;
          try {
            token = (await read({ file: auth.path }))!.toString('utf8').trim();
          } catch (err) {
            throw new Error(`cannot read the token file ${auth.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
          }
          return token ? `Bearer ${token}` : undefined;
        }
        case 'basic':
          return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
        case 'exec': {
          const credential = await execCredential(auth.plugin);
          return credential.token ? `Bearer ${credential.token}` : undefined;
        }
      }
    },
    async tls() {
      let cert: Buffer | undefined;
      let key: Buffer | undefined;
      try {
        [cert, key] = await Promise.all([read(connection.clientCertificate), read(connection.clientKey)]);
      } catch (err) {
        throw new Error(`cannot read the client certificate or key: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
      }
      if (auth.kind === 'exec') {
        const credential = await execCredential(auth.plugin);
        if (credential.cert) [cert, key] = [credential.cert, credential.key];
      }
      let ca: Buffer | undefined;
      try {
        ca = await read(connection.ca);
      } catch (err) {
        throw new Error(`cannot read the cluster CA certificate: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
      }
      // The same buffers as last time (files are re-read once a minute, inline data never): the same material,
      // no hash to compute on every request.
      if (last && last.ca === ca && last.cert === cert && last.key === key) return last;
      const rejectUnauthorized = !connection.insecureSkipTlsVerify;
      const hash = createHash('sha256');
      for (const part of [ca, cert, key, String(rejectUnauthorized), connection.tlsServerName]) hash.update(String(part?.length ?? -1)).update(':').update(part ?? '');
      last = { id: hash.digest('hex'), ca, cert, key, rejectUnauthorized, servername: connection.tlsServerName };
      return last;
    },
    refused() {
      exec = undefined;
      files.clear();
    },
  };
}

interface ExecCredential {
  readonly token: string | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
  /** Infinity when the plugin gave no expirationTimestamp: used until the apiserver refuses it. */
  readonly expiresAt: number;
}

function execInfo(plugin: ExecPlugin): string {
  return JSON.stringify({ apiVersion: plugin.apiVersion, kind: 'ExecCredential', spec: { interactive: false, ...(plugin.cluster ? { cluster: plugin.cluster } : {}) } });
}

/** An ExecCredential as client.authentication.k8s.io/v1 and v1beta1 define it; anything else is a clear error. */
export function parseExecCredential(stdout: string, plugin: ExecPlugin): ExecCredential {
  const fail = (what: string) => new Error(`exec credential plugin ${plugin.command} ${what}`);
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw fail('did not print an ExecCredential (its output is not JSON)');
  }
  const credential = doc as { kind?: unknown; apiVersion?: unknown; status?: Record<string, unknown> };
  if (credential?.kind !== 'ExecCredential') throw fail('did not print an ExecCredential');
  if (credential.apiVersion !== plugin.apiVersion) throw fail(`answered in ${String(credential.apiVersion)}, not the ${plugin.apiVersion} the kubeconfig asks for`);
  const status = credential.status ?? {};
  const token = typeof status['token'] === 'string' && status['token'] !== '' ? status['token'] : undefined;
  const certPem = typeof status['clientCertificateData'] === 'string' ? status['clientCertificateData'] : undefined;
  const keyPem = typeof status['clientKeyData'] === 'string' ? status['clientKeyData'] : undefined;
  if (!token && !(certPem && keyPem)) throw fail('gave neither a token nor a client certificate and key');
  const expiry = typeof status['expirationTimestamp'] === 'string' ? Date.parse(status['expirationTimestamp']) : Number.NaN;
  return {
    token,
    cert: certPem && keyPem ? Buffer.from(certPem) : undefined,
    key: certPem && keyPem ? Buffer.from(keyPem) : undefined,
    expiresAt: Number.isNaN(expiry) ? Number.POSITIVE_INFINITY : expiry,
  };
}

/** Runs the plugin as kubectl does: its env added to ours, KUBERNETES_EXEC_INFO set, stdout the credential. */
function runExecPlugin(plugin: ExecPlugin, info: string): Promise<string> {
  const env: Record<string, string | undefined> = { ...process.env, KUBERNETES_EXEC_INFO: info };
  for (const { name, value } of plugin.env) env[name] = value;
  return new Promise((resolvePromise, reject) => {
    execFile(plugin.command, [...plugin.args], { env, timeout: EXEC_TIMEOUT_MS, maxBuffer: 1 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolvePromise(stdout);
      const code = (err as NodeJS.ErrnoException).code;
      const hint = plugin.installHint ? `; ${plugin.installHint.trim().split('\n')[0]}` : '';
      if (code === 'ENOENT') return reject(new Error(`exec credential plugin ${plugin.command} was not found${hint}`));
      const said = stderr.trim().split('\n')[0]?.slice(0, 300);
      reject(new Error(`exec credential plugin ${plugin.command} failed (${err.killed ? `killed after ${EXEC_TIMEOUT_MS / 1000} s` : `exit ${String(err.code)}`})${said ? `: ${said}` : ''}${hint}`));
    });
  });
}
