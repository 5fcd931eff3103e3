// The CPU work an ExternalSecret asks for on values a tenant controls — remoteRef.property (gjson), decoding,
// dataFrom.extract, rewrite templates, spec.target.template (liquid, PKCS#12/PEM filters) — runs through here.
// Work that can be expensive goes to a worker_threads pool with a hard deadline and a heap limit (the worker is
// terminated at the deadline and replaced), so a hostile object costs its own namespace time and never blocks the
// thread that renews the leader Lease, answers probes and reconciles everyone else. Work that is provably cheap
// (a property without wildcards on a small value) stays on the main thread: a message round-trip costs more.
// Each namespace has a budget of worker time; a namespace past it waits (Ready=False says so) while others go on.
import type { ExternalSecretDataFrom, ExternalSecretTemplate } from '../../api/types.generated.ts';
import type { DecodingStrategy } from '../../providers/provider.ts';
import { NoSecretError, TerminalError } from '../../providers/provider.ts';
import { decode, extractProperty, jsonObjectEntries, ValueFormatError } from '../../providers/decoding.ts';
import type { TemplateEngine } from '../../templates/engine.ts';
import { TemplateError } from '../../templates/errors.ts';
import { renderSecret, type RenderedSecret, type TemplateSources } from '../../templates/render-secret.ts';
import { WorkerAbortedError, WorkerLimitError, WorkerPool, type WorkerErrorShape } from '../../util/worker-pool.ts';
import { DataFromError, DataFromSpecError, shapeDataFrom } from './data-from.ts';

/** A Secret holds at most 1 MiB of data: a remote value larger than that cannot be written and is not parsed. */
export const MAX_REMOTE_VALUE_BYTES = 1024 * 1024;

/**
 * Values up to this size, read with a property without wildcards, are parsed on the main thread: a round-trip to a
 * worker costs more than the read (~0.1 ms at 64 KiB); larger JSON can cost a 1 MiB document's worth of nodes.
 */
export const INLINE_MAX_BYTES = 64 * 1024;

export interface SandboxOptions {
  /** Worker threads at most (--sandbox-workers). */
  readonly workers: number;
  /** Hard deadline of one ExternalSecret's piece of work (--sandbox-timeout). */
  readonly timeoutMs: number;
  /** Heap of one worker, MiB (--sandbox-memory). */
  readonly memoryMb: number;
  /** Worker time one namespace may spend per minute (--namespace-sandbox-budget); 0 = unlimited. */
  readonly namespaceBudgetMs: number;
  /** Values up to this size without wildcard properties stay on the main thread; 0 sends every piece to a worker. */
  readonly inlineMaxBytes?: number;
}

/**
 * Two workers with a 64 MiB heap each: a worker filled to its limit measured ~95 MiB RSS (heap, young generation,
 * isolate), so both at once add ~190 MiB to an operator of ~140 MiB at 1,000 ExternalSecrets — under the chart's
 * 512 Mi. Values up to 64 KiB never reach a worker, and templates render values of at most 1 MiB.
 */
export const DEFAULT_SANDBOX_OPTIONS: SandboxOptions = { workers: 2, timeoutMs: 5_000, memoryMb: 64, namespaceBudgetMs: 30_000 };

export interface SandboxObserver {
  /** A piece of work ran on a worker for `seconds`; `outcome` names a limit when one stopped it. */
  ran?(seconds: number, outcome: 'ok' | 'error' | 'deadline' | 'memory' | 'crash'): void;
  /** Pieces of work waiting for a free worker. */
  queued?(n: number): void;
  /** A namespace's work was refused because it has spent its budget. */
  overBudget?(): void;
  /** Namespaces that are past their budget now. */
  namespacesOverBudget?(n: number): void;
}

/** Where a piece of work comes from: the namespace pays for it; `what` names it in errors. */
export interface WorkContext {
  readonly namespace: string;
  readonly signal?: AbortSignal | undefined;
}

