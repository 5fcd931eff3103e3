// The PushSecret's pure decisions: which values go where, the keyed HMAC that says a destination already holds
// them, and the merge patch that removes dropped destinations from status.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkDataTo, itemStatusKey, pushHmac, pushItems, reverseUnicode, syncedPatch, type KeyRenamer, type StoreTarget } from '../../../src/controller/pushsecret/plan.ts';
import { rewriteKeys } from '../../../src/controller/externalsecret/data-from.ts';
import { createTemplateEngine } from '../../../src/templates/engine.ts';
import { parsePushSecret } from '../../../src/api/index.ts';
import { mergeProperty, ownershipOf, removeProperty } from '../../../src/providers/push.ts';
import { TerminalError } from '../../../src/util/errors.ts';

const ps = (data: unknown[], extra: Record<string, unknown> = {}) => {
  const parsed = parsePushSecret({ apiVersion: 'secret-relay.dev/v1alpha1', kind: 'PushSecret', metadata: { name: 'p', namespace: 'n' }, spec: { secretStoreRefs: [{ name: 's' }], selector: { secret: { name: 'src' } }, ...(data.length > 0 ? { data } : {}), ...extra } });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  return parsed.value;
};
const bytes = (text: string) => new TextEncoder().encode(text);
const source = new Map([['a', bytes('1')], ['b$c', bytes('2')]]);
const store: StoreTarget = { kind: 'SecretStore', name: 's', labels: { tier: 'prod' } };
const engine = createTemplateEngine();
/** The operator's renamer (module.ts): rewriteKeys over the key names. */
const rename: KeyRenamer = (steps, keys, where) => {
  const renamed = rewriteKeys(steps, new Map(keys.map((k) => [k, bytes(k)])), engine, where);
  return new Map([...renamed].map(([remote, original]) => [new TextDecoder().decode(original), remote]));
};
const one = (data: ReadonlyMap<string, Uint8Array>, name = 'Secret n/src') => [{ name, data }];
const decoded = (items: ReturnType<typeof pushItems>) => items.map((i) => [i.statusKey, i.secretKey ?? null, new TextDecoder().decode(i.value)]);

test('items: a key, the whole Secret as JSON, ReverseUnicode keys; a missing key or a repeated destination is refused by name', () => {
  const items = pushItems(ps([
    { match: { secretKey: 'a', remoteRef: { remoteKey: 'r1' } } },
    { match: { remoteRef: { remoteKey: 'all' } } },
    { match: { secretKey: 'b_U0024_c', remoteRef: { remoteKey: 'r2', property: 'p' } }, conversionStrategy: 'ReverseUnicode' },
  ]), one(source), store, rename);
  assert.deepEqual(items.map((i) => [i.statusKey, new TextDecoder().decode(i.value)]), [['r1', '1'], ['all', '{"a":"1","b$c":"2"}'], ['r2/p', '2']]);
  assert.equal(reverseUnicode('x_U002e_y'), 'x.y');
  assert.throws(() => pushItems(ps([{ match: { secretKey: 'nope', remoteRef: { remoteKey: 'r' } } }]), one(source), store, rename), (err: unknown) => err instanceof TerminalError && /Secret n\/src has no key "nope"/.test((err as Error).message));
  assert.throws(() => pushItems(ps([{ match: { secretKey: 'a', remoteRef: { remoteKey: 'r' } } }, { match: { secretKey: 'b$c', remoteRef: { remoteKey: 'r' } } }]), one(source, 'S'), store, rename), /spec.data\[1\] pushes to r, as does spec.data\[0\]/);
});

