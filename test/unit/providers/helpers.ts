import type { Clock } from '../../../src/util/clock.ts';
import type { StoreContext } from '../../../src/providers/provider.ts';

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export function fakeClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

export function storeContext(overrides: Partial<StoreContext> = {}): StoreContext {
  return {
    storeKind: 'SecretStore',
    storeName: 'store',
    storeNamespace: 'team-a',
    namespace: 'team-a',
    kube: {
      readSecretKey: async () => {
        throw new Error('not used by these tests');
      },
      createServiceAccountToken: async () => {
        throw new Error('not used by these tests');
      },
      readServiceAccountAnnotations: async () => {
        throw new Error('not used by these tests');
      },
      readConfigMapKey: async () => {
        throw new Error('not used by these tests');
      },
    },
    clock: fakeClock(),
    ...overrides,
  };
}

/** Runs every queued promise callback (the microtask queue drains before setImmediate fires); no I/O involved. */
export async function flushMicrotasks(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

/** Polls a condition (without timers' guesswork) until it holds or the deadline passes. */
export async function waitUntil(condition: () => boolean, what: string, deadlineMs = 2000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
