import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LeaderElector,
  LeaseConflictError,
  decideLease,
  heldLease,
  isLeaseExpired,
  releasedLease,
} from '../../../src/controller/runtime/leader-election.ts';
import type { LeaseRecord, LeaseStore } from '../../../src/controller/runtime/leader-election.ts';
import { FakeTime, settle } from './fake-time.ts';

const ref = { namespace: 'secret-relay', name: 'secret-relay-leader' };
const t0 = 1_700_000_000_000;

function lease(fields: Partial<LeaseRecord>): LeaseRecord {
  return { ...ref, resourceVersion: '1', leaseDurationSeconds: 15, ...fields };
}

test('decideLease: create, renew, acquire when free or expired, wait otherwise', () => {
  const cases: Array<[string, LeaseRecord | undefined, string]> = [
    ['no lease object', undefined, 'create'],
    ['we hold it', lease({ holderIdentity: 'me', renewTime: t0 - 60_000 }), 'renew'],
    ['released (empty holder)', lease({ holderIdentity: '', renewTime: t0 }), 'acquire'],
    ['never held (no holder)', lease({}), 'acquire'],
    ['held, renewed 14 s ago', lease({ holderIdentity: 'other', renewTime: t0 - 14_000 }), 'wait'],
    ['held, renewed exactly 15 s ago', lease({ holderIdentity: 'other', renewTime: t0 - 15_000 }), 'wait'],
    ['held, renewed 15.001 s ago', lease({ holderIdentity: 'other', renewTime: t0 - 15_001 }), 'acquire'],
    ['held with a 60 s lease, renewed 30 s ago', lease({ holderIdentity: 'other', leaseDurationSeconds: 60, renewTime: t0 - 30_000 }), 'wait'],
  ];
  for (const [name, record, action] of cases) assert.equal(decideLease(record, 'me', t0).action, action, name);
  assert.deepEqual(decideLease(lease({ holderIdentity: 'other', renewTime: t0 - 5_000 }), 'me', t0), {
    action: 'wait',
    holder: 'other',
    expiresAt: t0 + 10_000,
  });
  assert.equal(isLeaseExpired(lease({ holderIdentity: 'x', renewTime: t0 - 16_000 }), t0), true);
  // Our clock runs a minute ahead of the holder's: its fresh renewal looks old, but we saw this version change 1 s ago.
  const skewed = lease({ holderIdentity: 'other', renewTime: t0 - 60_000 });
  assert.equal(decideLease(skewed, 'me', t0, t0 - 1_000).action, 'wait');
  assert.equal(decideLease(skewed, 'me', t0, t0 - 15_001).action, 'acquire');
});

test('heldLease keeps acquireTime on renewal and counts holder changes', () => {
  const mine = heldLease(lease({ holderIdentity: 'me', acquireTime: t0 - 100_000, renewTime: t0 - 2_000, leaseTransitions: 3 }), ref, 'me', t0, 15);
  assert.equal(mine.acquireTime, t0 - 100_000);
  assert.equal(mine.renewTime, t0);
  assert.equal(mine.leaseTransitions, 3);
  assert.equal(mine.resourceVersion, '1', 'the write carries the version it read');
  const taken = heldLease(lease({ holderIdentity: 'other', renewTime: t0 - 60_000, leaseTransitions: 3 }), ref, 'me', t0, 15);
  assert.deepEqual([taken.holderIdentity, taken.acquireTime, taken.leaseTransitions], ['me', t0, 4]);
  const created = heldLease(undefined, ref, 'me', t0, 15);
  assert.deepEqual([created.holderIdentity, created.leaseTransitions, created.leaseDurationSeconds], ['me', 0, 15]);
  const released = releasedLease(mine, t0 + 1);
  assert.equal(decideLease(released, 'someone-else', t0 + 1).action, 'acquire');
});

/** A Lease store with the apiserver's optimistic concurrency. */
class MemoryLeaseStore implements LeaseStore {
  record: LeaseRecord | undefined;
  #version = 0;
  writes = 0;

