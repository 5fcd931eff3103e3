// The worker pool: a task past its deadline has its worker terminated and replaced; a worker past its heap limit
// dies alone; waiting tasks are served group by group, and one group never holds every worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerAbortedError, WorkerLimitError, WorkerPool } from '../../../src/util/worker-pool.ts';

const url = new URL('./spin-worker.ts', import.meta.url);

test('a task still running at its deadline is stopped, naming the limit; the next task runs on a fresh worker', async (t) => {
  let started = 0;
  const pool = new WorkerPool({ url, size: 1, deadlineMs: 300, observer: { started: () => started++ } });
  t.after(() => pool.close());
  await assert.rejects(pool.run({ id: 'spin', spinMs: 60_000 }), (err: unknown) => err instanceof WorkerLimitError && err.limit === 'deadline' && /still running at its 300 ms deadline/.test(err.message));
  assert.equal((await pool.run<string>({ id: 'next' })).value, 'next');
  assert.equal(started, 2, 'the stopped worker was replaced');
});

test('a task\'s deadline counts from when its worker has loaded, not while it loads; a worker that never loads is given up', async (t) => {
  const slow = new WorkerPool({ url, size: 1, deadlineMs: 300, workerData: { loadMs: 1_000 } });
  t.after(() => slow.close());
  assert.equal((await slow.run<string>({ id: 'after-a-slow-start' })).value, 'after-a-slow-start');
  const stuck = new WorkerPool({ url, size: 1, deadlineMs: 300, startDeadlineMs: 500, workerData: { loadMs: 60_000 } });
  t.after(() => stuck.close());
  await assert.rejects(stuck.run({ id: 'never' }), (err: unknown) => err instanceof WorkerLimitError && err.limit === 'crash' && /did not start within 500 ms/.test(err.message));
});

test('a task that throws rejects with the error as the worker described it, and the worker stays', async (t) => {
  const started: number[] = [];
  const pool = new WorkerPool({ url, size: 1, deadlineMs: 5_000, observer: { started: () => started.push(1) } });
  t.after(() => pool.close());
  await assert.rejects(pool.run({ id: 'a', fail: true }), (err: unknown) => err instanceof Error && err.name === 'RangeError' && err.message === 'task a failed');
  assert.equal((await pool.run<string>({ id: 'b' })).value, 'b');
  assert.equal(started.length, 1);
});

test('a worker past its heap limit dies alone and is replaced', async (t) => {
  const pool = new WorkerPool({ url, size: 1, deadlineMs: 30_000, resourceLimits: { maxOldGenerationSizeMb: 32 } });
  t.after(() => pool.close());
  await assert.rejects(pool.run({ id: 'hog', allocate: true }), (err: unknown) => err instanceof WorkerLimitError && err.limit === 'memory');
  assert.equal((await pool.run<string>({ id: 'after' })).value, 'after');
});

test('one group never holds every worker: another group\'s task starts while the first group\'s wait', async (t) => {
  const pool = new WorkerPool({ url, size: 2, deadlineMs: 30_000 });
  t.after(() => pool.close());
  const done: string[] = [];
  const hostile = [1, 2, 3].map((i) => pool.run<string>({ id: `hostile-${i}`, spinMs: 400 }, { group: 'hostile' }).then((r) => done.push(r.value)));
  const normal = pool.run<string>({ id: 'normal', spinMs: 10 }, { group: 'normal' }).then((r) => done.push(r.value));
  await Promise.all([...hostile, normal]);
  assert.equal(done[0], 'normal', `order: ${done.join(', ')}`);
});

test('waiting tasks are served group by group in turn', async (t) => {
  const pool = new WorkerPool({ url, size: 1, deadlineMs: 30_000 });
  t.after(() => pool.close());
  const order: string[] = [];
  const run = (group: string, id: string) => pool.run<string>({ id, spinMs: 20 }, { group }).then((r) => order.push(r.value));
  await Promise.all([run('a', 'a1'), run('a', 'a2'), run('a', 'a3'), run('b', 'b1'), run('b', 'b2'), run('c', 'c1')]);
  assert.deepEqual(order, ['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
});

test('an abandoned task rejects; a queued one never runs', async (t) => {
  const pool = new WorkerPool({ url, size: 1, deadlineMs: 30_000 });
  t.after(() => pool.close());
  const running = pool.run({ id: 'long', spinMs: 300 });
  const controller = new AbortController();
  const queued = pool.run({ id: 'queued' }, { signal: controller.signal });
  controller.abort();
  await assert.rejects(queued, WorkerAbortedError);
  await running;
});
