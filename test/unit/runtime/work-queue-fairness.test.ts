// The work queue serves namespaces in turn: a namespace with a large backlog delays another namespace's key by
// one key per busy namespace, not by the backlog; client-go's semantics hold otherwise (one key, one worker;
// dirty keys requeued on done; rate-limited requeues).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue, namespaceOf } from '../../../src/controller/runtime/work-queue.ts';
import { FakeTime, settle } from './fake-time.ts';

const unlimited = { qps: Infinity, burst: 1 };
const makeQueue = (time: FakeTime, observer?: ConstructorParameters<typeof WorkQueue>[0]) =>
  new WorkQueue({ clock: time, timers: time, rateLimit: unlimited, random: () => 0, ...observer });

async function take(queue: WorkQueue, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await queue.get())!);
  return out;
}

test('namespaces are served in turn, FIFO within each', async () => {
  const queue = makeQueue(new FakeTime());
  for (let i = 0; i < 1000; i++) queue.add(`hostile/es-${i}`);
  queue.add('team-a/db');
  queue.add('team-b/api');
  queue.add('team-a/cache');
  assert.equal(queue.len(), 1003);
  // team-a's first key goes second although 1,000 hostile keys were added before it.
  assert.deepEqual(await take(queue, 6), ['hostile/es-0', 'team-a/db', 'team-b/api', 'hostile/es-1', 'team-a/cache', 'hostile/es-2']);
  assert.deepEqual(await take(queue, 2), ['hostile/es-3', 'hostile/es-4']);
  assert.equal(queue.len(), 995);
});

test('a key added while its namespace waits joins that namespace, keeping the namespace\'s turn', async () => {
  const queue = makeQueue(new FakeTime());
  queue.add('a/1');
  queue.add('b/1');
  queue.add('a/2');
  assert.equal(await queue.get(), 'a/1');
  queue.add('c/1');
  assert.deepEqual(await take(queue, 3), ['b/1', 'a/2', 'c/1']);
});

test('one key is never given to two workers, and a key added while processing comes back on done', async () => {
  const queue = makeQueue(new FakeTime());
  queue.add('a/x');
  queue.add('b/y');
  assert.equal(await queue.get(), 'a/x');
  queue.add('a/x'); // dirty while processing: not ready
  assert.equal(queue.len(), 1);
  assert.equal(await queue.get(), 'b/y');
  let next: string | undefined | 'pending' = 'pending';
  void queue.get().then((k) => (next = k));
  await settle();
  assert.equal(next, 'pending');
  queue.done('a/x');
  await settle();
  assert.equal(next, 'a/x');
});

test('rate-limited requeues come back through the namespace\'s turn', async () => {
  const time = new FakeTime();
  const queue = makeQueue(time);
  queue.add('a/x');
  assert.equal(await queue.get(), 'a/x');
  queue.addRateLimited('a/x');
  queue.done('a/x');
  for (let i = 0; i < 5; i++) queue.add(`b/${i}`);
  assert.equal(queue.len(), 5);
  await time.advance(1000);
  assert.equal(queue.len(), 6);
  assert.deepEqual(await take(queue, 3), ['b/0', 'a/x', 'b/1']);
});

test('the observer sees how many namespaces wait and the busiest one\'s depth', async () => {
  const seen: [number, number][] = [];
  const queue = makeQueue(new FakeTime(), { observer: { added() {}, depth() {}, waited() {}, retried() {}, namespaces: (n, busiest) => seen.push([n, busiest]) } });
  queue.add('big/1');
  queue.add('big/2');
  queue.add('big/3');
  queue.add('small/1');
  assert.deepEqual(seen.at(-1), [2, 3]);
  await take(queue, 2); // big/1, small/1
  assert.deepEqual(seen.at(-1), [1, 2]);
  await take(queue, 2);
  assert.deepEqual(seen.at(-1), [0, 0]);
});

test('namespaceOf: the part before the slash; cluster-scoped keys share the empty namespace', () => {
  assert.equal(namespaceOf('ns/name'), 'ns');
  assert.equal(namespaceOf('cluster-wide'), '');
});
