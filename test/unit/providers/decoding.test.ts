import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decode,
  extractProperty,
  jsonObjectEntries,
  ValueFormatError,
} from '../../../src/providers/decoding.ts';
import { NoSecretError, TerminalError } from '../../../src/providers/provider.ts';
import type { DecodingStrategy } from '../../../src/providers/provider.ts';
import { text, utf8 } from './helpers.ts';

const decodeCases: Array<{ strategy: DecodingStrategy | undefined; input: string; expected: string }> = [
  { strategy: undefined, input: 'aGVsbG8=', expected: 'aGVsbG8=' },
  { strategy: 'None', input: 'aGVsbG8=', expected: 'aGVsbG8=' },
  { strategy: 'Base64', input: 'aGVsbG8=', expected: 'hello' },
  { strategy: 'Base64', input: 'aGVs\nbG8=\r\n', expected: 'hello' },
  { strategy: 'Base64', input: '', expected: '' },
  { strategy: 'Base64', input: 'Pz8/', expected: '???' },
  { strategy: 'Base64URL', input: 'Pz8_', expected: '???' },
  { strategy: 'Base64URL', input: 'aGVsbG8=', expected: 'hello' },
  { strategy: 'Auto', input: 'aGVsbG8=', expected: 'hello' },
  { strategy: 'Auto', input: 'Pz8_', expected: '???' },
  // Not base64 of either alphabet (length, characters, unpadded): kept raw.
  { strategy: 'Auto', input: 'hello', expected: 'hello' },
  { strategy: 'Auto', input: 'secret', expected: 'secret' },
  { strategy: 'Auto', input: 'p@ss w0rd!!', expected: 'p@ss w0rd!!' },
];

for (const { strategy, input, expected } of decodeCases) {
  test(`decode ${strategy ?? '(unset)'} ${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
    assert.equal(text(decode(utf8(input), strategy)), expected);
  });
}

test('decode Auto keeps raw bytes that are not UTF-8 text', () => {
  const raw = new Uint8Array([0xff, 0xfe, 0x00, 0x41]);
  assert.deepEqual(decode(raw, 'Auto'), raw);
});

const invalid: Array<{ strategy: DecodingStrategy; input: string; encoding: string }> = [
  { strategy: 'Base64', input: 's3cr3t-value!', encoding: 'base64' },
  { strategy: 'Base64', input: 'aGVsbG8', encoding: 'base64' }, // unpadded
  { strategy: 'Base64', input: 'Pz8_', encoding: 'base64' }, // url alphabet
  { strategy: 'Base64URL', input: 'Pz8/', encoding: 'base64url' },
  { strategy: 'Base64URL', input: 'hunter2', encoding: 'base64url' },
];

for (const { strategy, input, encoding } of invalid) {
  test(`decode ${strategy} rejects ${JSON.stringify(input)} without echoing it`, () => {
    assert.throws(
      () => decode(utf8(input), strategy, 'db/password'),
      (error: unknown) => {
        assert.ok(error instanceof ValueFormatError && error instanceof TerminalError);
        assert.match(
          error.message,
          new RegExp(`^remoteRef\\.decodingStrategy ${strategy}: the value of key "db/password" is not valid ${encoding}`),
        );
        assert.ok(!error.message.includes(input), error.message);
        return true;
      },
    );
  });
}

test('decode without a key says "the value"', () => {
  assert.throws(() => decode(utf8('no!'), 'Base64'), {
    message: /^remoteRef\.decodingStrategy Base64: the value is not valid base64/,
  });
});

// Property paths and their value bytes are checked against gjson itself: test/unit/eso-parity/reference.test.ts.

test('extractProperty on a non-JSON value says so, without the value or the parser message', () => {
  const value = 'hunter2-not-json';
  assert.throws(
    () => extractProperty(utf8(value), 'password', 'app/config'),
    (error: unknown) => {
      assert.ok(error instanceof ValueFormatError);
      assert.match(error.message, /remoteRef\.property "password": the value of key "app\/config" is not JSON/);
      assert.ok(!error.message.includes('hunter2'), error.message);
      assert.equal(error.cause, undefined);
      return true;
    },
  );
});

test('extractProperty into a JSON string value finds nothing', () => {
  assert.throws(() => extractProperty(utf8('"hunter2"'), 'a', 'k'), NoSecretError);
});

test('jsonObjectEntries splits a JSON object, serialising nested values; a key "__proto__" stays data', () => {
  const value = utf8('{"a":"aGVsbG8=","n":{"x":1,"y":"Pz8_"},"__proto__":"cA=="}');
  const plain = jsonObjectEntries(value, 'k');
  assert.deepEqual(Object.keys(plain), ['a', 'n', '__proto__']);
  assert.equal(text(plain['n']!), '{"x":1,"y":"Pz8_"}');
  assert.equal(Object.getPrototypeOf(plain), Object.prototype);
  assert.equal(text(plain['__proto__']!), 'cA==');
  const nested = jsonObjectEntries(extractProperty(value, 'n', 'k'), 'k');
  assert.deepEqual(Object.keys(nested), ['x', 'y']);
  assert.equal(text(nested['x']!), '1');
});

for (const value of ['[1,2]', '"str"', '42', 'not json at all']) {
  test(`jsonObjectEntries rejects ${value} as not a JSON object, without the value`, () => {
    assert.throws(
      () => jsonObjectEntries(utf8(value), 'k'),
      (error: unknown) => {
        assert.ok(error instanceof ValueFormatError);
        assert.match(error.message, /the value of key "k" is not a JSON object/);
        assert.ok(!error.message.includes(value), error.message);
        return true;
      },
    );
  });
}
