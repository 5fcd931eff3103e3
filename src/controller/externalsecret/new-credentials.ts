// The credentials one sync generated, as a state machine (ESO's runtime/statemanager is the model):
//   issued → written (the Secret holds them) → committed (their leases recorded in status; the replaced ones
//   retired, revoked best-effort by the lease keeper).
// Revoked only while no Secret holds them; once one does, nothing rolls them back.
import type { ExternalSecret } from '../../api/index.ts';
import type { Clock } from '../../util/clock.ts';
import type { IssuedCredentials, LeaseKeeper } from './generators.ts';

export class NewCredentials {
  readonly #keeper: LeaseKeeper;
  readonly #es: ExternalSecret;
  readonly #issued: readonly IssuedCredentials[];
  readonly #signal: AbortSignal;
  readonly #clock: Clock;
  #stage: 'issued' | 'written' | 'committing' = 'issued';

  constructor(keeper: LeaseKeeper, es: ExternalSecret, issued: readonly IssuedCredentials[], signal: AbortSignal, clock: Clock) {
    this.#keeper = keeper;
    this.#es = es;
    this.#issued = issued;
    this.#signal = signal;
    this.#clock = clock;
  }

  /** The Secret holds them now. */
  written(): void {
    if (this.#stage === 'issued') this.#stage = 'written';
  }

  /** No Secret took them (the write was refused): revoked. */
  async abandon(): Promise<void> {
    if (this.#stage !== 'issued' || this.#issued.length === 0) return;
    await this.#keeper.abandon(this.#es, this.#issued, this.#signal);
  }

  /**
   * Records their leases (the replaced ones as retired), then revokes the retired ones that are due; throws only
   * when the status patch fails (the keeper keeps the state to record at the next reconcile). The next lease time.
   */
  async commit(): Promise<number | undefined> {
    this.#stage = 'committing';
    return this.#keeper.commit(this.#es, this.#issued, this.#clock.now(), this.#signal);
  }

  /**
   * A step failed: credentials no Secret holds are revoked; those the Secret holds are recorded — once, and a
   * failure of that is left to the next reconcile (never revoked).
   */
  async settleAfterFailure(): Promise<void> {
    if (this.#issued.length === 0) return;
    if (this.#stage === 'issued') await this.abandon();
    else if (this.#stage === 'written') await this.commit().catch(() => undefined);
  }
}
