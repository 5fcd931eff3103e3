// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: the holder renews
// every retry period; anyone may take a lease whose renewTime + leaseDurationSeconds has passed; writes carry the
// resourceVersion they read, so two candidates cannot both win (the loser gets a 409 and looks again).
import type { Clock } from '../../util/clock.ts';
import { systemClock } from '../../util/clock.ts';
import { delay, systemTimers } from '../../util/timers.ts';
import type { Timers } from '../../util/timers.ts';
import type { LeaseRecord, LeaseStore } from '../../k8s/lease-record.ts';
import { LeaseConflictError } from '../../k8s/lease-record.ts';
import { describeKubeError } from '../../k8s/describe-error.ts';

export type { LeaseRecord, LeaseStore };
export { LeaseConflictError };


// ---- pure decisions --------------------------------------------------------------------------------------------

/**
 * When the lease lapses unless renewed: renewTime + leaseDurationSeconds. With `observedAt` (the local time this
 * process first saw the lease's current resourceVersion) expiry counts from that instead, as client-go does, so a
 * candidate whose clock runs ahead of the holder's cannot take a lease that is still being renewed.
 */
export function leaseExpiresAt(lease: LeaseRecord, observedAt?: number): number {
  return (observedAt ?? lease.renewTime ?? 0) + (lease.leaseDurationSeconds ?? 0) * 1000;
}

/** True once the expiry time (see leaseExpiresAt) is before `now`. */
export function isLeaseExpired(lease: LeaseRecord, now: number, observedAt?: number): boolean {
  return leaseExpiresAt(lease, observedAt) < now;
}

export type LeaseDecision =
  /** No Lease object exists: create it, holding it. */
  | { readonly action: 'create' }
  /** We hold it: renew. */
  | { readonly action: 'renew' }
  /** Free (released or never held) or expired: take it. */
  | { readonly action: 'acquire'; readonly previousHolder: string | undefined }
  /** Someone else holds it and renews it: wait. */
  | { readonly action: 'wait'; readonly holder: string; readonly expiresAt: number };

/** What to do about the lease at `now`; `observedAt` as in leaseExpiresAt. */
export function decideLease(lease: LeaseRecord | undefined, identity: string, now: number, observedAt?: number): LeaseDecision {
  if (!lease) return { action: 'create' };
  const holder = lease.holderIdentity ?? '';
  if (holder === identity) return { action: 'renew' };
  if (holder === '') return { action: 'acquire', previousHolder: undefined };
  if (isLeaseExpired(lease, now, observedAt)) return { action: 'acquire', previousHolder: holder };
  return { action: 'wait', holder, expiresAt: leaseExpiresAt(lease, observedAt) };
}

/** The lease to write to hold it as `identity` at `now`. */
export function heldLease(
  current: LeaseRecord | undefined,
  ref: { namespace: string; name: string },
  identity: string,
  now: number,
  leaseDurationSeconds: number,
): LeaseRecord {
  const renewing = current !== undefined && current.holderIdentity === identity;
  return {
    namespace: ref.namespace,
    name: ref.name,
    resourceVersion: current?.resourceVersion,
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: renewing ? (current.acquireTime ?? now) : now,
    renewTime: now,
    leaseTransitions: (current?.leaseTransitions ?? 0) + (current?.holderIdentity && !renewing ? 1 : 0),
  };
}

/** The lease to write when giving it up: no holder, so a standby acquires it at its next try instead of waiting it out. */
export function releasedLease(current: LeaseRecord, now: number): LeaseRecord {
  return { ...current, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: undefined, renewTime: now };
}

// ---- the elector -----------------------------------------------------------------------------------------------

/** pino-compatible. */
export interface ElectionLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface LeaderElectorOptions {
  readonly store: LeaseStore;
  readonly namespace: string;
  readonly name: string;
  /** Unique per process (pod name + a random suffix). */
  readonly identity: string;
  /** How long a lease is valid without renewal; a whole number of seconds. Default 15 s. */
  readonly leaseDurationMs?: number;
  /** The leader steps down when it could not renew for this long. Default 10 s. */
  readonly renewDeadlineMs?: number;
  /** Time between renewals (leader) and attempts (candidates, +0–20 % jitter). Default 2 s. */
  readonly retryPeriodMs?: number;
  /** Called on becoming leader; `signal` aborts on losing or giving up leadership. Not awaited. */
  readonly onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called on losing or giving up leadership; `stop()` awaits it before releasing the lease. */
  readonly onStoppedLeading: () => void | Promise<void>;
  readonly clock?: Clock;
  readonly timers?: Timers;
  readonly random?: () => number;
  readonly logger?: ElectionLogger;
}

const conflictRetries = 3;

