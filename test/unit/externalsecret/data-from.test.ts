import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExternalSecretDataFrom } from '../../../src/api/types.generated.ts';
import { createTemplateEngine } from '../../../src/templates/engine.ts';
import {
  convertKey,
  DataFromError,
  DataFromSpecError,
  mergeSources,
  rewriteKeys,
  shapeDataFrom,
} from '../../../src/controller/externalsecret/data-from.ts';
import { TerminalError } from '../../../src/providers/provider.ts';

const engine = createTemplateEngine();
const enc = (text: string) => new TextEncoder().encode(text);
const map = (...keys: string[]) => new Map(keys.map((key) => [key, enc(`value of ${key}`)]));
const keysOf = (data: ReadonlyMap<string, Uint8Array>) => [...data.keys()];
const text = (data: ReadonlyMap<string, Uint8Array>) => Object.fromEntries([...data].map(([k, v]) => [k, new TextDecoder().decode(v)]));

const rewrites: Array<{ title: string; rewrite: ExternalSecretDataFrom['rewrite']; input: string[]; expected: string[] }> = [
  { title: 'regexp strips a prefix', rewrite: [{ regexp: { source: '^team/a/', target: '' } }], input: ['team/a/db', 'team/a/api'], expected: ['db', 'api'] },
  { title: 'regexp replaces every match', rewrite: [{ regexp: { source: '/', target: '_' } }], input: ['a/b/c'], expected: ['a_b_c'] },
  { title: 'regexp with $1', rewrite: [{ regexp: { source: '^db-(.*)$', target: 'database-$1' } }], input: ['db-password'], expected: ['database-password'] },
  { title: 'regexp with ${1} before letters', rewrite: [{ regexp: { source: '^(\\w+)-x$', target: '${1}suffix' } }], input: ['key-x'], expected: ['keysuffix'] },
  { title: 'regexp with a Go named group', rewrite: [{ regexp: { source: '^(?P<env>[a-z]+)/(?P<name>.+)$', target: '${name}.${env}' } }], input: ['prod/db'], expected: ['db.prod'] },
  { title: 'regexp $$ is a dollar; an unknown group is empty', rewrite: [{ regexp: { source: '^k$', target: '$$-$9-x' } }], input: ['k'], expected: ['$--x'] },
  { title: 'regexp (?i) flag', rewrite: [{ regexp: { source: '(?i)^PREFIX-', target: '' } }], input: ['prefix-a', 'Prefix-b'], expected: ['a', 'b'] },
  { title: 'transform template', rewrite: [{ transform: { template: '{{ value | upcase }}' } }], input: ['db_password'], expected: ['DB_PASSWORD'] },
  { title: 'transform with liquid filters', rewrite: [{ transform: { template: '{{ value | split: "/" | last }}' } }], input: ['a/b/key'], expected: ['key'] },
  {
    title: 'steps apply in order',
    rewrite: [{ regexp: { source: '^app/', target: '' } }, { transform: { template: 'APP_{{ value | upcase }}' } }, { regexp: { source: '-', target: '_' } }],
    input: ['app/db-user'],
    expected: ['APP_DB_USER'],
  },
];

for (const { title, rewrite, input, expected } of rewrites) {
  test(`rewrite: ${title}`, () => {
    const out = rewriteKeys(rewrite ?? [], map(...input), engine, 'spec.dataFrom[0]');
    assert.deepEqual(keysOf(out), expected);
    // Values follow their keys.
    assert.equal(new TextDecoder().decode(out.get(expected[0]!)), `value of ${input[0]}`);
  });
}

test('rewrite: the empty match after a match adds nothing (Go), so ESO\'s documented prefix rewrite gives one prefix', () => {
  assert.deepEqual(keysOf(rewriteKeys([{ regexp: { source: '(.*)', target: 'dev-$1' } }], map('user'), engine, 'spec.dataFrom[0]')), ['dev-user']);
  assert.deepEqual(keysOf(rewriteKeys([{ regexp: { source: 'e*', target: 'E' } }], map('level'), engine, 'spec.dataFrom[0]')), ['ElEvElE']);
});

test('rewrite: a merge step merges the values, and the steps after it rename the merged keys', () => {
  const data = new Map([['a', new TextEncoder().encode('{"db/user":"app"}')]]);
  const out = rewriteKeys([{ merge: {} }, { regexp: { source: '^db/', target: '' } }], data, engine, 'spec.dataFrom[0]');
  assert.deepEqual([...out.keys()], ['user']);
});

