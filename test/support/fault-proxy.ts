// A fault proxy in front of the real apiserver, as `kubectl proxy` is: plain HTTP on a loopback port, forwarded
// over TLS as the test cluster's admin (so a client behind it needs no credentials). A rule chosen by the test
// decides per request: forward it, answer it with a status (429/503 with or without Retry-After), reset the
// connection, stall it (never answer), or hold it for a while before forwarding — and a held request whose
// client has given up meanwhile is dropped, not forwarded, as a request that never left a slow network. Every
// request is logged with when it was forwarded and answered, on this process's clock, so a test can order the
// writes of two clients behind two proxies.
import { readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';

export type Fault =
  | { readonly kind: 'forward' }
  | { readonly kind: 'status'; readonly code: number; readonly retryAfterSeconds?: number | undefined; readonly reason?: string | undefined }
  | { readonly kind: 'reset' }
  | { readonly kind: 'stall' }
  | { readonly kind: 'delay'; readonly ms: number };

export interface ProxiedRequest {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  readonly receivedAt: number;
  /** When it was sent on to the apiserver; undefined when it was not (a fault, or dropped). */
  forwardedAt: number | undefined;
  /** When the apiserver's answer ended (its headers, for a watch). */
  answeredAt: number | undefined;
  status: number | undefined;
  /** What the rule decided. */
  fault: Fault['kind'];
  /** Held (delay) and its client gave up before it was forwarded. */
  dropped: boolean;
}

export interface FaultProxy {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** A kubeconfig for a client behind the proxy (no credentials: the proxy is the admin). */
  writeKubeconfig(path: string): void;
  /** Decides each request from now on; default: forward everything. */
  setRule(rule: (req: { method: string; url: string }) => Fault): void;
  readonly log: readonly ProxiedRequest[];
  /** Requests received and not yet answered or given up (stalled ones included). */
  inFlight(): number;
  close(): Promise<void>;
}

export const forward: Fault = { kind: 'forward' };

/** A mutating request (not a Lease's, not a watch) — what "a write" means to the leadership tests. */
export function isWrite(r: { method: string; url: string }): boolean {
  return r.method !== 'GET' && !r.url.includes('/leases');
}

export async function startFaultProxy(adminKubeconfigPath: string): Promise<FaultProxy> {
  const config = parseYaml(readFileSync(adminKubeconfigPath, 'utf8')) as {
    clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
    users: Array<{ user: { 'client-certificate-data': string; 'client-key-data': string } }>;
  };
  const upstream = new URL(config.clusters[0]!.cluster.server);
  const b64 = (s: string) => Buffer.from(s, 'base64');
  const agent = new https.Agent({
    keepAlive: true,
    ca: b64(config.clusters[0]!.cluster['certificate-authority-data']),
    cert: b64(config.users[0]!.user['client-certificate-data']),
    key: b64(config.users[0]!.user['client-key-data']),
  });
  let rule: (req: { method: string; url: string }) => Fault = () => forward;
  const log: ProxiedRequest[] = [];
  let open = 0;

  const server = http.createServer((req, res) => {
    const entry: ProxiedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', receivedAt: Date.now(), forwardedAt: undefined, answeredAt: undefined, status: undefined, fault: 'forward', dropped: false };
    log.push(entry);
    open++;
    let settled = false;
    let clientGone = false;
    const settle = () => {
      if (!settled) {
        settled = true;
        open--;
      }
    };
    res.on('close', () => {
      if (!res.writableFinished) clientGone = true;
      settle();
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const fault = rule({ method: entry.method, url: entry.url });
      entry.fault = fault.kind;
      switch (fault.kind) {
        case 'status':
          entry.status = fault.code;
          entry.answeredAt = Date.now();
          res.writeHead(fault.code, { 'content-type': 'application/json', ...(fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {}) });
          res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: fault.code, reason: fault.reason ?? (fault.code === 429 ? 'TooManyRequests' : 'ServiceUnavailable'), message: 'injected by the fault proxy' }));
          return;
        case 'reset':
          req.socket.destroy();
          return;
        case 'stall':
          return;
        case 'delay':
          setTimeout(() => {
            if (clientGone || req.socket.destroyed) {
              entry.dropped = true;
              settle();
              return;
            }
            send();
          }, fault.ms);
          return;
        case 'forward':
          send();
      }
    });

    const send = () => {
      const headers = { ...req.headers };
      delete headers.host;
      delete headers.authorization;
      delete headers.connection;
      const out = https.request(
        { host: upstream.hostname, port: upstream.port, method: entry.method, path: entry.url, headers, agent },
        (answer) => {
          entry.status = answer.statusCode;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          if (entry.url.includes('watch=true')) entry.answeredAt = Date.now();
          answer.pipe(res);
          answer.on('end', () => (entry.answeredAt ??= Date.now()));
        },
      );
      out.on('error', () => res.destroy());
      res.on('close', () => out.destroy());
      entry.forwardedAt = Date.now();
      out.end(Buffer.concat(chunks));
    };
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    writeKubeconfig(path) {
      writeFileSync(
        path,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'proxy', cluster: { server: url } }],
          users: [{ name: 'anyone', user: {} }],
          contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'anyone' } }],
          'current-context': 'proxy',
        }),
      );
    },
    setRule(next) {
      rule = next;
    },
    log,
    inFlight: () => open,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
