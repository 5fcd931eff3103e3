import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubernetesListObject, KubernetesObject } from '../../../src/k8s/list-watch.ts';
import { createSupervisedInformer, HEALTHY_RUN_MS } from '../../../src/k8s/informer.ts';
import type { RawInformer } from '../../../src/k8s/informer.ts';
import { FakeTime, settle } from './fake-time.ts';

type Obj = KubernetesObject;
type Callback = (arg: never) => void;

/**
 * Behaves like src/k8s/list-watch.ts's ListWatch where it matters: start() lists (unless it has a resourceVersion) and
 * watches; on an error it calls its 'error' handlers and stops for good until start() is called again.
 */
class FakeListWatch {
  readonly callbacks = new Map<string, Callback[]>();
  readonly objects = new Map<string, Obj>();
  starts = 0;
  listedOnce = false;
  /** What the next start() does. */
  nextStarts: Array<'ok' | 'list-fails' | 'watch-fails' | 'watch-fails-after-start'> = [];
  readonly #list: () => Promise<KubernetesListObject<Obj>>;

  constructor(list: () => Promise<KubernetesListObject<Obj>>) {
    this.#list = list;
  }
  on(verb: string, cb: Callback): void {
    this.callbacks.set(verb, [...(this.callbacks.get(verb) ?? []), cb]);
  }
  off(): void {}
  emit(verb: string, arg: unknown): void {
    for (const cb of this.callbacks.get(verb) ?? []) (cb as (a: unknown) => void)(arg);
  }
  async start(): Promise<void> {
    this.starts++;
    const behaviour = this.nextStarts.shift() ?? 'ok';
    if (behaviour === 'list-fails') return this.emit('error', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }));
    if (!this.listedOnce) {
      const list = await this.#list();
      this.listedOnce = true;
      for (const item of list.items) this.add(item);
    }
    if (behaviour === 'watch-fails') this.emit('error', Object.assign(new Error('Service Unavailable'), { statusCode: 503 }));
    // As the real ListWatch does with an apiserver that is gone: start() resolves once the watch request is sent,
    // and the refused connection is told a moment later.
    if (behaviour === 'watch-fails-after-start') setImmediate(() => this.emit('error', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' })));
  }
  async stop(): Promise<void> {
    this.emit('error', new DOMException('This operation was aborted', 'AbortError'));
  }
  add(obj: Obj): void {
    this.objects.set(obj.metadata!.name!, obj);
    this.emit('add', obj);
  }
  get(name: string): Obj | undefined {
    return this.objects.get(name);
  }
  list(): Obj[] {
    return [...this.objects.values()];
  }
}

function setup() {
  const time = new FakeTime();
  const logs: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  const logger = {
    info: (obj: object, msg: string) => logs.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    warn: (obj: object, msg: string) => logs.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
  };
  let raw: FakeListWatch | undefined;
  const informer = createSupervisedInformer<Obj>({
    kube: { watch: () => Promise.reject(new Error('not used')) },
    path: '/api/v1/configmaps',
    list: async () => ({ metadata: { resourceVersion: '1' }, items: [{ metadata: { name: 'first', namespace: 'ns' } }] }),
    logger,
    timers: time,
    clock: time,
    random: () => 0,
    makeInformer: (_path, list) => {
      raw = new FakeListWatch(list);
      return raw as unknown as RawInformer<Obj>;
    },
  });
  return { time, logs, informer, raw: raw! };
}

test('start() resolves after the first successful list, retrying failures with growing backoff', async () => {
  const { time, logs, informer, raw } = setup();
  raw.nextStarts = ['list-fails', 'list-fails', 'list-fails'];
  let synced = false;
  void informer.start().then(() => (synced = true));
  await settle();
  assert.equal(synced, false);
  const startTimes: number[] = [];
  const t0 = time.now();
  while (!synced) {
    const before = raw.starts;
    await time.advance(100);
    if (raw.starts > before) startTimes.push(time.now() - t0);
  }
  assert.deepEqual(startTimes, [1_000, 3_000, 7_000], 'restarted after 1 s, 2 s, 4 s');
  assert.equal(informer.hasSynced(), true);
  assert.equal(informer.get('first', 'ns')?.metadata?.name, 'first');
  const warnings = logs.filter((l) => l.level === 'warn');
  assert.equal(warnings.length, 3, 'each error is logged');
  assert.match(String(warnings[0]!.obj.error), /ECONNREFUSED/);
  assert.equal(warnings[2]!.obj.retryInMs, 4_000);
  await informer.stop();
});

