// The operator's Kubernetes client: JSON over HTTP/1.1 keep-alive connections (node:https), nothing generated.
// It replaced @kubernetes/client-node, whose index loads every generated API and model and undici (+88 MiB
// RSS at import, 28 MiB of the heap its source text; docs/benchmark.md "Memory"): the operator makes ~15
// kinds of request, each a path, a verb and a JSON body, so a client of its own is a few hundred lines.
// client-node stays a devDependency: its model types (`import type`, erased at run time) and the tests, which
// check this client against it.
//
// Every request is rate limited in the manner of client-go (QPS/burst; Events have a limiter of their own, as
// client-go's event recorder has its own client, and so have leader-election requests, so a renewal never waits
// behind a busy leader's reconcile traffic) and counted by verb with its response code. Watches are counted,
// never throttled (they are long-lived), and end after an inactivity timeout of our choosing.
//
// Failures are retried as client-go's rest client retries them (see retryDelayMs): a 429 or 5xx that carries
// Retry-After after the seconds it asks, a connection that was never established for any verb, a reset for
// idempotent verbs; at most 10 retries and never past a total cap, so a reconcile is not held for minutes (the
// work queue's backoff takes over). Watches are not retried here: the list-watch resumes them. Every request
// honours the caller's AbortSignal and the leadership term it was made in (./term.ts). Connecting (TCP and TLS)
// has a timeout of its own: an unreachable address fails in seconds, not after the kernel's ~127 s of SYNs.
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { delimiter } from 'node:path';
import type { Clock } from '../util/clock.ts';
import { systemClock } from '../util/clock.ts';
import { TokenBucket } from '../util/token-bucket.ts';
import { KUBE_VERBS, type KubeVerb } from '../metrics/kube-verbs.ts';
import { connectionFromKubeconfigs, impersonationHeaders, inClusterConnection, withBearerToken, type Connection } from './kubeconfig.ts';
import { createRequestCredentials, type RequestCredentials, type TlsMaterial } from './credentials.ts';
import { checkTerm, currentTerm } from './term.ts';

export { KUBE_VERBS, type KubeVerb };

/** Told of every request sent to the apiserver: its verb and the HTTP status (undefined for a watch or a transport error). */
export type KubeRequestObserver = (verb: KubeVerb, code: number | undefined) => void;

export interface KubeClientOptions {
  /** Path of a kubeconfig file; when absent the in-cluster ServiceAccount config is used. */
  readonly kubeconfigPath?: string | undefined;
  /** Use this bearer token instead of the kubeconfig's user (least-privilege tests). */
  readonly bearerToken?: string | undefined;
  /** Sustained requests per second to the apiserver (watches excepted); absent = no limit. */
  readonly qps?: number | undefined;
  /** Requests that may go out back to back above `qps` after a quiet spell; default max(1, ceil(qps)). */
  readonly burst?: number | undefined;
  /** Told of every request; more observers can be added with `observeRequests`. Must not throw. */
  readonly onRequest?: KubeRequestObserver | undefined;
  /** For the rate limiter and credential caching; default the system clock. */
  readonly clock?: Clock | undefined;
  /** For the in-cluster config; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** How long establishing a connection (TCP and TLS) may take; default 10 s. */
  readonly connectTimeoutMs?: number | undefined;
  readonly retry?: RetryOptions | undefined;
}

export interface RetryOptions {
  /** Retries after the first attempt; default 10 (client-go's). 0: none. */
  readonly maxRetries?: number | undefined;
  /** No retry starts whose wait would end more than this long after the first attempt; default 30 s. */
  readonly maxElapsedMs?: number | undefined;
  /** Waits between attempts; rejects when `signal` aborts. Default setTimeout. */
  readonly sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
}

export type QueryValue = string | number | boolean | undefined;

export interface KubeRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** e.g. `/api/v1/namespaces/ns/secrets/s`; see resourcePath in ./resources.ts. */
  readonly path: string;
  readonly query?: Readonly<Record<string, QueryValue>> | undefined;
  readonly body?: unknown;
  /** Default application/json; a PATCH names its kind (PatchType in ./resources.ts). */
  readonly contentType?: string | undefined;
  /** Ends the request, its wait for the rate limiter and its retries. */
  readonly signal?: AbortSignal | undefined;
}

