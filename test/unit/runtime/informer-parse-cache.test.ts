import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memoizeParse } from '../../../src/controller/informer-parse-cache.ts';
import { parseExternalSecret } from '../../../src/api/index.ts';

function countingParse() {
  let calls = 0;
  const parse = (obj: unknown) => {
    calls++;
    return parseExternalSecret(obj);
  };
  return { parse: memoizeParse(parse), calls: () => calls };
}

const externalSecret = (resourceVersion: string, key = 'db') => ({
  apiVersion: 'secret-relay.dev/v1alpha1',
  kind: 'ExternalSecret',
  metadata: { name: 'app', namespace: 'ns', resourceVersion },
  spec: { secretStoreRef: { name: 'store' }, data: [{ secretKey: 'password', remoteRef: { key } }] },
});

test('an object is parsed once until it is replaced or its resourceVersion changes', () => {
  const { parse, calls } = countingParse();
  const cached = externalSecret('1');
  const first = parse(cached);
  assert.equal(first.ok, true);
  assert.equal(parse(cached), first, 'the same result, not a new parse');
  assert.equal(calls(), 1);

  const replaced = externalSecret('2', 'other');
  const second = parse(replaced);
  assert.equal(calls(), 2, 'a new object (the informer replaced it) is parsed');
  assert.equal(second.ok && second.value.spec.data?.[0]?.remoteRef.key, 'other');

  cached.metadata.resourceVersion = '3';
  cached.spec.data[0]!.remoteRef.key = 'changed';
  const third = parse(cached);
  assert.equal(calls(), 3, 'an object changed in place (new resourceVersion) is parsed again');
  assert.equal(third.ok && third.value.spec.data?.[0]?.remoteRef.key, 'changed');
});

test('invalid objects are remembered too, and non-objects are parsed every time', () => {
  const { parse, calls } = countingParse();
  const invalid = { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name: 'bad', namespace: 'ns', resourceVersion: '1' }, spec: {} };
  const result = parse(invalid);
  assert.equal(result.ok, false);
  assert.equal(parse(invalid), result);
  assert.equal(calls(), 1);
  assert.equal(parse(undefined).ok, false);
  assert.equal(parse(undefined).ok, false);
  assert.equal(calls(), 3);
});