test('an informer that stops on an error is restarted and its handlers keep receiving events', async () => {
  const { time, informer, raw } = setup();
  const seen: string[] = [];
  informer.on('add', (obj) => seen.push(obj.metadata!.name!));
  await informer.start();
  assert.deepEqual(seen, ['first']);

  raw.emit('error', Object.assign(new Error('Internal Server Error'), { statusCode: 500 })); // the watch died
  await time.advance(999);
  assert.equal(raw.starts, 1);
  await time.advance(1);
  assert.equal(raw.starts, 2, 'restarted after the backoff');
  assert.equal(informer.restarts(), 1);
  raw.add({ metadata: { name: 'after-restart', namespace: 'ns' } });
  assert.deepEqual(seen, ['first', 'after-restart']);

  // A restart that then runs without an error for HEALTHY_RUN_MS resets the backoff: the next error is retried after 1 s again.
  await time.advance(HEALTHY_RUN_MS);
  raw.emit('error', new Error('socket hang up'));
  await time.advance(1_000);
  assert.equal(raw.starts, 3);
  await informer.stop();
});

test('a restart whose watch is refused just after start() resolved backs off further (an apiserver that is gone)', async () => {
  const { time, informer, raw, logs } = setup();
  await informer.start();
  raw.nextStarts = Array(8).fill('watch-fails-after-start');
  raw.emit('error', new Error('watch closed'));
  const startTimes: number[] = [];
  const t0 = time.now();
  while (time.now() - t0 < 100_000) {
    const before = raw.starts;
    await time.advance(100);
    if (raw.starts > before) startTimes.push(time.now() - t0);
  }
  // 1, 2, 4, 8, 16, 30 (the cap), 30 s apart: not a restart every second for as long as the apiserver is gone.
  assert.deepEqual(startTimes, [1_000, 3_000, 7_000, 15_000, 31_000, 61_000, 91_000]);
  const waits = logs.filter((l) => l.level === 'warn').map((l) => l.obj.retryInMs);
  assert.deepEqual(waits.slice(0, 7), [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000], 'each warning says the growing wait');
  await informer.stop();
});

test('a restart whose watch fails again backs off further', async () => {
  const { time, informer, raw } = setup();
  await informer.start();
  raw.nextStarts = ['watch-fails', 'watch-fails'];
  raw.emit('error', new Error('watch closed'));
  await time.advance(1_000);
  assert.equal(raw.starts, 2);
  await time.advance(1_999);
  assert.equal(raw.starts, 2);
  await time.advance(1);
  assert.equal(raw.starts, 3, 'second restart after 2 s');
  await time.advance(4_000);
  assert.equal(raw.starts, 4, 'third after 4 s');
  await informer.stop();
});

test('stop() cancels a pending restart and rejects a start() still waiting for its first list', async () => {
  const { time, informer, raw } = setup();
  raw.nextStarts = ['list-fails'];
  const started = informer.start();
  await settle();
  await informer.stop();
  await assert.rejects(started, /stopped before its first list/);
  await time.advance(60_000);
  assert.equal(raw.starts, 1);
  assert.equal(time.pendingTimers, 0);
});

test('a throwing handler is logged and does not keep the others from running', async () => {
  const { logs, informer, raw } = setup();
  const seen: string[] = [];
  informer.on('add', () => {
    throw new Error('bug in a handler');
  });
  informer.on('add', (obj) => seen.push(obj.metadata!.name!));
  await informer.start();
  raw.add({ metadata: { name: 'b', namespace: 'ns' } });
  assert.deepEqual(seen, ['first', 'b']);
  assert.ok(logs.some((l) => l.level === 'warn' && /handler threw/.test(l.msg) && l.obj.object === 'ns/b'));
  await informer.stop();
});