export interface Sandbox {
  /** remoteRef.property, then decodingStrategy, on one fetched value. */
  selectValue(ctx: WorkContext, raw: Uint8Array, property: string | undefined, decoding: DecodingStrategy, key: string): Promise<Uint8Array>;
  /** dataFrom.extract: the (property of the) value split into its top-level JSON entries. */
  extractEntries(ctx: WorkContext, raw: Uint8Array, property: string | undefined, key: string): Promise<Map<string, Uint8Array>>;
  /** dataFrom rewrite / conversion / decoding of one entry's fetched map. */
  shapeDataFrom(ctx: WorkContext, entry: ExternalSecretDataFrom, fetched: ReadonlyMap<string, Uint8Array>, where: string): Promise<Map<string, Uint8Array>>;
  /** spec.target.template. */
  renderSecret(ctx: WorkContext, fetched: ReadonlyMap<string, Uint8Array>, template: ExternalSecretTemplate, sources: TemplateSources): Promise<RenderedSecret>;
  close(): Promise<void>;
}

/** The sandbox stopped an ExternalSecret's work at a limit. Retried with backoff; the message names the limit. */
export class SandboxLimitError extends Error {
  override readonly name = 'SandboxLimitError';
}

/** The namespace has spent its worker-time budget; retried later. */
export class SandboxBudgetError extends Error {
  override readonly name = 'SandboxBudgetError';
}

function refuseOversized(raw: Uint8Array, key: string): void {
  if (raw.length > MAX_REMOTE_VALUE_BYTES) {
    throw new ValueFormatError(
      `the value of key "${key}" is ${raw.length} bytes; a Secret holds at most 1 MiB (${MAX_REMOTE_VALUE_BYTES} bytes), so it is refused before parsing: store a smaller value`,
    );
  }
}

// The work itself, the same on either thread.
export const work = {
  select(raw: Uint8Array, property: string | undefined, decoding: DecodingStrategy, key: string): Uint8Array {
    refuseOversized(raw, key);
    return decode(property ? extractProperty(raw, property, key) : raw, decoding, key);
  },
  entries(raw: Uint8Array, property: string | undefined, key: string): Map<string, Uint8Array> {
    refuseOversized(raw, key);
    return new Map(Object.entries(jsonObjectEntries(property ? extractProperty(raw, property, key) : raw, key)));
  },
  shape(engine: TemplateEngine, entry: ExternalSecretDataFrom, fetched: ReadonlyMap<string, Uint8Array>, where: string): Map<string, Uint8Array> {
    return shapeDataFrom(entry, fetched, engine, where);
  },
  render(engine: TemplateEngine, fetched: ReadonlyMap<string, Uint8Array>, template: ExternalSecretTemplate, sources: TemplateSources): RenderedSecret {
    return renderSecret(engine, fetched, template, sources);
  },
};

export type SandboxTask =
  | { readonly op: 'select'; readonly raw: Uint8Array; readonly property: string | undefined; readonly decoding: DecodingStrategy; readonly key: string }
  | { readonly op: 'entries'; readonly raw: Uint8Array; readonly property: string | undefined; readonly key: string }
  | { readonly op: 'shape'; readonly entry: ExternalSecretDataFrom; readonly fetched: ReadonlyMap<string, Uint8Array>; readonly where: string }
  | { readonly op: 'render'; readonly fetched: ReadonlyMap<string, Uint8Array>; readonly template: ExternalSecretTemplate; readonly sources: TemplateSources };

/** Runs a task (in the worker, or inline). */
export function runTask(engine: TemplateEngine, task: SandboxTask): unknown {
  switch (task.op) {
    case 'select':
      return work.select(task.raw, task.property, task.decoding, task.key);
    case 'entries':
      return work.entries(task.raw, task.property, task.key);
    case 'shape':
      return work.shape(engine, task.entry, task.fetched, task.where);
    case 'render':
      return work.render(engine, task.fetched, task.template, task.sources);
  }
}

