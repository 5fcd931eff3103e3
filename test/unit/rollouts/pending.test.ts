import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStale, MAX_SETTLE_FACTOR, PendingChanges, REPLAY_HORIZON_MS, settleWaitMs } from '../../../src/controller/rollouts/pending.ts';

test('the first sight of a Secret is not a change; only a different HMAC is', () => {
  const pending = new PendingChanges();
  assert.equal(pending.observe('ns', 'db', 'v1:a', 0, 5000), false, 'start-up or creation');
  assert.equal(pending.observe('ns', 'db', 'v1:a', 10, 5000), false, 'unchanged refresh, drift repair, metadata edit');
  assert.equal(pending.observe('ns', 'db', undefined, 20, 5000), false, 'no annotation: not ours to judge');
  assert.deepEqual(pending.pendingIn('ns'), []);
  assert.equal(pending.observe('ns', 'db', 'v1:b', 30, 5000), true);
  assert.deepEqual(pending.pendingIn('ns'), [{ secret: 'db', hmac: 'v1:b', firstSeen: 30, lastSeen: 30, settleMs: 5000 }]);
  assert.deepEqual(pending.pendingIn('other'), []);
});

test('a second change of the same Secret keeps the batch start and takes the newest HMAC', () => {
  const pending = new PendingChanges();
  pending.observe('ns', 'db', 'v1:a', 0, 5000);
  pending.observe('ns', 'db', 'v1:b', 100, 5000);
  pending.observe('ns', 'db', 'v1:c', 900, 5000);
  assert.deepEqual(pending.pendingIn('ns'), [{ secret: 'db', hmac: 'v1:c', firstSeen: 100, lastSeen: 900, settleMs: 5000 }]);
});

test('done drops what was handled, but not a newer change that came in meanwhile', () => {
  const pending = new PendingChanges();
  pending.observe('ns', 'user', 'v1:a', 0, 1000);
  pending.observe('ns', 'pass', 'v1:a', 0, 1000);
  pending.observe('ns', 'user', 'v1:b', 10, 1000);
  pending.observe('ns', 'pass', 'v1:b', 20, 1000);
  const handled = pending.pendingIn('ns');
  pending.observe('ns', 'pass', 'v1:c', 30, 1000);
  pending.done('ns', handled);
  assert.deepEqual(pending.pendingIn('ns').map((p) => [p.secret, p.hmac]), [['pass', 'v1:c']]);
  pending.forget('ns', 'pass');
  assert.deepEqual(pending.pendingIn('ns'), []);
  assert.equal(pending.observe('ns', 'pass', 'v1:d', 40, 1000), false, 'a deleted and recreated Secret starts afresh');
});

test('a batch is due a settle window after its last change, and at the latest a few windows after its first', () => {
  const change = (secret: string, firstSeen: number, lastSeen: number, settleMs = 1000) => ({ secret, hmac: 'v1:x', firstSeen, lastSeen, settleMs });
  assert.equal(settleWaitMs([], 0), 0);
  assert.equal(settleWaitMs([change('user', 0, 0)], 400), 600);
  // The password a moment after the username: the window restarts from the password.
  assert.equal(settleWaitMs([change('user', 0, 0), change('pass', 700, 700)], 1000), 700);
  assert.equal(settleWaitMs([change('user', 0, 0), change('pass', 700, 700)], 1700), 0);
  // The longest window of the batch counts.
  assert.equal(settleWaitMs([change('user', 0, 0, 1000), change('pass', 0, 0, 3000)], 1000), 2000);
  // Changes that never stop: rolled MAX_SETTLE_FACTOR windows after the first.
  const busy = change('user', 0, 3900);
  assert.equal(settleWaitMs([busy], 3950), MAX_SETTLE_FACTOR * 1000 - 3950);
});

test('a change older than the replay horizon plus the minimum interval is stale (a long-idle standby does not replay it)', () => {
  const change = { secret: 'db', hmac: 'v1:x', firstSeen: 0, lastSeen: 1000, settleMs: 5000 };
  assert.equal(isStale(change, 1000 + REPLAY_HORIZON_MS, 30_000), false);
  assert.equal(isStale(change, 1000 + REPLAY_HORIZON_MS + 30_000, 30_000), false);
  assert.equal(isStale(change, 1000 + REPLAY_HORIZON_MS + 30_001, 30_000), true);
});

test('a change of HMAC scheme (v1 → v2 after an upgrade) is not a data change: no rollout', async () => {
  const { PendingChanges } = await import('../../../src/controller/rollouts/pending.ts');
  const pending = new PendingChanges();
  pending.observe('ns', 'db', 'v1:aaa', 0, 1000);
  assert.equal(pending.observe('ns', 'db', 'v2:bbb', 1, 1000), false);
  assert.deepEqual(pending.pendingIn('ns'), []);
  assert.equal(pending.observe('ns', 'db', 'v2:ccc', 2, 1000), true, 'a data change after the upgrade still rolls out');
});
