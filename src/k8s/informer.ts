// Supervised informers. A ListWatch (./list-watch.ts) relists on 410 Gone but stops for good on any other error
// (apiserver restart, network failure, 5xx on list): it calls its 'error' handlers and returns. We restart it
// with exponential backoff + jitter. Restarting the same ListWatch keeps its cache, its last resourceVersion (so
// a restart resumes the watch, or relists on 410) and its handlers. The backoff starts again from its first step
// only after a run without an error for HEALTHY_RUN_MS (client-go's reflector resets its backoff the same way):
// a restart "succeeds" as soon as its watch request is sent, and an apiserver that is gone refuses the connection
// a moment later, so counting that as a success kept restarting every informer every second for as long as the
// apiserver was away.
//
// Its watches ask for bookmarks, so a quiet watch's resourceVersion keeps up with the apiserver and a reconnect
// resumes from it instead of relisting on 410; they ask the server to end each watch after 5-10 minutes (as
// client-go's reflector does); and they allow 150 s of silence, since the apiserver sends a bookmark only about
// once a minute.
import type { KubeClient } from './kube-client.ts';
import { systemClock, type Clock } from '../util/clock.ts';
import { backoffDelay, validateBackoff } from '../util/backoff.ts';
import type { BackoffOptions } from '../util/backoff.ts';
import { systemTimers } from '../util/timers.ts';
import { describeKubeError } from './describe-error.ts';
import type { TimerHandle, Timers } from '../util/timers.ts';
import { ListWatch, type KubernetesListObject, type KubernetesObject, type RawInformer } from './list-watch.ts';
import { listAllPages, listObjects } from './resources.ts';

/** pino-compatible. */
export interface InformerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export type InformerEvent = 'add' | 'update' | 'delete';
export type { KubernetesObject, KubernetesListObject, RawInformer };

export interface SupervisedInformer<T extends KubernetesObject> {
  /** Starts listing and watching. Resolves after the first successful list (retrying failures with backoff); rejects if stopped first. */
  start(): Promise<void>;
  /** Stops watching and cancels any pending restart. The cache keeps its last contents. */
  stop(): Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
  /** True once a list has succeeded. */
  hasSynced(): boolean;
  /** Handlers stay registered across restarts. A throwing handler is logged and does not disturb the others. */
  on(event: InformerEvent, handler: (obj: T) => void): void;
  off(event: InformerEvent, handler: (obj: T) => void): void;
  /** How many times the informer was restarted after an error. */
  restarts(): number;
}

export interface SupervisedInformerOptions<T extends KubernetesObject> {
  readonly kube: Pick<KubeClient, 'watch'>;
  /** Watch path, e.g. `/api/v1/namespaces` or `/apis/secret-relay.dev/v1alpha1/externalsecrets`. */
  readonly path: string;
  /** `signal` aborts when the informer stops. */
  readonly list: (signal?: AbortSignal) => Promise<KubernetesListObject<T>>;
  /** Must match what `list` asks for. */
  readonly labelSelector?: string | undefined;
  /** For logs; defaults to `path`. */
  readonly name?: string | undefined;
  readonly logger?: InformerLogger | undefined;
  /** Restart backoff. Default base 1 s, factor 2, cap 30 s, jitter 0.25. */
  readonly backoff?: BackoffOptions | undefined;
  readonly timers?: Timers | undefined;
  /** Tells how long a run has lasted (HEALTHY_RUN_MS); default the system clock. */
  readonly clock?: Clock | undefined;
  readonly random?: (() => number) | undefined;
  /** How the informer's watches behave; see WatchOptions. */
  readonly watch?: WatchOptions | undefined;
  /** For tests: builds the underlying informer. Default: a ListWatch over `kube.watch`. */
  readonly makeInformer?: ((path: string, list: (signal?: AbortSignal) => Promise<KubernetesListObject<T>>, labelSelector?: string) => RawInformer<T>) | undefined;
}

/** A run this long without an error counts as healthy: its next error is retried after the backoff's first step. */
export const HEALTHY_RUN_MS = 2 * 60_000;

export const defaultInformerBackoff: BackoffOptions = { baseMs: 1_000, factor: 2, maxMs: 30_000, jitter: 0.25 };

export interface WatchOptions {
  /** The server ends each watch after a random time in [this, 2 × this) seconds; default 300. The reconnect resumes from the last resourceVersion. */
  readonly minTimeoutSeconds?: number | undefined;
  /** Reconnect when nothing, not even a bookmark, arrived for this long; default 150 s (the apiserver bookmarks about once a minute). */
  readonly inactivityTimeoutMs?: number | undefined;
  /** Told of each bookmark, with the resourceVersion the watch has now reached. */
  readonly onBookmark?: ((resourceVersion: string) => void) | undefined;
}

export const defaultWatchOptions = { minTimeoutSeconds: 300, inactivityTimeoutMs: 150_000 } as const;

