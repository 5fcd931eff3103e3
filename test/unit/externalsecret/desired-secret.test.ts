import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildDesiredSecret,
  dataHmac, legacyDataHmac,
  needsApply,
  observeTarget,
  DATA_HMAC_ANNOTATION,
  type ExistingSecret,
  type DesiredSecretInput,
} from '../../../src/controller/externalsecret/desired-secret.ts';

const key = Buffer.from('k'.repeat(32));
const scope = { namespace: 'ns', name: 'app' };
const owner = { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', name: 'app', uid: 'u1' };
const input = (over: Partial<DesiredSecretInput> = {}): DesiredSecretInput => ({
  namespace: 'ns',
  name: 'app',
  creationPolicy: 'Owner',
  immutable: false,
  owner,
  data: new Map([['password', Buffer.from('s3cret')], ['user', Buffer.from('admin')]]),
  hmacKey: key,
  ...over,
});

function asExisting(body: ReturnType<typeof buildDesiredSecret>, extra: Partial<ExistingSecret> = {}): ExistingSecret {
  return {
    labels: body.metadata.labels,
    annotations: body.metadata.annotations,
    data: body.data,
    immutable: body.immutable ?? false,
    ownerUids: (body.metadata.ownerReferences ?? []).map((r) => r.uid),
    ...extra,
  };
}

test('Owner secrets carry a controller ownerReference, our label, base64 data', () => {
  const body = buildDesiredSecret(input());
  assert.equal(body.metadata.ownerReferences?.[0]?.uid, 'u1');
  assert.equal(body.metadata.ownerReferences?.[0]?.controller, true);
  assert.equal(body.metadata.labels['secret-relay.dev/managed'], 'true');
  assert.equal(body.data['password'], Buffer.from('s3cret').toString('base64'));
  assert.equal(body.type, 'Opaque');
});

test('Orphan secrets have no ownerReference; Merge touches only data and markers', () => {
  assert.equal(buildDesiredSecret(input({ creationPolicy: 'Orphan' })).metadata.ownerReferences, undefined);
  const merge = buildDesiredSecret(input({ creationPolicy: 'Merge' }));
  assert.equal(merge.metadata.ownerReferences, undefined);
  assert.equal(merge.type, undefined);
});

test('the HMAC annotation depends on the key and reveals no value', () => {
  const body = buildDesiredSecret(input());
  const mac = body.metadata.annotations[DATA_HMAC_ANNOTATION]!;
  assert.ok(!mac.includes('s3cret'));
  assert.notEqual(mac, dataHmac(Buffer.from('other-key'), input().data, scope));
  // Moving bytes between key and value gives another HMAC.
  assert.notEqual(dataHmac(key, new Map([['ab', Buffer.from('c')]]), scope), dataHmac(key, new Map([['a', Buffer.from('bc')]]), scope));
});

test('the HMAC is keyed per Secret: equal data in two namespaces (or two Secrets) gives unequal annotations', () => {
  const data = input().data;
  const here = dataHmac(key, data, { namespace: 'team-a', name: 'db' });
  assert.match(here, /^v2:/);
  assert.notEqual(here, dataHmac(key, data, { namespace: 'team-b', name: 'db' }));
  assert.notEqual(here, dataHmac(key, data, { namespace: 'team-a', name: 'db2' }));
  // No ambiguity between the namespace and the name.
  assert.notEqual(dataHmac(key, data, { namespace: 'a', name: 'bc' }), dataHmac(key, data, { namespace: 'ab', name: 'c' }));
  // A Secret written before (v1, one key for all) stays intact until its next write, which carries v2.
  const body = buildDesiredSecret(input());
  const legacy = asExisting(body, { annotations: { ...body.metadata.annotations, [DATA_HMAC_ANNOTATION]: legacyDataHmac(key, data) } });
  assert.deepEqual(observeTarget(legacy, key, scope), { state: 'intact' });
  assert.equal(needsApply(body, legacy), true, 'the next write replaces v1 by v2');
  const forged = asExisting(body, { annotations: { ...body.metadata.annotations, [DATA_HMAC_ANNOTATION]: legacyDataHmac(Buffer.from('other-key'), data) } });
  assert.deepEqual(observeTarget(forged, key, scope), { state: 'drifted' });
});

test('an untouched Secret is intact and needs no write', () => {
  const body = buildDesiredSecret(input());
  assert.deepEqual(observeTarget(asExisting(body), key, scope), { state: 'intact' });
  assert.equal(needsApply(body, asExisting(body)), false);
});

test('an edited value, a removed key or a lost label is drift', () => {
  const body = buildDesiredSecret(input());
  const edited = asExisting(body, { data: { ...body.data, password: Buffer.from('changed').toString('base64') } });
  assert.deepEqual(observeTarget(edited, key, scope), { state: 'drifted' });
  const { password: _dropped, ...rest } = body.data;
  assert.deepEqual(observeTarget(asExisting(body, { data: rest }), key, scope), { state: 'drifted' });
  assert.deepEqual(observeTarget(asExisting(body, { labels: {} }), key, scope), { state: 'drifted' });
  assert.deepEqual(observeTarget(undefined, key, scope), { state: 'missing' });
});

test('keys added by others (Merge) do not count as drift', () => {
  const body = buildDesiredSecret(input({ creationPolicy: 'Merge' }));
  const existing = asExisting(body, { data: { ...body.data, theirs: Buffer.from('x').toString('base64') } });
  assert.deepEqual(observeTarget(existing, key, scope), { state: 'intact' });
  assert.equal(needsApply(body, existing), false);
});

test('a new value or a dropped key needs an apply', () => {
  const before = buildDesiredSecret(input());
  const changed = buildDesiredSecret(input({ data: new Map([['password', Buffer.from('new')], ['user', Buffer.from('admin')]]) }));
  assert.equal(needsApply(changed, asExisting(before)), true);
  const fewer = buildDesiredSecret(input({ data: new Map([['user', Buffer.from('admin')]]) }));
  assert.equal(needsApply(fewer, asExisting(before)), true);
});

test('template type, labels and annotations reach the Secret; our own markers stay ours', () => {
  const body = buildDesiredSecret(input({ type: 'kubernetes.io/tls', labels: { team: 'a' }, annotations: { 'example.com/x': 'y' } }));
  assert.equal(body.type, 'kubernetes.io/tls');
  assert.deepEqual(body.metadata.labels, { team: 'a', 'secret-relay.dev/managed': 'true' });
  assert.equal(body.metadata.annotations['example.com/x'], 'y');
  assert.equal(body.metadata.annotations['secret-relay.dev/templated-labels'], 'team');
  assert.equal(body.metadata.annotations['secret-relay.dev/templated-annotations'], 'example.com/x');
  assert.equal(observeTarget(asExisting(body), key, scope).state, 'intact');
});

test('needsApply: a templated label or annotation removed from the template, or a new type, needs an apply', () => {
  const before = buildDesiredSecret(input({ labels: { team: 'a', tier: 'db' }, annotations: { 'example.com/x': 'y' } }));
  const existing = asExisting(before, { type: 'Opaque' });
  assert.equal(needsApply(before, existing), false);
  assert.equal(needsApply(buildDesiredSecret(input({ labels: { team: 'a' }, annotations: { 'example.com/x': 'y' } })), existing), true);
  assert.equal(needsApply(buildDesiredSecret(input({ labels: { team: 'a', tier: 'db' } })), existing), true);
  assert.equal(needsApply(buildDesiredSecret(input({ labels: { team: 'a', tier: 'db' }, annotations: { 'example.com/x': 'y' }, type: 'kubernetes.io/tls' })), existing), true);
});
