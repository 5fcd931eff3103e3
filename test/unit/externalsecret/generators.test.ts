// Lease timing of generated credentials (pure): when to renew, when a renewal came back capped, when to issue anew.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { issuedLease, planLease, renewedLease } from '../../../src/controller/externalsecret/generators.ts';

const settings = { renewAtPercent: 50, rotateBeforeMs: 3000 };
const ref = { kind: 'VaultDynamicSecret' as const, name: 'db' };

test('a renewable lease is renewed at the configured share of its TTL, and looked at again then', () => {
  const lease = issuedLease(0, ref, { leaseId: 'database/creds/app/x', renewable: true, leaseDurationSeconds: 10 }, 0);
  assert.equal(lease.expireTime, new Date(10_000).toISOString());
  assert.deepEqual(planLease(lease, settings, 4_999), { action: 'none', nextAt: 5_000 });
  assert.equal(planLease(lease, settings, 5_000).action, 'renew');
  assert.equal(planLease(lease, { ...settings, renewAtPercent: 80 }, 5_000).action, 'none');
});

test('a renewal granted in full keeps the TTL; a shorter grant marks the max TTL and leads to new credentials before it', () => {
  const lease = issuedLease(0, ref, { leaseId: 'l', renewable: true, leaseDurationSeconds: 10 }, 0);
  const full = renewedLease(lease, { leaseDurationSeconds: 10, renewable: true }, 10, 5_000);
  assert.equal(full.leaseDurationSeconds, 10);
  assert.equal(full.maxExpireTime, undefined);
  assert.deepEqual(planLease(full, settings, 6_000), { action: 'none', nextAt: 10_000 }, 'next renewal from the renewal time');

  const capped = renewedLease(full, { leaseDurationSeconds: 4, renewable: true }, 10, 10_000);
  assert.equal(capped.maxExpireTime, new Date(14_000).toISOString());
  assert.deepEqual(planLease(capped, settings, 10_500), { action: 'none', nextAt: 11_000 }, 'no renewal once capped: new credentials 3 s before the end');
  assert.equal(planLease(capped, settings, 11_000).action, 'rotate');
});

test('a lease that cannot be renewed is replaced before it expires; an expired one at once; a lease without TTL is left alone', () => {
  const fixed = issuedLease(1, ref, { leaseId: 'l', renewable: false, leaseDurationSeconds: 60 }, 0);
  assert.deepEqual(planLease(fixed, settings, 1_000), { action: 'none', nextAt: 57_000 });
  assert.equal(planLease(fixed, settings, 57_000).action, 'rotate');
  const renewable = issuedLease(0, ref, { leaseId: 'l', renewable: true, leaseDurationSeconds: 10 }, 0);
  assert.equal(planLease(renewable, settings, 10_000).action, 'rotate', 'missed every renewal: issue anew');
  assert.deepEqual(planLease(issuedLease(0, ref, { leaseId: 'l', renewable: false, leaseDurationSeconds: 0 }, 0), settings, 10 ** 9), { action: 'none', nextAt: undefined });
});