export function createSupervisedInformer<T extends KubernetesObject>(options: SupervisedInformerOptions<T>): SupervisedInformer<T> {
  const name = options.name ?? options.path;
  const logger = options.logger;
  const timers = options.timers ?? systemTimers;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const backoff = { ...defaultInformerBackoff, ...options.backoff };
  validateBackoff(backoff, `informer ${name} backoff`);

  const handlers: Record<InformerEvent, Set<(obj: T) => void>> = { add: new Set(), update: new Set(), delete: new Set() };
  let listed = false;
  let synced = false;
  let started = false;
  let stopped = false;
  let failures = 0;
  let restarts = 0;
  /** When the current run started (its start() was called); undefined before the first. */
  let runStartedAt: number | undefined;
  let restartTimer: TimerHandle | undefined;
  const syncWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];

  const list = async (signal?: AbortSignal): Promise<KubernetesListObject<T>> => {
    const result = await options.list(signal);
    listed = true;
    return result;
  };
  const minTimeoutSeconds = options.watch?.minTimeoutSeconds ?? defaultWatchOptions.minTimeoutSeconds;
  if (!(Number.isInteger(minTimeoutSeconds) && minTimeoutSeconds >= 1)) throw new Error(`watch minTimeoutSeconds must be a whole number of seconds >= 1, got ${minTimeoutSeconds}`);
  const inactivityTimeoutMs = options.watch?.inactivityTimeoutMs ?? defaultWatchOptions.inactivityTimeoutMs;
  if (!(inactivityTimeoutMs > 0)) throw new Error(`watch inactivityTimeoutMs must be > 0, got ${inactivityTimeoutMs}`);
  const makeInformer =
    options.makeInformer ??
    ((path: string, listFn: (signal?: AbortSignal) => Promise<KubernetesListObject<T>>, labelSelector?: string): RawInformer<T> =>
      new ListWatch<T>(path, listFn, (p, q, e) => options.kube.watch(p, q, e), {
        labelSelector,
        minTimeoutSeconds,
        inactivityTimeoutMs,
        onBookmark: options.watch?.onBookmark,
        random,
      }));
  const informer = makeInformer(options.path, list, options.labelSelector);

  const dispatch = (event: InformerEvent) => (obj: T) => {
    for (const handler of handlers[event]) {
      try {
        handler(obj);
      } catch (err) {
        logger?.warn({ informer: name, event, object: objectRef(obj), error: describeKubeError(err) }, 'informer event handler threw; other handlers still ran');
      }
    }
  };
  informer.on('add', dispatch('add'));
  informer.on('update', dispatch('update'));
  informer.on('delete', dispatch('delete'));
  const onError = (err: unknown): void => {
    if (stopped) return; // stop() aborts the watch, which reports an AbortError
    if (restartTimer !== undefined) return;
    if (runStartedAt !== undefined && clock.now() - runStartedAt >= HEALTHY_RUN_MS) failures = 0;
    const delayMs = Math.round(backoffDelay(failures++, backoff, random));
    logger?.warn({ informer: name, error: describeKubeError(err), attempt: failures, retryInMs: delayMs }, 'informer stopped on an error; restarting it with backoff');
    restartTimer = timers.setTimeout(() => {
      restartTimer = undefined;
      restarts++;
      void run();
    }, delayMs);
  };
  informer.on('error', onError);

  const run = async (): Promise<void> => {
    if (stopped) return;
    runStartedAt = clock.now();
    try {
      await informer.start();
    } catch (err) {
      // start() rejects only when the watch cannot even be set up (no current cluster, credential plugin failure).
      onError(err);
      return;
    }
    if (stopped) return;
    if (listed && !synced) {
      synced = true;
      logger?.info({ informer: name, objects: informer.list().length }, 'informer synced');
      for (const waiter of syncWaiters.splice(0)) waiter.resolve();
    }
  };

  return {
    start() {
      if (stopped) return Promise.reject(new Error(`informer ${name} was stopped; create a new one`));
      const whenSynced = synced
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            syncWaiters.push({ resolve, reject });
          });
      if (!started) {
        started = true;
        void run();
      }
      return whenSynced;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (restartTimer !== undefined) timers.clearTimeout(restartTimer);
      restartTimer = undefined;
      for (const waiter of syncWaiters.splice(0)) waiter.reject(new Error(`informer ${name} was stopped before its first list`));
      if (started) await informer.stop();
    },
    get: (objectName, namespace) => informer.get(objectName, namespace),
    list: (namespace) => informer.list(namespace),
    hasSynced: () => synced,
    on(event, handler) {
      handlers[event].add(handler);
    },
    off(event, handler) {
      handlers[event].delete(handler);
    },
    restarts: () => restarts,
  };
}

