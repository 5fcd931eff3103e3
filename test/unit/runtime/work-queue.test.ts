import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from '../../../src/controller/runtime/work-queue.ts';
import type { QueueObserver, WorkQueueOptions } from '../../../src/controller/runtime/work-queue.ts';
import { backoffDelay } from '../../../src/util/backoff.ts';
import { FakeTime, sequence, settle } from './fake-time.ts';

const unlimited = { qps: Infinity, burst: 1 };

function makeQueue(time: FakeTime, options: WorkQueueOptions = {}): WorkQueue {
  return new WorkQueue({ clock: time, timers: time, rateLimit: unlimited, random: () => 0, ...options });
}

/** Collects every key the queue hands out to `workers` greedy workers that never call done(). */
function drain(queue: WorkQueue, workers = 1): string[] {
  const got: string[] = [];
  const loop = async (): Promise<void> => {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) got.push(key);
  };
  for (let i = 0; i < workers; i++) void loop();
  return got;
}

/** Resolves with the key if get() resolves before the promise chains settle, else 'pending'. */
async function poll(p: Promise<string | undefined>): Promise<string | undefined | 'pending'> {
  let value: string | undefined | 'pending' = 'pending';
  void p.then((v) => (value = v));
  await settle();
  return value;
}

test('adding a key that is already queued is a no-op', async () => {
  const time = new FakeTime();
  const queue = makeQueue(time);
  queue.add('ns/a');
  queue.add('ns/b');
  queue.add('ns/a');
  assert.equal(queue.len(), 2);
  assert.equal(await queue.get(), 'ns/a');
  assert.equal(await queue.get(), 'ns/b');
  assert.equal(await poll(queue.get()), 'pending');
});

test('a key being processed is never handed to a second worker; re-added, it comes back after done()', async () => {
  const time = new FakeTime();
  const queue = makeQueue(time);
  queue.add('ns/a');
  assert.equal(await queue.get(), 'ns/a');
  queue.add('ns/a'); // changed while being reconciled
  queue.add('ns/a');
  assert.equal(queue.len(), 0, 'a dirty key is not ready while it is processed');
  const second = queue.get();
  assert.equal(await poll(second), 'pending');
  queue.done('ns/a');
  assert.equal(await poll(second), 'ns/a', 'handed out once more, not twice');
  queue.done('ns/a');
  assert.equal(queue.len(), 0);
  assert.equal(await poll(queue.get()), 'pending');
});

test('done() without a re-add does not queue the key again', async () => {
  const time = new FakeTime();
  const queue = makeQueue(time);
  queue.add('ns/a');
  assert.equal(await queue.get(), 'ns/a');
  queue.done('ns/a');
  assert.equal(queue.len(), 0);
});

test('backoff doubles from 1 s, caps, and its jitter only ever shortens it', () => {
  const options = { maxMs: 60_000 };
  const noJitter = [0, 1, 2, 3, 4, 5, 6, 7, 20, 2000].map((n) => backoffDelay(n, options, () => 0));
  assert.deepEqual(noJitter, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000]);
  for (let n = 0; n < 12; n++) {
    const raw = Math.min(60_000, 1_000 * 2 ** n);
    const jittered = backoffDelay(n, options, () => 0.999);
    assert.ok(jittered < raw && jittered >= raw * 0.75, `failure ${n}: ${jittered} not in [0.75·${raw}, ${raw})`);
    // Below the cap, jitter ≤ 0.5 keeps delays non-decreasing whatever the random draws.
    if (2 * raw <= 60_000) assert.ok(backoffDelay(n + 1, options, () => 0.999) >= backoffDelay(n, options, () => 0));
  }
  assert.equal(backoffDelay(3, { maxMs: 60_000, jitter: 0.25 }, () => 0.5), 8_000 * 0.875);
});

