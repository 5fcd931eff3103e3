// What the operator does with a change notification, whichever feed brought it (a provider's feed or the signed
// webhook): recognise a redelivery, find the ExternalSecrets reading the named keys, drop the shared reads those
// keys had (so the refresh reads afresh instead of reusing a result up to 5 s old), and queue those ExternalSecrets
// with a "remote changed" mark their reconcile honours whatever their refreshInterval. Notifications of one store
// arriving within COALESCE_MS are handled as one: one drop of its reads and one queue entry per ExternalSecret, so
// the whole burst costs one provider read per key (the ExternalSecrets reading it share that read).
import { createHash } from 'node:crypto';
import type { Clock } from '../../util/clock.ts';
import { systemTimers, type Timers } from '../../util/timers.ts';
import type { ChangeFeedSource, ChangeNotification } from '../../providers/change-feed.ts';
import { RemoteReadersIndex } from './readers-index.ts';
import type { FeedStatusBook } from './feed-status.ts';

/** Long enough to gather one SQS batch or a webhook burst, short against the 2 s the rotation may take in all. */
export const COALESCE_MS = 100;
/** Event ids remembered per store to recognise redeliveries (SQS at-least-once, Pub/Sub redelivery). */
export const REMEMBERED_IDS = 4096;
/**
 * Ids longer than this are remembered by their SHA-256. Some feeds' ids come from the message body, which whoever
 * may write to the queue (the tenant, for its own queue) chooses: 4,096 ids of 2 KiB would be 8 MiB per store.
 */
export const REMEMBERED_ID_CHARS = 64;

/** What is kept of an id: itself when short, else its digest (the prefixes keep the two kinds apart). */
function rememberedId(id: string): string {
  return id.length <= REMEMBERED_ID_CHARS ? `=${id}` : `#${createHash('sha256').update(id).digest('base64')}`;
}

export type NotificationResult = 'matched' | 'ignored' | 'duplicate' | 'refused';

/** A remote change an ExternalSecret has yet to pick up. */
export interface PendingChange {
  readonly source: ChangeFeedSource;
  /** When the change happened (the provider's time), or when it was received. */
  readonly since: number;
}

export interface RemoteChangeMetrics {
  changeNotification(source: ChangeFeedSource, result: NotificationResult): void;
  changeApplied(source: ChangeFeedSource, seconds: number): void;
}

export interface RemoteChangesDeps {
  readonly clock: Clock;
  readonly timers?: Timers | undefined;
  readonly metrics: RemoteChangeMetrics;
  /** Drops the shared reads of `storeUid` that a change of `keys` made stale. */
  readonly forgetReads: (storeUid: string, keys: ReadonlySet<string>) => void;
  /** Queues an ExternalSecret (namespace/name) for its controller. */
  readonly enqueue: (externalSecret: string) => void;
  /** status.changeFeeds of the stores. */
  readonly feedStatus: FeedStatusBook;
}

/** The store a notification is for: its ref key (external-secret-index's storeRefKey) and uid. */
export interface StoreIdentity {
  readonly ref: string;
  readonly uid: string;
}

export class RemoteChanges {
  readonly index = new RemoteReadersIndex();
  readonly feedStatus: FeedStatusBook;
  readonly #deps: RemoteChangesDeps;
  readonly #timers: Timers;
  readonly #seen = new Map<string, Map<string, true>>();
  readonly #pending = new Map<string, PendingChange>();
  #batch = new Map<string, { keys: Set<string>; externalSecrets: Map<string, PendingChange> }>();
  #timer: unknown;

  constructor(deps: RemoteChangesDeps) {
    this.#deps = deps;
    this.feedStatus = deps.feedStatus;
    this.#timers = deps.timers ?? systemTimers;
  }