  async get(): Promise<LeaseRecord | undefined> {
    return this.record;
  }
  async create(l: LeaseRecord): Promise<LeaseRecord> {
    if (this.record) throw new LeaseConflictError('exists');
    return this.#write(l);
  }
  async replace(l: LeaseRecord): Promise<LeaseRecord> {
    if (!this.record || this.record.resourceVersion !== l.resourceVersion) throw new LeaseConflictError('stale resourceVersion');
    return this.#write(l);
  }
  #write(l: LeaseRecord): LeaseRecord {
    this.writes++;
    this.record = { ...l, resourceVersion: String(++this.#version) };
    return this.record;
  }
}

/** One client's view of the store, which can lose its connection. */
class Connection implements LeaseStore {
  broken = false;
  readonly #store: LeaseStore;
  constructor(store: LeaseStore) {
    this.#store = store;
  }
  #check(): void {
    if (this.broken) throw new Error('connect ECONNREFUSED');
  }
  async get(ns: string, name: string): Promise<LeaseRecord | undefined> {
    this.#check();
    return this.#store.get(ns, name);
  }
  async create(l: LeaseRecord): Promise<LeaseRecord> {
    this.#check();
    return this.#store.create(l);
  }
  async replace(l: LeaseRecord): Promise<LeaseRecord> {
    this.#check();
    return this.#store.replace(l);
  }
}

function candidate(time: FakeTime, store: LeaseStore, identity: string) {
  const events: string[] = [];
  let signal: AbortSignal | undefined;
  const elector = new LeaderElector({
    store,
    ...ref,
    identity,
    clock: time,
    timers: time,
    random: () => 0.5,
    onStartedLeading: (s) => {
      signal = s;
      events.push(`started@${time.now() - t0}`);
    },
    onStoppedLeading: () => {
      events.push(`stopped@${time.now() - t0}`);
    },
  });
  return { elector, events, signal: () => signal };
}

test('two candidates: exactly one leads, and it keeps leading while it renews', async () => {
  const time = new FakeTime(t0);
  const store = new MemoryLeaseStore();
  const a = candidate(time, new Connection(store), 'a');
  const b = candidate(time, new Connection(store), 'b');
  a.elector.start();
  b.elector.start();
  await settle();
  for (let i = 0; i < 60; i++) {
    await time.advance(1_000);
    assert.equal(Number(a.elector.isLeader()) + Number(b.elector.isLeader()), 1, `one leader at ${i + 1} s`);
  }
  assert.equal(a.elector.isLeader(), true, 'the first to try wins');
  assert.equal(store.record?.holderIdentity, 'a');
  assert.ok(store.writes >= 25 && store.writes <= 35, `renewed about every 2 s (${store.writes} writes in 60 s)`);
  await a.elector.stop({ release: false });
  await b.elector.stop({ release: false });
});

test('a crashed leader (stops renewing, no release) is replaced within the lease duration', async () => {
  const time = new FakeTime(t0);
  const store = new MemoryLeaseStore();
  const a = candidate(time, new Connection(store), 'a');
  const b = candidate(time, new Connection(store), 'b');
  a.elector.start();
  await settle();
  b.elector.start();
  await time.advance(10_000);
  const crashedAt = time.now();
  await a.elector.stop({ release: false });
  assert.equal(store.record?.holderIdentity, 'a', 'the lease is left behind');
  while (!b.elector.isLeader()) {
    await time.advance(100);
    assert.ok(time.now() - crashedAt <= 15_000 + 2 * 2_400 + 100, 'b took over within lease duration + two tries (seeing the last renewal, then noticing the expiry)');
  }
  assert.ok(time.now() - crashedAt > 15_000 - 2_000, 'and not before the lease expired');
  await b.elector.stop();
});

test('a graceful stop releases the lease and a standby takes over at its next try', async () => {
  const time = new FakeTime(t0);
  const store = new MemoryLeaseStore();
  const a = candidate(time, new Connection(store), 'a');
  const b = candidate(time, new Connection(store), 'b');
  a.elector.start();
  await settle();
  b.elector.start();
  await time.advance(10_000);
  const aSignal = a.signal();
  await a.elector.stop();
  assert.equal(aSignal?.aborted, true, 'the leading signal aborts');
  assert.deepEqual(a.events, ['started@0', 'stopped@10000']);
  assert.equal(store.record?.holderIdentity, '');
  const releasedAt = time.now();
  while (!b.elector.isLeader()) await time.advance(100);
  assert.ok(time.now() - releasedAt <= 2_400, `took over ${time.now() - releasedAt} ms after the release`);
  await b.elector.stop();
  assert.equal(store.record?.holderIdentity, '');
});

