// The one place @kubernetes/client-node is configured: a KubeConfig and its API clients, built once in main.ts
// and handed to whoever needs them. Other files under src/k8s may import the library's types and helpers;
// nothing outside src/k8s imports it.
//
// Every request goes through two hooks of ours:
// - the API clients' HTTP layer (`httpApi` of the generated Configuration): client-side rate limiting (as
//   client-go's QPS/burst) and request accounting with the response code;
// - KubeConfig.applySecurityAuthentication, which the API clients and the library's Watch both call before
//   sending: watches are counted there (they bypass the API clients' HTTP layer and are never throttled, since
//   they are long-lived), and the per-request undici Agent the library makes is swapped for a shared one.
import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import type { Clock } from '../util/clock.ts';
import { systemClock } from '../util/clock.ts';
import { TokenBucket } from '../util/token-bucket.ts';

import { KUBE_VERBS, type KubeVerb } from '../metrics/kube-verbs.ts';

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
  /** For the rate limiter; default the system clock. */
  readonly clock?: Clock | undefined;
}

export interface KubeClient {
  readonly config: k8s.KubeConfig;
  readonly core: k8s.CoreV1Api;
  readonly custom: k8s.CustomObjectsApi;
  readonly coordination: k8s.CoordinationV1Api;
  readonly events: k8s.EventsV1Api;
  readonly apiextensions: k8s.ApiextensionsV1Api;
  readonly apps: k8s.AppsV1Api;
  /** Adds an observer of every request from now on; returns the function that removes it. */
  observeRequests(observer: KubeRequestObserver): () => void;
  /** Closes the shared connection pool (in-flight requests finish first). The client must not be used afterwards. */
  close(): Promise<void>;
}

export function createKubeClient(options: KubeClientOptions = {}): KubeClient {
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
  const newLimiter = () =>
    options.qps === undefined ? undefined : new RequestRateLimiter({ qps: options.qps, burst: options.burst ?? Math.max(1, Math.ceil(options.qps)) }, options.clock ?? systemClock);

  const config = new InstrumentedKubeConfig(observe, newLimiter());
  if (options.kubeconfigPath) config.loadFromFile(options.kubeconfigPath);
  else config.loadFromCluster();
  if (options.bearerToken) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    config.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'token', token: options.bearerToken }],
      contexts: [{ name: 'token', cluster: cluster.name, user: 'token' }],
      currentContext: 'token',
    });
  }
  return {
    config,
    core: config.makeApiClient(k8s.CoreV1Api),
    custom: config.makeApiClient(k8s.CustomObjectsApi),
    coordination: config.makeApiClient(k8s.CoordinationV1Api),
    // Events have a rate limit of their own, as client-go's event broadcaster has its own client (and so its
    // own limiter): a burst of Events never delays a Secret or status write, nor the other way round.
    events: config.makeRateLimitedApiClient(k8s.EventsV1Api, newLimiter()),
    apiextensions: config.makeApiClient(k8s.ApiextensionsV1Api),
    apps: config.makeApiClient(k8s.AppsV1Api),
    observeRequests(observer) {
      observers.add(observer);
      return () => observers.delete(observer);
    },
    close: () => config.closeDispatcher(),
  };
}

/** HTTP status of a failed API call, or undefined for transport errors. */
export function apiErrorCode(err: unknown): number | undefined {
  if (err instanceof k8s.ApiException) return err.code;
  return undefined;
}

type Dispatcher = NonNullable<ReturnType<k8s.RequestContext['getDispatcher']>>;

const USER_AGENT = 'secret-relay';

/** A KubeConfig whose API clients are rate limited and counted, and whose requests share one connection pool. */
class InstrumentedKubeConfig extends k8s.KubeConfig {
  readonly #observe: KubeRequestObserver;
  readonly #httpApi: k8s.HttpLibrary;
  #dispatcher: { readonly key: string; readonly dispatcher: Dispatcher } | undefined;

  constructor(observe: KubeRequestObserver, limiter: RequestRateLimiter | undefined) {
    super();
    this.#observe = observe;
    this.#httpApi = instrumentedHttpLibrary(observe, limiter);
  }

  /** As makeApiClient, with requests throttled by `limiter` instead of the shared one. */
  makeRateLimitedApiClient<T extends k8s.ApiType>(apiClientType: k8s.ApiConstructor<T>, limiter: RequestRateLimiter | undefined): T {
    return this.#makeApiClient(apiClientType, instrumentedHttpLibrary(this.#observe, limiter));
  }

  /** As the library's, with our HTTP layer. KubernetesObjectApi.makeApiClient comes through here too. */
  override makeApiClient<T extends k8s.ApiType>(apiClientType: k8s.ApiConstructor<T>): T {
    return this.#makeApiClient(apiClientType, this.#httpApi);
  }

