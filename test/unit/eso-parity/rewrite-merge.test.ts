// dataFrom rewrite.merge against ESO's own RewriteMerge (test/reference runs a copy of it over Go's encoding/json):
// which fields win, which inputs fail (conflicts, missing priority keys, values that are not JSON objects), and the
// exact bytes written — numbers without exponent under Extract, Go's key order and escaping under JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeValues } from '../../../src/controller/externalsecret/data-from.ts';
import type { RewriteMerge } from '../../../src/api/index.ts';
import { askReference } from '../../support/reference.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

const values: Record<string, string>[] = [
  { 'db-credentials': '{"username":"app","password":"p@ss"}', 'api-credentials': '{"token":"t0k3n","port":5432}' },
  { a: '{"x":1,"y":"a"}', b: '{"x":2,"z":true}', c: '{"x":3}' },
  {
    numbers: '{"big":12345678901234567890,"small":0.0000001,"huge":1e21,"neg":-0.5,"int":42,"exp":1E+2,"negzero":-0}',
    nested: '{"obj":{"b":1,"a":"<tag> & \\u2028","10":null,"2":[1,"x",{"k":false}]},"list":["<",1.5e-7],"nil":null}',
    unicode: '{"é":"ü","\\u00e9x":"1","Z":"z","a":"\\u0007\\b\\f\\n\\r\\t\\u001f\\u007f"}',
  },
  { only: 'null', other: '{"k":"v"}' },
  { bad: 'not json', good: '{"k":"v"}' },
  { list: '["a"]', good: '{"k":"v"}' },
  { text: '"string"', good: '{"k":"v"}' },
  { empty: '{}', good: '{"k":"v"}' },
];

const merges: RewriteMerge[] = [
  {},
  { conflictPolicy: 'Ignore' },
  { conflictPolicy: 'Ignore', priority: ['a'] },
  { conflictPolicy: 'Ignore', priority: ['c', 'a'] },
  { priority: ['missing'] },
  { priority: ['missing'], priorityPolicy: 'IgnoreNotFound', conflictPolicy: 'Ignore' },
  { strategy: 'JSON', into: 'merged' },
  { strategy: 'JSON', into: 'a', conflictPolicy: 'Ignore' },
  { strategy: 'JSON', into: 'all', conflictPolicy: 'Ignore', priority: ['b'] },
];

test(`rewrite.merge gives ESO's keys and bytes, and fails where ESO fails (${values.length * merges.length} cases)`, () => {
  const cases = values.flatMap((data) => merges.map((merge) => ({ data, merge })));
  const answers = askReference<{ ok: boolean; data?: Record<string, string | null> }>(
    cases.map(({ data, merge }) => ({ op: 'merge', merge, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) })),
  );
  let failures = 0;
  cases.forEach(({ data, merge }, i) => {
    const expected = answers[i]!;
    const label = `${JSON.stringify(merge)} over ${Object.keys(data).join(',')}`;
    let actual: Map<string, Uint8Array> | undefined;
    try {
      actual = mergeValues(merge, new Map(Object.entries(data).map(([k, v]) => [k, utf8(v)])), 'spec.dataFrom[0].rewrite[0]');
    } catch (err) {
      assert.equal(expected.ok, false, `${label}: we failed (${String(err)}) where ESO gives ${JSON.stringify(expected.data)}`);
      failures++;
      return;
    }
    assert.equal(expected.ok, true, `${label}: ESO fails, we gave ${JSON.stringify([...actual.keys()])}`);
    const ours = Object.fromEntries([...actual].map(([k, v]) => [k, Buffer.from(v).toString('utf8')]));
    const theirs = Object.fromEntries(Object.entries(expected.data ?? {}).map(([k, v]) => [k, v === null ? '' : Buffer.from(v, 'base64').toString('utf8')]));
    assert.deepEqual(ours, theirs, label);
  });
  assert.ok(failures > 0 && failures < cases.length, `both outcomes covered (${failures} failures)`);
});

test('a merge failure names keys and fields, never a value', () => {
  const secret = 'hunter2-not-json';
  for (const [merge, data] of [
    [{}, { a: secret }],
    [{}, { a: `["${secret}"]` }],
    [{}, { a: `{"k":"${secret}"}`, b: `{"k":"${secret}"}` }],
  ] as const) {
    assert.throws(
      () => mergeValues(merge, new Map(Object.entries(data).map(([k, v]) => [k, utf8(v)])), 'spec.dataFrom[0].rewrite[0]'),
      (err: Error) => !err.message.includes(secret) && /spec\.dataFrom\[0\]\.rewrite\[0\]\.merge/.test(err.message),
    );
  }
});
