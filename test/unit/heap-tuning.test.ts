// main.ts sizes V8's heap for a long-lived process unless the user set the same flag when starting node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HEAP_FLAGS, heapFlagsToSet } from '../../src/heap-tuning.ts';

test('every heap flag is set when node was started without them', () => {
  assert.deepEqual(heapFlagsToSet([], undefined), Object.entries(HEAP_FLAGS).map(([flag, value]) => `--${flag}=${value}`));
});

test('a flag given on the command line or in NODE_OPTIONS (either spelling) is left to the user', () => {
  assert.deepEqual(heapFlagsToSet(['--heap-growing-percent=50'], undefined), ['--semi-space-growth-factor=1']);
  assert.deepEqual(heapFlagsToSet([], '--max-old-space-size=512 --semi_space_growth_factor=2'), ['--heap-growing-percent=25']);
});
