// Store validations that cannot hold a worker. A validation builds the store's client (a credential exchange) and
// asks the provider whether the configuration works; against a blackholed endpoint that is the SDK's whole retry
// budget. So each validation has its own deadline, and a reconcile waits for it on its worker only briefly: past
// `inlineMs` the validation finishes in the background and queues the store's key again, whose next reconcile reads
// the outcome. Validations in flight are bounded per namespace (one tenant's dead stores take that namespace's slots,
// never another's) and in all; one waiting for a slot waits off the workers.
import type { Timers } from '../../util/timers.ts';
import { systemTimers } from '../../util/timers.ts';
import { untilAborted } from '../../providers/abortable.ts';
import type { StoreValidationStatus } from '../../providers/provider.ts';

export interface ValidationLimits {
  /** Deadline of one validation (client build with its credential exchange, then the provider's check). */
  readonly deadlineMs: number;
  /** How long a reconcile waits for its validation on the worker before leaving it to finish in the background. */
  readonly inlineMs: number;
  /** Validations in flight per namespace (ClusterSecretStores count as one namespace). */
  readonly perNamespace: number;
  /** Validations in flight in all. */
  readonly total: number;
}

/**
 * deadlineMs 40 s: above the credential memo's 30 s (src/providers/kit/credential-memo.ts), so a silent token
 * endpoint is reported by the memo's error, which names the endpoint, and a silent data-plane endpoint past it
 * (the SDKs retry three 15 s attempts) is reported within a minute. inlineMs 2 s: a healthy provider answers a
 * validation in well under a second (the test clusters' slowest, OpenBao's login and read on a loaded machine, in
 * about one), so a healthy store is validated in one reconcile, and a dead one costs a worker 2 s, not 40 s.
 * perNamespace 4: a tenant's dead stores take at most that many of the total 64 (each is a socket and a timer).
 */
export const DEFAULT_VALIDATION_LIMITS: ValidationLimits = { deadlineMs: 40_000, inlineMs: 2_000, perNamespace: 4, total: 64 };

export type ValidationOutcome = { readonly ok: true; readonly status: StoreValidationStatus } | { readonly ok: false; readonly error: unknown };

/** A validation had no answer within its deadline. Transient: rechecked with backoff. */
export class ValidationDeadlineError extends Error {
  override readonly name = 'ValidationDeadlineError';
}

interface Entry {
  /** Which version of the store this validation is for (uid and generation): a newer spec starts a new one. */
  readonly fingerprint: string;
  /** Set once finished, for the next reconcile of the key to read (when no reconcile was waiting). */
  outcome?: ValidationOutcome;
  /** A reconcile stopped waiting: the finish queues the key again. */
  detached: boolean;
}

export interface StoreValidations {
  /**
   * The outcome of the validation of `key` at `fingerprint`: one finished earlier in the background, or a new one
   * if it finishes within `inlineMs`; 'pending' when it runs on in the background (`onFinished(key)` is called then).
   */
  run(key: string, namespace: string, fingerprint: string, validate: (signal: AbortSignal) => Promise<StoreValidationStatus>, signal: AbortSignal, describe: () => string): Promise<ValidationOutcome | 'pending'>;
  /** The store is gone: drop what is kept for it. */
  forget(key: string): void;
  /** In flight and waiting for a slot (tests, metrics). */
  stats(): { running: number; waiting: number };
}

export function createStoreValidations(onFinished: (key: string) => void, limits: ValidationLimits = DEFAULT_VALIDATION_LIMITS, timers: Timers = systemTimers): StoreValidations {
  const entries = new Map<string, Entry>();
  const runningIn = new Map<string, number>();
  let running = 0;
  /** Validations waiting for a slot, in arrival order. */
  const waiting: { namespace: string; start: () => void }[] = [];

  const fits = (namespace: string) => running < limits.total && (runningIn.get(namespace) ?? 0) < limits.perNamespace;
  const take = (namespace: string) => {
    running++;
    runningIn.set(namespace, (runningIn.get(namespace) ?? 0) + 1);
  };
  const release = (namespace: string) => {
    running--;
    const left = (runningIn.get(namespace) ?? 1) - 1;
    if (left === 0) runningIn.delete(namespace);
    else runningIn.set(namespace, left);
    // The first waiter that fits: a namespace at its bound does not hold back the others behind it.
    for (let i = 0; i < waiting.length && running < limits.total; ) {
      const next = waiting[i]!;
      if (fits(next.namespace)) {
        waiting.splice(i, 1);
        take(next.namespace);
        next.start();
      } else i++;
    }
  };
  const slot = (namespace: string): Promise<void> => {
    if (fits(namespace)) {
      take(namespace);
      return Promise.resolve();
    }
    return new Promise((resolve) => waiting.push({ namespace, start: resolve }));
  };

  /** One validation, bounded by its deadline even when the provider ignores the signal. */
  const execute = async (validate: (signal: AbortSignal) => Promise<StoreValidationStatus>, stop: AbortSignal, describe: () => string): Promise<ValidationOutcome> => {
    const deadline = new AbortController();
    const timer = timers.setTimeout(
      () => deadline.abort(new ValidationDeadlineError(`${describe()}: the provider did not answer the validation within ${limits.deadlineMs / 1000} s; rechecked with backoff`)),
      limits.deadlineMs,
    );
    const signal = AbortSignal.any([stop, deadline.signal]);
    try {
      const work = validate(signal);
      work.catch(() => {});
      return { ok: true, status: await untilAborted(work, signal) };
    } catch (error) {
      return { ok: false, error };
    } finally {
      timers.clearTimeout(timer);
    }
  };

  return {
    async run(key, namespace, fingerprint, validate, signal, describe) {
      const existing = entries.get(key);
      if (existing && existing.fingerprint === fingerprint) {
        if (!existing.outcome) return 'pending';
        entries.delete(key);
        return existing.outcome;
      }
      const entry: Entry = { fingerprint, detached: false };
      entries.set(key, entry);
      const finished = (async () => {
        await slot(namespace);
        try {
          return await execute(validate, signal, describe);
        } finally {
          release(namespace);
        }
      })();
      void finished.then((outcome) => {
        if (entries.get(key) !== entry || !entry.detached) return;
        entry.outcome = outcome;
        onFinished(key);
      });
      const inline = new AbortController();
      const timer = timers.setTimeout(() => inline.abort(), limits.inlineMs);
      try {
        const outcome = await untilAborted(finished, AbortSignal.any([inline.signal, signal]));
        if (entries.get(key) === entry) entries.delete(key);
        return outcome;
      } catch {
        entry.detached = true;
        return 'pending';
      } finally {
        timers.clearTimeout(timer);
      }
    },
    forget(key) {
      entries.delete(key);
    },
    stats: () => ({ running, waiting: waiting.length }),
  };
}
