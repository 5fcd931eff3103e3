// A cache kept by a list and then a watch, as client-go's reflector and client-node's ListWatch keep theirs
// (this is client-node 2.0.1's ListWatch, which the operator used before it had its own client, with the
// same semantics): a list fills the cache and tells add/update/delete for the difference, a watch from the
// list's resourceVersion keeps it current, a watch that ends is resumed from the last resourceVersion seen,
// and 410 Gone (that version is compacted away) starts over with a list. Any other failure is told to the
// 'error' handlers and the ListWatch stops until start() is called again: the supervisor in ./informer.ts
// decides when (backoff). Every watch asks for bookmarks (so a quiet watch's resourceVersion keeps up with the
// apiserver and a reconnect resumes instead of relisting) and for the server to end it after
// [minTimeoutSeconds, 2 × minTimeoutSeconds) (client-go's reflector spreads its watches the same way).
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { KubeApiError, QueryValue, WatchEvents, WatchHandle } from './kube-client.ts';

export type { KubernetesListObject, KubernetesObject };

export type CacheEvent = 'add' | 'update' | 'delete';

/** What the supervisor needs of a ListWatch (the class below, or a fake in tests). */
export interface RawInformer<T extends KubernetesObject> {
  on(event: CacheEvent, handler: (obj: T) => void): void;
  on(event: 'error', handler: (err: unknown) => void): void;
  /** Lists (unless it has a resourceVersion to resume from) and opens the watch; failures go to 'error'. */
  start(): Promise<void>;
  stop(): Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): T[];
}

export type OpenWatch = (path: string, query: Readonly<Record<string, QueryValue>>, events: WatchEvents) => Promise<WatchHandle>;

export interface ListWatchOptions {
  readonly labelSelector?: string | undefined;
  /** The server ends each watch after a random time in [this, 2 × this) seconds. */
  readonly minTimeoutSeconds: number;
  /** Reconnect when nothing, not even a bookmark, arrived for this long. */
  readonly inactivityTimeoutMs: number;
  readonly onBookmark?: ((resourceVersion: string) => void) | undefined;
  readonly random: () => number;
  /** Waits before a reconnect, or until `signal` aborts (stop()); default setTimeout, cleared on abort. */
  readonly delay?: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined;
}

/** A watch that ended without delivering anything is reopened after 1 s, doubling to 30 s (client-node's). */
const BASE_RECONNECT_DELAY_MS = 1_000;
const MAX_RECONNECT_DELAY_MS = 30_000;

export class ListWatch<T extends KubernetesObject> implements RawInformer<T> {
  readonly #path: string;
  readonly #list: (signal: AbortSignal) => Promise<KubernetesListObject<T>>;
  readonly #openWatch: OpenWatch;
  readonly #options: ListWatchOptions;
  readonly #delay: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Aborted by stop(): ends a pending reconnect wait. */
  #stopping = new AbortController();
  /** namespace ('' for cluster-scoped) → name → object */
  #objects = new Map<string, Map<string, T>>();
  readonly #handlers = { add: [] as Array<(obj: T) => void>, update: [] as Array<(obj: T) => void>, delete: [] as Array<(obj: T) => void>, error: [] as Array<(err: unknown) => void> };
  #resourceVersion = '';
  #request: WatchHandle | undefined;
  #stopped = false;
  #reconnectDelayMs = 0;
  #hasConnected = false;

  /** `list` is given a signal that stop() aborts (a long paged list is not finished for nothing). */
  constructor(path: string, list: (signal: AbortSignal) => Promise<KubernetesListObject<T>>, openWatch: OpenWatch, options: ListWatchOptions) {
    this.#path = path;
    this.#list = list;
    this.#openWatch = openWatch;
    this.#options = options;
    this.#delay = options.delay ?? delayUnlessAborted;
  }

