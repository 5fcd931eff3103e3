// Exponential backoff with jitter, shared by the work queue, the supervised informers and leader election.

export interface BackoffOptions {
  /** Delay after the first failure. Default 1 s. */
  readonly baseMs?: number;
  /** Growth per further failure. Default 2. */
  readonly factor?: number;
  /** Upper bound of any delay. Default 5 min. */
  readonly maxMs?: number;
  /**
   * Fraction of the delay taken off at random, in [0, 1). Default 0.25: delays land in [0.75·d, d].
   * Only shortening keeps `maxMs` a true bound and, for jitter ≤ 0.5, keeps delays below the cap non-decreasing.
   */
  readonly jitter?: number;
}

export const defaultBackoff: Required<BackoffOptions> = { baseMs: 1_000, factor: 2, maxMs: 5 * 60_000, jitter: 0.25 };

/**
 * Delay before retry number `failures` (0 = first failure). Pure: `random` returns a number in [0, 1).
 */
export function backoffDelay(failures: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const { baseMs, factor, maxMs, jitter } = { ...defaultBackoff, ...options };
  // factor^failures overflows to Infinity for large counts; min() with maxMs handles that.
  const raw = Math.min(maxMs, baseMs * Math.pow(factor, Math.max(0, failures)));
  return raw * (1 - jitter * random());
}

/** Checks options early so a bad flag fails at start, naming the option. */
export function validateBackoff(options: BackoffOptions, name = 'backoff'): void {
  const { baseMs, factor, maxMs, jitter } = { ...defaultBackoff, ...options };
  if (!(baseMs > 0)) throw new Error(`${name}.baseMs must be > 0 (got ${baseMs})`);
  if (!(factor >= 1)) throw new Error(`${name}.factor must be >= 1 (got ${factor})`);
  if (!(maxMs >= baseMs)) throw new Error(`${name}.maxMs must be >= baseMs (got ${maxMs} < ${baseMs})`);
  if (!(jitter >= 0 && jitter < 1)) throw new Error(`${name}.jitter must be in [0, 1) (got ${jitter})`);
}