  /** Records notifications of one store; returns each one's result (also counted). */
  notify(store: StoreIdentity, source: ChangeFeedSource, notifications: readonly ChangeNotification[]): NotificationResult[] {
    const now = this.#deps.clock.now();
    return notifications.map((n) => {
      const result = this.#one(store, source, n, now);
      this.#deps.metrics.changeNotification(source, result);
      return result;
    });
  }

  /** A notification refused before it could name a store (bad signature, replay, unknown store). */
  refused(source: ChangeFeedSource): void {
    this.#deps.metrics.changeNotification(source, 'refused');
  }

  /** Messages of a feed that name no secret change (another event type). */
  ignored(source: ChangeFeedSource, count: number): void {
    for (let i = 0; i < count; i++) this.#deps.metrics.changeNotification(source, 'ignored');
  }

  /** For the ExternalSecret reconciler: a remote change it has not written yet. */
  pending(externalSecret: string): PendingChange | undefined {
    return this.#pending.get(externalSecret);
  }

  /** For the ExternalSecret reconciler: the Secret now holds what was read after `change`. A newer change stays pending. */
  handled(externalSecret: string, change: PendingChange): void {
    if (this.#pending.get(externalSecret) !== change) return;
    this.#pending.delete(externalSecret);
    this.#deps.metrics.changeApplied(change.source, Math.max(0, this.#deps.clock.now() - change.since) / 1000);
  }

  /** The ExternalSecret does not refresh on remote changes (refreshPolicy OnChange or CreatedOnce). */
  dismiss(externalSecret: string, change: PendingChange): void {
    if (this.#pending.get(externalSecret) === change) this.#pending.delete(externalSecret);
  }

  /** The store is gone: the event ids remembered for it go too. */
  forgetStore(uid: string): void {
    this.#seen.delete(uid);
    this.#batch.delete(uid);
  }

  /** The ExternalSecret is gone. */
  forget(externalSecret: string): void {
    this.#pending.delete(externalSecret);
    this.index.remove(externalSecret);
  }

  close(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#batch.clear();
  }

  #one(store: StoreIdentity, source: ChangeFeedSource, n: ChangeNotification, now: number): NotificationResult {
    let seen = this.#seen.get(store.uid);
    if (!seen) this.#seen.set(store.uid, (seen = new Map()));
    const id = rememberedId(n.id);
    if (seen.has(id)) return 'duplicate';
    seen.set(id, true);
    if (seen.size > REMEMBERED_IDS) seen.delete(seen.keys().next().value!);

    const readers = new Set<string>();
    for (const key of n.keys) for (const es of this.index.readers(store.ref, key)) readers.add(es);
    if (readers.size === 0) return 'ignored';
    let batch = this.#batch.get(store.uid);
    if (!batch) this.#batch.set(store.uid, (batch = { keys: new Set(), externalSecrets: new Map() }));
    for (const key of n.keys) batch.keys.add(key);
    // A change dated in the future (a skewed clock) is counted from its arrival.
    const since = n.occurredAt !== undefined && n.occurredAt <= now ? n.occurredAt : now;
    for (const es of readers) {
      const earlier = batch.externalSecrets.get(es);
      if (!earlier || since < earlier.since) batch.externalSecrets.set(es, { source, since });
    }
    this.#timer ??= this.#timers.setTimeout(() => this.#flush(), COALESCE_MS);
    return 'matched';
  }

  #flush(): void {
    this.#timer = undefined;
    const batch = this.#batch;
    this.#batch = new Map();
    for (const [uid, { keys, externalSecrets }] of batch) {
      // Before queueing: the refreshes must not reuse a read made before the change.
      this.#deps.forgetReads(uid, keys);
      for (const [es, change] of externalSecrets) {
        // Always a new mark, so a reconcile that began before this change cannot clear it (handled() compares
        // identity); an older change still pending keeps its time: the delay counts from the first unseen change.
        const earlier = this.#pending.get(es);
        this.#pending.set(es, earlier && earlier.since < change.since ? { ...earlier } : change);
        this.#deps.enqueue(es);
      }
    }
  }
}
