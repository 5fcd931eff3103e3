import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Controller } from '../../../src/controller/runtime/controller.ts';
import type { ReconcileOutcome, ReconcileResult } from '../../../src/controller/runtime/controller.ts';
import { WorkQueue } from '../../../src/controller/runtime/work-queue.ts';
import { TerminalError } from '../../../src/providers/provider.ts';
import { FakeTime, settle } from './fake-time.ts';

interface Harness {
  time: FakeTime;
  queue: WorkQueue;
  controller: Controller;
  calls: string[];
  results: Array<{ key: string; outcome: ReconcileOutcome; seconds: number }>;
}

function harness(reconcile: (key: string, signal: AbortSignal, time: FakeTime) => Promise<ReconcileResult>, workers = 1, stopTimeoutMs = 10_000): Harness {
  const time = new FakeTime();
  const queue = new WorkQueue({ clock: time, timers: time, random: () => 0, rateLimit: { qps: Infinity, burst: 1 } });
  const calls: string[] = [];
  const results: Harness['results'] = [];
  const controller = new Controller({
    name: 'test',
    queue,
    workers,
    stopTimeoutMs,
    abortGraceMs: 1_000,
    clock: time,
    timers: time,
    reconcile: (key, signal) => {
      calls.push(key);
      return reconcile(key, signal, time);
    },
    observer: { onResult: (key, outcome, seconds) => results.push({ key, outcome, seconds }) },
  });
  return { time, queue, controller, calls, results };
}

/** A reconcile that takes `ms` of fake time. */
function takes(time: FakeTime, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const handle = time.setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      time.clearTimeout(handle);
      reject(signal.reason);
    });
  });
}

test('success forgets the key and reports the duration', async () => {
  const h = harness(async (_key, _signal, time) => takes(time, 1_500));
  h.controller.start();
  h.queue.addRateLimited('ns/a'); // an earlier failure
  await h.time.advance(1_000);
  await h.time.advance(1_500);
  assert.deepEqual(h.results, [{ key: 'ns/a', outcome: 'success', seconds: 1.5 }]);
  assert.equal(h.queue.retries('ns/a'), 0);
  await h.time.advance(60_000);
  assert.deepEqual(h.calls, ['ns/a'], 'not reconciled again');
  await h.controller.stop();
});

test('a throw is retried with growing backoff', async () => {
  const callTimes: number[] = [];
  const h = harness(async (_key, _signal, time) => {
    callTimes.push(time.now());
    throw new Error('provider unreachable');
  });
  h.controller.start();
  const start = h.time.now();
  h.queue.add('ns/a');
  while (h.calls.length < 5) await h.time.advance(100);
  assert.deepEqual(callTimes.map((t) => t - start), [0, 1_000, 3_000, 7_000, 15_000]);
  assert.deepEqual(new Set(h.results.map((r) => r.outcome)), new Set(['error']));
  assert.equal(h.queue.retries('ns/a'), 5);
  await h.controller.stop();
});

test('a TerminalError is re-checked at a capped backoff (30 s doubling to 5 min), and at once when the key is added again', async () => {
  // Terminal means "not until something changes", and a cloud grant or a propagated binding is a change no watch reports.
  let fail = true;
  const callTimes: number[] = [];
  const h = harness(async (_key, _signal, time) => {
    callTimes.push(time.now());
    if (fail) throw new TerminalError('access denied by the store; grant the role and the object heals');
  });
  h.controller.start();
  const start = h.time.now();
  h.queue.add('ns/a');
  for (let i = 0; i < 2_000 && h.calls.length < 7; i++) await h.time.advance(1_000);
  assert.deepEqual(callTimes.map((t) => (t - start) / 1000), [0, 30, 90, 210, 450, 750, 1050]);
  assert.deepEqual(new Set(h.results.map((r) => r.outcome)), new Set(['terminal']));
  h.queue.add('ns/a'); // the object changed: not held back by the recheck backoff
  fail = false;
  await settle();
  assert.equal(h.results.at(-1)?.outcome, 'success');
  assert.equal(h.queue.retries('ns/a'), 0, 'a success resets the backoff');
  await h.controller.stop();
});