/** Errors cross the thread as their kind and fields; these are the kinds the reconciler tells apart. */
export function serialiseSandboxError(err: unknown): WorkerErrorShape {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof TemplateError) return { name: 'TemplateError', message, fields: { where: err.where, reason: err.reason, line: err.line, column: err.column } };
  const kind =
    err instanceof ValueFormatError ? 'ValueFormatError'
    : err instanceof DataFromSpecError ? 'DataFromSpecError'
    : err instanceof TerminalError ? 'TerminalError'
    : err instanceof NoSecretError ? 'NoSecretError'
    : err instanceof DataFromError ? 'DataFromError'
    // Anything else (a bug, a RangeError of a parser) says only what kind of failure it was.
    : 'Error';
  return { name: kind, message: kind === 'Error' ? `the work failed (${err instanceof Error ? err.name : 'error'})` : message, fields: {} };
}

export function reviveSandboxError(shape: WorkerErrorShape): Error {
  const f = shape.fields;
  switch (shape.name) {
    case 'TemplateError':
      return new TemplateError(String(f['where']), String(f['reason']), f['line'] as number | undefined, f['column'] as number | undefined);
    case 'ValueFormatError':
      return new ValueFormatError(shape.message);
    case 'DataFromSpecError':
      return new DataFromSpecError(shape.message);
    case 'TerminalError':
      return new TerminalError(shape.message);
    case 'NoSecretError':
      return new NoSecretError(shape.message);
    case 'DataFromError':
      return new DataFromError(shape.message);
    default:
      return new Error(shape.message);
  }
}

/** Same-thread sandbox: what unit tests of the reconciler use, and the model of the worker one. */
export function inlineSandbox(engine: TemplateEngine): Sandbox {
  return {
    async selectValue(_ctx, raw, property, decoding, key) {
      return work.select(raw, property, decoding, key);
    },
    async extractEntries(_ctx, raw, property, key) {
      return work.entries(raw, property, key);
    },
    async shapeDataFrom(_ctx, entry, fetched, where) {
      return work.shape(engine, entry, fetched, where);
    },
    async renderSecret(_ctx, fetched, template, sources) {
      return work.render(engine, fetched, template, sources);
    },
    async close() {},
  };
}

/** Per-namespace worker time: a bucket of `budgetMs` refilled at budgetMs per minute; work is refused while it is empty. */
export class NamespaceBudget {
  readonly #budgetMs: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { level: number; at: number }>();

  constructor(budgetMs: number, now: () => number = () => performance.now()) {
    this.#budgetMs = budgetMs;
    this.#now = now;
  }

  #refill(namespace: string): { level: number; at: number } | undefined {
    const bucket = this.#buckets.get(namespace);
    if (!bucket) return undefined;
    const now = this.#now();
    bucket.level = Math.min(this.#budgetMs, bucket.level + ((now - bucket.at) * this.#budgetMs) / 60_000);
    bucket.at = now;
    if (bucket.level >= this.#budgetMs) {
      // Full again: forget it, so the map holds only namespaces that spent something recently.
      this.#buckets.delete(namespace);
      return undefined;
    }
    return bucket;
  }