  on(event: CacheEvent, handler: (obj: T) => void): void;
  on(event: 'error', handler: (err: unknown) => void): void;
  on(event: CacheEvent | 'error', handler: ((obj: T) => void) | ((err: unknown) => void)): void {
    (this.#handlers[event] as Array<typeof handler>).push(handler);
  }

  async start(): Promise<void> {
    this.#stopped = false;
    this.#stopping = new AbortController();
    this.#reconnectDelayMs = 0;
    this.#hasConnected = false;
    await this.#done(null);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort();
    this.#abort();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#objects.get(namespace ?? '')?.get(name);
  }

  list(namespace?: string): T[] {
    if (!namespace) {
      const all: T[] = [];
      for (const objects of this.#objects.values()) all.push(...objects.values());
      return all;
    }
    return [...(this.#objects.get(namespace)?.values() ?? [])];
  }

  #abort(): void {
    this.#request?.abort();
    this.#request = undefined;
  }

  #emit(event: CacheEvent, obj: T): void {
    for (const handler of this.#handlers[event].slice()) handler(obj);
  }

  #fail(err: unknown): void {
    for (const handler of this.#handlers.error.slice()) handler(err);
  }

  /** A watch ended (or none is open yet): resume, relist, or report. */
  async #done(err: unknown): Promise<void> {
    this.#abort();
    if (err && (err as Partial<KubeApiError>).code === 410) this.#resourceVersion = '';
    else if (err && (err as Error).name === 'TimeoutError') this.#reconnectDelayMs = 0; // the silence already waited
    else if (err) return this.#fail(err);
    if (this.#stopped) return;
    if (!this.#resourceVersion) {
      let list: KubernetesListObject<T>;
      try {
        list = await this.#list(this.#stopping.signal);
      } catch (listErr) {
        return this.#fail(listErr);
      }
      if (this.#stopped) return;
      this.#replace(list.items ?? []);
      this.#resourceVersion = list.metadata?.resourceVersion ?? '';
    }
    const { minTimeoutSeconds, random } = this.#options;
    const query: Record<string, QueryValue> = {
      resourceVersion: this.#resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: Math.floor(minTimeoutSeconds * (1 + Math.min(Math.max(random(), 0), 0.999))),
      labelSelector: this.#options.labelSelector,
    };
    if (this.#reconnectDelayMs > 0 && this.#hasConnected) await this.#delay(this.#reconnectDelayMs, this.#stopping.signal);
    if (this.#stopped) return;
    if (this.#hasConnected) this.#reconnectDelayMs = Math.min(this.#reconnectDelayMs > 0 ? this.#reconnectDelayMs * 2 : BASE_RECONNECT_DELAY_MS, MAX_RECONNECT_DELAY_MS);
    this.#hasConnected = true;
    let ended = false;
    const request = await this.#openWatch(this.#path, query, {
      inactivityTimeoutMs: this.#options.inactivityTimeoutMs,
      onEvent: (type, object) => this.#event(type, object),
      onDone: (doneErr) => {
        ended = true;
        // Reopening can fail too (the watch cannot even be set up): that goes to the supervisor, never to an
        // unhandled rejection, which would end the process.
        this.#done(doneErr).catch((reopenErr: unknown) => this.#fail(reopenErr));
      },
    });
    if (!ended && !this.#stopped) this.#request = request;
    else if (this.#stopped) request.abort();
  }

  #event(type: string, object: unknown): void {
    const obj = object as T;
    switch (type) {
      case 'ERROR':
        // The server ends the watch after it; 410: our resourceVersion is gone, the next start relists.
        if ((object as { code?: unknown } | undefined)?.code === 410) this.#resourceVersion = '';
        return;
      case 'ADDED':
      case 'MODIFIED':
        this.#addOrUpdate(obj);
        break;
      case 'DELETED':
        this.#delete(obj);
        break;
      case 'BOOKMARK':
        this.#options.onBookmark?.(String(obj?.metadata?.resourceVersion ?? ''));
        break;
      default:
        return;
    }
    this.#reconnectDelayMs = 0;
    this.#resourceVersion = obj?.metadata?.resourceVersion ?? '';
  }

  #addOrUpdate(obj: T): void {
    const namespace = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    let objects = this.#objects.get(namespace);
    if (!objects) this.#objects.set(namespace, (objects = new Map()));
    const found = objects.get(name);
    if (!found) {
      objects.set(name, obj);
      this.#emit('add', obj);
    } else if (found.metadata?.resourceVersion === undefined || found.metadata.resourceVersion !== obj.metadata?.resourceVersion) {
      objects.set(name, obj);
      this.#emit('update', obj);
    }
  }

  #delete(obj: T): void {
    const namespace = obj.metadata?.namespace ?? '';
    const objects = this.#objects.get(namespace);
    if (!objects?.delete(obj.metadata?.name ?? '')) return;
    if (objects.size === 0) this.#objects.delete(namespace);
    this.#emit('delete', obj);
  }

  /** A list's result: objects gone since are deleted (and told), the others added or updated. */
  #replace(items: readonly T[]): void {
    const listed = new Map<string, Set<string>>();
    for (const item of items) {
      const namespace = item.metadata?.namespace ?? '';
      let names = listed.get(namespace);
      if (!names) listed.set(namespace, (names = new Set()));
      names.add(item.metadata?.name ?? '');
    }
    for (const [namespace, objects] of this.#objects) {
      const names = listed.get(namespace);
      for (const [name, obj] of objects) {
        if (names?.has(name)) continue;
        objects.delete(name);
        this.#emit('delete', obj);
      }
      if (objects.size === 0) this.#objects.delete(namespace);
    }
    for (const item of items) this.#addOrUpdate(item);
  }
}

/** Resolves after `ms`, or at once (its timer cleared) when `signal` aborts. */
function delayUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
