// The Secret's record of the leases its generated credentials came with: read back only as written by the
// operator for this Secret, this ExternalSecret and these values — an edit, a copy onto another Secret or another
// ExternalSecret's Secret, or values changed under it are ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LEASES_ANNOTATION, leasesAnnotation, leasesOfSecret } from '../../../src/controller/externalsecret/lease-annotation.ts';
import { issuedLease } from '../../../src/controller/externalsecret/generators.ts';
import { DATA_HMAC_ANNOTATION } from '../../../src/controller/externalsecret/desired-secret.ts';

const key = new Uint8Array(32).fill(7);
const scope = { namespace: 'team-a', name: 'app', externalSecretUid: 'es-1' };
const lease = issuedLease(0, { kind: 'VaultDynamicSecret', name: 'db' }, { leaseId: 'database/creds/app/abc', renewable: true, leaseDurationSeconds: 600 }, 0);
const written = { [DATA_HMAC_ANNOTATION]: 'v2:data' };
const annotations = { ...written, [LEASES_ANNOTATION]: leasesAnnotation(key, scope, written, [lease]) };

test('read back as written', () => {
  assert.deepEqual(leasesOfSecret(key, scope, annotations), [lease]);
  assert.equal(leasesOfSecret(key, scope, written), undefined, 'none recorded');
  assert.equal(leasesOfSecret(key, scope, undefined), undefined);
});

test('an edited lease, another Secret, another ExternalSecret, other values or another key: ignored', () => {
  const edited = annotations[LEASES_ANNOTATION].replace('database/creds/app/abc', 'database/creds/app/other-team');
  assert.equal(leasesOfSecret(key, scope, { ...annotations, [LEASES_ANNOTATION]: edited }), undefined);
  assert.equal(leasesOfSecret(key, { ...scope, name: 'other' }, annotations), undefined);
  assert.equal(leasesOfSecret(key, { ...scope, namespace: 'team-b' }, annotations), undefined);
  assert.equal(leasesOfSecret(key, { ...scope, externalSecretUid: 'es-2' }, annotations), undefined);
  assert.equal(leasesOfSecret(key, scope, { ...annotations, [DATA_HMAC_ANNOTATION]: 'v2:other' }), undefined);
  assert.equal(leasesOfSecret(new Uint8Array(32).fill(8), scope, annotations), undefined);
});

test('garbage is ignored, never thrown', () => {
  for (const value of ['', 'not json', '[]', 'null', '{"leases":"x","mac":"v1:00"}', '{"leases":[{"leaseId":1}],"mac":7}', 'x'.repeat(70_000)]) {
    assert.equal(leasesOfSecret(key, scope, { ...written, [LEASES_ANNOTATION]: value }), undefined, value.slice(0, 40));
  }
});

test('lease IDs only: no credential is in the annotation', () => {
  assert.doesNotMatch(annotations[LEASES_ANNOTATION], /password|username|token/i);
});
