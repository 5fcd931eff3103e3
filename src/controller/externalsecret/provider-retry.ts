// A store's spec.retrySettings (ESO's field): a provider call that fails transiently is retried within the reconcile,
// maxRetries times with retryInterval between attempts, before the failure reaches the reconcile's own backoff.
// Bounded, because the store's author may be a tenant: a worker waiting on one store's retries is not serving others.
import { PROVIDER_RETRY_LIMITS } from '../../api/secret-store.ts';
import type { SecretStoreRetrySettings } from '../../api/types.generated.ts';
import { setTimeout as delay } from 'node:timers/promises';
import { parseDuration } from '../../util/duration.ts';
import { NoSecretError, TerminalError } from '../../providers/provider.ts';

/** How a store's provider calls are retried within one reconcile. */
export interface ProviderRetry {
  readonly maxRetries: number;
  readonly intervalMs: number;
}

/** Without retrySettings: no retry within the reconcile, only the reconcile's own backoff (1 s doubling to 5 min). */
export const NO_PROVIDER_RETRY: ProviderRetry = { maxRetries: 0, intervalMs: 0 };

/**
 * The retries a store's retrySettings ask for, capped. As ESO: maxRetries defaults to 3 (its AWS provider; its Vault
 * provider leaves retrying to the reconcile, 0); retryInterval to 1 s (the first wait of ESO's Vault client).
 */
export function providerRetryOf(settings: SecretStoreRetrySettings | undefined, providerName: string): ProviderRetry {
  if (settings === undefined) return NO_PROVIDER_RETRY;
  const maxRetries = Math.max(0, settings.maxRetries ?? (providerName === 'vault' ? 0 : 3));
  const intervalMs = settings.retryInterval === undefined ? 1000 : parseDuration(settings.retryInterval);
  return {
    maxRetries: Math.min(maxRetries, PROVIDER_RETRY_LIMITS.maxRetries),
    intervalMs: Math.min(intervalMs, PROVIDER_RETRY_LIMITS.intervalMs),
  };
}

/** Waits `ms`, or rejects when `signal` aborts. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export const timerSleep: Sleep = async (ms, signal) => {
  await delay(ms, undefined, { signal });
};

/**
 * Calls `call`, retrying a transient failure. Not retried: a missing secret (deletionPolicy decides), a terminal
 * error (a refusal or a bad spec: only a change helps), an abort (shutdown, lost leadership).
 */
export async function withProviderRetry<T>(retry: ProviderRetry, signal: AbortSignal, sleep: Sleep, call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= retry.maxRetries || signal.aborted || err instanceof NoSecretError || err instanceof TerminalError) throw err;
    }
    await sleep(retry.intervalMs, signal);
  }
}
