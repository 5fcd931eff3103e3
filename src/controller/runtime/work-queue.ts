// A keyed work queue in the manner of client-go's workqueue: items are keys ("namespace/name"), never events,
// so ten changes to one object while it waits cost one reconcile. One difference: ready keys are handed out by
// namespace in turn (round-robin; FIFO within a namespace), so a namespace with thousands of due keys delays
// another namespace's key by at most one key per busy namespace, not by its whole backlog.
import type { Clock } from '../../util/clock.ts';
import { systemClock } from '../../util/clock.ts';
import { backoffDelay, validateBackoff } from '../../util/backoff.ts';
import type { BackoffOptions } from '../../util/backoff.ts';
import { MinHeap } from '../../util/min-heap.ts';
import { TokenBucket, defaultRateLimit } from '../../util/token-bucket.ts';
import type { RateLimit } from '../../util/token-bucket.ts';
import { systemTimers } from '../../util/timers.ts';
import type { TimerHandle, Timers } from '../../util/timers.ts';

/** Metrics hooks; the metrics module adapts prom-client to this. Every method is called synchronously and must not throw. */
export interface QueueObserver {
  /** A key entered the queue (de-duplicated adds are not counted). */
  added(): void;
  /** Keys ready to be handed out, after every change. */
  depth(n: number): void;
  /** Seconds a key waited between being added and being handed to a worker. */
  waited(seconds: number): void;
  /** `addRateLimited` was called: a reconcile failed and will be retried. */
  retried(): void;
  /** Namespaces with ready keys, and the ready keys of the busiest one, after every change (optional). */
  namespaces?(waiting: number, busiestDepth: number): void;
}

export interface WorkQueueOptions {
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** Returns a number in [0, 1); drives backoff jitter. */
  readonly random?: () => number;
  /** Per-key backoff for `addRateLimited`. Default base 1 s, factor 2, cap 5 min, jitter 0.25. */
  readonly backoff?: BackoffOptions;
  /** Global limit on how fast keys are handed to workers. Default 50/s, burst 300. `{ qps: Infinity, burst: 1 }` disables it. */
  readonly rateLimit?: RateLimit;
  readonly observer?: QueueObserver;
}

interface DelayedEntry {
  readonly key: string;
  readonly due: number;
}

interface Waiter {
  readonly resolve: (key: string | undefined) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

export class WorkQueue {
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #backoff: BackoffOptions;
  readonly #bucket: TokenBucket;
  readonly #observer: QueueObserver | undefined;

  /** Ready keys per namespace, in FIFO order. */
  readonly #byNamespace = new Map<string, Fifo<string>>();
  /** Namespaces with ready keys, in the order they are served: the head's first key goes next, then it moves to the tail. */
  readonly #turns = new Fifo<string>();
  #readyCount = 0;
  /** The busiest namespace's ready keys (for the observer); recomputed when that namespace shrinks. */
  #busiest = 0;
  /** Keys that need processing: queued, or added again while being processed. */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  /** When each dirty key was added, for the wait-time metric. */
  readonly #addedAt = new Map<string, number>();
  readonly #waiters: Waiter[] = [];

  /** Earliest due time per delayed key; heap entries that disagree with it are stale and skipped. */
  readonly #delayed = new Map<string, number>();
  readonly #heap = new MinHeap<DelayedEntry>((a, b) => a.due < b.due);
  #delayTimer: TimerHandle | undefined;
  #delayTimerDue = Infinity;

  readonly #failures = new Map<string, number>();
  #handoutTimer: TimerHandle | undefined;
  #shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
    this.#random = options.random ?? Math.random;
    this.#backoff = options.backoff ?? {};
    validateBackoff(this.#backoff, 'work queue backoff');
    this.#bucket = new TokenBucket(options.rateLimit ?? defaultRateLimit, this.#clock);
    this.#observer = options.observer;
  }

  /** Queues `key` unless it is already queued. A key being processed is queued again when `done(key)` is called. */
  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    this.#addedAt.set(key, this.#clock.now());
    this.#observer?.added();
    if (this.#processing.has(key)) return;
    this.#pushReady(key);
    this.#handOut();
  }

