// status.changeFeeds of each store, written from one place: a store's provider feed and its webhook each report
// here, and the whole list is written (a merge patch replaces the list). lastHeardTime alone is written at most
// every LAST_HEARD_WRITE_MS, so a busy feed costs no status write per notification.
import type { Clock } from '../../util/clock.ts';
import type { ChangeFeedSource } from '../../providers/provider.ts';

/** lastHeardTime is written at most this often; a change of `connected` or `message` is written at once. */
export const LAST_HEARD_WRITE_MS = 30_000;

export interface FeedStatus {
  readonly source: ChangeFeedSource;
  readonly connected: boolean;
  readonly lastHeardTime?: string | undefined;
  readonly message?: string | undefined;
}

/** An entry of status.changeFeeds as read from the store (its source may be one this version no longer knows). */
export type LiveFeedStatus = Omit<FeedStatus, 'source'> & { readonly source: string };

export interface StoreDescriptor {
  readonly kind: 'SecretStore' | 'ClusterSecretStore';
  readonly namespace: string | undefined;
  readonly name: string;
  readonly uid: string;
  /** The ref key (external-secret-index's storeRefKey) and uid the readers index knows it by. */
  readonly identity: { readonly ref: string; readonly uid: string };
}

export class FeedStatusBook {
  readonly #clock: Clock;
  readonly #write: (store: StoreDescriptor, feeds: readonly FeedStatus[]) => Promise<void>;
  readonly #stores = new Map<string, { feeds: Map<ChangeFeedSource, FeedStatus>; writtenAt: number }>();

  constructor(deps: { clock: Clock; write: (store: StoreDescriptor, feeds: readonly FeedStatus[]) => Promise<void> }) {
    this.#clock = deps.clock;
    this.#write = deps.write;
  }

  /** Records a feed's state; writes the store's list when it changed beyond lastHeardTime, or that is due. */
  async report(store: StoreDescriptor, status: FeedStatus): Promise<void> {
    let entry = this.#stores.get(store.uid);
    if (!entry) this.#stores.set(store.uid, (entry = { feeds: new Map(), writtenAt: -Infinity }));
    const before = entry.feeds.get(status.source);
    entry.feeds.set(status.source, status);
    const changed = before === undefined || before.connected !== status.connected || before.message !== status.message;
    const now = this.#clock.now();
    if (!changed && now - entry.writtenAt < LAST_HEARD_WRITE_MS) return;
    entry.writtenAt = now;
    await this.#write(store, [...entry.feeds.values()]);
  }

  /**
   * Drops the entries of feeds the store's spec no longer configures (`configured`). `live` is the store's
   * status.changeFeeds as last seen: an entry written before this replica led (or restarted) goes too. Writes only
   * when something is to go; the entries kept are this book's where it has them, else the live ones.
   */
  async keepOnly(store: StoreDescriptor, configured: ReadonlySet<ChangeFeedSource>, live: readonly LiveFeedStatus[]): Promise<void> {
    const entry = this.#stores.get(store.uid);
    const isConfigured = (f: LiveFeedStatus): f is FeedStatus => (configured as ReadonlySet<string>).has(f.source);
    let dropped = live.some((f) => !isConfigured(f));
    for (const source of entry?.feeds.keys() ?? []) {
      if (!configured.has(source)) {
        entry!.feeds.delete(source);
        dropped = true;
      }
    }
    if (!dropped) return;
    const kept = new Map<ChangeFeedSource, FeedStatus>(live.filter(isConfigured).map((f) => [f.source, f]));
    for (const [source, status] of entry?.feeds ?? []) kept.set(source, status);
    await this.#write(store, [...kept.values()]);
  }

  forget(uid: string): void {
    this.#stores.delete(uid);
  }
}