  /** Milliseconds until `namespace` may run work again; 0 when it may now. */
  waitMs(namespace: string): number {
    if (this.#budgetMs <= 0) return 0;
    const bucket = this.#refill(namespace);
    if (!bucket || bucket.level > 0) return 0;
    return Math.ceil((-bucket.level * 60_000) / this.#budgetMs) + 1;
  }

  charge(namespace: string, ms: number): void {
    if (this.#budgetMs <= 0) return;
    const bucket = this.#refill(namespace) ?? { level: this.#budgetMs, at: this.#now() };
    bucket.level -= ms;
    this.#buckets.set(namespace, bucket);
  }

  /** Namespaces that cannot run work now. */
  overBudget(): number {
    let n = 0;
    for (const namespace of [...this.#buckets.keys()]) if (this.waitMs(namespace) > 0) n++;
    return n;
  }
}

/** Spec text for a message, shortened (a property can be long). */
function quoted(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

function hasWildcard(property: string | undefined): boolean {
  return property !== undefined && /[*?]/.test(property);
}

/**
 * The operator's sandbox: a worker pool (started with the first piece of work that needs it) for whatever a
 * tenant can make expensive; the cheap cases inline.
 */
export function workerSandbox(engine: TemplateEngine, options: SandboxOptions, observer: SandboxObserver = {}): Sandbox {
  const inline = inlineSandbox(engine);
  const inlineMax = options.inlineMaxBytes ?? INLINE_MAX_BYTES;
  const budget = new NamespaceBudget(options.namespaceBudgetMs);
  let pool: WorkerPool | undefined;
  const workerPool = () =>
    (pool ??= new WorkerPool(
      {
        url: new URL('./sandbox-worker.ts', import.meta.url),
        size: options.workers,
        deadlineMs: options.timeoutMs,
        // The young generation is small on purpose: liquid and gjson allocate short-lived strings.
        resourceLimits: { maxOldGenerationSizeMb: options.memoryMb, maxYoungGenerationSizeMb: Math.max(4, Math.min(32, Math.floor(options.memoryMb / 8))), stackSizeMb: 4 },
        observer: {
          ran: (seconds, outcome) => observer.ran?.(seconds, outcome),
          queued: (n) => observer.queued?.(n),
        },
      },
      reviveSandboxError,
    ));

  const run = async <T>(ctx: WorkContext, task: SandboxTask, what: string): Promise<T> => {
    const wait = budget.waitMs(ctx.namespace);
    if (wait > 0) {
      observer.overBudget?.();
      observer.namespacesOverBudget?.(budget.overBudget());
      throw new SandboxBudgetError(
        `${what}: namespace ${ctx.namespace} has used its worker time for templates and property reads (--namespace-sandbox-budget, ` +
          `${options.namespaceBudgetMs / 1000} s a minute); it resumes in ${Math.ceil(wait / 1000)} s`,
      );
    }
    try {
      const { value, ms } = await workerPool().run<T>(task, { group: ctx.namespace, signal: ctx.signal });
      budget.charge(ctx.namespace, ms);
      return value;
    } catch (err) {
      if (err instanceof WorkerLimitError) {
        budget.charge(ctx.namespace, err.ms);
        observer.namespacesOverBudget?.(budget.overBudget());
        const limit =
          err.limit === 'deadline'
            ? `its ${options.timeoutMs / 1000} s time limit (--sandbox-timeout)`
            : err.limit === 'memory'
              ? `its ${options.memoryMb} MiB memory limit (--sandbox-memory)`
              : 'a crash of its worker';
        throw new SandboxLimitError(`${what} was stopped at ${limit}; simplify it or make the remote value smaller`);
      }
      if (err instanceof WorkerAbortedError) throw new Error(`${what} was abandoned (the reconcile was cancelled)`);
      throw err;
    }
  };

  return {
    async selectValue(ctx, raw, property, decoding, key) {
      // Decoding alone is linear in a value of at most 1 MiB (a millisecond): only parsing a property is worth a worker.
      if (!property || (raw.length <= inlineMax && !hasWildcard(property))) return inline.selectValue(ctx, raw, property, decoding, key);
      refuseOversized(raw, key);
      const what = property ? `reading property ${quoted(property)} of key ${quoted(key)}` : `decoding key ${quoted(key)}`;
      return run(ctx, { op: 'select', raw, property, decoding, key }, what);
    },
    async extractEntries(ctx, raw, property, key) {
      if (raw.length <= inlineMax && !hasWildcard(property)) return inline.extractEntries(ctx, raw, property, key);
      refuseOversized(raw, key);
      return run(ctx, { op: 'entries', raw, property, key }, `extracting key ${quoted(key)}`);
    },
    async shapeDataFrom(ctx, entry, fetched, where) {
      const templated = (entry.rewrite ?? []).some((step) => step.transform !== undefined);
      let bytes = 0;
      for (const value of fetched.values()) bytes += value.length;
      if (!templated && bytes <= inlineMax) return inline.shapeDataFrom(ctx, entry, fetched, where);
      return run(ctx, { op: 'shape', entry, fetched, where }, `${where}.rewrite`);
    },
    async renderSecret(ctx, fetched, template, sources) {
      const rendered = await run<RenderedSecret>(ctx, { op: 'render', fetched, template, sources }, 'spec.target.template');
      return rendered;
    },
    async close() {
      await pool?.close();
      pool = undefined;
    },
  };
}
