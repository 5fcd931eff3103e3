// One change feed per store while this replica leads: started when a store's spec configures one, restarted when
// the spec changes, stopped when the store goes or the leadership term ends. A feed that cannot connect (or drops)
// is retried with backoff (1 s doubling to 5 min); meanwhile the store stays Ready — polling at refreshInterval
// still works — and its status.changeFeeds and a Warning Event say the feed is down and why. The backoff starts
// again from 1 s only after the feed stayed connected for HEALTHY_FEED_MS: a feed that connects and then fails at
// once (a queue it may read but not delete from, a stream cut as soon as it opens) would otherwise retry every
// second for good.
import type { Clock } from '../../util/clock.ts';
import type { Logger } from '../../log.ts';
import { backoffDelay, defaultBackoff } from '../../util/backoff.ts';
import { delay, systemTimers, type Timers } from '../../util/timers.ts';
import { describeError } from '../../k8s/describe-error.ts';
import type { ChangeFeed, ChangeFeedSink, ChangeFeedSource } from '../../providers/change-feed.ts';
import type { StoreContext } from '../../providers/provider.ts';
import type { RemoteChanges } from './remote-changes.ts';
import type { FeedStatus, StoreDescriptor } from './feed-status.ts';

export type { StoreDescriptor };

/** A feed connected this long counts as healthy: its next failure is retried after the backoff's first step. */
export const HEALTHY_FEED_MS = 2 * 60_000;

export interface FeedRunnerDeps {
  readonly clock: Clock;
  readonly timers?: Timers | undefined;
  /** The backoff's jitter; default Math.random. */
  readonly random?: (() => number) | undefined;
  readonly logger: Logger;
  readonly remoteChanges: RemoteChanges;
  /** Records an Event on the store. */
  readonly event: (store: StoreDescriptor, type: 'Normal' | 'Warning', reason: string, message: string) => Promise<void>;
}

interface Running {
  readonly fingerprint: string;
  readonly abort: AbortController;
  readonly done: Promise<void>;
}

export class FeedRunner {
  readonly #deps: FeedRunnerDeps;
  readonly #timers: Timers;
  readonly #running = new Map<string, Running>();

  constructor(deps: FeedRunnerDeps) {
    this.#deps = deps;
    this.#timers = deps.timers ?? systemTimers;
  }

  /**
   * Runs `feed` for the store unless it already runs with the same fingerprint (uid + generation): a changed spec
   * restarts it. `term` ends it with the leadership term.
   */
  ensure<Spec>(store: StoreDescriptor, fingerprint: string, feed: ChangeFeed<Spec>, spec: Spec, ctx: StoreContext, term: AbortSignal | undefined): void {
    const current = this.#running.get(store.uid);
    if (current && current.fingerprint === fingerprint && !current.abort.signal.aborted) return;
    if (current) current.abort.abort();
    // A term already over (a reconcile that finished after it) would never abort the feed: it would outlive the term.
    if (term?.aborted) {
      this.#running.delete(store.uid);
      return;
    }
    const abort = new AbortController();
    const endWithTerm = () => abort.abort();
    term?.addEventListener('abort', endWithTerm, { once: true });
    const done = this.#supervise(store, feed, spec, ctx, abort.signal).finally(() => {
      term?.removeEventListener('abort', endWithTerm);
      if (this.#running.get(store.uid)?.abort === abort) this.#running.delete(store.uid);
    });
    this.#running.set(store.uid, { fingerprint, abort, done });
  }

  /** The store is gone or no longer configures a feed. */
  stop(uid: string): void {
    this.#running.get(uid)?.abort.abort();
    this.#running.delete(uid);
  }

  running(): number {
    return this.#running.size;
  }

  async stopAll(): Promise<void> {
    const all = [...this.#running.values()];
    for (const r of all) r.abort.abort();
    await Promise.allSettled(all.map((r) => r.done));
  }

  async #supervise<Spec>(store: StoreDescriptor, feed: ChangeFeed<Spec>, spec: Spec, ctx: StoreContext, signal: AbortSignal): Promise<void> {
    const { clock, logger, remoteChanges } = this.#deps;
    let status: FeedStatus = { source: feed.source, connected: false };
    const write = async (next: FeedStatus) => {
      status = next;
      if (signal.aborted) return;
      await remoteChanges.feedStatus.report(store, status).catch((err: unknown) => logger.warn({ store: label(store), error: describeError(err) }, 'could not write the change feed status'));
    };
    let failures = 0;
    /** When the current run said it was connected; undefined until it does. */
    let connectedAt: number | undefined;
    const heard = () => new Date(clock.now()).toISOString();
    const sink: ChangeFeedSink = {
      connected: () => {
        const wasDown = status.message !== undefined;
        connectedAt = clock.now();
        logger.info({ store: label(store), source: feed.source }, 'change feed connected');
        void write({ source: feed.source, connected: true, lastHeardTime: heard() });
        if (wasDown) void this.#deps.event(store, 'Normal', 'ChangeFeedConnected', `the ${feed.source} change feed is connected again`).catch(() => {});
      },
      deliver: async (notifications) => {
        remoteChanges.notify(store.identity, feed.source, notifications);
        await write({ source: feed.source, connected: true, lastHeardTime: heard() });
      },
      ignored: (count) => remoteChanges.ignored(feed.source, count),
    };
    while (!signal.aborted) {
      try {
        await feed.run(spec, ctx, sink, signal);
        if (signal.aborted) break;
        throw new Error('the feed ended without being stopped');
      } catch (err) {
        if (signal.aborted) break;
        if (connectedAt !== undefined && clock.now() - connectedAt >= HEALTHY_FEED_MS) failures = 0;
        connectedAt = undefined;
        const message = `the ${feed.source} change feed of ${label(store)} is not connected (${describeError(err)}); rotations reach the cluster at refreshInterval until it reconnects`;
        const wasReported = status.message === message;
        await write({ source: feed.source, connected: false, ...(status.lastHeardTime ? { lastHeardTime: status.lastHeardTime } : {}), message });
        if (!wasReported) {
          logger.warn({ store: label(store), source: feed.source, error: describeError(err) }, 'change feed not connected; retrying with backoff');
          await this.#deps.event(store, 'Warning', 'ChangeFeedDisconnected', message).catch(() => {});
        }
        await delay(this.#timers, backoffDelay(failures++, defaultBackoff, this.#deps.random), signal);
      }
    }
  }
}

function label(store: StoreDescriptor): string {
  return store.kind === 'ClusterSecretStore' ? `ClusterSecretStore ${store.name}` : `SecretStore ${store.namespace}/${store.name}`;
}