test('addRateLimited: an erroring key comes back after growing, jittered delays; forget() resets them', async () => {
  const time = new FakeTime();
  const queue = makeQueue(time, { backoff: { maxMs: 8_000 }, random: () => 0 });
  const got = drain(queue);
  const cameBackAfter: number[] = [];
  for (let attempt = 0; attempt < 6; attempt++) {
    queue.addRateLimited('ns/a');
    const start = time.now();
    while (got.length === attempt) await time.advance(100);
    cameBackAfter.push(time.now() - start);
    queue.done('ns/a');
  }
  assert.deepEqual(cameBackAfter, [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  assert.equal(queue.retries('ns/a'), 6);

  queue.forget('ns/a');
  assert.equal(queue.retries('ns/a'), 0);
  queue.addRateLimited('ns/a');
  const start = time.now();
  while (got.length === 6) await time.advance(100);
  assert.equal(time.now() - start, 1_000, 'after forget() the backoff starts again at 1 s');
});

test('default backoff: after ten failures a key waits minutes, not seconds, and never more than 5 min', () => {
  assert.ok(backoffDelay(9, {}, () => 0.999) >= 225_000);
  for (let n = 0; n < 64; n++) assert.ok(backoffDelay(n, {}, () => 0) <= 300_000);
});

test('jitter spreads keys that failed together', async () => {
  const time = new FakeTime();
  const queue = makeQueue(time, { random: sequence(0, 0.2, 0.4, 0.6, 0.8) });
  const got = drain(queue);
  const firstSeen = new Map<string, number>();
  for (const key of ['a', 'b', 'c', 'd', 'e']) queue.addRateLimited(key);
  while (got.length < 5) {
    await time.advance(10);
    for (const key of got) if (!firstSeen.has(key)) firstSeen.set(key, time.now());
  }
  assert.equal(new Set(firstSeen.values()).size, 5, 'five different retry times');
});

test('addAfter: keys come out in due order from one timer, and an earlier addAfter wins', async () => {
  const time = new FakeTime();
  const queue = makeQueue(time);
  const got = drain(queue);
  const dues = new Map<string, number>();
  let maxTimers = 0;
  for (let i = 0; i < 10_000; i++) {
    const key = `ns/k${i}`;
    const ms = ((i * 7919) % 10_000) + 1; // a permutation of 1..10000
    queue.addAfter(key, ms);
    dues.set(key, ms);
    maxTimers = Math.max(maxTimers, time.pendingTimers);
  }
  assert.equal(maxTimers, 1, '10,000 delayed keys share one timer');
  assert.equal(queue.delayedLen(), 10_000);
  await time.advance(10_000);
  assert.equal(got.length, 10_000);
  const order = got.map((key) => dues.get(key)!);
  assert.deepEqual(order, [...order].sort((a, b) => a - b));

  for (const key of got) queue.done(key);
  got.length = 0;
  queue.addAfter('ns/x', 10_000);
  queue.addAfter('ns/x', 1_000); // earlier: wins
  queue.addAfter('ns/x', 5_000); // later: ignored
  await time.advance(999);
  assert.deepEqual(got, []);
  await time.advance(1);
  assert.deepEqual(got, ['ns/x']);
  queue.done('ns/x');
  await time.advance(20_000);
  assert.deepEqual(got, ['ns/x'], 'the superseded delays do not add the key again');
  assert.equal(time.pendingTimers, 0);
});

test('addAfter of a key already queued does not hand it out twice', async () => {
  const time = new FakeTime();
  const queue = makeQueue(time);
  queue.add('ns/a');
  queue.addAfter('ns/a', 1_000);
  await time.advance(1_000);
  assert.equal(queue.len(), 1);
});

test('the token bucket limits how fast keys are handed out', async () => {
  const time = new FakeTime();
  const queue = makeQueue(time, { rateLimit: { qps: 10, burst: 5 } });
  const got = drain(queue, 4);
  for (let i = 0; i < 30; i++) queue.add(`ns/k${i}`);
  await settle();
  assert.equal(got.length, 5, 'a full bucket lets the burst through at once');
  await time.advance(1_000);
  assert.equal(got.length, 15, '10 more per second after that');
  await time.advance(500);
  assert.equal(got.length, 20);
  await time.advance(10_000);
  assert.equal(got.length, 30);
  assert.equal(time.pendingTimers, 0);
});

test('default limits: 300 keys at once, then 50 per second', async () => {
  const time = new FakeTime();
  const queue = new WorkQueue({ clock: time, timers: time });
  const got = drain(queue);
  for (let i = 0; i < 1_000; i++) queue.add(`ns/k${i}`);
  await settle();
  assert.equal(got.length, 300);
  await time.advance(2_000);
  assert.equal(got.length, 400);
});

test('shutDown: waiting and later get() calls resolve undefined, adds are ignored, timers are cleared', async () => {
  const time = new FakeTime();
  const queue = makeQueue(time);
  const waiting = queue.get();
  queue.addAfter('ns/later', 5_000);
  queue.shutDown();
  assert.equal(await waiting, undefined);
  assert.equal(await queue.get(), undefined);
  queue.add('ns/a');
  assert.equal(queue.len(), 0);
  assert.equal(time.pendingTimers, 0);
});

test('get(signal) resolves undefined when its signal aborts, and the key goes to the next worker', async () => {
  const time = new FakeTime();
  const queue = makeQueue(time);
  const abort = new AbortController();
  const first = queue.get(abort.signal);
  const second = queue.get();
  abort.abort();
  assert.equal(await first, undefined);
  queue.add('ns/a');
  assert.equal(await second, 'ns/a');
});

test('the observer sees adds, depth, wait time and retries', async () => {
  const time = new FakeTime();
  const seen = { added: 0, depths: [] as number[], waited: [] as number[], retried: 0 };
  const observer: QueueObserver = {
    added: () => seen.added++,
    depth: (n) => seen.depths.push(n),
    waited: (s) => seen.waited.push(s),
    retried: () => seen.retried++,
  };
  const queue = makeQueue(time, { observer });
  queue.add('ns/a');
  queue.add('ns/a');
  queue.add('ns/b');
  await time.advance(2_500);
  assert.equal(await queue.get(), 'ns/a');
  queue.addRateLimited('ns/a');
  assert.equal(seen.added, 2, 'de-duplicated adds are not counted');
  assert.deepEqual(seen.depths, [1, 2, 1]);
  assert.deepEqual(seen.waited, [2.5]);
  assert.equal(seen.retried, 1);
});
