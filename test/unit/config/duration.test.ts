import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DURATION_PATTERN, DurationError, formatDuration, parseDuration } from '../../../src/util/duration.ts';

const valid: ReadonlyArray<[string, number]> = [
  ['0', 0],
  ['0s', 0],
  ['0ms', 0],
  ['250ms', 250],
  ['1ms', 1],
  ['15s', 15_000],
  ['1m', 60_000],
  ['90m', 5_400_000],
  ['1h', 3_600_000],
  ['1h30m', 5_400_000],
  ['1h0m0s', 3_600_000], // how Kubernetes prints a metav1.Duration
  ['2h45m30s250ms', 2 * 3_600_000 + 45 * 60_000 + 30_000 + 250],
  ['1m5s', 65_000],
  ['1.5h', 5_400_000],
  ['0.5s', 500],
  ['1.1s', 1_100],
  ['1.25s', 1_250],
  ['1s500ms', 1_500],
  ['100000h', 360_000_000_000],
];

for (const [input, ms] of valid) {
  test(`parseDuration('${input}') is ${ms} ms`, () => {
    assert.equal(parseDuration(input), ms);
  });
}

const invalid: ReadonlyArray<[string, RegExp]> = [
  ['', /empty/],
  ['15', /'15' has no unit/],
  ['1h5', /'5' has no unit/],
  ['-1s', /unexpected '-1s'/],
  ['+1s', /unexpected/],
  [' 1s', /unexpected/],
  ['1s ', /unexpected ' '/],
  ['1 s', /unknown unit ' s'/],
  ['1d', /unknown unit 'd'/],
  ['10ns', /unknown unit 'ns'/],
  ['10us', /unknown unit 'us'/],
  ['1H', /unknown unit 'H'/],
  ['30s1m', /out of order/],
  ['1s1s', /repeated/],
  ['1m1h', /out of order/],
  ['.5s', /unexpected/],
  ['1.s', /unknown unit '.s'|unexpected/],
  ['0.5ms', /finer than a millisecond/],
  ['1.0001s', /finer than a millisecond/],
  ['99999999999999h', /too large/],
  ['s', /unexpected 's'/],
  ['1h30', /no unit/],
];

for (const [input, reason] of invalid) {
  test(`parseDuration('${input}') is rejected: ${reason.source}`, () => {
    assert.throws(
      () => parseDuration(input),
      (err: unknown) => {
        assert.ok(err instanceof DurationError);
        assert.match(err.reason, reason);
        // The message quotes the input and shows how to write a duration.
        assert.ok(err.message.includes(`'${input}'`), err.message);
        assert.match(err.message, /"1h30m", "15s", "250ms" or "0"/);
        return true;
      },
    );
  });
}

test('parseDuration rejects non-strings from untyped callers', () => {
  assert.throws(() => parseDuration(15 as unknown as string), DurationError);
});

const formatted: ReadonlyArray<[number, string]> = [
  [0, '0s'],
  [1, '1ms'],
  [250, '250ms'],
  [1_000, '1s'],
  [1_500, '1s500ms'],
  [60_000, '1m'],
  [65_000, '1m5s'],
  [3_600_000, '1h'],
  [5_400_000, '1h30m'],
  [3_600_001, '1h1ms'],
  [100 * 3_600_000, '100h'],
];

for (const [ms, text] of formatted) {
  test(`formatDuration(${ms}) is '${text}' and reads back`, () => {
    assert.equal(formatDuration(ms), text);
    assert.equal(parseDuration(text), ms);
  });
}

test('formatDuration refuses negative, fractional and non-finite input', () => {
  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => formatDuration(bad), DurationError, String(bad));
  }
});

test('parseDuration and formatDuration round-trip across magnitudes', () => {
  for (let ms = 0; ms < 200 * 3_600_000; ms = ms * 3 + 7) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
});

test('DURATION_PATTERN agrees with parseDuration on every syntax rule', () => {
  const pattern = new RegExp(DURATION_PATTERN);
  for (const [input] of valid) assert.match(input, pattern);
  // Only precision and size are beyond a regular expression.
  const beyondPattern = new Set(['0.5ms', '1.0001s', '99999999999999h']);
  for (const [input] of invalid) {
    if (beyondPattern.has(input)) assert.match(input, pattern);
    else assert.doesNotMatch(input, pattern);
  }
  assert.ok(!DURATION_PATTERN.includes('\\'), 'no backslashes: it must survive CEL string escaping');
});
