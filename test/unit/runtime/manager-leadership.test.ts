// The manager's leadership term: the controllers of a term run in its context (src/k8s/term.ts), so their
// requests end with it; and a leader that cannot renew is done with its reconciles before its Lease can pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { Manager, keyOf } from '../../../src/controller/runtime/manager.ts';
import type { InformerEvent, KindDescriptor, KubernetesObject, SupervisedInformer } from '../../../src/k8s/informer.ts';
import { NamespaceKind } from '../../../src/k8s/kinds.ts';
import { LeaseConflictError, type LeaseRecord, type LeaseStore } from '../../../src/k8s/lease-record.ts';
import { checkTerm, currentTerm, type LeadershipTerm } from '../../../src/k8s/term.ts';
import { createMetrics } from '../../../src/metrics/metrics.ts';
import { createLogger } from '../../../src/log.ts';
import { systemClock } from '../../../src/util/clock.ts';
import { LineSink } from '../../support/operator.ts';

class OneObjectInformer implements SupervisedInformer<KubernetesObject> {
  readonly obj: KubernetesObject = { metadata: { name: 'ns-1' } };
  async start() {}
  async stop() {}
  get() {
    return this.obj;
  }
  list() {
    return [this.obj];
  }
  hasSynced() {
    return true;
  }
  on(_event: InformerEvent, _handler: (obj: KubernetesObject) => void) {}
  off() {}
  restarts() {
    return 0;
  }
}

/** A Lease store with optimistic concurrency whose requests can be made to hang (renewals blocked). */
class HangingLeaseStore implements LeaseStore {
  record: LeaseRecord | undefined;
  hang = false;
  #version = 0;
  async get(): Promise<LeaseRecord | undefined> {
    if (this.hang) return new Promise(() => {});
    return this.record;
  }
  async create(l: LeaseRecord): Promise<LeaseRecord> {
    if (this.hang) return new Promise(() => {});
    if (this.record) throw new LeaseConflictError('exists');
    return (this.record = { ...l, resourceVersion: String(++this.#version) });
  }
  async replace(l: LeaseRecord): Promise<LeaseRecord> {
    if (this.hang) return new Promise(() => {});
    if (this.record?.resourceVersion !== l.resourceVersion) throw new LeaseConflictError('stale');
    return (this.record = { ...l, resourceVersion: String(++this.#version) });
  }
}

async function waitUntil(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}


/** A manager with one controller over an informer of one object, electing with `store` (no cluster). */
function leaderManager(store: LeaseStore, timing: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number }, logs: LineSink, registry: Registry): Manager {
  return new Manager({
    kube: {} as never,
    clock: systemClock,
    logger: createLogger({ level: 'info', destination: logs }),
    metrics: createMetrics(registry, { controllers: ['c'] }),
    watchNamespaces: [],
    workers: 1,
    queueRateLimit: { qps: 10_000, burst: 10_000 },
    http: { port: 0, host: '127.0.0.1', registry },
    leaderElection: { namespace: 'ns', name: 'lease', identity: 'me', ...timing },
    leaseStore: store,
    makeInformer: <T extends KubernetesObject>(_kind: KindDescriptor<T>) => new OneObjectInformer() as unknown as SupervisedInformer<T>,
    checkAccess: async () => {},
  });
}

test('a leader that cannot renew ends its term at the renew deadline and is done before its Lease can pass', async () => {
  const timing = { leaseDurationMs: 6_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 };
  const store = new HangingLeaseStore();
  const logs = new LineSink();
  const registry = new Registry();
  const terms: Array<LeadershipTerm | undefined> = [];
  const manager = leaderManager(store, timing, logs, registry);
  manager.add({
    name: 'c',
    primary: { kind: NamespaceKind },
    // A reconcile that ignores its signal and never ends: the worst case for the wait at the end of a term.
    reconcile: async (key) => {
      assert.equal(key, keyOf({ metadata: { name: 'ns-1' } }));
      terms.push(currentTerm());
      await new Promise(() => {});
    },
  });
  await manager.start();
  try {
    await waitUntil('the reconcile', () => terms.length === 1);
    const term = terms[0];
    assert.ok(term, 'the reconcile runs in the term');
    assert.doesNotThrow(() => checkTerm(term));

    store.hang = true;
    const lastRenewal = store.record!.renewTime!;
    await waitUntil('the term to end', () => logs.text().includes('no longer leading: controllers stopped'));
    const doneAt = Date.now();
    assert.throws(() => checkTerm(term), /no longer leads/, "the term's requests are refused");
    assert.ok(
      doneAt < lastRenewal + timing.leaseDurationMs,
      `the old leader was done ${doneAt - lastRenewal} ms after its last renewal, past the ${timing.leaseDurationMs} ms a standby waits`,
    );
  } finally {
    store.hang = false;
    await manager.stop();
  }
});

test('a graceful stop lets a reconcile in flight finish its requests, and ends the term before the Lease is released', async () => {
  const store = new HangingLeaseStore();
  const logs = new LineSink();
  const registry = new Registry();
  let term: LeadershipTerm | undefined;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const checks: string[] = [];
  const manager = leaderManager(store, { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }, logs, registry);
  manager.add({
    name: 'c',
    primary: { kind: NamespaceKind },
    reconcile: async () => {
      term = currentTerm();
      await gate;
      try {
        checkTerm(currentTerm());
        checks.push('may still write');
      } catch (err) {
        checks.push(`refused: ${(err as Error).message}`);
      }
    },
  });
  await manager.start();
  await waitUntil('the reconcile', () => term !== undefined);
  const stopped = manager.stop();
  await waitUntil('the stop to begin', () => !manager.isLeader());
  release();
  await stopped;
  assert.deepEqual(checks, ['may still write'], 'the reconcile in flight finished within the stop budget');
  assert.throws(() => checkTerm(term), /stopped leading/, 'the term ended before the release');
  assert.equal(store.record?.holderIdentity, '', 'the Lease was released');
});