  #makeApiClient<T extends k8s.ApiType>(apiClientType: k8s.ApiConstructor<T>, httpApi: k8s.HttpLibrary): T {
    const cluster = this.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    return new apiClientType(
      k8s.createConfiguration({
        baseServer: new k8s.ServerConfiguration(cluster.server, {}),
        authMethods: { default: this },
        httpApi,
        middleware: [k8s.setHeaderMiddleware('User-Agent', USER_AGENT)],
      }),
    );
  }

  override async applySecurityAuthentication(context: k8s.RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    // client-node 2.0.1 builds a new undici Agent for every request (a TCP connect and a TLS handshake each,
    // on both sides); one Agent per TLS identity keeps connections alive and reused, as client-go does.
    const fresh = context.getDispatcher();
    if (fresh !== undefined) context.setDispatcher(this.#sharedDispatcher(fresh));
    if (isWatch(context.getUrl())) this.#observe('watch', undefined);
  }

  async closeDispatcher(): Promise<void> {
    const current = this.#dispatcher;
    this.#dispatcher = undefined;
    if (current) await current.dispatcher.close();
  }

  /**
   * The shared Agent for the current TLS material (CA, client certificate and key, read as the library reads
   * them: from file or inline data, on each request). When the material changes (a rotated certificate file),
   * the old Agent is closed once its requests finish and `fresh` becomes the shared one.
   */
  #sharedDispatcher(fresh: Dispatcher): Dispatcher {
    const key = this.#tlsKey();
    // The unused fresh Agent holds no socket or timer and is left to the garbage collector: closing it
    // would cost an error object with a stack per request (undici's destroy), 1.5% of the operator's CPU.
    if (this.#dispatcher?.key === key) return this.#dispatcher.dispatcher;
    const old = this.#dispatcher;
    this.#dispatcher = { key, dispatcher: fresh };
    if (old) void old.dispatcher.close().catch(() => {});
    return fresh;
  }

  #tlsKey(): string {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    const hash = createHash('sha256');
    const add = (part: string | Buffer | null | undefined | boolean) => {
      const bytes = part === null || part === undefined ? '' : typeof part === 'boolean' ? String(part) : part;
      hash.update(String(bytes.length)).update(':').update(bytes);
    };
    add(cluster?.server);
    add(cluster?.skipTLSVerify);
    add(cluster?.tlsServerName);
    add(cluster?.proxyUrl);
    add(cluster ? k8s.bufferFromFileOrString(cluster.caFile, cluster.caData) : null);
    add(user ? k8s.bufferFromFileOrString(user.certFile, user.certData) : null);
    add(user ? k8s.bufferFromFileOrString(user.keyFile, user.keyData) : null);
    return hash.digest('hex');
  }
}

/** The API clients' HTTP layer: throttled by `limiter` (when set), every request told to `observe` with its response code. */
function instrumentedHttpLibrary(observe: KubeRequestObserver, limiter: RequestRateLimiter | undefined): k8s.HttpLibrary {
  const transport = k8s.createConfiguration().httpApi;
  return k8s.wrapHttpLibrary({
    async send(request) {
      const verb = requestVerb(request.getHttpMethod(), request.getUrl());
      if (limiter) await limiter.acquire();
      try {
        const response = await transport.send(request).toPromise();
        observe(verb, response.httpStatusCode);
        return response;
      } catch (err) {
        observe(verb, undefined);
        throw err;
      }
    },
  });
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
      if (isWatch(url)) return 'watch';
      return namesAnObject(url) ? 'get' : 'list';
    default:
      return 'get';
  }
}

/** Whether a resource URL names one object (…/<resource>/<name>[/<subresource>]) rather than a collection. */
function namesAnObject(url: string): boolean {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return true;
  }
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
 */
export class RequestRateLimiter {
  readonly #bucket: TokenBucket;
  readonly #sleep: (ms: number) => Promise<void>;
  /** Resolves when the last caller in line has its token. */
  #tail: Promise<void> = Promise.resolve();
  #waiting = 0;

  constructor(limit: { readonly qps: number; readonly burst: number }, clock: Clock, sleep: (ms: number) => Promise<void> = realSleep) {
    this.#bucket = new TokenBucket(limit, clock);
    this.#sleep = sleep;
  }

  /** Resolves once the caller may send one request. */
  acquire(): Promise<void> {
    // Fast path: nobody in line and a token at hand.
    if (this.#waiting === 0 && this.#bucket.tryTake() === 0) return Promise.resolve();
    this.#waiting++;
    const turn = this.#tail.then(async () => {
      for (let wait = this.#bucket.tryTake(); wait > 0; wait = this.#bucket.tryTake()) await this.#sleep(wait);
      this.#waiting--;
    });
    this.#tail = turn;
    return turn;
  }

  /** Callers waiting for a token. */
  waiting(): number {
    return this.#waiting;
  }
}

function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
