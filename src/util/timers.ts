// Timers are injected next to the Clock so that queues, backoff and leader election run on fake time in tests.

/** An opaque handle returned by `Timers.setTimeout`. */
export type TimerHandle = unknown;

export interface Timers {
  /** Calls `fn` once after `ms` milliseconds (or at once when `ms <= 0`). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The longest delay Node's setTimeout takes: a longer one (or NaN) fires after 1 ms instead, with a warning. A
 * work queue re-arming its timer for a key due in 41 days (refreshInterval: 1000h) then woke every millisecond.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A system timer handle: longer delays are chained timers of at most MAX_TIMER_MS, `current` the pending one. */
interface SystemTimer {
  current: ReturnType<typeof globalThis.setTimeout>;
}

/** Real timers. They are unref'd: a pending retry or delayed requeue never keeps the process alive by itself. */
export const systemTimers: Timers = {
  setTimeout(fn, ms) {
    const due = performance.now() + Math.max(0, Number.isNaN(ms) ? 0 : ms);
    const arm = (): ReturnType<typeof globalThis.setTimeout> => {
      const left = due - performance.now();
      const handle = globalThis.setTimeout(left > MAX_TIMER_MS ? () => (timer.current = arm()) : fn, Math.min(Math.max(0, left), MAX_TIMER_MS));
      handle.unref();
      return handle;
    };
    const timer: SystemTimer = { current: undefined as unknown as SystemTimer['current'] };
    timer.current = arm();
    return timer;
  },
  clearTimeout(handle) {
    const timer = handle as SystemTimer | undefined;
    if (timer?.current !== undefined) globalThis.clearTimeout(timer.current);
  },
};

/** Resolves after `ms` on the given timers, or at once when `signal` aborts. Never rejects. */
export function delay(timers: Timers, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      timers.clearTimeout(handle);
      resolve();
    };
    const handle = timers.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
