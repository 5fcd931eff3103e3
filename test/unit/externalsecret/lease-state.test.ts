// Generated credentials as one state machine: issued → written to the Secret → recorded in status → old revoked.
// Retired leases are recorded in status.retiredLeases ("to revoke") and revoked best-effort until done, across
// failures, restarts and leader changes; the keeper's memory never wins over a status it did not write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLeaseKeeper, issuedLease, withLeasesHeld } from '../../../src/controller/externalsecret/generators.ts';
import type { Generator } from '../../../src/providers/generator.ts';
import { parseExternalSecret } from '../../../src/api/parse.ts';
import type { ExternalSecret, GeneratorLease } from '../../../src/api/index.ts';

const signal = new AbortController().signal;
const ref = { namespace: 'team-a', kind: 'VaultDynamicSecret' as const, name: 'db' };
const lease = (id: string, issuedAt = 0): GeneratorLease => issuedLease(0, ref, { leaseId: id, renewable: true, leaseDurationSeconds: 600 }, issuedAt);

/** The ExternalSecret as the informer cache shows it: `status` is what the apiserver holds (or held). */
function externalSecret(status: Record<string, unknown> = {}, resourceVersion = '1'): ExternalSecret {
  const parsed = parseExternalSecret({
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'app', namespace: 'team-a', uid: 'es-1', generation: 1, resourceVersion, finalizers: ['secret-relay.dev/generator-leases'] },
    spec: { secretStoreRef: { name: 'vault' }, dataFrom: [{ sourceRef: { generatorRef: { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'VaultDynamicSecret', name: 'db' } } }] },
    status,
  });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

/** A keeper over a fake generator and a fake status subresource (merge patches of leases/retiredLeases). */
function world(generator: Partial<Generator> = {}) {
  const stored: Record<string, unknown> = {};
  const revoked: string[] = [];
  const renewed: string[] = [];
  const warnings: string[] = [];
  const faults = { patch: 0, revoke: 0 };
  let clock = 0;
  const deps = {
    generators: {
      VaultDynamicSecret: {
        settings: async () => ({ renewAtPercent: 50, rotateBeforeMs: 0 }),
        generate: async () => ({ data: new Map() }),
        renew: async (_ref: unknown, leaseId: string) => {
          renewed.push(leaseId);
          return { leaseDurationSeconds: 600, renewable: true };
        },
        revoke: async (_ref: unknown, leaseId: string) => {
          if (faults.revoke > 0) {
            faults.revoke--;
            throw new Error('Vault: 503 Service Unavailable');
          }
          revoked.push(leaseId);
        },
        ...generator,
      },
    },
    status: {
      patch: async (_ref: unknown, status: Record<string, unknown>) => {
        if (faults.patch > 0) {
          faults.patch--;
          throw new Error('apiserver: the status patch timed out');
        }
        for (const [key, value] of Object.entries(status)) {
          if (value === null) delete stored[key];
          else stored[key] = structuredClone(value);
        }
        return 'patched' as const;
      },
    },
    finalizers: { add: async () => {}, remove: async () => {} },
    warn: async (_es: ExternalSecret, message: string) => void warnings.push(message),
    clock: { now: () => clock },
  };
  return {
    keeper: () => createLeaseKeeper(deps),
    stored,
    revoked,
    renewed,
    warnings,
    faults,
    setClock: (ms: number) => void (clock = ms),
    /** The ExternalSecret as the apiserver now holds it. */
    current: (resourceVersion = '9') => externalSecret(structuredClone(stored), resourceVersion),
  };
}

const issued = (l: GeneratorLease) => [{ source: 0, ref, lease: l }];
const ids = (leases: unknown) => ((leases as GeneratorLease[] | undefined) ?? []).map((l) => l.leaseId);

test('the status patch of a commit fails: the retired lease is neither forgotten nor revoked before it is recorded; the next reconcile records and revokes it once', async () => {
  const w = world();
  const keeper = w.keeper();
  const before = externalSecret({ leases: [lease('l-0')] });
  w.faults.patch = 1;
  await assert.rejects(keeper.commit(before, issued(lease('l-1', 1_000)), 1_000, signal), /status patch timed out/);
  assert.deepEqual(w.revoked, [], 'not revoked before the new lease is recorded in status');

  // The next reconcile (the cache still shows l-0): the memory is persisted first, then the old lease revoked.
  await keeper.maintain(before, 2_000, signal);
  assert.deepEqual(ids(w.stored['leases']), ['l-1']);
  assert.deepEqual(w.revoked, ['l-0']);
  assert.deepEqual(ids(w.stored['retiredLeases']), [], 'nothing left to revoke');
  await keeper.maintain(w.current(), 3_000, signal);
  assert.deepEqual(w.revoked, ['l-0'], 'revoked exactly once');
});

