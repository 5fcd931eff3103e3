import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decide,
  nextRefreshAt,
  REFRESH_JITTER_FRACTION,
  refreshPhaseOf,
  syncedResourceVersionOf,
  type ObservedExternalSecret,
} from '../../../src/controller/externalsecret/decide.ts';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-22T10:00:00Z');

function synced(overrides: Partial<ObservedExternalSecret> = {}): ObservedExternalSecret {
  const base: ObservedExternalSecret = {
    uid: 'uid-1',
    refreshPhase: 0.37,
    generation: 1,
    labels: {},
    annotations: {},
    refreshPolicy: 'Periodic',
    refreshIntervalMs: HOUR,
    syncedResourceVersion: undefined,
    refreshTime: T0,
    boundTargetName: 'app',
    targetName: 'app',
    ...overrides,
  };
  return { ...base, syncedResourceVersion: overrides.syncedResourceVersion ?? syncedResourceVersionOf(base) };
}

test('a new ExternalSecret is synced', () => {
  const es = { ...synced(), syncedResourceVersion: undefined, refreshTime: undefined };
  assert.deepEqual(decide(es, { state: 'missing' }, T0), { action: 'sync', reason: 'never-synced' });
});

test('an intact Secret waits until its next refresh point, then refreshes', () => {
  const es = synced();
  const dueAt = nextRefreshAt(T0, HOUR, es.refreshPhase);
  assert.deepEqual(decide(es, { state: 'intact' }, T0 + 1000), { action: 'wait', ms: dueAt - T0 - 1000 });
  assert.deepEqual(decide(es, { state: 'intact' }, dueAt), { action: 'sync', reason: 'interval-elapsed' });
});

test('the next refresh is within the interval, never later, by at most the jitter fraction sooner, and objects reading different values spread', () => {
  const instants = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const phase = refreshPhaseOf({ secretStoreRef: { name: 'aws' }, data: [{ remoteRef: { key: `app-${i}` } }] });
    const last = T0 + i * 7; // synced a few ms apart, as a wave is
    const ms = nextRefreshAt(last, HOUR, phase) - last;
    assert.ok(ms <= HOUR && ms >= HOUR * (1 - REFRESH_JITTER_FRACTION), `${ms}`);
    instants.add(Math.floor((last + ms) / 1000));
  }
  // 1,000 objects reading 1,000 values over a 6-minute window land in many distinct seconds, not one.
  assert.ok(instants.size > 250, `only ${instants.size} distinct refresh seconds`);
});

test('readers of the same values synced within one cell (interval × jitter fraction) of each other refresh at one instant, and stay together', () => {
  const reads = { secretStoreRef: { name: 'aws' }, data: [{ remoteRef: { key: 'db/password' } }] };
  const phase = refreshPhaseOf(reads);
  // The keys they write under do not matter; another value does.
  assert.equal(refreshPhaseOf({ ...reads, data: [{ secretKey: 'other', remoteRef: { key: 'db/password' } }] } as never), phase);
  assert.notEqual(refreshPhaseOf({ ...reads, data: [{ remoteRef: { key: 'db/user' } }] }), phase);
  const interval = 20_000;
  const cell = interval * REFRESH_JITTER_FRACTION;
  const first = nextRefreshAt(T0, interval, phase);
  const firstSyncs = [T0, T0 + 1, ...Array.from({ length: 20 }, (_, i) => T0 + (i * cell) / 20)];
  const dues = new Set(firstSyncs.map((t) => nextRefreshAt(t, interval, phase)));
  // Synced over one cell: at most two instants, one cell apart — inside the 5 s a shared result is held.
  assert.ok(dues.size <= 2 && Math.max(...dues) - Math.min(...dues) <= cell, `${[...dues]}`);
  // Refreshing at its point (plus the reconcile's own time) keeps the period at the interval: the next point is one interval on.
  assert.equal(nextRefreshAt(first + 150, interval, phase), first + interval);
});

test('a spec change (new generation) syncs for Periodic and OnChange', () => {
  for (const refreshPolicy of ['Periodic', 'OnChange'] as const) {
    const es = { ...synced({ refreshPolicy }), generation: 2 };
    assert.deepEqual(decide(es, { state: 'intact' }, T0 + 1), { action: 'sync', reason: 'spec-changed' });
  }
});

test('the force-sync annotation (any annotation change) triggers a refresh', () => {
  const es = { ...synced(), annotations: { 'secret-relay.dev/force-sync': '2026-11-22T10:05:00Z' } };
  assert.deepEqual(decide(es, { state: 'intact' }, T0 + 1), { action: 'sync', reason: 'spec-changed' });
});

test('OnChange never refreshes on a timer', () => {
  const es = synced({ refreshPolicy: 'OnChange' });
  assert.deepEqual(decide(es, { state: 'intact' }, T0 + 10 * HOUR), { action: 'skip' });
});

test('CreatedOnce ignores spec changes and timers once the Secret exists', () => {
  const es = { ...synced({ refreshPolicy: 'CreatedOnce' }), generation: 5 };
  assert.deepEqual(decide(es, { state: 'intact' }, T0 + 10 * HOUR), { action: 'skip' });
  assert.deepEqual(decide(es, { state: 'missing' }, T0 + 10 * HOUR), { action: 'sync', reason: 'spec-changed' });
});

test('refreshInterval 0 fetches once per change', () => {
  const es = synced({ refreshIntervalMs: 0 });
  assert.deepEqual(decide(es, { state: 'intact' }, T0 + 100 * HOUR), { action: 'skip' });
});

test('a deleted or hand-edited Secret is restored whatever the policy', () => {
  for (const refreshPolicy of ['Periodic', 'OnChange', 'CreatedOnce'] as const) {
    const es = synced({ refreshPolicy });
    assert.deepEqual(decide(es, { state: 'missing' }, T0 + 1), { action: 'sync', reason: 'target-missing' });
    assert.deepEqual(decide(es, { state: 'drifted' }, T0 + 1), { action: 'sync', reason: 'target-drifted' });
  }
});

test('a renamed target is synced at once', () => {
  const es = synced({ boundTargetName: 'old-name', targetName: 'new-name' });
  assert.deepEqual(decide(es, { state: 'intact' }, T0 + 1), { action: 'sync', reason: 'target-renamed' });
});
