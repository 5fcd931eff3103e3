// An expiring, single-flight memo for credentials (cloud tokens, STS sessions, Vault logins): every caller gets
// the current value until `refreshBeforeMs` before it expires, concurrent callers share one fetch, and each caller
// may stop waiting with its own AbortSignal without cancelling the fetch the others wait for. The shared fetch has
// its own deadline, so a silent token endpoint cannot hold every reconcile of a store forever.
import type { Clock } from '../../util/clock.ts';
import { untilAborted } from '../abortable.ts';

export interface CredentialMemoOptions<T> {
  /** Fetches a new value; `signal` aborts when the fetch outlives `fetchTimeoutMs` (never because a caller gave up). */
  readonly fetch: (signal: AbortSignal) => Promise<T>;
  /** When a value stops being usable (epoch ms); undefined: it never expires. */
  readonly expiresAt: (value: T) => number | undefined;
  readonly clock: Clock;
  /** Renew this long before expiry. Default 5 min (the AWS SDK's own margin), capped at half the value's lifetime. */
  readonly refreshBeforeMs?: number;
  /** Deadline of one shared fetch. Default 60 s. */
  readonly fetchTimeoutMs?: number;
}

export interface CredentialMemo<T> {
  /** The current value, fetching (once, shared) when there is none or it is about to expire. */
  get(signal: AbortSignal): Promise<T>;
  /** Forget the value (e.g. the service rejected it): the next get fetches anew. */
  invalidate(): void;
  /** How many fetches were started (for tests and metrics). */
  fetches(): number;
}

export const DEFAULT_REFRESH_BEFORE_MS = 5 * 60_000;
export const DEFAULT_FETCH_TIMEOUT_MS = 60_000;

export function createCredentialMemo<T>(options: CredentialMemoOptions<T>): CredentialMemo<T> {
  const refreshBeforeMs = options.refreshBeforeMs ?? DEFAULT_REFRESH_BEFORE_MS;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  let current: { value: T; fetchedAt: number; expiresAt: number | undefined } | undefined;
  let pending: Promise<T> | undefined;
  let generation = 0;
  let count = 0;

  const usable = (entry: NonNullable<typeof current>, now: number): boolean => {
    if (entry.expiresAt === undefined) return true;
    // A short-lived value (say 10 min) is renewed at half its life rather than almost at once.
    const margin = Math.min(refreshBeforeMs, (entry.expiresAt - entry.fetchedAt) / 2);
    return entry.expiresAt - now > margin;
  };

  const start = (): Promise<T> => {
    count++;
    const mine = generation;
    const fetchedAt = options.clock.now();
    const signal = AbortSignal.timeout(fetchTimeoutMs);
    const promise = options.fetch(signal).then(
      (value) => {
        if (mine === generation) {
          current = { value, fetchedAt, expiresAt: options.expiresAt(value) };
          pending = undefined;
        }
        return value;
      },
      (error: unknown) => {
        if (mine === generation) pending = undefined;
        throw error;
      },
    );
    // Nobody may be waiting any more (all callers aborted): the rejection must not be unhandled.
    promise.catch(() => {});
    return promise;
  };

  return {
    get(signal) {
      if (current && usable(current, options.clock.now())) return Promise.resolve(current.value);
      pending ??= start();
      return untilAborted(pending, signal);
    },
    invalidate() {
      generation++;
      current = undefined;
      pending = undefined;
    },
    fetches: () => count,
  };
}