test('a leader that cannot renew steps down at the renew deadline and campaigns again', async () => {
  const time = new FakeTime(t0);
  const store = new MemoryLeaseStore();
  const conn = new Connection(store);
  const a = candidate(time, conn, 'a');
  a.elector.start();
  await time.advance(4_000);
  assert.equal(a.elector.isLeader(), true);
  conn.broken = true;
  const brokenAt = time.now();
  const lastRenew = store.record!.renewTime!;
  while (a.elector.isLeader()) await time.advance(100);
  assert.ok(time.now() - lastRenew >= 10_000 && time.now() - brokenAt <= 10_000 + 2_000, 'stepped down at the renew deadline');
  assert.equal(a.signal()?.aborted, true);
  assert.equal(a.events.at(-1)?.startsWith('stopped@'), true);
  conn.broken = false;
  while (!a.elector.isLeader()) await time.advance(100);
  assert.deepEqual(a.events.length, 3, 'leads again once the cluster is back');
  await a.elector.stop();
});

test('a leader whose renewal hangs still steps down at the renew deadline', async () => {
  const time = new FakeTime(t0);
  const store = new MemoryLeaseStore();
  let hang = false;
  const hanging: LeaseStore = {
    get: () => (hang ? new Promise(() => {}) : store.get()),
    create: (l) => store.create(l),
    replace: (l) => (hang ? new Promise(() => {}) : store.replace(l)),
  };
  const a = candidate(time, hanging, 'a');
  a.elector.start();
  await time.advance(2_000);
  assert.equal(a.elector.isLeader(), true);
  hang = true;
  const lastRenew = store.record!.renewTime!;
  while (a.elector.isLeader()) await time.advance(100);
  assert.ok(time.now() - lastRenew <= 10_000 + 100, `stepped down ${time.now() - lastRenew} ms after the last renewal`);
  hang = false;
  await a.elector.stop({ release: false });
});

test('losing a write race is a conflict, not a second leader', async () => {
  const time = new FakeTime(t0);
  const store = new MemoryLeaseStore();
  store.record = { ...ref, resourceVersion: '0', holderIdentity: 'old', leaseDurationSeconds: 15, renewTime: t0 - 60_000 };
  const electors = ['a', 'b', 'c'].map((id) => candidate(time, new Connection(store), id));
  for (const c of electors) c.elector.start();
  // A lease none of them has seen renewed: it lapses one lease duration after they first saw it.
  await time.advance(14_000);
  assert.equal(electors.filter((c) => c.elector.isLeader()).length, 0);
  await time.advance(5_000);
  assert.equal(electors.filter((c) => c.elector.isLeader()).length, 1);
  for (const c of electors) await c.elector.stop();
});

test('options that would let two leaders overlap are refused', () => {
  const base = { store: new MemoryLeaseStore(), ...ref, identity: 'a', onStartedLeading: () => {}, onStoppedLeading: () => {} };
  assert.throws(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }), /renewDeadlineMs/);
  assert.throws(() => new LeaderElector({ ...base, leaseDurationMs: 1_500 }), /whole number of seconds/);
  assert.throws(() => new LeaderElector({ ...base, retryPeriodMs: 9_000 }), /retryPeriodMs/);
});

test('a renewal still hanging at the renew deadline is cut (its signal aborted), not left to land later', async () => {
  const time = new FakeTime(t0);
  const store = new MemoryLeaseStore();
  let hang = false;
  const signals: Array<AbortSignal | undefined> = [];
  const hanging: LeaseStore = {
    get: (_ns, _name, signal) => (signals.push(signal), hang ? new Promise(() => {}) : store.get()),
    create: (l, signal) => (signals.push(signal), store.create(l)),
    replace: (l, signal) => (signals.push(signal), hang ? new Promise(() => {}) : store.replace(l)),
  };
  const a = candidate(time, hanging, 'a');
  a.elector.start();
  await time.advance(2_000);
  assert.equal(a.elector.isLeader(), true);
  const renewedUntil = a.elector.leadingUntil();
  assert.equal(renewedUntil, store.record!.renewTime! + 10_000, 'leading until the last renewal + the renew deadline');
  hang = true;
  const from = signals.length;
  while (a.elector.isLeader()) await time.advance(100);
  const renewal = signals[from];
  assert.ok(renewal, 'the renewal carried a signal');
  assert.equal(renewal.aborted, true, 'and it was aborted when the elector gave up on it');
  assert.ok(time.now() >= renewedUntil, 'not before the renew deadline');
  hang = false;
  await a.elector.stop({ release: false });
});