  /** Adds `key` after `ms`. One pending delayed add per key: the earliest one wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (!(ms > 0)) return this.add(key);
    const due = this.#clock.now() + ms;
    const pending = this.#delayed.get(key);
    if (pending !== undefined && pending <= due) return;
    this.#delayed.set(key, due);
    this.#heap.push({ key, due });
    this.#armDelayTimer();
  }

  /**
   * Adds `key` after its next backoff delay: base · factor^retries, jittered, capped. `backoff` replaces the queue's
   * own for this delay (the count of failures is the same one).
   */
  addRateLimited(key: string, backoff: BackoffOptions = this.#backoff, countFrom = 0): void {
    if (this.#shuttingDown) return;
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    this.#observer?.retried();
    // countFrom: failures already retried another way (a store's retrySettings) do not grow this backoff.
    this.addAfter(key, backoffDelay(failures - countFrom, backoff, this.#random));
  }

  /** Resets the backoff of `key` (after a success, or a failure that retrying cannot fix). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Failures counted for `key` since it was last forgotten. */
  retries(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /**
   * The next key to process; the caller owns it until `done(key)`. Resolves undefined once the queue
   * shuts down or `signal` aborts.
   */
  get(signal?: AbortSignal): Promise<string | undefined> {
    if (this.#shuttingDown || signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        signal,
        onAbort: () => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          resolve(undefined);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
      this.#handOut();
    });
  }

  /** Marks `key` processed; if it was added meanwhile it goes back on the queue now. */
  done(key: string): void {
    if (!this.#processing.delete(key)) return;
    if (this.#dirty.has(key) && !this.#shuttingDown) {
      this.#pushReady(key);
      this.#handOut();
    }
  }

  /** Stops handing out keys: waiting and later `get` calls resolve undefined, adds are ignored, timers are cleared. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const waiter of this.#waiters.splice(0)) {
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(undefined);
    }
    if (this.#delayTimer !== undefined) this.#timers.clearTimeout(this.#delayTimer);
    if (this.#handoutTimer !== undefined) this.#timers.clearTimeout(this.#handoutTimer);
    this.#delayTimer = this.#handoutTimer = undefined;
    this.#heap.clear();
    this.#delayed.clear();
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Keys ready to be handed out (not those being processed or waiting on a delay). */
  len(): number {
    return this.#readyCount;
  }

  /** Keys waiting on `addAfter` / `addRateLimited`. */
  delayedLen(): number {
    return this.#delayed.size;
  }

  /** Keys handed out and not yet `done`. */
  processingLen(): number {
    return this.#processing.size;
  }

  #pushReady(key: string): void {
    const namespace = namespaceOf(key);
    let keys = this.#byNamespace.get(namespace);
    if (keys === undefined) {
      keys = new Fifo<string>();
      this.#byNamespace.set(namespace, keys);
      this.#turns.push(namespace);
    }
    keys.push(key);
    this.#readyCount++;
    if (keys.length > this.#busiest) this.#busiest = keys.length;
    this.#observer?.depth(this.len());
    this.#observer?.namespaces?.(this.#byNamespace.size, this.#busiest);
  }

  /** The first key of the namespace whose turn it is; that namespace goes to the back of the line. */
  #shiftReady(): string | undefined {
    const namespace = this.#turns.shift();
    if (namespace === undefined) return undefined;
    const keys = this.#byNamespace.get(namespace)!;
    const before = keys.length;
    const key = keys.shift()!;
    this.#readyCount--;
    if (keys.length === 0) this.#byNamespace.delete(namespace);
    else this.#turns.push(namespace);
    if (before === this.#busiest) {
      let busiest = 0;
      for (const other of this.#byNamespace.values()) if (other.length > busiest) busiest = other.length;
      this.#busiest = busiest;
    }
    this.#observer?.namespaces?.(this.#byNamespace.size, this.#busiest);
    return key;
  }

  /** Gives ready keys to waiting workers as fast as the token bucket allows. */
  #handOut(): void {
    if (this.#handoutTimer !== undefined) return; // already waiting for a token
    while (this.#waiters.length > 0 && this.len() > 0) {
      const wait = this.#bucket.tryTake();
      if (wait > 0) {
        this.#handoutTimer = this.#timers.setTimeout(() => {
          this.#handoutTimer = undefined;
          this.#handOut();
        }, wait);
        return;
      }
      const key = this.#shiftReady()!;
      const waiter = this.#waiters.shift()!;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      this.#dirty.delete(key);
      this.#processing.add(key);
      const addedAt = this.#addedAt.get(key);
      this.#addedAt.delete(key);
      this.#observer?.depth(this.len());
      if (addedAt !== undefined) this.#observer?.waited(Math.max(0, this.#clock.now() - addedAt) / 1000);
      waiter.resolve(key);
    }
  }

  /** One timer for all delayed keys, set for the earliest due time. */
  #armDelayTimer(): void {
    const next = this.#heap.peek();
    if (next === undefined || next.due >= this.#delayTimerDue) return;
    if (this.#delayTimer !== undefined) this.#timers.clearTimeout(this.#delayTimer);
    this.#delayTimerDue = next.due;
    this.#delayTimer = this.#timers.setTimeout(() => this.#fireDelayed(), next.due - this.#clock.now());
  }

  #fireDelayed(): void {
    this.#delayTimer = undefined;
    this.#delayTimerDue = Infinity;
    const now = this.#clock.now();
    for (let entry = this.#heap.peek(); entry !== undefined && entry.due <= now; entry = this.#heap.peek()) {
      this.#heap.pop();
      if (this.#delayed.get(entry.key) !== entry.due) continue; // superseded by an earlier addAfter
      this.#delayed.delete(entry.key);
      this.add(entry.key);
    }
    // Drop stale entries at the top so they do not arm a useless timer.
    for (let entry = this.#heap.peek(); entry !== undefined && this.#delayed.get(entry.key) !== entry.due; entry = this.#heap.peek()) {
      this.#heap.pop();
    }
    this.#armDelayTimer();
  }
}

/** The namespace of a "namespace/name" key; '' for a cluster-scoped key. */
export function namespaceOf(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

/** A FIFO with O(1) shift (a head index, compacted now and then) for queues of 10,000 keys. */
class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head]!;
    this.#items[this.#head++] = undefined as T;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}