test('shapeDataFrom: a rewrite that leaves a "/" is followed by the key conversion', () => {
  const entry: ExternalSecretDataFrom = {
    find: { name: { regexp: '.' }, decodingStrategy: 'None', conversionStrategy: 'Default' },
    rewrite: [{ regexp: { source: '^team/', target: '' } }],
  };
  assert.deepEqual(keysOf(shapeDataFrom(entry, map('team/db/user'), engine, 'spec.dataFrom[0]')), ['db_user']);
});

test('rewrite: two keys becoming one is refused, naming both', () => {
  assert.throws(
    () => rewriteKeys([{ regexp: { source: '^(a|b)/', target: '' } }], map('a/k', 'b/k'), engine, 'spec.dataFrom[2]'),
    (err: unknown) => err instanceof DataFromError && /spec\.dataFrom\[2\]\.rewrite\[0\] renames both "a\/k" and "b\/k" to "k"/.test(err.message),
  );
});

test('rewrite: an invalid regexp or transform template is a terminal spec error', () => {
  assert.throws(() => rewriteKeys([{ regexp: { source: '([', target: '' } }], map('k'), engine, 'spec.dataFrom[0]'), (err: unknown) =>
    err instanceof DataFromSpecError && err instanceof TerminalError && /rewrite\[0\]\.regexp\.source: "\(\[" is not a valid Go regular expression \(error parsing regexp: /.test(err.message));
  assert.throws(() => rewriteKeys([{ transform: { template: '{{ value | nope }}' } }], map('k'), engine, 'spec.dataFrom[0]'), (err: unknown) =>
    err instanceof DataFromSpecError && /transform\.template.*undefined filter: nope/.test(err.message));
});

test('conversionStrategy Default and Unicode', () => {
  assert.equal(convertKey('Default', 'team/a b@c.d-e_f'), 'team_a_b_c.d-e_f');
  assert.equal(convertKey('Unicode', 'a/b'), 'a_U002f_b');
  assert.equal(convertKey('Unicode', 'ü'), '_U00fc_');
});

test('shapeDataFrom: without rewrite, conversionStrategy names keys; then decodingStrategy decodes values', () => {
  const entry: ExternalSecretDataFrom = { find: { path: 'app/', decodingStrategy: 'Base64', conversionStrategy: 'Default' } };
  const out = shapeDataFrom(entry, new Map([['app/db', enc('aGVsbG8=')]]), engine, 'spec.dataFrom[0]');
  assert.deepEqual(text(out), { app_db: 'hello' });
});

test('shapeDataFrom: a rewrite replaces conversionStrategy (as ESO)', () => {
  const entry: ExternalSecretDataFrom = {
    extract: { key: 'db', decodingStrategy: 'None', conversionStrategy: 'Unicode', metadataPolicy: 'None' },
    rewrite: [{ regexp: { source: '/', target: '.' } }],
  };
  assert.deepEqual(keysOf(shapeDataFrom(entry, map('a/b'), engine, 'spec.dataFrom[0]')), ['a.b']);
});

test('shapeDataFrom: two names converting to one key are refused', () => {
  const entry: ExternalSecretDataFrom = { find: { name: { regexp: '.' }, decodingStrategy: 'None', conversionStrategy: 'Default' } };
  assert.throws(() => shapeDataFrom(entry, map('a/b', 'a_b'), engine, 'spec.dataFrom[1]'), (err: unknown) =>
    err instanceof DataFromError && /spec\.dataFrom\[1\]: "a\/b" and "a_b" both become key "a_b"/.test(err.message));
});

test('mergeSources: the same key from two sources is refused, naming both', () => {
  assert.throws(
    () => mergeSources([
      { where: 'spec.dataFrom[0] (extract "db")', data: map('user', 'password') },
      { where: 'spec.data[0]', data: map('password') },
    ]),
    (err: unknown) => err instanceof DataFromError && err.message.startsWith('key "password" comes from both spec.dataFrom[0] (extract "db") and spec.data[0]'),
  );
});

test('mergeSources: an invalid Secret key is refused, naming it and its source', () => {
  assert.throws(
    () => mergeSources([{ where: 'spec.dataFrom[0] (find)', data: map('has space') }]),
    (err: unknown) => err instanceof DataFromError && /spec\.dataFrom\[0\] \(find\) produces key "has space", which is not a valid Secret key/.test(err.message),
  );
});

test('mergeSources: distinct keys merge', () => {
  assert.deepEqual(keysOf(mergeSources([{ where: 'a', data: map('x') }, { where: 'b', data: map('y') }])), ['x', 'y']);
});
