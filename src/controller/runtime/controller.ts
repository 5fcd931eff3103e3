// N workers pulling keys from a WorkQueue and mapping each reconcile's outcome to the queue, as controller-runtime does:
// a throw backs off, `{ requeueAfter }` comes back on time. Unlike controller-runtime, a TerminalError is not forever:
// it comes back when the object changes and, failing that, at the recheck backoff (see RECHECK_BACKOFF).
import type { Clock } from '../../util/clock.ts';
import { systemClock } from '../../util/clock.ts';
import { TerminalError } from '../../util/errors.ts';
import { validateBackoff, type BackoffOptions } from '../../util/backoff.ts';
import { systemTimers, delay } from '../../util/timers.ts';
import type { Timers } from '../../util/timers.ts';
import type { WorkQueue } from './work-queue.ts';
import { describeKubeError } from '../../k8s/describe-error.ts';

/**
 * `requeueAfter` (ms, > 0): reconcile this key again after that long, without backoff.
 * `recheck`: the reconcile ended waiting on a change no watch reports (a remote secret not created yet, a store
 * not ready): the key comes back at the recheck backoff — growing with each such end, reset by a success — and
 * never later than `requeueAfter`. Counted as `terminal`.
 */
export type ReconcileResult = { readonly requeueAfter?: number | undefined; readonly recheck?: boolean | undefined } | void;

/**
 * When a key whose reconcile failed terminally (a TerminalError, or `{ recheck: true }`) is looked at again though
 * nothing changed. Terminal means "not until something changes", and a cloud grant, a propagated Workload Identity
 * binding or a token's expiry are changes we cannot watch: the everyday order "apply the ExternalSecret, then grant
 * the role" must heal by itself. 30 s first: IAM grants take effect seconds to minutes after they are made, and an
 * ExternalSecret applied together with its store or remote secret is then ready within a minute. Doubling to 5 min:
 * Azure RBAC and Google IAM document propagation of up to ~10 min, reached after five rechecks; past it one call per
 * 5 min per broken object (288 a day) is what a user waits at most after the fix, far inside any provider quota, and
 * the same bound as the default store revalidation (spec.refreshInterval 5m). Jitter as the queue's.
 */
export const RECHECK_BACKOFF: Required<BackoffOptions> = { baseMs: 30_000, factor: 2, maxMs: 5 * 60_000, jitter: 0.25 };

export type Reconcile = (key: string, signal: AbortSignal) => Promise<ReconcileResult>;

/**
 * A failed reconcile whose object asked for retries at a fixed interval (a store's spec.retrySettings): the key comes
 * back `intervalMs` later, counted as a failure of the key, while it has failed fewer than `maxRetries` times in a
 * row; then the queue's own backoff, counted from there. A requeue, never a wait on the worker.
 */
export class RetryAtInterval extends Error {
  override readonly name = 'RetryAtInterval';
  readonly failure: unknown;
  readonly maxRetries: number;
  readonly intervalMs: number;
  constructor(failure: unknown, retry: { readonly maxRetries: number; readonly intervalMs: number }) {
    super(failure instanceof Error ? failure.message : String(failure), { cause: failure });
    this.failure = failure;
    this.maxRetries = retry.maxRetries;
    this.intervalMs = retry.intervalMs;
  }
}

export type ReconcileOutcome = 'success' | 'error' | 'terminal' | 'requeue';

/** Metrics/log hook. Called synchronously after each reconcile; must not throw. */
export interface ControllerObserver {
  onResult(key: string, outcome: ReconcileOutcome, durationSeconds: number, error?: unknown): void;
}

/** pino-compatible. */
export interface ControllerLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface ControllerOptions {
  /** For logs, e.g. "externalsecret". */
  readonly name: string;
  /** The controller owns it from `start()` on and shuts it down in `stop()`. */
  readonly queue: WorkQueue;
  readonly reconcile: Reconcile;
  /** Concurrent reconciles. Default 1. Never two on the same key, whatever this is. */
  readonly workers?: number;
  /** How long `stop()` waits for in-flight reconciles before aborting their signal. Default 10 s. */
  readonly stopTimeoutMs?: number;
  /** How long `stop()` waits after aborting before giving up on reconciles that ignore their signal. Default 1 s. */
  readonly abortGraceMs?: number;
  readonly clock?: Clock;
  readonly timers?: Timers;
  readonly observer?: ControllerObserver;
  readonly logger?: ControllerLogger;
  /** The backoff of terminal failures (see RECHECK_BACKOFF, the default); false: only when the key is added again. */
  readonly recheck?: BackoffOptions | false;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly #reconcile: Reconcile;
  readonly #workers: number;
  readonly #stopTimeoutMs: number;
  readonly #abortGraceMs: number;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #observer: ControllerObserver | undefined;
  readonly #logger: ControllerLogger | undefined;
  readonly #recheck: BackoffOptions | false;
  /** Aborted when stop() gives up waiting: the signal every reconcile receives. */
  readonly #abort = new AbortController();
  #running: Promise<void>[] = [];
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  #stopped: Promise<void> | undefined;