test('the HMAC changes with the value, the destination, the store generation and the policies — and is keyed', () => {
  const [item] = pushItems(ps([{ match: { secretKey: 'a', remoteRef: { remoteKey: 'r1' } } }]), one(source, 'S'), store, rename);
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

const env = new Map([['DB_HOST', bytes('db')], ['DB_USER', bytes('app')], ['API_KEY', bytes('k')], ['x_U002e_y', bytes('dot')]]);

test('dataTo (ESO 2.x): every matched key its own remote secret, renamed by rewrite; explicit data wins a key; a bundle is one JSON object of the matched keys', () => {
  const spec = ps([{ match: { secretKey: 'API_KEY', remoteRef: { remoteKey: 'explicit/api' } } }], {
    dataTo: [
      { storeRef: { name: 's' }, match: { regexp: '^(DB_|API)' }, rewrite: [{ regexp: { source: '^DB_(.*)$', target: 'app/db-$1' } }, { transform: { template: '{{ value | downcase }}' } }] },
      { storeRef: { labelSelector: { matchLabels: { tier: 'prod' } } }, remoteKey: 'bundle/db', match: { regexp: '^DB_' } },
      { storeRef: { name: 'other' }, match: { regexp: '.*' } },
    ],
    secretStoreRefs: [{ name: 's' }, { name: 'other' }],
  });
  checkDataTo(spec, [store, { kind: 'SecretStore', name: 'other', labels: {} }]);
  assert.deepEqual(decoded(pushItems(spec, one(env), store, rename)), [
    ['explicit/api', 'API_KEY', 'k'],
    ['app/db-host', 'DB_HOST', 'db'],
    ['app/db-user', 'DB_USER', 'app'],
    ['bundle/db', null, '{"DB_HOST":"db","DB_USER":"app"}'],
  ]);
  // The rule for store "other" applies there only; ReverseUnicode matches on converted keys and keeps the Secret's own.
  const other = pushItems(ps([], { dataTo: [{ storeRef: { name: 'other' }, match: { regexp: '^x\\.y$' }, conversionStrategy: 'ReverseUnicode' }], secretStoreRefs: [{ name: 'other' }] }), one(env), { kind: 'SecretStore', name: 'other', labels: {} }, rename);
  assert.deepEqual(decoded(other), [['x.y', 'x_U002e_y', 'dot']]);
});

test('dataTo refusals name the rule: storeRef missing or not listed, a selector matching no store, remoteKey with rewrite, a bad regexp, two keys to one remote key', () => {
  const check = (dataTo: unknown[]) => () => checkDataTo(ps([], { dataTo }), [store]);
  assert.throws(check([{ match: { regexp: '.*' } }]), /spec.dataTo\[0\].storeRef must name a store/);
  assert.throws(check([{ storeRef: { name: 'nope' } }]), /SecretStore nope is not in spec.secretStoreRefs/);
  assert.throws(check([{ storeRef: { labelSelector: { matchLabels: { tier: 'dev' } } } }]), /labelSelector matches none of the stores/);
  assert.throws(check([{ storeRef: { name: 's' }, remoteKey: 'b', rewrite: [{ regexp: { source: 'a', target: 'b' } }] }]), /remoteKey .* and rewrite .* cannot be used together/);
  assert.throws(check([{ storeRef: { name: 's' }, match: { regexp: '(' } }]), (err: unknown) => err instanceof TerminalError && /spec.dataTo\[0\].match.regexp: "\(" is not a valid Go regular expression/.test((err as Error).message));
  const collide = ps([], { dataTo: [{ storeRef: { name: 's' }, match: { regexp: '^DB_' }, rewrite: [{ regexp: { source: '.*', target: 'same' } }] }] });
  assert.throws(() => pushItems(collide, one(env), store, rename), /renames both "DB_HOST" and "DB_USER" to "same"/);
  const twice = ps([{ match: { secretKey: 'API_KEY', remoteRef: { remoteKey: 'DB_HOST' } } }], { dataTo: [{ storeRef: { name: 's' }, match: { regexp: '^DB_HOST$' } }] });
  assert.throws(() => pushItems(twice, one(env), store, rename), /spec.dataTo\[0\] \(key "DB_HOST"\) pushes to DB_HOST, as does spec.data\[0\]/);
});

test('several source Secrets (selector.secret.selector): each key its own remote secret; the same destination from two Secrets is refused naming both', () => {
  const spec = ps([], { dataTo: [{ storeRef: { name: 's' } }] });
  const sources = [{ name: 'Secret n/a', data: new Map([['one', bytes('1')]]) }, { name: 'Secret n/b', data: new Map([['two', bytes('2')]]) }];
  assert.deepEqual(decoded(pushItems(spec, sources, store, rename)), [['one', 'one', '1'], ['two', 'two', '2']]);
  const clash = [...sources, { name: 'Secret n/c', data: new Map([['one', bytes('3')]]) }];
  assert.throws(() => pushItems(spec, clash, store, rename), /spec.dataTo\[0\] \(key "one" of Secret n\/c\) pushes to one, as does spec.dataTo\[0\] \(key "one" of Secret n\/a\)/);
  assert.deepEqual(pushItems(spec, [], store, rename), [], 'no Secret selected: nothing to push');
});
