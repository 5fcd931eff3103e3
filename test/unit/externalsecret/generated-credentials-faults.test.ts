// Generated credentials through the reconciler with the real lease keeper, when a step fails or leadership
// changes: credentials the Secret holds are never revoked, and whichever replica leads keeps up the lease of the
// credentials the Secret holds — not an older one its status still names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generatedCredentialsWorld, term } from './generated-credentials-world.ts';
import { LEASES_ANNOTATION } from '../../../src/controller/externalsecret/lease-annotation.ts';

const HALF_TTL = 1800_000;

test('a remote secret goes missing while new credentials are generated (deletionPolicy Retain): the Secret keeps its credentials, and their lease is neither retired nor revoked', async () => {
  const w = generatedCredentialsWorld({ dataEntry: true });
  const operator = w.replica();
  await operator.reconcile();
  assert.equal(w.username(), 'v-app-1');

  w.remote.delete('db/host');
  w.bump();
  w.advance(1_000);
  await operator.reconcile();
  assert.equal(w.username(), 'v-app-1', 'the Secret keeps its last data');
  assert.equal(w.ready(), 'False');
  assert.deepEqual(w.leaseIds('leases'), ['l-1'], 'the status still records the lease of the credentials the Secret holds');
  assert.ok(!w.revoked().includes('l-1'), `the credentials the Secret holds were revoked: ${w.revoked().join(', ')}`);
  assert.deepEqual(w.revoked(), ['l-2'], 'the unused new credentials are revoked');
});

test("the leases' status patch fails after new credentials reach the Secret, then leadership changes: the new leader renews the Secret's lease, not the old one", async () => {
  const w = generatedCredentialsWorld();
  const oldLeader = w.replica();
  await oldLeader.reconcileIn(term());
  assert.equal(w.username(), 'v-app-1');

  // A spec change re-syncs: l-2 reaches the Secret; recording it fails, and the term ends before a retry.
  w.bump();
  w.advance(1_000);
  w.faults.leasesPatch = 1;
  await assert.rejects(oldLeader.reconcileIn(term()), /leases status patch timed out/);
  assert.equal(w.username(), 'v-app-2');
  assert.deepEqual(w.leaseIds('leases'), ['l-1'], 'the apiserver still names the old lease');

  // Another replica leads: its memory is empty; the apiserver is all it knows.
  const newLeader = w.replica();
  w.advance(1_000);
  await newLeader.reconcileIn(term());
  assert.deepEqual(w.leaseIds('leases'), ['l-2'], "the new leader records the lease of the Secret's credentials");
  assert.deepEqual(w.revoked(), ['l-1'], 'and revokes the replaced one, once');
  assert.equal(w.ready(), 'True');

  w.advance(HALF_TTL);
  await newLeader.reconcileIn(term());
  assert.deepEqual(w.renewed(), ['l-2'], 'the lease renewed is the one the Secret holds');
  assert.equal(w.username(), 'v-app-2', 'no new credentials were needed');
  assert.deepEqual(w.live(), ['l-2']);
});

test("a tenant who edits the Secret's lease annotation cannot make the operator renew or revoke a lease it names", async () => {
  const w = generatedCredentialsWorld();
  const operator = w.replica();
  await operator.reconcile();
  const secret = w.secrets.get('team/app')!;
  const annotation = secret.metadata.annotations?.[LEASES_ANNOTATION];
  assert.ok(annotation, 'the Secret records the lease of its credentials');
  assert.ok(annotation.includes('database/creds/app/l-1'));
  assert.ok(!annotation.includes('v-app-1'), 'never the credentials');

  // Another team's lease under the same Vault path, issued later: edited in, keeping the rest as it was.
  secret.metadata.annotations![LEASES_ANNOTATION] = annotation.replaceAll('database/creds/app/l-1', 'database/creds/app/other-team').replace(/"issueTime":"[^"]+"/, '"issueTime":"2026-01-01T00:00:30.000Z"');
  const fresh = w.replica();
  w.advance(HALF_TTL);
  await fresh.reconcile();
  assert.deepEqual(w.renewed(), ['l-1'], 'the status lease is renewed, never the one edited in');
  assert.deepEqual(w.revoked(), []);
  assert.deepEqual(w.leaseIds('leases'), ['l-1']);
});

