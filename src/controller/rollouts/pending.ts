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

/** A Secret seen for the first time (start-up, a new leader, creation) and its HMAC: to check against the workloads. */
export interface FirstSight {
  readonly secret: string;
  readonly hmac: string;
}

/**
 * The data HMAC each managed Secret last had, the changes not yet rolled out, and the Secrets first seen and not
 * checked yet, by namespace. A change seen by a process that ended before rolling it (a restart in the settle
 * window) is lost from memory; the workloads' own record of the versions they were rolled for is not, so a first
 * sight is checked against it once (./module.ts).
 */
export class PendingChanges {
  readonly #lastHmac = new Map<string, string>();
  readonly #pending = new Map<string, Map<string, PendingChange>>();
  readonly #firstSights = new Map<string, Map<string, FirstSight>>();

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
    if (previous === undefined) {
      let sights = this.#firstSights.get(namespace);
      if (!sights) this.#firstSights.set(namespace, (sights = new Map()));
      sights.set(secret, { secret, hmac });
      return false;
    }
    if (previous === hmac) return false;
    this.#dropFirstSight(namespace, secret); // a change supersedes it
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
    this.#dropFirstSight(namespace, secret);
  }

  firstSightsIn(namespace: string): FirstSight[] {
    return [...(this.#firstSights.get(namespace)?.values() ?? [])];
  }

  /** Drops the first sights checked, unless seen anew meanwhile. */
  checked(namespace: string, sights: readonly FirstSight[]): void {
    dropHandled(this.#firstSights, namespace, sights);
  }

  #dropFirstSight(namespace: string, secret: string): void {
    const sights = this.#firstSights.get(namespace);
    if (!sights?.delete(secret)) return;
    if (sights.size === 0) this.#firstSights.delete(namespace);
  }

  pendingIn(namespace: string): PendingChange[] {
    return [...(this.#pending.get(namespace)?.values() ?? [])];
  }

  /** Drops the changes handled, unless a newer change to the same Secret came in meanwhile. */
  done(namespace: string, handled: readonly PendingChange[]): void {
    dropHandled(this.#pending, namespace, handled);
  }
}

/** Removes the entries handled from a namespace's map — unless replaced meanwhile — and the map once empty. */
function dropHandled<T extends { readonly secret: string }>(byNamespace: Map<string, Map<string, T>>, namespace: string, handled: readonly T[]): void {
  const entries = byNamespace.get(namespace);
  if (!entries) return;
  for (const h of handled) if (entries.get(h.secret) === h) entries.delete(h.secret);
  if (entries.size === 0) byNamespace.delete(namespace);
}

/** The scheme prefix of a data HMAC annotation (v1:, v2:). */
function schemeOf(hmac: string): string {
  return hmac.slice(0, hmac.indexOf(':') + 1);
}
