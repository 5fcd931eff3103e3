// The aws provider's options, shared by the provider (loaded at start) and its client (loaded with the SDK).
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { Clock } from '../../util/clock.ts';

/** The SDK's standard retry mode: 3 attempts, exponential backoff with full jitter, longer for throttling. */
export const DEFAULT_MAX_ATTEMPTS = 3;

export interface AwsProviderOptions {
  /** Attempts per call, the SDK retrying throttling and transient errors with jittered backoff. Default 3. */
  readonly maxAttempts?: number;
  /** The operator's own credentials (stores without auth). Default: the SDK's node provider chain. For tests. */
  readonly defaultCredentials?: () => AwsCredentialIdentityProvider;
  /** Overrides ctx.clock for credential expiry (tests). */
  readonly clock?: Clock;
}
