// Timers are injected next to the Clock so that queues, backoff and leader election run on fake time in tests.

/** An opaque handle returned by `Timers.setTimeout`. */
export type TimerHandle = unknown;

export interface Timers {
  /** Calls `fn` once after `ms` milliseconds (or at once when `ms <= 0`). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Real timers. They are unref'd: a pending retry or delayed requeue never keeps the process alive by itself. */
export const systemTimers: Timers = {
  setTimeout(fn, ms) {
    const handle = globalThis.setTimeout(fn, Math.max(0, ms));
    handle.unref();
    return handle;
  },
  clearTimeout(handle) {
    globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>);
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
