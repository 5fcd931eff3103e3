// A ListWatch's own failures: a watch that cannot be reopened after one ended is told to the 'error' handlers
// (never an unhandled rejection, which ends a Node process), and stop() clears a pending reconnect timer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ListWatch, type KubernetesObject } from '../../../src/k8s/list-watch.ts';
import type { WatchEvents } from '../../../src/k8s/kube-client.ts';

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('a watch that cannot be reopened after the last one ended goes to the error handlers', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const watches: WatchEvents[] = [];
    const lw = new ListWatch<KubernetesObject>(
      '/api/v1/configmaps',
      async () => ({ metadata: { resourceVersion: '10' }, items: [] }),
      async (_path, _query, events) => {
        if (watches.length === 1) throw new Error('cannot open the watch');
        watches.push(events);
        return { abort: () => {} };
      },
      { minTimeoutSeconds: 300, inactivityTimeoutMs: 150_000, random: () => 0, delay: async () => {} },
    );
    const errors: unknown[] = [];
    lw.on('error', (err) => errors.push(err));
    await lw.start();
    watches[0]!.onDone(null);
    await settle();
    await settle();
    assert.deepEqual(errors.map((e) => (e as Error).message), ['cannot open the watch']);
    assert.deepEqual(unhandled, []);
    await lw.stop();
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('stop() clears the timer of a pending reconnect', async () => {
  const watches: WatchEvents[] = [];
  const lw = new ListWatch<KubernetesObject>(
    '/api/v1/configmaps',
    async () => ({ metadata: { resourceVersion: '10' }, items: [] }),
    async (_path, _query, events) => {
      watches.push(events);
      return { abort: () => {} };
    },
    { minTimeoutSeconds: 300, inactivityTimeoutMs: 150_000, random: () => 0 },
  );
  await lw.start();
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  watches[0]!.onDone(null); // ended without events: reopened at once, the next time after 1 s
  await settle();
  assert.equal(watches.length, 2);
  const before = timers();
  watches[1]!.onDone(null);
  await settle();
  assert.equal(timers(), before + 1, 'the reconnect waits on a timer');
  await lw.stop();
  await settle();
  assert.equal(timers(), before, 'stop() cleared it');
  assert.equal(watches.length, 2, 'and no watch was opened after the stop');
});

test('stop() aborts a list in progress (a long paged list is not finished for nothing)', async () => {
  let listSignal: AbortSignal | undefined;
  const lw = new ListWatch<KubernetesObject>(
    '/api/v1/configmaps',
    (signal) =>
      new Promise((_resolve, reject) => {
        listSignal = signal;
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
    async () => ({ abort: () => {} }),
    { minTimeoutSeconds: 300, inactivityTimeoutMs: 150_000, random: () => 0 },
  );
  const errors: unknown[] = [];
  lw.on('error', (err) => errors.push(err));
  const started = lw.start();
  await settle();
  assert.equal(listSignal?.aborted, false);
  await lw.stop();
  await started;
  assert.equal(listSignal?.aborted, true);
});
