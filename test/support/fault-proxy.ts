// A fault proxy in front of the real apiserver, as `kubectl proxy` is: plain HTTP on a loopback port, forwarded
// over TLS as the test cluster's admin (so a client behind it needs no credentials). A rule chosen by the test
// decides per request: forward it, answer it with a status (429/503 with or without Retry-After), reset the
// connection, stall it (never answer), or hold it for a while before forwarding — and a held request whose
// client has given up meanwhile is dropped, not forwarded, as a request that never left a slow network. Every
// request is logged with when it was forwarded and answered, on this process's clock, so a test can order the
// writes of two clients behind two proxies.
//
// startHttpFaultProxy is the same in front of any plain-HTTP server (moto, OpenBao, the GCP identity and Alibaba
// fakes): it forwards requests unchanged (Host header included, so signatures made for the proxy still verify), and
// its rule also sees the headers and body, so a fault can be aimed at one secret, one role or one login.
// answerFault lets an HTTPS fake (Azure) apply the same faults inside its own handler.
import { readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';

export type Fault =
  | { readonly kind: 'forward' }
  | {
      readonly kind: 'status';
      readonly code: number;
      readonly retryAfterSeconds?: number | undefined;
      readonly reason?: string | undefined;
      /** The answer's body (default: a Kubernetes Status) and its content type (default application/json). */
      readonly body?: string | undefined;
      readonly contentType?: string | undefined;
      /** More headers of the answer (e.g. x-amzn-errortype). */
      readonly headers?: Readonly<Record<string, string>> | undefined;
    }
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
  /** Forwarded, then its client went away before the answer ended: when the proxy cut the upstream request. */
  cutAt: number | undefined;
  status: number | undefined;
  /** What the rule decided. */
  fault: Fault['kind'];
  /** Held (delay) and its client gave up before it was forwarded. */
  dropped: boolean;
}

/** What a rule sees of a request. */
export interface FaultRequest {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The request body as text ('' when none). */
  readonly body: string;
}

export type FaultRule = (req: FaultRequest) => Fault;

export interface FaultProxy {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** A kubeconfig for a client behind the proxy (no credentials: the proxy is the admin). */
  writeKubeconfig(path: string): void;
  /** Decides each request from now on; default: forward everything. */
  setRule(rule: FaultRule): void;
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

/** Answers a status fault, resets or stalls; returns false for 'forward' and 'delay' (the caller's to do). */
export function answerFault(fault: Fault, req: http.IncomingMessage, res: http.ServerResponse): boolean {
  switch (fault.kind) {
    case 'status':
      res.writeHead(fault.code, {
        'content-type': fault.contentType ?? 'application/json',
        ...(fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {}),
        ...fault.headers,
      });
      res.end(
        fault.body ??
          JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: fault.code, reason: fault.reason ?? (fault.code === 429 ? 'TooManyRequests' : 'ServiceUnavailable'), message: 'injected by the fault proxy' }),
      );
      return true;
    case 'reset':
      req.socket.destroy();
      return true;
    case 'stall':
      return true;
    default:
      return false;
  }
}

type Upstream = (entry: ProxiedRequest, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => http.ClientRequest;

/** The proxy server shared by both kinds: log, rule, faults; `upstream` sends a request on. */
async function startProxyServer(upstream: Upstream, close: () => void, options: { serverTimeouts?: boolean } = {}): Promise<Omit<FaultProxy, 'writeKubeconfig'>> {
  let rule: FaultRule = () => forward;
  const log: ProxiedRequest[] = [];
  let open = 0;

  const server = http.createServer((req, res) => {
    const entry: ProxiedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', receivedAt: Date.now(), forwardedAt: undefined, answeredAt: undefined, cutAt: undefined, status: undefined, fault: 'forward', dropped: false };
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
      const body = Buffer.concat(chunks);
      const fault = rule({ method: entry.method, url: entry.url, headers: req.headers, body: body.toString('utf8') });
      entry.fault = fault.kind;
      if (fault.kind === 'status') {
        entry.status = fault.code;
        entry.answeredAt = Date.now();
      }
      if (answerFault(fault, req, res)) return;
      if (fault.kind === 'delay') {
        setTimeout(() => {
          if (clientGone || req.socket.destroyed) {
            entry.dropped = true;
            settle();
            return;
          }
          send(body);
        }, fault.ms);
        return;
      }
      send(body);
    });

    const send = (body: Buffer) => {
      const out = upstream(entry, req, res, body);
      out.on('error', () => res.destroy());
      res.on('close', () => {
        if (entry.answeredAt === undefined) entry.cutAt = Date.now();
        out.destroy();
      });
      entry.forwardedAt = Date.now();
      out.end(body);
    };
  });
  if (options.serverTimeouts === false) {
    server.headersTimeout = 0;
    server.requestTimeout = 0;
    server.keepAliveTimeout = 0;
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    setRule(next) {
      rule = next;
    },
    log,
    inFlight: () => open,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      close();
    },
  };
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
  const proxy = await startProxyServer((entry, req, res) => {
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.authorization;
    delete headers.connection;
    return https.request({ host: upstream.hostname, port: upstream.port, method: entry.method, path: entry.url, headers, agent }, (answer) => {
      entry.status = answer.statusCode;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (entry.url.includes('watch=true')) entry.answeredAt = Date.now();
      answer.pipe(res);
      answer.on('end', () => (entry.answeredAt ??= Date.now()));
    });
  }, () => agent.destroy());
  return {
    ...proxy,
    writeKubeconfig(path) {
      writeFileSync(
        path,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'proxy', cluster: { server: proxy.url } }],
          users: [{ name: 'anyone', user: {} }],
          contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'anyone' } }],
          'current-context': 'proxy',
        }),
      );
    },
  };
}

/**
 * A fault proxy in front of a plain-HTTP server (`upstream`: http://host:port); requests forwarded unchanged. A
 * stalled request stays stalled until its client gives up: none of Node's server timeouts (headersTimeout closes a
 * connection after 60 s) ends it for the client.
 */
export async function startHttpFaultProxy(upstream: string): Promise<Omit<FaultProxy, 'writeKubeconfig'>> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  return startProxyServer((entry, req, res) =>
    http.request({ host: target.hostname, port: target.port, method: entry.method, path: entry.url, headers: req.headers, agent }, (answer) => {
      entry.status = answer.statusCode;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('end', () => (entry.answeredAt ??= Date.now()));
    }),
  () => agent.destroy(), { serverTimeouts: false });
}