function objectRef(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name ?? ''}` : (obj.metadata?.name ?? '');
}

// ---- informers by kind ----------------------------------------------------------------------------------------

/** A secret-relay.dev object as the cache holds it: not validated; parse it with src/api before use. */
export interface RawCustomObject extends KubernetesObject {
  spec?: Record<string, unknown>;
  status?: {
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string; [field: string]: unknown }>;
    [field: string]: unknown;
  };
}

/**
 * What a cache holds: one resource, optionally narrowed by a label selector. `T` is the object type its
 * informer hands out (a phantom: the descriptor carries no value of it). See ./kinds.ts.
 */
export interface KindDescriptor<T extends KubernetesObject = KubernetesObject> {
  readonly kind: string;
  /** '' for the core group (/api/v1). */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /** Cache only the objects with these labels (so memory does not grow with unrelated objects). */
  readonly labelSelector?: string | undefined;
  readonly __object?: T;
}

/** One cache per resource and selector: two descriptors with the same key share an informer. */
export function kindKey(kind: KindDescriptor<KubernetesObject>): string {
  return `${kind.group}/${kind.version}/${kind.plural}${kind.labelSelector ? `?${kind.labelSelector}` : ''}`;
}

export interface InformerFactoryOptions {
  readonly kube: Pick<KubeClient, 'watch' | 'request'>;
  readonly logger?: InformerLogger | undefined;
  readonly backoff?: BackoffOptions | undefined;
  /** Watch only these namespaces (one watch each) for namespaced kinds; empty or absent: all namespaces, one watch. */
  readonly namespaces?: readonly string[] | undefined;
}

type ListOptions = { readonly namespace: string | undefined; readonly labelSelector: string | undefined; readonly limit?: number | undefined; readonly signal?: AbortSignal | undefined };

/** Lists objects of a kind (one namespace, or all), in pages of 500; `limit` for one page only (a cheap access check). */
export async function listKind(kube: Pick<KubeClient, 'request'>, kind: KindDescriptor<KubernetesObject>, options: ListOptions): Promise<KubernetesListObject<KubernetesObject>> {
  const { namespace, labelSelector, limit, signal } = options;
  if (limit !== undefined) return listObjects<KubernetesListObject<KubernetesObject>>(kube, { ...kind, namespace: kind.namespaced ? namespace : undefined }, { labelSelector, limit }, signal);
  return listAllPages<KubernetesListObject<KubernetesObject>>(kube, { ...kind, namespace: kind.namespaced ? namespace : undefined }, { labelSelector }, undefined, signal);
}

/** The watch path of a kind in one namespace or all. */
export function kindPath(kind: KindDescriptor<KubernetesObject>, namespace: string | undefined): string {
  const base = kind.group === '' ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
  return namespace && kind.namespaced ? `${base}/namespaces/${namespace}/${kind.plural}` : `${base}/${kind.plural}`;
}

/** The informer of a kind: one per watched namespace (merged) for a namespaced kind, one for all otherwise. */
export function createKindInformer<T extends KubernetesObject>(kind: KindDescriptor<T>, options: InformerFactoryOptions): SupervisedInformer<T> {
  const make = (namespace: string | undefined): SupervisedInformer<T> =>
    createSupervisedInformer<T>({
      kube: options.kube,
      name: `${kind.plural}${kind.labelSelector ? ` (${kind.labelSelector})` : ''}${namespace ? ` in ${namespace}` : ''}`,
      path: kindPath(kind, namespace),
      labelSelector: kind.labelSelector,
      list: async (signal) => (await listKind(options.kube, kind, { namespace, labelSelector: kind.labelSelector, signal })) as KubernetesListObject<T>,
      logger: options.logger,
      backoff: options.backoff,
    });
  const namespaces = kind.namespaced ? (options.namespaces ?? []) : [];
  if (namespaces.length === 0) return make(undefined);
  if (namespaces.length === 1) return make(namespaces[0]);
  return mergeInformers(new Map(namespaces.map((ns) => [ns, make(ns)])));
}

/** Presents one informer per namespace as one. `get`/`list` with a namespace go to that namespace's informer. */
export function mergeInformers<T extends KubernetesObject>(byNamespace: ReadonlyMap<string, SupervisedInformer<T>>): SupervisedInformer<T> {
  const all = [...byNamespace.values()];
  return {
    async start() {
      await Promise.all(all.map((i) => i.start()));
    },
    async stop() {
      await Promise.all(all.map((i) => i.stop()));
    },
    get: (name, namespace) => (namespace === undefined ? undefined : byNamespace.get(namespace)?.get(name, namespace)),
    list: (namespace) => (namespace === undefined ? all.flatMap((i) => i.list()) : (byNamespace.get(namespace)?.list(namespace) ?? [])),
    hasSynced: () => all.every((i) => i.hasSynced()),
    on: (event, handler) => all.forEach((i) => i.on(event, handler)),
    off: (event, handler) => all.forEach((i) => i.off(event, handler)),
    restarts: () => all.reduce((sum, i) => sum + i.restarts(), 0),
  };
}
