import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from '../../../src/api/index.ts';

test('Go-style durations become milliseconds', () => {
  const cases: [string, number][] = [
    ['0', 0],
    ['0s', 0],
    ['1h', 3_600_000],
    ['15m30s', 930_000],
    ['10s', 10_000],
    ['1.5h', 5_400_000],
    ['500ms', 500],
    ['1h2m3s4ms', 3_723_004],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['1000000ns', 1],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test('anything else is not a duration', () => {
  for (const text of ['', '1', '1 h', '-5m', '.5h', 'h', '1d', '5m ', '1h0', 'PT1H', '00x']) {
    assert.equal(parseDuration(text), undefined, JSON.stringify(text));
  }
});
