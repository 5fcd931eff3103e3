// An expiring, single-flight memo for credentials (cloud tokens, STS sessions, Vault logins): every caller gets
// the current value until `refreshBeforeMs` before it expires, concurrent callers share one fetch, and each caller
// may stop waiting with its own AbortSignal without cancelling the fetch the others wait for.
//
// The memo enforces the shared fetch's deadline itself: at `fetchTimeoutMs` it aborts the fetch's signal AND rejects
// every waiter with a CredentialDeadlineError naming the store and the endpoint, whether or not the fetch honours
// its signal (MSAL, google-auth-library's STS call and the AWS SDK's credential providers do not, or not always). A
// silent token endpoint thus holds the reconciles of its store for at most the deadline, never forever; the next
// get after a deadline starts a new exchange (the old one is abandoned, not reused).
import type { Clock } from '../../util/clock.ts';
import { untilAborted } from '../abortable.ts';
import type { StoreContext } from '../provider.ts';

export interface CredentialMemoOptions<T> {
  /** Fetches a new value; `signal` aborts when the fetch outlives `fetchTimeoutMs` (never because a caller gave up). */
  readonly fetch: (signal: AbortSignal) => Promise<T>;
  /**
   * What the fetch exchanges and where, for the deadline's error: the store and the endpoint, never a secret — e.g.
   * "SecretStore team-a/aws: AWS sts:AssumeRoleWithWebIdentity at https://sts.eu-west-1.amazonaws.com". Read when the
   * deadline passes (it may name what the fetch learnt, such as a role read from an annotation).
   */
  readonly exchange: () => string;
  /** When a value stops being usable (epoch ms); undefined: it never expires. */
  readonly expiresAt: (value: T) => number | undefined;
  readonly clock: Clock;
  /** Renew this long before expiry. Default 5 min (the AWS SDK's own margin), capped at half the value's lifetime. */
  readonly refreshBeforeMs?: number;
  /** Deadline of one shared fetch. Default DEFAULT_FETCH_TIMEOUT_MS. */
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
/**
 * Deadline of one credential exchange: 30 s. Every reconcile of the store (and its validation) waits on it, so it is
 * what a silent token endpoint costs each of them. Twice the per-request timeout the providers give a token endpoint
 * (15 s: AWS and Alibaba request timeouts, each Google STS / IAM Credentials request), so a stalled first attempt and
 * one retry still fit; a real STS, Entra ID or Vault login answers in well under a second, so a healthy exchange
 * never comes near it. (It was 60 s and only advisory: a fetch that ignored its signal was waited for forever.)
 */
export const DEFAULT_FETCH_TIMEOUT_MS = 30_000;

/** A credential exchange had no answer within the memo's deadline. Transient: retried with the reconcile's backoff. */
export class CredentialDeadlineError extends Error {
  override readonly name = 'CredentialDeadlineError';
}

/** "SecretStore team-a/aws" or "ClusterSecretStore shared": the store an exchange serves, for its errors. */
export function describeStore(where: Pick<StoreContext, 'storeKind' | 'storeName' | 'storeNamespace'>): string {
  return where.storeNamespace === undefined ? `${where.storeKind} ${where.storeName}` : `${where.storeKind} ${where.storeNamespace}/${where.storeName}`;
}

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
    const deadline = new AbortController();
    const timer = setTimeout(() => {
      deadline.abort(
        new CredentialDeadlineError(
          `${options.exchange()}: no answer within ${fetchTimeoutMs / 1000} s; the credential exchange was abandoned and is retried with backoff`,
        ),
      );
    }, fetchTimeoutMs);
    // A pending exchange must not keep the process alive at shutdown.
    timer.unref();
    let fetched: Promise<T>;
    try {
      fetched = options.fetch(deadline.signal);
    } catch (error) {
      fetched = Promise.reject(error);
    }
    // untilAborted: the deadline rejects the waiters even when the fetch ignores its signal.
    const promise = untilAborted(fetched, deadline.signal).then(
      (value) => {
        clearTimeout(timer);
        if (mine === generation) {
          current = { value, fetchedAt, expiresAt: options.expiresAt(value) };
          pending = undefined;
        }
        return value;
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (mine === generation && pending === promise) pending = undefined;
        throw error;
      },
    );
    // An abandoned fetch may still settle later: its rejection must not be unhandled.
    fetched.catch(() => {});
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
