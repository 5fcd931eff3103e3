// The PushSecret's pure decisions: which values go where, the keyed HMAC that says a destination already holds
// them, and the merge patch that removes dropped destinations from status.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { itemStatusKey, pushHmac, pushItems, reverseUnicode, syncedPatch } from '../../../src/controller/pushsecret/plan.ts';
import { parsePushSecret } from '../../../src/api/index.ts';
import { mergeProperty, ownershipOf, removeProperty } from '../../../src/providers/push.ts';
import { TerminalError } from '../../../src/util/errors.ts';

const ps = (data: unknown[]) => {
  const parsed = parsePushSecret({ apiVersion: 'secret-relay.dev/v1alpha1', kind: 'PushSecret', metadata: { name: 'p', namespace: 'n' }, spec: { secretStoreRefs: [{ name: 's' }], selector: { secret: { name: 'src' } }, data } });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  return parsed.value;
};
const bytes = (text: string) => new TextEncoder().encode(text);
const source = new Map([['a', bytes('1')], ['b$c', bytes('2')]]);

test('items: a key, the whole Secret as JSON, ReverseUnicode keys; a missing key or a repeated destination is refused by name', () => {
  const items = pushItems(ps([
    { match: { secretKey: 'a', remoteRef: { remoteKey: 'r1' } } },
    { match: { remoteRef: { remoteKey: 'all' } } },
    { match: { secretKey: 'b_U0024_c', remoteRef: { remoteKey: 'r2', property: 'p' } }, conversionStrategy: 'ReverseUnicode' },
  ]), source, 'Secret n/src');
  assert.deepEqual(items.map((i) => [i.statusKey, new TextDecoder().decode(i.value)]), [['r1', '1'], ['all', '{"a":"1","b$c":"2"}'], ['r2/p', '2']]);
  assert.equal(reverseUnicode('x_U002e_y'), 'x.y');
  assert.throws(() => pushItems(ps([{ match: { secretKey: 'nope', remoteRef: { remoteKey: 'r' } } }]), source, 'Secret n/src'), (err: unknown) => err instanceof TerminalError && /Secret n\/src has no key "nope"/.test((err as Error).message));
  assert.throws(() => pushItems(ps([{ match: { secretKey: 'a', remoteRef: { remoteKey: 'r' } } }, { match: { secretKey: 'b$c', remoteRef: { remoteKey: 'r' } } }]), source, 'S'), /pushes to r again/);
});

test('the HMAC changes with the value, the destination, the store generation and the policies — and is keyed', () => {
  const [item] = pushItems(ps([{ match: { secretKey: 'a', remoteRef: { remoteKey: 'r1' } } }]), source, 'S');
  const key = new Uint8Array(32).fill(1);
  const base = { store: 'SecretStore/s', storeGeneration: 1, item: item!, updatePolicy: 'Replace', adopt: false };
  const h = pushHmac(key, base);
  assert.equal(pushHmac(key, base), h, 'stable');
  for (const changed of [{ ...base, item: { ...item!, value: bytes('2') } }, { ...base, storeGeneration: 2 }, { ...base, store: 'SecretStore/t' }, { ...base, adopt: true }, { ...base, updatePolicy: 'IfNotExists' }]) {
    assert.notEqual(pushHmac(key, changed), h);
  }
  assert.notEqual(pushHmac(new Uint8Array(32).fill(2), base), h, 'another key, another HMAC');
  assert.match(h, /^[0-9a-f]{64}$/);
});

test('status patch: changed entries set, dropped ones nulled, nothing when equal', () => {
  const entry = (hmac: string) => ({ match: { remoteRef: { remoteKey: 'k' } }, hmac, created: true });
  const before = { 'SecretStore/a': { k: entry('1'), gone: entry('2') }, 'SecretStore/old': { k: entry('3') } };
  assert.deepEqual(syncedPatch(before, { 'SecretStore/a': { k: entry('9') } }), { 'SecretStore/a': { k: entry('9'), gone: null }, 'SecretStore/old': null });
  assert.equal(syncedPatch(before, before), undefined);
  assert.equal(itemStatusKey('k', 'p'), 'k/p');
});

test('the mark and properties: ownership from tags; a property merged into / removed from a JSON object; a non-object refused', () => {
  assert.equal(ownershipOf({ 'managed-by': 'secret-relay', 'secret-relay.dev/push-secret': 'n/p' }, 'n/p'), 'ours');
  assert.equal(ownershipOf({ 'managed-by': 'secret-relay', 'secret-relay.dev/push-secret': 'n/q' }, 'n/p'), 'other-push-secret');
  assert.equal(ownershipOf({ 'managed-by': 'external-secrets' }, 'n/p'), 'foreign');
  assert.equal(ownershipOf(undefined, 'n/p'), 'foreign');
  assert.equal(mergeProperty('{"x":"1"}', 'y', '2', 'w'), '{"x":"1","y":"2"}');
  assert.deepEqual(removeProperty('{"x":"1","y":"2"}', 'y', 'w'), { value: '{"x":"1"}', changed: true });
  assert.deepEqual(removeProperty('{"y":"2"}', 'y', 'w'), { value: undefined, changed: true });
  assert.throws(() => mergeProperty('plain text', 'y', '2', 'AWS secret "k"'), /AWS secret "k" does not hold a JSON object/);
});
