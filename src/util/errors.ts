// The error classes every layer may throw and recognise: the provider contract's failures, which the runtime
// maps to retry policy (terminal: wait for a change; throttled: back off and count).

/** The remote secret (or the property asked for) does not exist. Drives deletionPolicy. */
export class NoSecretError extends Error {
  override readonly name = 'NoSecretError';
  constructor(message: string) {
    super(message);
  }
}

/**
 * Retrying cannot help until the user changes something (bad spec, access denied).
 * The reconciler records it and waits for the object to change instead of backing off forever.
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The provider asked us to slow down (throttling, 429). Retried with backoff and counted. */
export class ThrottledError extends Error {
  override readonly name = 'ThrottledError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The external secret manager refused the identity the store acts as (HTTP 401/403, AccessDenied …). Terminal, as
 * any refusal that only a policy change can lift; audit records and metrics count it as `denied`, not as an error.
 */
export class AccessDeniedError extends TerminalError {}
