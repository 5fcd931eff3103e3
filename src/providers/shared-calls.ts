import type { FindRef, RemoteRef, SecretsClient } from './provider.ts';
import { wrapClient } from './provider.ts';
import type { Timers } from '../util/timers.ts';
import { systemTimers } from '../util/timers.ts';
import { untilAborted } from './abortable.ts';
import { stableJson } from '../util/stable-json.ts';

export { stableJson };

/**
 * How long the operator keeps a successful provider result for other callers: one "refresh wave".
 * ExternalSecrets created or refreshed together are reconciled a few at a time (one per worker), so
 * readers of one remote secret rarely overlap in flight; holding the result lets the whole wave share one
 * call. Measured: 100 ExternalSecrets through 4 workers on 2 shared cores take 2.6–4.7 s to reconcile
 * (test/integration/aws.test.ts); 2 s gave 20 calls for 10 secrets, 5 s gives 10. The cost: a value may
 * be up to this much older than the remote one — small against refresh intervals (default 1h, commonly
 * minutes). Values live only in memory and are dropped by a timer when the window ends.
 */
export const defaultHoldResultsMs = 5000;

/**
 * Single-flight: concurrent calls with the same key share one in-flight promise.
 * With `holdResultsMs` > 0, a successful result is also kept (in memory only) for that long, so calls made
 * soon after share it too; failures are never kept. With 0 nothing is kept once the call settles.
 */
export interface SharedCalls {
  /**
   * Runs `fn` unless a call with `key` is already in flight, in which case this joins it.
   * `fn` receives a signal that aborts only once every waiter that passed a signal has aborted
   * (a waiter without a signal keeps the call alive). Each waiter rejects as soon as its own
   * `signal` aborts, with that signal's reason, whatever the shared call does.
   */
  do<T>(key: string, fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Number of calls in flight (for tests and metrics). */
  inFlight(): number;
  /** Number of settled results still held (holdResultsMs > 0). */
  held(): number;
  /**
   * Drops the held results and in-flight calls whose key `matches`: the next caller starts a fresh call (a change
   * notification said the remote value changed). Callers already waiting keep theirs. Returns how many were dropped.
   */
  forget(matches: (key: string) => boolean): number;
}

interface Flight {
  readonly promise: Promise<unknown>;
  readonly controller: AbortController;
  waiters: number;
  settled: boolean;
}

export function createSharedCalls(options: { holdResultsMs?: number; timers?: Timers } = {}): SharedCalls {
  const holdResultsMs = options.holdResultsMs ?? 0;
  const timers = options.timers ?? systemTimers;
  const flights = new Map<string, Flight>();

  function start(key: string, fn: (signal: AbortSignal) => Promise<unknown>): Flight {
    const controller = new AbortController();
    const flight: Flight = {
      // The async wrapper turns a synchronous throw of fn into a rejection.
      promise: (async () => fn(controller.signal))(),
      controller,
      waiters: 0,
      settled: false,
    };
    flights.set(key, flight);
    const forget = (): void => {
      if (flights.get(key) === flight) flights.delete(key);
    };
    const settle = (): void => {
      flight.settled = true;
      forget();
    };
    const hold = (): void => {
      flight.settled = true;
      // An aborted call (every waiter left) was already forgotten: do not bring it back.
      if (flights.get(key) !== flight) return;
      timers.setTimeout(forget, holdResultsMs);
    };
    // Handles the rejection even when every waiter has left, so it is never unhandled.
    flight.promise.then(holdResultsMs > 0 ? hold : settle, settle);
    return flight;
  }

  function leave(key: string, flight: Flight, reason: unknown): void {
    flight.waiters--;
    if (flight.waiters > 0 || flight.settled) return;
    // Nobody wants the result any more: stop the provider call, and let the next caller start afresh.
    if (flights.get(key) === flight) flights.delete(key);
    flight.controller.abort(reason);
  }

  return {
    do<T>(key: string, fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
      if (signal?.aborted) return Promise.reject(signal.reason);
      const flight = flights.get(key) ?? start(key, fn);
      flight.waiters++;
      const shared = flight.promise as Promise<T>;
      if (signal === undefined) return shared;
      return untilAborted(shared, signal, () => leave(key, flight, signal.reason));
    },
    inFlight: () => [...flights.values()].filter((flight) => !flight.settled).length,
    held: () => [...flights.values()].filter((flight) => flight.settled).length,
    forget(matches) {
      let dropped = 0;
      for (const key of [...flights.keys()]) {
        if (!matches(key)) continue;
        flights.delete(key);
        dropped++;
      }
      return dropped;
    },
  };
}

/**
 * Matches the shared reads (withSharedCalls' keys) of one store that a change of `remoteKeys` makes stale: its
 * getSecret calls for those keys, and every getAllSecrets (a find may select any of them). Pure.
 */
export function staleReadsOf(storeUid: string, remoteKeys: ReadonlySet<string>): (key: string) => boolean {
  return (key) => {
    // clientCacheKey (uid, generation, partition), then method and ref: see withSharedCalls.
    const [uid, , , method, ref] = key.split('\u0000');
    if (uid !== storeUid) return false;
    if (method === 'getAllSecrets') return true;
    try {
      const parsed = JSON.parse(ref ?? '') as { key?: unknown };
      return typeof parsed.key === 'string' && remoteKeys.has(parsed.key);
    } catch {
      return false;
    }
  };
}

function copyMap(map: Record<string, Uint8Array>): Record<string, Uint8Array> {
  return Object.fromEntries(Object.entries(map).map(([name, bytes]) => [name, bytes.slice()]));
}

/**
 * De-duplicates getSecret / getAllSecrets on `client` by (cacheKey, method, ref).
 * `cacheKey` must identify the authenticated session — store uid, generation, and the referent
 * namespace when the store authenticates per namespace — or two callers with different rights
 * could share a result; client-cache.ts's `clientCacheKey` gives exactly that.
 * Each waiter gets its own copy of the bytes, so one caller cannot alter another's result.
 */
export function withSharedCalls(client: SecretsClient, cacheKey: string, shared: SharedCalls): SecretsClient {
  const keyOf = (method: string, ref: RemoteRef | FindRef): string => `${cacheKey}\u0000${method}\u0000${stableJson(ref)}`;
  // Writes and validate are never shared or held: each one reads the remote state afresh.
  return wrapClient(client, {
    getSecret: async (ref, signal) =>
      (await shared.do(keyOf('getSecret', ref), (s) => client.getSecret(ref, s), signal)).slice(),
    getAllSecrets: async (find, signal) =>
      copyMap(await shared.do(keyOf('getAllSecrets', find), (s) => client.getAllSecrets(find, s), signal)),
  });
}
