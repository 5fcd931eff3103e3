// The feed runner on fake time: how often a failing feed is tried again, what resets its backoff, and that a feed
// started for a leadership term that is already over does not run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FeedRunner, HEALTHY_FEED_MS, type StoreDescriptor } from '../../../src/controller/changefeed/feed-runner.ts';
import { FeedStatusBook, type FeedStatus } from '../../../src/controller/changefeed/feed-status.ts';
import { RemoteChanges } from '../../../src/controller/changefeed/remote-changes.ts';
import { createLogger } from '../../../src/log.ts';
import type { ChangeFeed, ChangeFeedSink, StoreContext } from '../../../src/providers/provider.ts';
import { FakeTime, settle } from '../runtime/fake-time.ts';

const store: StoreDescriptor = { kind: 'SecretStore', namespace: 'team', name: 'vault', uid: 'uid-1', identity: { ref: 'SecretStore/team/vault', uid: 'uid-1' } };
const ctx = {} as StoreContext;

function setup() {
  const time = new FakeTime();
  const writes: FeedStatus[][] = [];
  const events: string[] = [];
  const remoteChanges = new RemoteChanges({
    clock: time,
    timers: time,
    metrics: { changeNotification() {}, changeApplied() {} },
    forgetReads() {},
    enqueue() {},
    feedStatus: new FeedStatusBook({ clock: time, write: async (_store, feeds) => void writes.push([...feeds]) }),
  });
  const runner = new FeedRunner({
    clock: time,
    timers: time,
    random: () => 0,
    logger: createLogger({ level: 'silent' }),
    remoteChanges,
    event: async (_store, type, reason) => void events.push(`${type} ${reason}`),
  });
  return { time, runner, writes, events };
}

/** A feed whose runs follow `plan`: each says whether it connects and how long it then lasts before failing (ms). */
function plannedFeed(time: FakeTime, plan: (run: number) => { connects: boolean; failsAfterMs: number }) {
  const starts: number[] = [];
  const feed: ChangeFeed<object> = {
    source: 'vault-events',
    describe: () => 'test',
    async run(_spec, _ctx, sink: ChangeFeedSink, signal) {
      starts.push(time.now());
      const { connects, failsAfterMs } = plan(starts.length);
      if (connects) sink.connected();
      await new Promise<void>((resolve) => {
        const timer = time.setTimeout(resolve, failsAfterMs);
        signal.addEventListener('abort', () => (time.clearTimeout(timer), resolve()), { once: true });
      });
      if (signal.aborted) return;
      throw new Error('the subscription was cut');
    },
  };
  return { feed, starts };
}

test('a feed that connects and fails at once backs off (1 s, 2 s, 4 s …), not a retry every second for good', async () => {
  const { time, runner, events } = setup();
  const { feed, starts } = plannedFeed(time, () => ({ connects: true, failsAfterMs: 0 }));
  const t0 = time.now();
  runner.ensure(store, 'uid-1/1', feed, {}, ctx, undefined);
  await time.advance(10 * 60_000);
  const waits = starts.slice(1).map((t, i) => t - starts[i]!);
  assert.deepEqual(waits.slice(0, 8), [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000], `runs at ${starts.slice(0, 12).map((t) => (t - t0) / 1000).join(', ')} s`);
  assert.ok(starts.length <= 11, `${starts.length} runs in 10 min`);
  // Each run said connected, then lost it: the Events say so, as often as it happens (and no more).
  assert.equal(events.filter((e) => e === 'Warning ChangeFeedDisconnected').length, starts.length);
  await runner.stopAll();
});

test('a feed that stayed connected for HEALTHY_FEED_MS is retried after 1 s again when it drops', async () => {
  const { time, runner } = setup();
  // Fails twice without connecting (1 s, then 2 s), then stays connected for the healthy span and drops.
  const { feed, starts } = plannedFeed(time, (run) => (run <= 2 ? { connects: false, failsAfterMs: 0 } : run === 3 ? { connects: true, failsAfterMs: HEALTHY_FEED_MS } : { connects: true, failsAfterMs: 60 * 60_000 }));
  runner.ensure(store, 'uid-1/1', feed, {}, ctx, undefined);
  await time.advance(3_000 + HEALTHY_FEED_MS + 1_000);
  assert.equal(starts.length, 4);
  assert.equal(starts[3]! - starts[2]! - HEALTHY_FEED_MS, 1_000, 'the first step again');
  await runner.stopAll();
});

test('a feed started for a leadership term that is already over does not run', async () => {
  const { time, runner } = setup();
  const { feed, starts } = plannedFeed(time, () => ({ connects: true, failsAfterMs: 60 * 60_000 }));
  const term = new AbortController();
  term.abort();
  runner.ensure(store, 'uid-1/1', feed, {}, ctx, term.signal);
  await settle();
  assert.equal(starts.length, 0);
  assert.equal(runner.running(), 0);

  // A live term ends the feed when it ends, and leaves no listener behind on it for feeds already gone.
  const live = new AbortController();
  runner.ensure(store, 'uid-1/1', feed, {}, ctx, live.signal);
  await settle();
  assert.equal(starts.length, 1);
  runner.ensure(store, 'uid-1/2', feed, {}, ctx, live.signal);
  await time.advance(0);
  assert.equal(starts.length, 2, 'a new generation restarts it');
  live.abort();
  await time.advance(0);
  assert.equal(runner.running(), 0);
});
