// HTTP to one Vault server: node:http/https with this store's own CA and client certificate (never the process
// environment: no VAULT_ADDR/VAULT_TOKEN/VAULT_NAMESPACE, no NODE_EXTRA_CA_CERTS surprises), a keep-alive agent per
// client, a timeout per request. Why not node-vault: it reads VAULT_* implicitly, mustache-renders (HTML-escapes)
// paths and returns `any`; fetch cannot take a per-client CA without undici, which is no dependency of ours.
import * as http from 'node:http';
import * as https from 'node:https';
import { rootCertificates } from 'node:tls';
import { TerminalError } from '../../util/errors.ts';
import { dotSegmentProblem } from '../kit/tenancy.ts';

export interface VaultRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'LIST' | 'DELETE';
  /** Below /v1/, without a leading slash, already URL-safe (see encodePath). */
  readonly path: string;
  readonly token?: string | undefined;
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string>> | undefined;
  readonly signal: AbortSignal;
}

export interface VaultResponse {
  readonly status: number;
  /** The parsed JSON body, or undefined for an empty (204) or non-JSON body. */
  readonly body: unknown;
}

/** One round trip to the server. Tests substitute a fake. */
export type VaultTransport = (request: VaultRequest) => Promise<VaultResponse>;

export interface HttpTransportOptions {
  /** e.g. https://vault.example.com:8200 */
  readonly server: string;
  /** Sent as X-Vault-Namespace on every request. */
  readonly namespace?: string | undefined;
  /** Extra trusted CA certificates (PEM), added to Node's bundled roots. */
  readonly caPem?: string | undefined;
  /** Client certificate and key (PEM) for mutual TLS. */
  readonly clientCertPem?: string | undefined;
  readonly clientKeyPem?: string | undefined;
  readonly timeoutMs?: number | undefined;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Vault answers are small JSON documents; a larger body is a wrong server, not a secret. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Each path segment percent-encoded; '/' kept. Keys with spaces or '#' reach Vault as written. */
export function encodePath(path: string): string {
  const dots = dotSegmentProblem(path, 'the Vault path');
  if (dots) throw new TerminalError(dots);
  return path
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

export interface HttpTransport {
  readonly send: VaultTransport;
  close(): void;
}

export function createHttpTransport(options: HttpTransportOptions): HttpTransport {
  const base = new URL(options.server);
  const secure = base.protocol === 'https:';
  const agent = secure
    ? new https.Agent({
        keepAlive: true,
        maxSockets: 16,
        ...(options.caPem ? { ca: [...rootCertificates, options.caPem] } : {}),
        ...(options.clientCertPem ? { cert: options.clientCertPem } : {}),
        ...(options.clientKeyPem ? { key: options.clientKeyPem } : {}),
      })
    : new http.Agent({ keepAlive: true, maxSockets: 16 });
  const prefix = base.pathname.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;

  const send: VaultTransport = (request) =>
    new Promise<VaultResponse>((resolve, reject) => {
      const query = request.query && Object.keys(request.query).length > 0 ? `?${new URLSearchParams(request.query).toString()}` : '';
      const payload = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body));
      const headers: Record<string, string> = { Accept: 'application/json' };
      if (request.token) headers['X-Vault-Token'] = request.token;
      if (options.namespace) headers['X-Vault-Namespace'] = options.namespace;
      if (payload) {
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = String(payload.length);
      }
      const requestOptions: http.RequestOptions = {
        protocol: base.protocol,
        hostname: base.hostname,
        port: base.port || (secure ? 443 : 80),
        method: request.method,
        path: `${prefix}/v1/${request.path}${query}`,
        headers,
        agent,
        timeout: timeoutMs,
        signal: request.signal,
      };
      const req = (secure ? https : http).request(requestOptions, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new Error(`Vault ${request.method} ${request.path}: response larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          if (text.trim() !== '') {
            try {
              body = JSON.parse(text);
            } catch {
              body = undefined;
            }
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`Vault ${request.method} ${request.path}: no answer from ${base.origin} within ${timeoutMs} ms`)));
      req.on('error', (err) => {
        const code = (err as NodeJS.ErrnoException).code;
        if (!code || code === 'ABORT_ERR') {
          reject(err);
          return;
        }
        // Node's own text for a refused or unknown host only repeats the address; a TLS failure's says why.
        const why = err.message.includes(base.host) || err.message.includes(base.hostname) ? code : `${code}: ${err.message}`;
        const check = /CERT|SSL|TLS/i.test(code) ? 'check caBundle or caProvider' : 'check spec.provider.vault.server and that Vault is up';
        reject(new Error(`Vault ${request.method} ${request.path}: cannot reach ${base.origin} (${why}); ${check} (retried with backoff)`, { cause: err }));
      });
      if (payload) req.write(payload);
      req.end();
    });

  return { send, close: () => agent.destroy() };
}