export interface KubeRequester {
  /** The response body, parsed; throws KubeApiError for a non-2xx answer, the transport's error otherwise. */
  request<T = unknown>(request: KubeRequest): Promise<T>;
}

export interface WatchEvents {
  /** Each event of the stream: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, and its object. */
  readonly onEvent: (type: string, object: unknown) => void;
  /**
   * Once, when the stream ends: null when the server closed it, a KubeApiError when it refused the watch,
   * a TimeoutError (by name) when nothing arrived for `inactivityTimeoutMs`, the transport error otherwise.
   * Not called after abort().
   */
  readonly onDone: (err: unknown) => void;
  /** Default 150 s: the apiserver sends a bookmark about once a minute to a watch that asked for them. */
  readonly inactivityTimeoutMs?: number | undefined;
}

export interface WatchHandle {
  abort(): void;
}

export interface KubeClient extends KubeRequester {
  /** The apiserver's base URL, for messages. */
  readonly server: string;
  /** Requests for events.k8s.io, under a rate limiter of their own. */
  readonly events: KubeRequester;
  /** Leader-election (Lease) requests, under a rate limiter of their own: renewals never queue behind reconciles. */
  readonly leaderElection: KubeRequester;
  /** Opens a watch (`watch=true` is added to `query`). Resolves once the request is sent. */
  watch(path: string, query: Readonly<Record<string, QueryValue>>, events: WatchEvents): Promise<WatchHandle>;
  /** Adds an observer of every request from now on; returns the function that removes it. */
  observeRequests(observer: KubeRequestObserver): () => void;
  /** Closes the connection pools (watches are cut). The client must not be used afterwards. */
  close(): Promise<void>;
}

/** A non-2xx answer of the apiserver: `code` its HTTP status, `body` its Status object (or its text). */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  readonly code: number;
  readonly body: unknown;

  constructor(code: number, body: unknown) {
    const status = body !== null && typeof body === 'object' ? (body as { reason?: unknown; message?: unknown }) : {};
    const reason = typeof status.reason === 'string' && status.reason !== '' ? ` ${status.reason}` : '';
    const message = typeof status.message === 'string' && status.message !== '' ? status.message : http.STATUS_CODES[code] ?? 'request failed';
    super(`Kubernetes API ${code}${reason}: ${message}`);
    this.code = code;
    this.body = body;
  }
}

/** HTTP status of a failed API call, or undefined for transport errors. */
export function apiErrorCode(err: unknown): number | undefined {
  if (err instanceof KubeApiError) return err.code;
  return undefined;
}

/** Unary requests whose connection stays silent this long fail: a request must never hang a worker for good. */
const REQUEST_IDLE_TIMEOUT_MS = 60_000;
/** client-go's TLS handshake timeout; its dialer allows 30 s for TCP, which is long for an address that never answers. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** client-go's rest client: up to 10 retries. */
const DEFAULT_MAX_RETRIES = 10;
/**
 * No retry whose wait ends later than this after the first attempt: the apiserver's priority and fairness asks
 * for 1 s (10 retries fit), and a server asking for longer gets its error back at once, for the work queue's
 * backoff to take over instead of a worker held for minutes.
 */
const DEFAULT_MAX_RETRY_ELAPSED_MS = 30_000;
/** The wait when the server gave no Retry-After (client-go's artificial Retry-After for a reset is 1 s). */
const DEFAULT_RETRY_WAIT_MS = 1_000;
const DEFAULT_WATCH_INACTIVITY_MS = 150_000;
const USER_AGENT = 'secret-relay';

export function createKubeClient(options: KubeClientOptions = {}): KubeClient {
  const clock = options.clock ?? systemClock;
  let connection: Connection = options.kubeconfigPath ? connectionFromKubeconfigs(readKubeconfigs(options.kubeconfigPath)) : inClusterConnection(options.env ?? process.env);
  if (options.bearerToken) connection = withBearerToken(connection, options.bearerToken);
  return createKubeClientFor(connection, { ...options, clock });
}

