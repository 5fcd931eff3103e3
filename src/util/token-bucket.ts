import type { Clock } from './clock.ts';

export interface RateLimit {
  /** Tokens added per second. `Infinity` disables the limit. */
  readonly qps: number;
  /** Most tokens held at once: how many keys may go out back to back after a quiet spell. */
  readonly burst: number;
}

export const defaultRateLimit: RateLimit = { qps: 50, burst: 300 };

/** A token bucket on an injected clock; starts full. */
export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #refilledAt: number;

  constructor(limit: RateLimit, clock: Clock) {
    if (!(limit.qps > 0)) throw new Error(`rate limit qps must be > 0 (got ${limit.qps}); use Infinity to disable it`);
    if (!(limit.burst >= 1)) throw new Error(`rate limit burst must be >= 1 (got ${limit.burst})`);
    this.#qps = limit.qps;
    this.#burst = limit.burst;
    this.#clock = clock;
    this.#tokens = limit.burst;
    this.#refilledAt = clock.now();
  }

  /** Takes a token and returns 0, or, when none is left, takes nothing and returns the ms until one will be. */
  tryTake(): number {
    if (this.#qps === Infinity) return 0;
    this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) * 1000) / this.#qps);
  }

  /** Milliseconds until `n` tokens (at most burst) will be held; 0 when they are. Takes nothing. */
  msUntil(n: number): number {
    if (this.#qps === Infinity) return 0;
    this.#refill();
    const missing = Math.min(n, this.#burst) - this.#tokens;
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.#qps);
  }

  #refill(): void {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#refilledAt) * this.#qps) / 1000);
    this.#refilledAt = now;
  }
}
