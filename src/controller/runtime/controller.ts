// N workers pulling keys from a WorkQueue and mapping each reconcile's outcome to the queue, as controller-runtime does:
// a throw backs off, a TerminalError waits for the object to change, `{ requeueAfter }` comes back on time.
import type { Clock } from '../../util/clock.ts';
import { systemClock } from '../../util/clock.ts';
import { TerminalError } from '../../util/errors.ts';
import { systemTimers, delay } from '../../util/timers.ts';
import type { Timers } from '../../util/timers.ts';
import type { WorkQueue } from './work-queue.ts';
import { describeKubeError } from '../../k8s/describe-error.ts';

/** `requeueAfter` (ms, > 0): reconcile this key again after that long, without backoff. */
export type ReconcileResult = { readonly requeueAfter?: number | undefined } | void;

export type Reconcile = (key: string, signal: AbortSignal) => Promise<ReconcileResult>;

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
      this.queue.forget(key);
      if (requeueAfter !== undefined && requeueAfter > 0) {
        this.queue.addAfter(key, requeueAfter);
        outcome = 'requeue';
      } else {
        outcome = 'success';
      }
    } catch (err) {
      error = err;
      if (err instanceof TerminalError) {
        // Retrying cannot help; the next change to the object adds the key again.
        this.queue.forget(key);
        outcome = 'terminal';
      } else {
        this.queue.addRateLimited(key);
        outcome = 'error';
      }
      this.#logger?.warn(
        { controller: this.name, key, outcome, retries: this.queue.retries(key), error: describeKubeError(err) },
        outcome === 'terminal' ? 'reconcile failed; not retrying until the object changes' : 'reconcile failed; retrying with backoff',
      );
    } finally {
      this.queue.done(key);
    }
    this.#observer?.onResult(key, outcome, Math.max(0, this.#clock.now() - started) / 1000, error);
  }
}