export class LeaderElector {
  readonly identity: string;
  readonly #store: LeaseStore;
  readonly #ref: { namespace: string; name: string };
  readonly #leaseDurationSeconds: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #onStartedLeading: LeaderElectorOptions['onStartedLeading'];
  readonly #onStoppedLeading: LeaderElectorOptions['onStoppedLeading'];
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #logger: ElectionLogger | undefined;

  readonly #stopping = new AbortController();
  #loop: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  /** Set while we lead; aborted when we stop leading. */
  #leading: AbortController | undefined;
  /** The lease as we last wrote it: the leader renews from it without a read first. */
  #lastWritten: LeaseRecord | undefined;
  #lastRenewedAt = 0;
  /** The lease version we last read and when we first saw it (see leaseExpiresAt). */
  #observed: { resourceVersion: string | undefined; at: number } | undefined;

  constructor(options: LeaderElectorOptions) {
    const leaseDurationMs = options.leaseDurationMs ?? 15_000;
    const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    const retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(leaseDurationMs >= 1000 && leaseDurationMs % 1000 === 0)) {
      throw new Error(`leader election: leaseDurationMs must be a whole number of seconds >= 1 s (got ${leaseDurationMs})`);
    }
    if (!(renewDeadlineMs < leaseDurationMs)) {
      throw new Error(`leader election: renewDeadlineMs (${renewDeadlineMs}) must be shorter than leaseDurationMs (${leaseDurationMs}), or two leaders can overlap`);
    }
    if (!(retryPeriodMs > 0 && retryPeriodMs * 1.2 < renewDeadlineMs)) {
      throw new Error(`leader election: retryPeriodMs (${retryPeriodMs}) must be > 0 and 1.2× it shorter than renewDeadlineMs (${renewDeadlineMs})`);
    }
    if (!options.identity) throw new Error('leader election: identity must not be empty');
    this.identity = options.identity;
    this.#store = options.store;
    this.#ref = { namespace: options.namespace, name: options.name };
    this.#leaseDurationSeconds = leaseDurationMs / 1000;
    this.#renewDeadlineMs = renewDeadlineMs;
    this.#retryPeriodMs = retryPeriodMs;
    this.#onStartedLeading = options.onStartedLeading;
    this.#onStoppedLeading = options.onStoppedLeading;
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger;
  }

  /** Starts campaigning in the background. After losing leadership the elector keeps campaigning until `stop()`. */
  start(): void {
    if (this.#loop) throw new Error('leader elector already started');
    this.#loop = this.#run();
  }

  isLeader(): boolean {
    return this.#leading !== undefined;
  }

  /**
   * Stops campaigning. If leading: aborts the leading signal, awaits onStoppedLeading, then (unless
   * `release: false`, which leaves the lease to expire as a crash would) writes the lease with no holder.
   */
  stop(options: { release?: boolean } = {}): Promise<void> {
    this.#stopped ??= this.#stop(options.release ?? true);
    return this.#stopped;
  }

  async #stop(release: boolean): Promise<void> {
    this.#stopping.abort();
    // The loop ends after its current attempt; an attempt by a leader is bounded by the renew deadline.
    if (this.#loop) await this.#loop;
    const wasLeading = this.#leading !== undefined;
    await this.#stopLeading('stopping');
    // Also release a lease won by an attempt that raced with stop() (written, but never led).
    if (release && (wasLeading || this.#lastWritten?.holderIdentity === this.identity)) await this.#release();
  }

  async #run(): Promise<void> {
    while (!this.#stopping.signal.aborted) {
      const leading = this.#leading !== undefined;
      const attemptAt = this.#clock.now();
      // Every attempt is bounded: a leader's by its renew deadline (counted from its last renewal), a candidate's
      // by one renew deadline; the requests of an attempt given up on are cut, not left to land later.
      const result = await this.#bounded(leading ? this.#lastRenewedAt + this.#renewDeadlineMs - attemptAt : this.#renewDeadlineMs);
      if (this.#stopping.signal.aborted && !leading) break; // do not start leading while stopping
      if (result.acquired) {
        this.#lastRenewedAt = attemptAt;
        if (!this.#leading) this.#startLeading();
      } else if (this.#leading) {
        if (result.holder !== undefined) {
          await this.#stopLeading(`lease taken by ${result.holder}`);
        } else if (this.#clock.now() - this.#lastRenewedAt >= this.#renewDeadlineMs) {
          await this.#stopLeading(`could not renew the lease for ${this.#renewDeadlineMs} ms`);
        }
      }
      const wait = this.#leading ? this.#retryPeriodMs : this.#retryPeriodMs * (1 + 0.2 * this.#random());
      await delay(this.#timers, wait, this.#stopping.signal);
    }
  }

  /**
   * The time (on this elector's clock) until which this replica may act as the leader: its last successful
   * renewal's start + the renew deadline. A standby cannot take the lease before the last renewal + the lease
   * duration, which is later: whatever this replica does before this time, it does alone. (Also while a graceful
   * stop waits for the reconciles, before the release.) -Infinity before the first renewal.
   */
  leadingUntil(): number {
    return this.#lastRenewedAt === 0 ? Number.NEGATIVE_INFINITY : this.#lastRenewedAt + this.#renewDeadlineMs;
  }

  /** One attempt, given up on (its requests aborted) after `ms`. */
  async #bounded(ms: number): Promise<{ acquired: boolean; holder?: string }> {
    const timeout = new AbortController();
    const stopTimer = new AbortController();
    const result = await Promise.race([
      this.#tryAcquireOrRenew(timeout.signal),
      delay(this.#timers, ms, stopTimer.signal).then(() => ({ acquired: false })),
    ]);
    stopTimer.abort();
    timeout.abort(new Error('leader election: the attempt outlasted its deadline'));
    return result;
  }

  /** One attempt, retried at once on write conflicts. Never throws. */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<{ acquired: boolean; holder?: string }> {
    try {
      for (let i = 0; i < conflictRetries; i++) {
        const now = this.#clock.now();
        // Fast path: the leader renews the lease it last wrote; a conflict sends it back to reading.
        const current = i === 0 && this.#leading && this.#lastWritten ? this.#lastWritten : await this.#store.get(this.#ref.namespace, this.#ref.name, signal);
        if (signal.aborted) return { acquired: false };
        if (current && current.resourceVersion !== this.#observed?.resourceVersion) this.#observed = { resourceVersion: current.resourceVersion, at: now };
        const decision = decideLease(current, this.identity, now, this.#observed?.at);
        if (decision.action === 'wait') return { acquired: false, holder: decision.holder };
        const desired = heldLease(current, this.#ref, this.identity, now, this.#leaseDurationSeconds);
        try {
          const written = current ? await this.#store.replace(desired, signal) : await this.#store.create(desired, signal);
          // An answer that arrives after the attempt was given up on does not count: the loop has moved on.
          if (signal.aborted) return { acquired: false };
          this.#lastWritten = written;
          if (decision.action === 'acquire') {
            this.#logger?.info({ lease: this.#ref, identity: this.identity, previousHolder: decision.previousHolder }, 'acquired the lease');
          }
          return { acquired: true };
        } catch (err) {
          if (!(err instanceof LeaseConflictError)) throw err;
          this.#lastWritten = undefined;
        }
      }
      return { acquired: false };
    } catch (err) {
      this.#lastWritten = undefined;
      if (!signal.aborted) this.#logger?.warn({ lease: this.#ref, identity: this.identity, error: describeKubeError(err) }, 'could not read or write the lease; will retry');
      return { acquired: false };
    }
  }

  #startLeading(): void {
    const leading = new AbortController();
    this.#leading = leading;
    this.#logger?.info({ lease: this.#ref, identity: this.identity }, 'started leading');
    try {
      Promise.resolve(this.#onStartedLeading(leading.signal)).catch((err: unknown) =>
        this.#logger?.warn({ lease: this.#ref, error: describeKubeError(err) }, 'onStartedLeading failed'),
      );
    } catch (err) {
      this.#logger?.warn({ lease: this.#ref, error: describeKubeError(err) }, 'onStartedLeading failed');
    }
  }

  async #stopLeading(reason: string): Promise<void> {
    const leading = this.#leading;
    if (!leading) return;
    this.#leading = undefined;
    this.#logger?.info({ lease: this.#ref, identity: this.identity, reason }, 'stopped leading');
    leading.abort(new Error(`leadership lost: ${reason}`));
    try {
      await this.#onStoppedLeading();
    } catch (err) {
      this.#logger?.warn({ lease: this.#ref, error: describeKubeError(err) }, 'onStoppedLeading failed');
    }
  }

  async #release(): Promise<void> {
    try {
      for (let i = 0; i < conflictRetries; i++) {
        const current = i === 0 && this.#lastWritten ? this.#lastWritten : await this.#store.get(this.#ref.namespace, this.#ref.name);
        if (!current || current.holderIdentity !== this.identity) return; // someone else holds it already
        try {
          await this.#store.replace(releasedLease(current, this.#clock.now()));
          this.#logger?.info({ lease: this.#ref, identity: this.identity }, 'released the lease');
          return;
        } catch (err) {
          if (!(err instanceof LeaseConflictError)) throw err;
        }
      }
    } catch (err) {
      this.#logger?.warn({ lease: this.#ref, error: describeKubeError(err) }, 'could not release the lease; a standby takes over when it expires');
    }
  }
}
