// The cache behind every informer: a list fills it, a watch keeps it current, a watch that ends resumes from
// the last resourceVersion, 410 Gone relists (telling deletes for what vanished meanwhile), an empty watch is
// reopened with a growing delay, and any other failure is handed to the supervisor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ListWatch, type KubernetesListObject, type KubernetesObject } from '../../../src/k8s/list-watch.ts';
import { KubeApiError, type QueryValue, type WatchEvents } from '../../../src/k8s/kube-client.ts';

const cm = (name: string, resourceVersion: string, namespace = 'ns'): KubernetesObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, resourceVersion } });

function setup(lists: Array<KubernetesListObject<KubernetesObject> | Error>) {
  const watches: Array<{ query: Readonly<Record<string, QueryValue>>; events: WatchEvents; aborted: boolean }> = [];
  const delays: number[] = [];
  const seen: string[] = [];
  const errors: unknown[] = [];
  let listCalls = 0;
  const lw = new ListWatch<KubernetesObject>(
    '/api/v1/namespaces/ns/configmaps',
    async () => {
      const next = lists[Math.min(listCalls++, lists.length - 1)]!;
      if (next instanceof Error) throw next;
      return next;
    },
    async (_path, query, events) => {
      const watch = { query, events, aborted: false };
      watches.push(watch);
      return { abort: () => (watch.aborted = true) };
    },
    { labelSelector: 'a=b', minTimeoutSeconds: 300, inactivityTimeoutMs: 150_000, random: () => 0, delay: async (ms) => void delays.push(ms) },
  );
  for (const event of ['add', 'update', 'delete'] as const) lw.on(event, (obj) => seen.push(`${event} ${obj.metadata!.name}@${obj.metadata!.resourceVersion}`));
  lw.on('error', (err) => errors.push(err));
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { lw, watches, delays, seen, errors, lists: () => listCalls, settle };
}

test('list, then watch from its resourceVersion; events keep the cache; an ended watch resumes where it was', async () => {
  const s = setup([{ metadata: { resourceVersion: '10' }, items: [cm('a', '5'), cm('b', '6')] }]);
  await s.lw.start();
  assert.deepEqual(s.seen, ['add a@5', 'add b@6']);
  assert.deepEqual(s.watches[0]!.query, { resourceVersion: '10', allowWatchBookmarks: true, timeoutSeconds: 300, labelSelector: 'a=b' });
  const w = s.watches[0]!.events;
  w.onEvent('MODIFIED', cm('a', '11'));
  w.onEvent('MODIFIED', cm('a', '11')); // the same version again: no update
  w.onEvent('ADDED', cm('c', '12', 'other'));
  w.onEvent('DELETED', cm('b', '13'));
  w.onEvent('BOOKMARK', { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: '20' } });
  assert.deepEqual(s.seen.slice(2), ['update a@11', 'add c@12', 'delete b@13']);
  assert.deepEqual(s.lw.list('ns').map((o) => o.metadata!.name), ['a']);
  assert.equal(s.lw.get('c', 'other')?.metadata?.resourceVersion, '12');
  assert.equal(s.lw.list().length, 2);
  w.onDone(null); // the server ended the watch (timeoutSeconds)
  await s.settle();
  assert.equal(s.watches.length, 2);
  assert.equal(s.watches[1]!.query['resourceVersion'], '20', 'resumed from the bookmark');
  assert.deepEqual(s.delays, [], 'a watch that delivered events is resumed at once');
  assert.equal(s.lists(), 1);
  assert.deepEqual(s.errors, []);
});

test('410 Gone relists: what vanished meanwhile is deleted, what changed updated', async () => {
  const s = setup([
    { metadata: { resourceVersion: '10' }, items: [cm('a', '5'), cm('b', '6')] },
    { metadata: { resourceVersion: '30' }, items: [cm('a', '25')] },
  ]);
  await s.lw.start();
  s.watches[0]!.events.onEvent('ERROR', { kind: 'Status', code: 410, reason: 'Expired' });
  s.watches[0]!.events.onDone(null);
  await s.settle();
  assert.equal(s.lists(), 2);
  assert.deepEqual(s.seen.slice(2), ['delete b@6', 'update a@25']);
  assert.equal(s.watches[1]!.query['resourceVersion'], '30');
  // A watch refused with 410 outright relists too.
  s.watches[1]!.events.onDone(new KubeApiError(410, { kind: 'Status', code: 410 }));
  await s.settle();
  assert.equal(s.lists(), 3);
  assert.deepEqual(s.errors, []);
});

test('a watch that ends with nothing is reopened after 1 s, then 2 s …; a silent one (timeout) at once', async () => {
  const s = setup([{ metadata: { resourceVersion: '10' }, items: [] }]);
  await s.lw.start();
  s.watches[0]!.events.onDone(null);
  await s.settle();
  s.watches[1]!.events.onDone(null);
  await s.settle();
  s.watches[2]!.events.onDone(null);
  await s.settle();
  assert.deepEqual(s.delays, [1_000, 2_000]);
  s.watches[3]!.events.onDone(Object.assign(new Error('silent'), { name: 'TimeoutError' }));
  await s.settle();
  assert.deepEqual(s.delays, [1_000, 2_000], 'no wait after an inactivity timeout');
  assert.equal(s.watches.length, 5);
});

test('any other failure goes to the error handlers and stops it; stop() aborts the open watch', async () => {
  const refused = new KubeApiError(403, { kind: 'Status', code: 403, reason: 'Forbidden', message: 'no' });
  const s = setup([new Error('connect ECONNREFUSED'), { metadata: { resourceVersion: '10' }, items: [cm('a', '5')] }]);
  await s.lw.start();
  assert.equal((s.errors[0] as Error).message, 'connect ECONNREFUSED');
  assert.equal(s.watches.length, 0);
  await s.lw.start();
  assert.equal(s.watches.length, 1);
  s.watches[0]!.events.onDone(refused);
  await s.settle();
  assert.equal(s.errors[1], refused);
  assert.equal(s.watches.length, 1, 'not reopened: the supervisor decides');
  await s.lw.start();
  assert.equal(s.lists(), 2, 'a restart resumes from its resourceVersion, no relist');
  await s.lw.stop();
  assert.equal(s.watches[1]!.aborted, true);
  assert.equal(s.lw.get('a', 'ns')?.metadata?.resourceVersion, '5', 'the cache keeps its contents');
});
