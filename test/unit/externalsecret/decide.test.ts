import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decide,
  jitteredIntervalMs,
  REFRESH_JITTER_FRACTION,
  syncedResourceVersionOf,
  type ObservedExternalSecret,
} from '../../../src/controller/externalsecret/decide.ts';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-22T10:00:00Z');

function synced(overrides: Partial<ObservedExternalSecret> = {}): ObservedExternalSecret {
  const base: ObservedExternalSecret = {
    uid: 'uid-1',
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

test('an intact Secret waits until its jittered interval has passed, then refreshes', () => {
  const es = synced();
  const interval = jitteredIntervalMs(es.uid, HOUR);
  assert.deepEqual(decide(es, { state: 'intact' }, T0 + 1000), { action: 'wait', ms: interval - 1000 });
  assert.deepEqual(decide(es, { state: 'intact' }, T0 + interval), { action: 'sync', reason: 'interval-elapsed' });
});

test('jitter only shortens the interval, by at most the jitter fraction, and spreads objects', () => {
  const phases = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const ms = jitteredIntervalMs(`uid-${i}`, HOUR);
    assert.ok(ms <= HOUR && ms >= HOUR * (1 - REFRESH_JITTER_FRACTION), `${ms}`);
    phases.add(Math.floor(ms / 1000));
  }
  // 1,000 objects over a 6-minute window land in many distinct seconds, not one.
  assert.ok(phases.size > 250, `only ${phases.size} distinct refresh seconds`);
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