  constructor(options: ControllerOptions) {
    const workers = options.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1) throw new Error(`controller ${options.name}: workers must be an integer >= 1 (got ${workers})`);
    this.name = options.name;
    this.queue = options.queue;
    this.#reconcile = options.reconcile;
    this.#workers = workers;
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    this.#abortGraceMs = options.abortGraceMs ?? 1_000;
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
    this.#observer = options.observer;
    this.#logger = options.logger;
    this.#recheck = options.recheck ?? RECHECK_BACKOFF;
    if (this.#recheck) validateBackoff(this.#recheck, `controller ${options.name} recheck`);
  }

  /** Starts the workers. A controller runs once: after `stop()` make a new one (with a new queue). */
  start(): void {
    if (this.#state !== 'new') throw new Error(`controller ${this.name} was already started; create a new Controller to run again`);
    this.#state = 'running';
    for (let i = 0; i < this.#workers; i++) this.#running.push(this.#work());
    this.#logger?.info({ controller: this.name, workers: this.#workers }, 'controller started');
  }

  /**
   * Stops taking keys, waits up to `stopTimeoutMs` for in-flight reconciles, then aborts their signal and waits up to
   * `abortGraceMs` more. Resolves when the workers are gone or the grace has run out. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    const wasRunning = this.#state === 'running';
    this.#state = 'stopping';
    this.queue.shutDown();
    if (wasRunning && !(await this.#workersDoneWithin(this.#stopTimeoutMs))) {
      this.#logger?.warn(
        { controller: this.name, inFlight: this.queue.processingLen(), stopTimeoutMs: this.#stopTimeoutMs },
        'reconciles still running at the stop deadline; aborting them',
      );
      this.#abort.abort(new Error(`controller ${this.name} is stopping`));
      if (!(await this.#workersDoneWithin(this.#abortGraceMs))) {
        this.#logger?.warn({ controller: this.name, inFlight: this.queue.processingLen() }, 'reconciles ignored their abort signal; leaving them behind');
      }
    }
    this.#abort.abort(new Error(`controller ${this.name} stopped`));
    this.#state = 'stopped';
  }

  async #workersDoneWithin(ms: number): Promise<boolean> {
    const timeout = new AbortController();
    const done = await Promise.race([
      Promise.all(this.#running).then(() => true),
      delay(this.#timers, ms, timeout.signal).then(() => false),
    ]);
    timeout.abort();
    return done;
  }

  async #work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.#processOne(key);
    }
  }

  async #processOne(key: string): Promise<void> {
    const started = this.#clock.now();
    let outcome: ReconcileOutcome;
    let error: unknown;
    try {
      const result = await this.#reconcile(key, this.#abort.signal);
      const requeueAfter = result ? result.requeueAfter : undefined;
      if (result && result.recheck && this.#recheck) {
        // Waiting on a change outside the cluster: the backoff keeps counting until a success.
        this.#recheckLater(key, requeueAfter);
        outcome = 'terminal';
      } else if (requeueAfter !== undefined && requeueAfter > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, requeueAfter);
        outcome = 'requeue';
      } else {
        this.queue.forget(key);
        outcome = 'success';
      }
    } catch (err) {
      const retry = err instanceof RetryAtInterval ? err : undefined;
      error = retry ? retry.failure : err;
      if (error instanceof TerminalError) {
        // Retrying at once cannot help: the next change to the object adds the key again, and a change outside
        // the cluster (a grant) is found at the recheck backoff.
        if (this.#recheck) this.#recheckLater(key, undefined);
        else this.queue.forget(key);
        outcome = 'terminal';
      } else if (retry && this.queue.retries(key) < retry.maxRetries) {
        this.queue.addRateLimited(key, { baseMs: retry.intervalMs, factor: 1, maxMs: retry.intervalMs, jitter: 0 });
        outcome = 'error';
      } else {
        // After the object's own retries the backoff starts from its first step, as if they had not been counted.
        this.queue.addRateLimited(key, undefined, retry?.maxRetries ?? 0);
        outcome = 'error';
      }
      this.#logger?.warn(
        { controller: this.name, key, outcome, retries: this.queue.retries(key), error: describeKubeError(error) },
        outcome !== 'terminal'
          ? 'reconcile failed; retrying with backoff'
          : this.#recheck
            ? 'reconcile failed; retrying when the object changes, or at the recheck backoff'
            : 'reconcile failed; not retrying until the object changes',
      );
    } finally {
      this.queue.done(key);
    }
    this.#observer?.onResult(key, outcome, Math.max(0, this.#clock.now() - started) / 1000, error);
  }

  /** At the recheck backoff (counting with the key's failures), never later than `capMs`. */
  #recheckLater(key: string, capMs: number | undefined): void {
    const backoff = this.#recheck as BackoffOptions;
    if (capMs === undefined || !(capMs > 0)) return this.queue.addRateLimited(key, backoff);
    const maxMs = Math.min(backoff.maxMs ?? RECHECK_BACKOFF.maxMs, capMs);
    this.queue.addRateLimited(key, { ...backoff, maxMs, baseMs: Math.min(backoff.baseMs ?? RECHECK_BACKOFF.baseMs, maxMs) });
  }
}
