// gjson's wildcard matching, with its complexity cap (tidwall/match MatchLimit, 10,000 steps per byte of the key),
// against the reference (test/reference: tidwall/gjson v1.18.0). Patterns Go gives up on answer "not found" in
// both; expected values come from running Go, never from memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gjsonGet, gjsonString, wildcardMatchLimit } from '../../../src/util/gjson.ts';
import { askReference, type GjsonAnswer } from '../../support/reference.ts';

const ours = (json: string, path: string): GjsonAnswer => {
  const r = gjsonGet(json, path);
  return r.exists ? { exists: true, string: gjsonString(r.node) } : { exists: false, string: '' };
};

/** [keys of the object, path]: each key's value is its index, so the answer tells which key matched. */
const cases: [string[], string][] = [
  [['abc', 'abd'], 'ab?'],
  [['abc', 'abd'], 'a*d'],
  [['a*b', 'axb'], 'a\\*b'],
  [['x\\y', 'xy'], 'x\\\\y'],
  [['héllo', 'hello'], 'h?llo'],
  [['😀x', 'yx'], '?x'],
  [['', 'a'], '*a*'],
  [['', 'a'], '*?'],
  [['ab', 'b'], '**b'],
  [['user:1:name', 'user:2:mail'], 'user:*:name'],
  [['aaaa', 'ab'], '*a*a*a*a'],
  [['abcabc', 'abc'], '*abc*abc'],
  [['aXbXc'], '*X*X*'],
  [['a?b'], 'a\\?b'],
  [['a?b', 'axb'], '*\\?b'],
  [['ab\\'], '*b\\\\'],
  // Near and past the cap: a key of n a's against `*a*a…*b*` needs far more than 10,000 steps per byte.
  [['a'.repeat(40)], `${'*a'.repeat(20)}*b*`],
  [['a'.repeat(200)], `${'*a'.repeat(50)}*b*`],
  [['a'.repeat(200), 'b'], `${'*a'.repeat(50)}*b*`],
  [['a'.repeat(300)], `${'*a'.repeat(500)}*`],
  [['a'.repeat(300) + 'b'], `${'*a'.repeat(500)}*b`],
  [['a'.repeat(299) + 'b'], `${'*a'.repeat(100)}*b`],
  [['x'.repeat(100) + 'y'.repeat(100)], `${'*x'.repeat(30)}${'*y'.repeat(30)}*z*`],
];

test(`gjson wildcards: ${cases.length} key patterns answer as gjson does, including where MatchLimit gives up`, () => {
  const docs = cases.map(([keys]) => JSON.stringify(Object.fromEntries(keys.map((k, i) => [k, i]))));
  const expected = askReference<GjsonAnswer>(cases.map(([, path], i) => ({ op: 'gjson', json: docs[i]!, path })));
  const mismatches: string[] = [];
  cases.forEach(([keys, path], i) => {
    const got = ours(docs[i]!, path);
    if (got.exists !== expected[i]!.exists || got.string !== expected[i]!.string) {
      mismatches.push(`keys ${JSON.stringify(keys.map((k) => (k.length > 20 ? `${k.slice(0, 8)}…(${k.length})` : k)))} path ${JSON.stringify(path.slice(0, 40))}: gjson ${JSON.stringify(expected[i])}, ours ${JSON.stringify(got)}`);
    }
  });
  assert.deepEqual(mismatches, []);
});

test('gjson wildcards in queries (% and !%) answer as gjson does, including past the cap', () => {
  const long = 'a'.repeat(120);
  const json = JSON.stringify({ items: [{ n: 'dev-db', v: 1 }, { n: long, v: 2 }, { n: 'prod-db', v: 3 }] });
  const paths = ['items.#(n%"*-db")#.v', 'items.#(n!%"dev*")#.v', `items.#(n%"${'*a'.repeat(40)}*b*")#.v`, `items.#(n!%"${'*a'.repeat(40)}*b*")#.v`, 'items.#(n%"?rod-*").v'];
  const expected = askReference<GjsonAnswer>(paths.map((path) => ({ op: 'gjson', json, path })));
  assert.deepEqual(paths.map((path) => ours(json, path)), expected);
});

test('the wildcard bomb of issue 26 stops at the cap with memory bounded by the pattern', () => {
  // 1,001 characters of `*a*a…*b` against a 2,000-character key: Go stops after 20,000,000 steps; so do we.
  const pattern = `${'*a'.repeat(500)}*b*`;
  const before = process.memoryUsage().heapUsed;
  const r = wildcardMatchLimit('a'.repeat(2000), pattern);
  assert.deepEqual(r, { matched: false, stopped: true });
  // The memoised predecessor held key × pattern entries (~2,000,000 here); the stack holds one frame per star.
  assert.ok(process.memoryUsage().heapUsed - before < 64 * 1024 * 1024);
});