test('recheck: false keeps controller-runtime\'s rule: a TerminalError waits for the key to be added again', async () => {
  const time = new FakeTime();
  const queue = new WorkQueue({ clock: time, timers: time, random: () => 0, rateLimit: { qps: Infinity, burst: 1 } });
  const calls: string[] = [];
  const controller = new Controller({
    name: 'test', queue, clock: time, timers: time, recheck: false,
    reconcile: async (key) => {
      calls.push(key);
      throw new TerminalError('no');
    },
  });
  controller.start();
  queue.add('ns/a');
  await time.advance(60 * 60_000);
  assert.deepEqual(calls, ['ns/a']);
  assert.equal(queue.delayedLen(), 0);
  await controller.stop();
});

test('{ recheck: true } comes back at the recheck backoff, never later than its requeueAfter, counted as terminal', async () => {
  const callTimes: number[] = [];
  const h = harness(async (_key, _signal, time) => {
    callTimes.push(time.now());
    return { recheck: true, requeueAfter: 100_000 };
  });
  h.controller.start();
  const start = h.time.now();
  h.queue.add('ns/a');
  for (let i = 0; i < 2_000 && h.calls.length < 5; i++) await h.time.advance(1_000);
  assert.deepEqual(callTimes.map((t) => (t - start) / 1000), [0, 30, 90, 190, 290]);
  assert.deepEqual(new Set(h.results.map((r) => r.outcome)), new Set(['terminal']));
  await h.controller.stop();
});

test('{ requeueAfter } brings the key back after that long, without backoff', async () => {
  const h = harness(async () => ({ requeueAfter: 30_000 }));
  h.controller.start();
  h.queue.addRateLimited('ns/a'); // with an earlier failure counted
  await h.time.advance(1_000);
  assert.equal(h.calls.length, 1);
  assert.equal(h.queue.retries('ns/a'), 0, 'forgotten');
  await h.time.advance(29_999);
  assert.equal(h.calls.length, 1);
  await h.time.advance(1);
  assert.equal(h.calls.length, 2);
  assert.deepEqual(h.results.map((r) => r.outcome), ['requeue', 'requeue']);
  await h.controller.stop();
});

test('N workers run different keys at once but never the same key twice', async () => {
  const running = new Set<string>();
  let maxParallel = 0;
  let overlapped = false;
  const h = harness(async (key, _signal, time) => {
    if (running.has(key)) overlapped = true;
    running.add(key);
    maxParallel = Math.max(maxParallel, running.size);
    await takes(time, 1_000);
    running.delete(key);
  }, 4);
  h.controller.start();
  for (const key of ['ns/a', 'ns/b', 'ns/c']) h.queue.add(key);
  await settle();
  for (let i = 0; i < 5; i++) h.queue.add('ns/a'); // changes while ns/a is reconciled
  await h.time.advance(5_000);
  assert.equal(overlapped, false);
  assert.equal(maxParallel, 3);
  assert.deepEqual(h.calls.filter((k) => k === 'ns/a').length, 2, 'the five changes cost one more reconcile');
  await h.controller.stop();
});

test('stop() waits for in-flight reconciles and takes no new keys', async () => {
  const h = harness(async (_key, signal, time) => takes(time, 3_000, signal), 2);
  h.controller.start();
  h.queue.add('ns/a');
  await settle();
  h.queue.add('ns/b');
  h.queue.add('ns/c');
  await settle();
  let stopped = false;
  void h.controller.stop().then(() => (stopped = true));
  await h.time.advance(2_999);
  assert.equal(stopped, false);
  await h.time.advance(1);
  assert.equal(stopped, true);
  assert.deepEqual(h.results.map((r) => r.outcome), ['success', 'success']);
  assert.deepEqual(h.calls, ['ns/a', 'ns/b'], 'ns/c was never started');
});

test('stop() aborts reconciles still running at its deadline', async () => {
  let aborted = false;
  const h = harness(
    async (_key, signal, time) => {
      signal.addEventListener('abort', () => (aborted = true));
      await takes(time, 60_000, signal);
    },
    1,
    5_000,
  );
  h.controller.start();
  h.queue.add('ns/a');
  await settle();
  let stopped = false;
  void h.controller.stop().then(() => (stopped = true));
  await h.time.advance(4_999);
  assert.equal(aborted, false);
  await h.time.advance(1);
  assert.equal(aborted, true);
  assert.equal(stopped, true);
  assert.deepEqual(h.results.map((r) => r.outcome), ['error']);
  assert.equal(h.queue.delayedLen(), 0, 'an aborted key is not scheduled for retry on a stopped queue');
});

test('a controller refuses to start twice', () => {
  const h = harness(async () => undefined);
  h.controller.start();
  assert.throws(() => h.controller.start(), /already started/);
  void h.controller.stop();
});
