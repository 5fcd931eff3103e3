// A store's spec.retrySettings (ESO's field): a provider call that fails transiently is retried maxRetries times,
// retryInterval apart, before the failure goes to the controller's own backoff. Unlike ESO, whose client sleeps
// between attempts inside the reconcile, a retry here is a requeue of the ExternalSecret after retryInterval, counted
// per object by the work queue: the store's author may be a tenant, and a worker waiting out one store's retries
// (up to 10 × 30 s) would serve no one else meanwhile.
import { PROVIDER_RETRY_LIMITS } from '../../api/secret-store.ts';
import type { SecretStoreRetrySettings } from '../../api/types.generated.ts';
import { parseDuration } from '../../util/duration.ts';
import { NoSecretError, TerminalError } from '../../providers/provider.ts';
import { RetryAtInterval } from '../runtime/controller.ts';

/** How a store's failed provider calls are retried. */
export interface ProviderRetry {
  readonly maxRetries: number;
  readonly intervalMs: number;
}

/** The shortest wait between retries, whatever retryInterval says (ESO's Vault client's first wait). */
export const MIN_RETRY_INTERVAL_MS = 1000;

/** Without retrySettings: no retry at a fixed interval, only the reconcile's own backoff (1 s doubling to 5 min). */
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
    // At least 1 s: "0s" would requeue a failing ExternalSecret maxRetries times at once, each a provider call.
    intervalMs: Math.min(Math.max(intervalMs, MIN_RETRY_INTERVAL_MS), PROVIDER_RETRY_LIMITS.intervalMs),
  };
}

/**
 * The error a failed provider call throws on: wrapped to be requeued at the store's retryInterval when the store asks
 * for retries and the failure is one a retry may cure. Not retried so: a missing secret (deletionPolicy decides), a
 * terminal error (a refusal or a bad spec: only a change helps), an abort (shutdown, lost leadership).
 */
export function retryable(error: unknown, retry: ProviderRetry, signal: AbortSignal): unknown {
  if (retry.maxRetries <= 0 || signal.aborted || error instanceof NoSecretError || error instanceof TerminalError) return error;
  return new RetryAtInterval(error, retry);
}
