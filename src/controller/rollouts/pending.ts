// Changes waiting to settle, per namespace — the batching decisions are pure functions of the entries and `now`.
// A change to a Secret waits `settleWindow` for more changes (the second half of a username/password rotation)
// before its namespace's workloads are rolled, so several changes give one rollout; a stream of changes that
// never goes quiet is still rolled after MAX_SETTLE_FACTOR windows from its first change.

export interface PendingChange {
  readonly secret: string;
  readonly hmac: string;
  /** When the first change of this batch to this Secret was seen. */
  readonly firstSeen: number;
  /** When the latest one was. */
  readonly lastSeen: number;
  readonly settleMs: number;
}

/** A batch is due at the latest MAX_SETTLE_FACTOR settle windows after its first change, however busy. */
export const MAX_SETTLE_FACTOR = 4;

/**
 * Every replica records changes (so a standby can finish a batch its old leader left), but a change older than
 * this plus the workload's minimum interval was dealt with by whoever led then: it is dropped, not replayed with
 * its Events when a long-idle standby takes over. 10 min is far beyond a failover (a 15 s lease) plus a settle
 * window, and beyond the retry backoff's 5 min cap, so a failing patch gets a few retries first.
 */
export const REPLAY_HORIZON_MS = 10 * 60_000;

export function isStale(change: PendingChange, now: number, minIntervalMs: number): boolean {
  return now - change.lastSeen > REPLAY_HORIZON_MS + minIntervalMs;
}

/** ms until the namespace's batch is due: 0 when it is (or nothing is pending). */
export function settleWaitMs(pending: readonly PendingChange[], now: number): number {
  if (pending.length === 0) return 0;
  const quietAt = Math.max(...pending.map((p) => p.lastSeen + p.settleMs));
  const capAt = Math.min(...pending.map((p) => p.firstSeen)) + MAX_SETTLE_FACTOR * Math.max(...pending.map((p) => p.settleMs));
  return Math.max(0, Math.min(quietAt, capAt) - now);
}

/** The data HMAC each managed Secret last had, and the changes not yet rolled out, by namespace. */
export class PendingChanges {
  readonly #lastHmac = new Map<string, string>();
  readonly #pending = new Map<string, Map<string, PendingChange>>();

  /**
   * Records what a Secret now holds. The first sight of a Secret (start-up, creation) is not a change: only a
   * different HMAC than the last one seen is. An unchanged refresh, a drift repair (it restores the recorded
   * data, whose HMAC the annotation kept) and a metadata-only edit leave the HMAC as it was.
   * Returns true when a change was recorded.
   */
  observe(namespace: string, secret: string, hmac: string | undefined, now: number, settleMs: number): boolean {
    const key = `${namespace}/${secret}`;
    const previous = this.#lastHmac.get(key);
    if (hmac === undefined) return false;
    this.#lastHmac.set(key, hmac);
    if (previous === undefined || previous === hmac) return false;
    // v1 → v2 (the HMAC keyed per Secret, written at the first write after an upgrade) is a new scheme, not new data.
    if (schemeOf(previous) !== schemeOf(hmac)) return false;
    let changes = this.#pending.get(namespace);
    if (!changes) this.#pending.set(namespace, (changes = new Map()));
    const earlier = changes.get(secret);
    changes.set(secret, { secret, hmac, firstSeen: earlier?.firstSeen ?? now, lastSeen: now, settleMs });
    return true;
  }

  forget(namespace: string, secret: string): void {
    this.#lastHmac.delete(`${namespace}/${secret}`);
    this.#pending.get(namespace)?.delete(secret);
  }

  pendingIn(namespace: string): PendingChange[] {
    return [...(this.#pending.get(namespace)?.values() ?? [])];
  }

  /** Drops the changes handled, unless a newer change to the same Secret came in meanwhile. */
  done(namespace: string, handled: readonly PendingChange[]): void {
    const changes = this.#pending.get(namespace);
    if (!changes) return;
    for (const h of handled) if (changes.get(h.secret) === h) changes.delete(h.secret);
    if (changes.size === 0) this.#pending.delete(namespace);
  }
}

/** The scheme prefix of a data HMAC annotation (v1:, v2:). */
function schemeOf(hmac: string): string {
  return hmac.slice(0, hmac.indexOf(':') + 1);
}
