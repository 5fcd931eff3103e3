// A small pool of worker threads for CPU work on input that someone else wrote. JavaScript cannot interrupt a
// busy function, so the only hard stop is `worker.terminate()`: each task gets a deadline, and a worker still
// busy at it is terminated and replaced; `resourceLimits` bounds each worker's heap, and a worker that runs out
// of memory dies alone. The main thread (leases, probes, other reconciles) never waits on the work itself.
// Workers start with the first task and stop after idling, so an operator that never needs one pays nothing.
// Tasks carry a group (a tenant): waiting tasks are served group by group in turn, and one group never holds every
// worker while another waits, so a tenant whose tasks all run to the deadline delays others by little.
import { Worker, type ResourceLimits } from 'node:worker_threads';

export type WorkerLimit = 'deadline' | 'memory' | 'crash';

/** A task was stopped by the pool: past its deadline, out of memory, or its worker died. Its message names the limit. */
export class WorkerLimitError extends Error {
  override readonly name = 'WorkerLimitError';
  readonly limit: WorkerLimit;
  /** Milliseconds the task had run when it was stopped. */
  readonly ms: number;
  constructor(limit: WorkerLimit, message: string, ms: number) {
    super(message);
    this.limit = limit;
    this.ms = ms;
  }
}

/** The task was abandoned by the caller (its signal aborted) or the pool closed. */
export class WorkerAbortedError extends Error {
  override readonly name = 'WorkerAbortedError';
}

export interface WorkerPoolObserver {
  /** A task finished (or was stopped) after `seconds` on a worker. */
  ran?(seconds: number, outcome: 'ok' | 'error' | WorkerLimit): void;
  /** Tasks waiting for a free worker, after every change. */
  queued?(n: number): void;
  /** A worker started (replacing one or new). */
  started?(): void;
}

export interface WorkerPoolOptions {
  /** The worker's module: it answers `{ id, task }` messages with `{ id, ok, value | error, ms }` (see `serveTasks`). */
  readonly url: URL;
  /** Most workers at once. */
  readonly size: number;
  /** Default deadline of one task, counted from when a worker takes it (a new worker: once it has loaded). */
  readonly deadlineMs: number;
  /** How long a new worker may take to load its module before it is given up as failed. Default 60 s. */
  readonly startDeadlineMs?: number;
  readonly resourceLimits?: ResourceLimits;
  /** A worker idle this long exits (its memory goes back); 0 keeps workers. Default 60 s. */
  readonly idleMs?: number;
  readonly observer?: WorkerPoolObserver;
  /** Passed to each worker as workerData. */
  readonly workerData?: unknown;
  /** Most workers one group may hold at once; default size - 1 (at least 1), so another group always finds one. */
  readonly maxPerGroup?: number;
}

export interface RunOptions {
  /** Who the task is for (a namespace); tasks of one group share its turn and its worker cap. Default ''. */
  readonly group?: string;
  readonly deadlineMs?: number;
  readonly signal?: AbortSignal | undefined;
}

/** What a task resolves with: its value and the milliseconds it ran on the worker. */
export interface TaskResult<T> {
  readonly value: T;
  readonly ms: number;
}

interface Pending {
  readonly task: unknown;
  readonly group: string;
  readonly deadlineMs: number;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (result: TaskResult<unknown>) => void;
  readonly reject: (err: unknown) => void;
  readonly onAbort: () => void;
}

interface Slot {
  readonly worker: Worker;
  /** The task on this worker; `timer` (its deadline) and `started` are set once the worker has loaded. */
  running: (Pending & { readonly id: number; started: number; timer: NodeJS.Timeout | undefined }) | undefined;
  /** Whether the worker's module has loaded (its first message, from serveTasks). */
  ready: boolean;
  /** Until it has loaded: its start deadline. */
  startTimer: NodeJS.Timeout | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  /** Set once the slot is being torn down: its events no longer count. */
  gone: boolean;
}

/** A serialised error from a worker: its class name and own fields, rebuilt by the caller's `reviveError`. */
export interface WorkerErrorShape {
  readonly name: string;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** serveTasks' first message: the worker's module has loaded and it takes tasks. */
const READY = 'ready';

type Reply = { readonly id: typeof READY } | { readonly id: number; readonly ok: true; readonly value: unknown; readonly ms: number } | { readonly id: number; readonly ok: false; readonly error: WorkerErrorShape; readonly ms: number };

export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #slots = new Set<Slot>();
  /** Waiting tasks in arrival order (a handful: at most the callers' concurrency). */
  readonly #queue: Pending[] = [];
  /** When each group was last given a worker (a counter), for turns; groups not waiting are dropped. */
  readonly #served = new Map<string, number>();
  #serveCount = 0;
  #nextId = 1;
  #closed = false;
  readonly #revive: (shape: WorkerErrorShape) => Error;