test('a revocation that fails is recorded as to revoke, retried at a later reconcile (also by a restarted operator), and the sync still succeeds', async () => {
  const w = world();
  w.faults.revoke = 1;
  const nextAt = await w.keeper().commit(externalSecret({ leases: [lease('l-0')] }), issued(lease('l-1', 1_000)), 1_000, signal);
  assert.deepEqual(ids(w.stored['leases']), ['l-1']);
  assert.deepEqual(ids(w.stored['retiredLeases']), ['l-0'], 'recorded in status as to revoke');
  assert.ok(nextAt !== undefined && nextAt <= 1_000 + 60_000, `comes back soon to retry the revocation (${nextAt})`);
  assert.deepEqual(w.revoked, []);

  // A restarted operator (no memory) reads it from status and revokes it once the retry is due.
  const restarted = w.keeper();
  w.setClock(nextAt);
  const outcome = await restarted.maintain(w.current(), nextAt, signal);
  assert.equal(outcome.rotate, false);
  assert.deepEqual(w.revoked, ['l-0']);
  assert.deepEqual(ids(w.stored['retiredLeases']), []);
  await restarted.maintain(w.current(), nextAt + 1_000, signal);
  assert.deepEqual(w.revoked, ['l-0'], 'exactly once');
});

test('a revocation that keeps failing is given up after a bounded number of attempts, with a Warning Event', async () => {
  const w = world();
  w.faults.revoke = 1_000;
  const keeper = w.keeper();
  let at = await keeper.commit(externalSecret({ leases: [lease('l-0', 0)] }), issued(lease('l-1', 0)), 0, signal);
  for (let i = 0; i < 50 && (w.stored['retiredLeases'] as unknown[] | undefined)?.length; i++) {
    assert.ok(at !== undefined);
    w.setClock(at);
    at = (await keeper.maintain(w.current(), at, signal)).nextAt;
  }
  assert.deepEqual(ids(w.stored['retiredLeases']), [], 'given up');
  assert.equal(w.warnings.length, 1, w.warnings.join('\n'));
  assert.match(w.warnings[0]!, /could not revoke lease l-0 .*; it ends at its TTL/);
  assert.ok(1_000 - w.faults.revoke <= 10, `bounded: ${1_000 - w.faults.revoke} attempts`);
});

test('after a leadership change the status wins over a memory it contradicts: the other leader\'s lease is renewed, not ours that it replaced', async () => {
  const w = world();
  const keeper = w.keeper();
  await keeper.commit(externalSecret({ leases: [lease('l-0')] }), issued(lease('l-1', 0)), 0, signal);
  // The other leader replaced l-1 with l-2 (and revoked l-1); this process leads again and sees its status.
  const other = externalSecret({ leases: [lease('l-2', 10_000)] }, '20');
  assert.deepEqual(ids(keeper.leasesOf(other)), ['l-2']);
  await keeper.maintain(other, 10_000 + 300_000, signal);
  assert.deepEqual(w.renewed, ['l-2']);
});

test('a cache that lags behind our own status patch does not bring back the lease we replaced', async () => {
  const w = world();
  const keeper = w.keeper();
  const lagging = externalSecret({ leases: [lease('l-0')] });
  await keeper.commit(lagging, issued(lease('l-1', 0)), 0, signal);
  assert.deepEqual(ids(keeper.leasesOf(lagging)), ['l-1']);
  await keeper.maintain(lagging, 300_000, signal);
  assert.deepEqual(w.renewed, ['l-1']);
  assert.deepEqual(w.revoked, ['l-0']);
});

test("the leases the Secret holds: one the status does not know, newer than the status's, replaces it (retired, to revoke); a known, older or foreign-entry one changes nothing", () => {
  const sources = new Map([[0, { kind: 'VaultDynamicSecret', name: 'db' }]]);
  const state = { leases: [lease('l-1', 1_000)], retired: [] };
  const next = withLeasesHeld(state, [lease('l-2', 2_000)], sources, 3_000);
  assert.deepEqual(ids(next?.leases), ['l-2']);
  assert.deepEqual(ids(next?.retired), ['l-1']);
  assert.equal(next?.retired[0]?.revokeAttempts, 0);

  assert.equal(withLeasesHeld(state, [lease('l-1', 1_000)], sources, 3_000), undefined, 'already recorded');
  assert.equal(withLeasesHeld(state, [lease('l-0', 500)], sources, 3_000), undefined, 'older than the recorded one: a restored copy of the Secret');
  assert.equal(withLeasesHeld({ leases: [lease('l-2', 2_000)], retired: [{ ...lease('l-1', 1_000), retireTime: new Date(2_000).toISOString(), revokeAttempts: 0 }] }, [lease('l-1', 1_000)], sources, 3_000), undefined, 'retired already');
  assert.equal(withLeasesHeld(state, [lease('l-2', 2_000)], new Map([[0, { kind: 'VaultDynamicSecret', name: 'other' }]]), 3_000), undefined, 'the entry names another generator now');
  assert.deepEqual(ids(withLeasesHeld({ leases: [], retired: [] }, [lease('l-2', 2_000)], sources, 3_000)?.leases), ['l-2'], 'none recorded at all');
});