test("the rename cleanup fails after new credentials reach the Secret: they are kept (recorded, not revoked, not replaced), the ExternalSecret is not Ready until the old Secret is gone, and it heals", async () => {
  const w = generatedCredentialsWorld();
  const operator = w.replica();
  await operator.reconcile();
  assert.equal(w.username('app'), 'v-app-1');

  w.rename('app-v2');
  w.advance(1_000);
  w.faults.deleteSecret = 2;
  await assert.rejects(operator.reconcile(), /Secret app \(the target before spec.target.name changed\) could not be deleted: apiserver: the delete timed out/);
  assert.equal(w.username('app-v2'), 'v-app-2');
  assert.notEqual(w.ready(), 'True', 'not Ready while the old Secret is still there');
  assert.deepEqual(w.leaseIds('leases'), ['l-2'], 'the lease of the credentials the new Secret holds is recorded');
  assert.deepEqual(w.live(), ['l-2'], 'the replaced lease is revoked; the new one is not');

  // The retries delete the old Secret without fetching or generating again.
  w.advance(1_000);
  await assert.rejects(operator.reconcile(), /could not be deleted/);
  assert.notEqual(w.ready(), 'True');
  w.advance(1_000);
  await operator.reconcile();
  assert.deepEqual(w.deleted, ['team/app'], 'the old Secret is deleted');
  assert.equal(w.ready(), 'True');
  assert.equal(w.username('app-v2'), 'v-app-2', 'the same credentials: a failed cleanup does not rotate them');
  assert.deepEqual(w.live(), ['l-2']);
  assert.deepEqual(w.revoked(), ['l-1']);
  assert.equal((w.status['binding'] as { name: string }).name, 'app-v2');
});

test('nothing this process remembers from an earlier leadership term wins over what the apiserver says in the next: a leader that comes back does not re-sync what the other leader synced', async () => {
  const w = generatedCredentialsWorld();
  const a = w.replica();
  await a.reconcileIn(term());
  assert.deepEqual(w.live(), ['l-1']);

  // The other replica leads (its clock 10 min behind) and syncs a spec change: new credentials l-2.
  w.bump();
  w.advance(60_000);
  await w.replica({ clockOffsetMs: -600_000 }).reconcileIn(term());
  assert.deepEqual(w.live(), ['l-2']);
  assert.equal(w.ready(), 'True');

  // The first replica leads again: the status says the current spec is synced; nothing to fetch, nothing to issue.
  w.advance(60_000);
  await a.reconcileIn(term());
  assert.deepEqual(w.live(), ['l-2'], 'no new credentials were issued');
  assert.equal(w.username(), 'v-app-2');
});

test("the ExternalSecret is deleted while its status lacks the lease of the Secret's credentials (the patch failed, leadership changed): that lease is revoked too", async () => {
  const w = generatedCredentialsWorld();
  await w.replica().reconcileIn(term());
  w.bump();
  w.advance(1_000);
  w.faults.leasesPatch = 1;
  await assert.rejects(w.replica().reconcileIn(term()), /leases status patch timed out/);
  assert.equal(w.username(), 'v-app-2');

  w.markDeleted();
  w.advance(1_000);
  await w.replica().reconcileIn(term());
  assert.deepEqual(w.revoked().sort(), ['l-1', 'l-2']);
  assert.deepEqual(w.live(), [], 'no lease is left to run out at its TTL');
});

test("deleted while the status lacks the Secret's lease and the managed-Secret cache has not seen the Secret: the Secret is read, and that lease is revoked too", async () => {
  const w = generatedCredentialsWorld();
  await w.replica().reconcileIn(term());
  w.bump();
  w.advance(1_000);
  w.faults.leasesPatch = 1;
  await assert.rejects(w.replica().reconcileIn(term()), /leases status patch timed out/);
  w.uncached.add('team/app');
  w.markDeleted();
  w.advance(1_000);
  await w.replica().reconcileIn(term());
  assert.deepEqual(w.revoked().sort(), ['l-1', 'l-2']);
  assert.deepEqual(w.live(), [], 'no lease is left to run out at its TTL');
});