  constructor(options: WorkerPoolOptions, reviveError: (shape: WorkerErrorShape) => Error = plainError) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new Error(`worker pool size must be an integer >= 1 (got ${options.size})`);
    if (!(options.deadlineMs > 0)) throw new Error(`worker pool deadline must be > 0 ms (got ${options.deadlineMs})`);
    this.#options = options;
    this.#revive = reviveError;
  }

  /** Workers alive now. */
  get workers(): number {
    return this.#slots.size;
  }

  /** Runs `task` on a worker. Rejects with WorkerLimitError at a limit, the revived error of a task that threw, or WorkerAbortedError. */
  run<T>(task: unknown, options: RunOptions = {}): Promise<TaskResult<T>> {
    if (this.#closed) return Promise.reject(new WorkerAbortedError('the worker pool is closed'));
    if (options.signal?.aborted) return Promise.reject(new WorkerAbortedError('the task was abandoned before it started'));
    return new Promise<TaskResult<T>>((resolve, reject) => {
      const pending: Pending = {
        task,
        group: options.group ?? '',
        deadlineMs: options.deadlineMs ?? this.#options.deadlineMs,
        signal: options.signal,
        resolve: resolve as (result: TaskResult<unknown>) => void,
        reject,
        onAbort: () => this.#abandon(pending),
      };
      options.signal?.addEventListener('abort', pending.onAbort, { once: true });
      this.#queue.push(pending);
      this.#options.observer?.queued?.(this.#queue.length);
      this.#dispatch();
    });
  }

  /** Terminates every worker; queued and running tasks reject with WorkerAbortedError. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const pending of this.#queue.splice(0)) this.#settle(pending, undefined, new WorkerAbortedError('the worker pool closed'));
    const exits: Promise<number>[] = [];
    for (const slot of [...this.#slots]) {
      if (slot.running) {
        clearTimeout(slot.running.timer);
        this.#settle(slot.running, undefined, new WorkerAbortedError('the worker pool closed'));
        slot.running = undefined;
      }
      exits.push(this.#retire(slot));
    }
    await Promise.allSettled(exits);
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const at = this.#nextTurn();
      if (at < 0) return;
      let slot = [...this.#slots].find((s) => !s.gone && s.running === undefined);
      if (slot === undefined) {
        if (this.#slots.size >= this.#options.size) return;
        slot = this.#spawn();
      }
      const [pending] = this.#queue.splice(at, 1);
      this.#served.set(pending!.group, ++this.#serveCount);
      this.#options.observer?.queued?.(this.#queue.length);
      this.#start(slot, pending!);
    }
  }

  /** The queued task to run next: of the group served longest ago among those under their worker cap; -1 if none may run. */
  #nextTurn(): number {
    const cap = this.#options.maxPerGroup ?? Math.max(1, this.#options.size - 1);
    const running = new Map<string, number>();
    for (const slot of this.#slots) if (slot.running) running.set(slot.running.group, (running.get(slot.running.group) ?? 0) + 1);
    let best = -1;
    let bestServed = Infinity;
    for (let i = 0; i < this.#queue.length; i++) {
      const group = this.#queue[i]!.group;
      if ((running.get(group) ?? 0) >= cap) continue;
      const served = this.#served.get(group) ?? 0;
      if (served < bestServed) {
        best = i;
        bestServed = served;
      }
    }
    if (this.#served.size > 4 * (this.#queue.length + this.#slots.size) + 64) {
      // Forget groups with nothing queued: a group new to the line goes first anyway.
      const waiting = new Set(this.#queue.map((p) => p.group));
      for (const group of this.#served.keys()) if (!waiting.has(group)) this.#served.delete(group);
    }
    return best;
  }

  #spawn(): Slot {
    const worker = new Worker(this.#options.url, {
      ...(this.#options.resourceLimits ? { resourceLimits: this.#options.resourceLimits } : {}),
      workerData: this.#options.workerData,
      // Workers write nothing to the operator's streams; their errors come back as messages.
      stdout: false,
      stderr: false,
    });
    // An idle worker must not keep the process alive.
    worker.unref();
    const slot: Slot = { worker, running: undefined, idleTimer: undefined, gone: false, ready: false, startTimer: undefined };
    // Loading the module (stripping and compiling its sources) is not the task's time: on a loaded machine it took
    // over a second, and counting it killed a 1 s task before it began — and its replacement the same way.
    const startMs = this.#options.startDeadlineMs ?? 60_000;
    slot.startTimer = setTimeout(() => this.#fail(slot, 'crash', `its worker did not start within ${formatMs(startMs)}`), startMs);
    slot.startTimer.unref();
    this.#slots.add(slot);
    this.#options.observer?.started?.();
    worker.on('message', (reply: Reply) => this.#onReply(slot, reply));
    worker.on('error', (err: Error & { code?: string }) => {
      if (slot.gone) return;
      const memory = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.#fail(slot, memory ? 'memory' : 'crash', memory ? 'it ran out of its memory limit' : `its worker failed (${err.name})`);
    });
    worker.on('exit', () => {
      if (slot.gone) return;
      this.#fail(slot, 'crash', 'its worker exited');
    });
    return slot;
  }

  #start(slot: Slot, pending: Pending): void {
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    const id = this.#nextId++;
    slot.running = { ...pending, id, started: performance.now(), timer: undefined };
    slot.worker.ref();
    // A worker still loading gets the message queued; the deadline starts when it has loaded.
    slot.worker.postMessage({ id, task: pending.task });
    if (slot.ready) this.#armDeadline(slot);
  }

  #armDeadline(slot: Slot): void {
    const running = slot.running!;
    running.started = performance.now();
    running.timer = setTimeout(() => this.#fail(slot, 'deadline', `it was still running at its ${formatMs(running.deadlineMs)} deadline`), running.deadlineMs);
  }

  #onReply(slot: Slot, reply: Reply): void {
    if (reply.id === READY) {
      if (slot.gone || slot.ready) return;
      slot.ready = true;
      clearTimeout(slot.startTimer);
      slot.startTimer = undefined;
      if (slot.running) this.#armDeadline(slot);
      return;
    }
    const running = slot.running;
    if (slot.gone || running === undefined || running.id !== reply.id) return;
    clearTimeout(running.timer);
    slot.running = undefined;
    this.#options.observer?.ran?.(reply.ms / 1000, reply.ok ? 'ok' : 'error');
    if (reply.ok) this.#settle(running, { value: reply.value, ms: reply.ms });
    else this.#settle(running, undefined, this.#revive(reply.error));
    this.#idle(slot);
    this.#dispatch();
  }

  /** The running task hit a limit (or the worker died): the worker goes, a new one takes the next task. */
  #fail(slot: Slot, limit: WorkerLimit, why: string): void {
    if (slot.gone) return;
    const running = slot.running;
    slot.running = undefined;
    if (running) {
      clearTimeout(running.timer);
      const ms = limit === 'deadline' ? running.deadlineMs : performance.now() - running.started;
      this.#options.observer?.ran?.(ms / 1000, limit);
      this.#settle(running, undefined, new WorkerLimitError(limit, `the work was stopped: ${why}`, ms));
    }
    void this.#retire(slot);
    this.#dispatch();
  }

  #idle(slot: Slot): void {
    slot.worker.unref();
    const idleMs = this.#options.idleMs ?? 60_000;
    if (idleMs > 0) {
      slot.idleTimer = setTimeout(() => {
        if (slot.running === undefined) void this.#retire(slot);
      }, idleMs);
      slot.idleTimer.unref();
    }
  }

  #retire(slot: Slot): Promise<number> {
    slot.gone = true;
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    clearTimeout(slot.startTimer);
    this.#slots.delete(slot);
    return slot.worker.terminate();
  }

  /** A caller gave up: a queued task is dropped; a running one is stopped (its worker replaced). */
  #abandon(pending: Pending): void {
    const queued = this.#queue.indexOf(pending);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      this.#options.observer?.queued?.(this.#queue.length);
      this.#settle(pending, undefined, new WorkerAbortedError('the task was abandoned before it started'));
      return;
    }
    for (const slot of this.#slots) {
      if (slot.running?.resolve === pending.resolve) {
        clearTimeout(slot.running.timer);
        slot.running = undefined;
        this.#settle(pending, undefined, new WorkerAbortedError('the task was abandoned while running'));
        void this.#retire(slot);
        this.#dispatch();
        return;
      }
    }
  }

  #settle(pending: Pending, result: TaskResult<unknown> | undefined, error?: unknown): void {
    pending.signal?.removeEventListener('abort', pending.onAbort);
    if (error !== undefined) pending.reject(error);
    else pending.resolve(result!);
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function plainError(shape: WorkerErrorShape): Error {
  return Object.assign(new Error(shape.message), { name: shape.name });
}

/** The error of a task, as a worker sends it: class name, message and own enumerable fields that clone. */
export function serialiseError(err: unknown): WorkerErrorShape {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(err)) {
    if (value === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof value)) fields[key] = value;
  }
  return { name: err.name, message: err.message, fields };
}

/**
 * The worker side: says it is ready (the pool starts a task's deadline then), then answers each `{ id, task }` with
 * `handle(task)`'s value (or its error, serialised), and the milliseconds it took. Call it from the worker module,
 * after its imports, with the port of `worker_threads`.
 */
export function serveTasks(
  port: { on(event: 'message', listener: (message: { id: number; task: unknown }) => void): unknown; postMessage(message: unknown): void },
  handle: (task: unknown) => unknown,
  serialise: (err: unknown) => WorkerErrorShape = serialiseError,
): void {
  port.on('message', ({ id, task }) => {
    const started = performance.now();
    try {
      const value = handle(task);
      port.postMessage({ id, ok: true, value, ms: performance.now() - started });
    } catch (err) {
      port.postMessage({ id, ok: false, error: serialise(err), ms: performance.now() - started });
    }
  });
  port.postMessage({ id: READY });
}
