// The case, through the reconciler with the real lease keeper: a re-sync writes new credentials to the
// Secret, then the status patch recording its leases fails. The replaced lease must be neither forgotten nor
// revoked before the new one is recorded; the next reconcile records, then revokes it once, and only then is Ready=True.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generatedCredentialsWorld } from './generated-credentials-world.ts';

test("the leases' status patch fails after a re-sync: the replaced lease is recorded and revoked once at the next reconcile, and only then is the ExternalSecret Ready", async () => {
  const w = generatedCredentialsWorld();
  const leader = w.replica();
  await leader.reconcile();
  assert.equal(w.username(), 'v-app-1');
  assert.deepEqual(w.leaseIds('leases'), ['l-1']);

  // A spec change re-syncs: l-2 reaches the Secret, then recording the leases fails.
  w.bump();
  w.advance(1_000);
  w.faults.leasesPatch = 2;
  await assert.rejects(leader.reconcile(), /leases status patch timed out/);
  assert.equal(w.username(), 'v-app-2', 'the Secret holds the new credentials');
  assert.deepEqual(w.revoked(), [], 'nothing revoked before the new lease is recorded');
  assert.notEqual(w.ready(), 'True');

  // The next reconcile cannot record them either: still not Ready, still nothing revoked.
  w.advance(1_000);
  await assert.rejects(leader.reconcile(), /leases status patch timed out/);
  assert.deepEqual(w.revoked(), []);
  assert.notEqual(w.ready(), 'True');
  assert.deepEqual(w.leaseIds('leases'), ['l-1'], 'the apiserver still holds the old record');

  // Then it can: recorded, the old lease revoked once, Ready.
  w.advance(1_000);
  await leader.reconcile();
  assert.deepEqual(w.leaseIds('leases'), ['l-2']);
  assert.deepEqual(w.leaseIds('retiredLeases'), []);
  assert.deepEqual(w.revoked(), ['l-1']);
  assert.equal(w.ready(), 'True');
  assert.equal(w.username(), 'v-app-2');
  w.advance(1_000);
  await leader.reconcile();
  assert.deepEqual(w.revoked(), ['l-1'], 'exactly once');
});