/**
 * The files of a kubeconfig path: one file, or a list joined by ':' as in KUBECONFIG, which kubectl merges
 * (./kubeconfig.ts). Of a list, missing files are skipped, as kubectl skips them; a single path must exist.
 */
function readKubeconfigs(pathList: string): Array<{ text: string; path: string }> {
  const paths = [...new Set(pathList.split(delimiter).filter((p) => p !== ''))];
  if (paths.length <= 1) return [{ text: readFileSync(paths[0] ?? pathList, 'utf8'), path: paths[0] ?? pathList }];
  const files: Array<{ text: string; path: string }> = [];
  for (const path of paths) {
    try {
      files.push({ text: readFileSync(path, 'utf8'), path });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  if (files.length === 0) throw new Error(`none of the kubeconfig files ${paths.join(', ')} exists`);
  return files;
}

/** A client for a resolved connection (for tests that describe one directly). */
export function createKubeClientFor(connection: Connection, options: Omit<KubeClientOptions, 'kubeconfigPath' | 'bearerToken' | 'env'> = {}): KubeClient {
  const clock = options.clock ?? systemClock;
  const observers = new Set<KubeRequestObserver>();
  if (options.onRequest) observers.add(options.onRequest);
  const observe: KubeRequestObserver = (verb, code) => {
    for (const o of observers) {
      try {
        o(verb, code);
      } catch {
        // An observer is a metrics hook: its failure must not fail the request.
      }
    }
  };
  const newLimiter = () => (options.qps === undefined ? undefined : new RequestRateLimiter({ qps: options.qps, burst: options.burst ?? Math.max(1, Math.ceil(options.qps)) }, clock));
  let server: URL;
  try {
    server = new URL(connection.server);
  } catch {
    throw new Error(`the apiserver address ${connection.server} is not a URL`);
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') throw new Error(`the apiserver address ${connection.server} is neither https:// nor http://`);
  const transport = new Transport(server, createRequestCredentials(connection, clock), options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, connection.impersonate ? impersonationHeaders(connection.impersonate) : {});
  const maxRetries = options.retry?.maxRetries ?? DEFAULT_MAX_RETRIES;
  const maxElapsedMs = options.retry?.maxElapsedMs ?? DEFAULT_MAX_RETRY_ELAPSED_MS;
  const sleep = options.retry?.sleep ?? abortableSleep;
  const requester = (limiter: RequestRateLimiter | undefined): KubeRequester => ({
    async request<T>(request: KubeRequest): Promise<T> {
      const verb = verbOf(request.method, request.path, false);
      const term = currentTerm();
      const signal = linkSignals(request.signal, term?.signal);
      const startedAt = clock.now();
      try {
        for (let attempt = 0; ; attempt++) {
          signal.current?.throwIfAborted();
          checkTerm(term);
          if (limiter) await limiter.acquire(signal.current);
          let failure: unknown;
          let outcome: RetryOutcome;
          try {
            // The term is checked again right before sending: the wait for a token may have outlasted it.
            const { status, text, retryAfter } = await transport.send(request, signal.current, () => checkTerm(term));
            observe(verb, status);
            const body = parseBody(text);
            if (status >= 200 && status <= 299) return body as T;
            failure = new KubeApiError(status, body);
            outcome = { status, retryAfter };
          } catch (err) {
            if (signal.current?.aborted) throw signal.current.reason;
            if (term && (term.signal.aborted || term.ended())) throw err; // refused before sending: not a request
            observe(verb, undefined);
            if (!isTransportError(err)) throw err; // a credential that could not be read: not a fault to retry here
            failure = err;
            outcome = { error: { code: (err as NodeJS.ErrnoException).code, sent: (err as TransportError).sent, reachedBefore: transport.reached } };
          }
          const wait = attempt < maxRetries ? retryDelayMs(request.method, request.contentType, outcome) : undefined;
          if (wait === undefined || clock.now() + wait - startedAt > maxElapsedMs) throw failure;
          await sleep(wait, signal.current);
        }
      } finally {
        signal.dispose();
      }
    },
  });
  const newRequester = () => requester(newLimiter());
  const main = newRequester();
  return {
    server: connection.server,
    request: main.request,
    events: newRequester(),
    leaderElection: newRequester(),
    async watch(path, query, events) {
      observe('watch', undefined);
      return transport.watch(path, query, events);
    },
    observeRequests(observer) {
      observers.add(observer);
      return () => observers.delete(observer);
    },
    close: () => transport.close(),
  };
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function queryString(query: Readonly<Record<string, QueryValue>> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** What a failed attempt looked like, for retryDelayMs. */
export type RetryOutcome =
  | { readonly status: number; readonly retryAfter?: string | undefined }
  | { readonly error: { readonly code: string | undefined; readonly sent: boolean; readonly reachedBefore: boolean } };

/**
 * How long to wait before retrying a failed attempt, or undefined when it must not be retried; client-go's rest
 * client is the model (request.go, IsNextRetry/checkWait):
 * - 429 or any 5xx with Retry-After (whole seconds): after that many seconds, whatever the verb: the server says
 *   it did not do the work and when to come back.
 * - 429 and 503 without it: after 1 s, any verb (refused before the work: rate limited, no apiserver behind a
 *   proxy); 502 and 504 only for idempotent requests (the request may have been forwarded). A 500 without
 *   Retry-After (a failing admission webhook, a bug) is not retried: it would fail the same way.
 * - A connection never established (refused, connect timeout, DNS): after 1 s, any verb, nothing was sent —
 *   once this client has reached the apiserver before (it restarts, its endpoint moves); a client that never
 *   reached it (a wrong address at start-up) fails at once, for its one-line message. client-go does not retry
 *   these; its controllers requeue instead, which for us would go back to the provider too.
 *   Reset or cut after sending: idempotent requests only (client-go retries GETs), a create may have happened.
 * Idempotent: GET, PUT (a replace carries the resourceVersion it read, so a repeat conflicts rather than
 * overwrites), DELETE, and server-side apply.
 */
export function retryDelayMs(method: string, contentType: string | undefined, outcome: RetryOutcome): number | undefined {
  const idempotent = method === 'GET' || method === 'PUT' || method === 'DELETE' || (method === 'PATCH' && contentType === 'application/apply-patch+yaml');
  if ('status' in outcome) {
    const { status, retryAfter } = outcome;
    if (status !== 429 && status < 500) return undefined;
    if (retryAfter !== undefined) {
      const seconds = /^\s*\d+\s*$/.test(retryAfter) ? Number(retryAfter) : undefined;
      return seconds === undefined ? DEFAULT_RETRY_WAIT_MS : seconds * 1000;
    }
    if (status === 429 || status === 503) return DEFAULT_RETRY_WAIT_MS;
    if ((status === 502 || status === 504) && idempotent) return DEFAULT_RETRY_WAIT_MS;
    return undefined;
  }
  const { code, sent, reachedBefore } = outcome.error;
  if (!sent && reachedBefore && code !== undefined && CONNECT_ERRORS.has(code)) return DEFAULT_RETRY_WAIT_MS;
  if (sent && idempotent && code !== undefined && RESET_ERRORS.has(code)) return DEFAULT_RETRY_WAIT_MS;
  return undefined;
}

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE']);
const RESET_ERRORS = new Set(['ECONNRESET', 'EPIPE']);

/** An error of the connection (not of the server's answer): `sent` whether the request may have reached it. */
interface TransportError extends NodeJS.ErrnoException {
  sent: boolean;
}

function isTransportError(err: unknown): err is TransportError {
  return err instanceof Error && typeof (err as Partial<TransportError>).sent === 'boolean';
}

/** One signal for the caller's and the term's (either may be absent); `dispose` drops the listeners. */
function linkSignals(a: AbortSignal | undefined, b: AbortSignal | undefined): { readonly current: AbortSignal | undefined; dispose(): void } {
  if (!a || !b) return { current: a ?? b, dispose() {} };
  const controller = new AbortController();
  const onA = () => controller.abort(a.reason);
  const onB = () => controller.abort(b.reason);
  if (a.aborted) onA();
  else if (b.aborted) onB();
  else {
    a.addEventListener('abort', onA, { once: true });
    b.addEventListener('abort', onB, { once: true });
  }
  return {
    current: controller.signal,
    dispose() {
      a.removeEventListener('abort', onA);
      b.removeEventListener('abort', onB);
    },
  };
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolvePromise();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Sends requests over one keep-alive pool per TLS identity (a rotated client certificate or CA gets a new pool;
 * the old one is closed once its requests had a minute to finish), with the credentials of the moment.
 */
class Transport {
  readonly #server: URL;
  readonly #credentials: RequestCredentials;
  readonly #secure: boolean;
  #pool: { readonly id: string; readonly agent: http.Agent } | undefined;
  readonly #retired = new Set<http.Agent>();
  readonly #watches = new Set<http.ClientRequest>();
  readonly #connectTimeoutMs: number;
  /** Whether a connection to the apiserver was ever established. */
  reached = false;
  readonly #impersonate: Readonly<Record<string, string | string[]>>;

  constructor(server: URL, credentials: RequestCredentials, connectTimeoutMs: number, impersonate: Readonly<Record<string, string | string[]>>) {
    this.#impersonate = impersonate;
    this.#server = server;
    this.#credentials = credentials;
    this.#secure = server.protocol === 'https:';
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  /**
   * Fails `req` when its new connection is not established (TCP, then TLS) within the connect timeout; calls
   * `connected` once it is, or at once for a kept-alive connection (a request on it may reach the server).
   */
  #limitConnect(req: http.ClientRequest, connected: () => void): void {
    const established = () => {
      this.reached = true;
      connected();
    };
    req.once('socket', (socket) => {
      if (!socket.connecting) return established();
      const timer = setTimeout(() => {
        req.destroy(Object.assign(new Error(`could not connect to the apiserver ${this.#server.host} in ${this.#connectTimeoutMs / 1000} s`), { code: 'ETIMEDOUT' }));
      }, this.#connectTimeoutMs);
      const done = () => {
        clearTimeout(timer);
        socket.off('close', done);
      };
      socket.once(this.#secure ? 'secureConnect' : 'connect', () => {
        done();
        established();
      });
      socket.once('close', done);
    });
  }

  async #options(method: string, path: string, headers: Record<string, string>): Promise<https.RequestOptions> {
    const [authorization, agent] = await Promise.all([this.#credentials.authorization(), this.#agent()]);
    if (authorization) headers['Authorization'] = authorization;
    const base = this.#server.pathname === '/' ? '' : this.#server.pathname.replace(/\/$/, '');
    return {
      method,
      hostname: this.#server.hostname.startsWith('[') ? this.#server.hostname.slice(1, -1) : this.#server.hostname,
      port: this.#server.port || (this.#secure ? 443 : 80),
      path: base + path,
      headers: { 'User-Agent': USER_AGENT, Accept: 'application/json', ...this.#impersonate, ...headers },
      agent,
    };
  }

  async #agent(): Promise<http.Agent> {
    if (!this.#secure) {
      if (!this.#pool) this.#pool = { id: 'http', agent: new http.Agent({ keepAlive: true }) };
      return this.#pool.agent;
    }
    const tls: TlsMaterial = await this.#credentials.tls();
    if (this.#pool?.id === tls.id) return this.#pool.agent;
    const old = this.#pool;
    const agent = new https.Agent({
      keepAlive: true,
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.cert ? { cert: tls.cert } : {}),
      ...(tls.key ? { key: tls.key } : {}),
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.servername ? { servername: tls.servername } : {}),
    });
    this.#pool = { id: tls.id, agent };
    if (old) {
      this.#retired.add(old.agent);
      setTimeout(() => {
        this.#retired.delete(old.agent);
        old.agent.destroy();
      }, 60_000).unref();
    }
    return agent;
  }

  /**
   * One unary request: its status, body text and Retry-After. A failure of the connection is rejected with
   * `sent` set (false: it never left, so any verb may be retried). `signal` cuts it; `gate` runs right before
   * sending and may throw to refuse it (an ended leadership term).
   */
  async send(request: KubeRequest, signal: AbortSignal | undefined, gate: () => void): Promise<{ status: number; text: string; retryAfter: string | undefined }> {
    const payload = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body));
    const headers: Record<string, string> = {};
    if (payload) {
      headers['Content-Type'] = request.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const options = await this.#options(request.method, request.path + queryString(request.query), headers);
    signal?.throwIfAborted();
    gate();
    const client = this.#secure ? https : http;
    const result = await new Promise<{ status: number; text: string; retryAfter: string | undefined }>((resolvePromise, reject) => {
      let sent = false;
      let aborted = false;
      const onAbort = () => {
        aborted = true;
        req.destroy();
      };
      const fail = (err: Error) => {
        signal?.removeEventListener('abort', onAbort);
        if (aborted) return reject(signal!.reason);
        reject(Object.assign(err, { sent }));
      };
      const req = client.request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          signal?.removeEventListener('abort', onAbort);
          const retryAfter = res.headers['retry-after'];
          resolvePromise({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter });
        });
        res.on('error', fail);
      });
      this.#limitConnect(req, () => (sent = true));
      req.setTimeout(REQUEST_IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error(`no answer from the apiserver in ${REQUEST_IDLE_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
      req.on('error', fail);
      signal?.addEventListener('abort', onAbort, { once: true });
      req.end(payload);
    });
    if (result.status === 401) this.#credentials.refused();
    return result;
  }

  async watch(path: string, query: Readonly<Record<string, QueryValue>>, events: WatchEvents): Promise<WatchHandle> {
    const inactivityMs = events.inactivityTimeoutMs ?? DEFAULT_WATCH_INACTIVITY_MS;
    let finished = false;
    let req: http.ClientRequest | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      if (timer) clearTimeout(timer);
      if (req) {
        this.#watches.delete(req);
        req.destroy();
      }
      events.onDone(err);
    };
    const idle = () => {
      if (timer) timer.refresh();
      else {
        timer = setTimeout(() => finish(Object.assign(new Error(`watch ${path}: nothing received for ${inactivityMs} ms`), { name: 'TimeoutError' })), inactivityMs);
        timer.unref();
      }
    };
    const handle: WatchHandle = {
      abort() {
        if (finished) return;
        finished = true;
        if (timer) clearTimeout(timer);
        if (req) req.destroy();
      },
    };
    let options: https.RequestOptions;
    try {
      options = await this.#options('GET', path + queryString({ ...query, watch: true }), {});
    } catch (err) {
      queueMicrotask(() => finish(err));
      return handle;
    }
    if (finished) return handle;
    const client = this.#secure ? https : http;
    idle();
    let request: http.ClientRequest;
    try {
      request = client.request(options, (res) => {
      idle();
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => finish(new KubeApiError(res.statusCode ?? 0, parseBody(Buffer.concat(chunks).toString('utf8')))));
        res.on('error', finish);
        if (res.statusCode === 401) this.#credentials.refused();
        return;
      }
      res.setEncoding('utf8');
      let pending = '';
      res.on('data', (chunk: string) => {
        idle();
        pending += chunk;
        let newline = pending.indexOf('\n');
        while (newline !== -1 && !finished) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          if (line.trim() !== '') deliver(line, events);
          newline = pending.indexOf('\n');
        }
      });
      res.on('end', () => {
        if (pending.trim() !== '' && !finished) deliver(pending, events);
        finish(null);
      });
      res.on('error', finish);
      res.on('close', () => finish(null));
      });
    } catch (err) {
      queueMicrotask(() => finish(err));
      return handle;
    }
    req = request;
    this.#limitConnect(req, () => {});
    this.#watches.add(req);
    req.on('error', finish);
    req.end();
    return handle;
  }

  async close(): Promise<void> {
    for (const req of this.#watches) req.destroy();
    this.#watches.clear();
    this.#pool?.agent.destroy();
    this.#pool = undefined;
    for (const agent of this.#retired) agent.destroy();
    this.#retired.clear();
  }
}

/** One line of a watch stream: `{"type": …, "object": …}`. A line that is not (a truncated frame) is skipped. */
function deliver(line: string, events: WatchEvents): void {
  let event: { type?: unknown; object?: unknown };
  try {
    event = JSON.parse(line) as typeof event;
  } catch {
    return;
  }
  if (typeof event.type === 'string') events.onEvent(event.type, event.object);
}

function isWatch(url: string): boolean {
  const q = url.indexOf('?');
  return q !== -1 && new URLSearchParams(url.slice(q + 1)).get('watch') === 'true';
}

/**
 * The verb of a request, as the apiserver names it (its RequestInfo): GET of a named object is get, of a
 * collection list (watch when ?watch=true); POST create, PUT update, PATCH patch, DELETE delete (of a
 * collection too). Anything else (HEAD, OPTIONS) counts as get.
 */
export function requestVerb(method: string, url: string): KubeVerb {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = '';
  }
  return verbOf(method, path, isWatch(url));
}

/** requestVerb of a path (no query) whose watch-ness is known. */
function verbOf(method: string, path: string, watch: boolean): KubeVerb {
  switch (method.toUpperCase()) {
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    case 'GET':
      if (watch) return 'watch';
      return namesAnObject(path) ? 'get' : 'list';
    default:
      return 'get';
  }
}

/** Whether a resource path names one object (…/<resource>/<name>[/<subresource>]) rather than a collection. */
function namesAnObject(path: string): boolean {
  let parts = path.split('/').filter((p) => p !== '');
  // /api/<version>/… or /apis/<group>/<version>/…; anything else (/version, /openid/…) is a get.
  if (parts[0] === 'api') parts = parts.slice(2);
  else if (parts[0] === 'apis') parts = parts.slice(3);
  else return true;
  if (parts.length === 0) return true; // discovery
  // namespaces/<ns>/<resource>/… — but namespaces/<ns> and namespaces/<ns>/{status,finalize} are the Namespace itself.
  if (parts[0] === 'namespaces' && parts.length > 2 && parts[2] !== 'status' && parts[2] !== 'finalize') parts = parts.slice(2);
  return parts.length >= 2;
}

/**
 * Client-side rate limit in the manner of client-go's token bucket: `acquire()` resolves when a token is
 * available; callers are served in the order they asked. Timers are ref'd: a request waiting for a token
 * is work in progress and keeps the process alive.
 *
 * Unlike client-go, a line of waiters is released in batches of up to a tenth of a second's tokens (5 at
 * --qps=50), on one timer: every wake-up of an idle process costs ~0.2 ms of CPU on a busy node (caches gone
 * cold; measured on 2 cores next to the apiserver: a bare setTimeout(20) loop costs 230 µs per turn, an HTTP
 * round trip 1.35 ms after 20 ms of idle against 0.36 ms back to back), and throttled requests paced one by
 * one were most of the operator's CPU. The rate stays within qps and the bucket's burst.
 */
export class RequestRateLimiter {
  readonly #bucket: TokenBucket;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #batch: number;
  /** Resolves when the last caller in line has its token. */
  #tail: Promise<void> = Promise.resolve();
  #waiting = 0;

  constructor(limit: { readonly qps: number; readonly burst: number }, clock: Clock, sleep: (ms: number) => Promise<void> = realSleep) {
    this.#bucket = new TokenBucket(limit, clock);
    this.#sleep = sleep;
    this.#batch = Math.max(1, Math.min(limit.burst, Math.floor(limit.qps / 10)));
  }

  /**
   * Resolves once the caller may send one request; rejects with `signal`'s reason as soon as it aborts, and a
   * caller that gave up before its turn takes no token when the turn comes.
   */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    // Fast path: nobody in line and a token at hand.
    if (this.#waiting === 0 && this.#bucket.tryTake() === 0) return Promise.resolve();
    this.#waiting++;
    let abandoned = false;
    const turn = this.#tail.then(async () => {
      // The head of the line waits for the tokens of the next batch (this caller and those behind it), then
      // each takes one in turn without a timer of its own.
      // A caller that gave up leaves without taking one, even when it was already waiting at the head.
      while (!abandoned && this.#bucket.tryTake() > 0) await this.#sleep(Math.max(1, this.#bucket.msUntil(Math.min(this.#waiting, this.#batch))));
      this.#waiting--;
    });
    this.#tail = turn;
    if (!signal) return turn;
    return new Promise<void>((resolvePromise, reject) => {
      const onAbort = () => {
        abandoned = true;
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      void turn.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolvePromise();
      });
    });
  }

  /** Callers waiting for a token. */
  waiting(): number {
    return this.#waiting;
  }
}

function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
