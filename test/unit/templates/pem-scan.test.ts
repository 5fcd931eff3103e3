// pemBlocks (pem_blocks, pem_certificates, pem_private_key) finds the blocks a lazy BEGIN…END regex finds, in time
// linear in the text: a value of unterminated BEGIN lines (anyone who can write to the provider can store one) made
// the regex scan to the end of the text once per BEGIN. Equivalence is checked against that regex on shaped random
// texts; the adversarial case prints its time (never asserted).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pemBlocks } from '../../../src/templates/pem.ts';
import { LEAF_CERT_PEM, LEAF_KEY_PEM } from './fixtures.ts';

const REFERENCE = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;
const reference = (text: string) => [...text.matchAll(REFERENCE)].map((m) => ({ type: m[1]!, text: `${m[0].replace(/\r\n/g, '\n')}\n` }));

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

test('pemBlocks finds exactly the blocks the BEGIN…END regex finds', () => {
  const pieces = ['-----BEGIN CERTIFICATE-----\n', '-----END CERTIFICATE-----', '-----BEGIN PRIVATE KEY-----\r\n', '-----END PRIVATE KEY-----\n', '-----BEGIN A-----', '-----END A-----', 'MIIB\n', '\n', '---', '-----', 'junk ', '-----BEGIN X Y-----\n', '-----END X Y-----', '--------END A-----', '-----END B-----END A-----', '-----END X-----BEGIN A-----\n', '-----BEGIN A-----BEGIN A-----\n', 'A-----', LEAF_CERT_PEM, LEAF_KEY_PEM];
  const random = seeded(42);
  for (let round = 0; round < 20000; round++) {
    let text = '';
    const length = 1 + Math.floor(random() * 12);
    for (let i = 0; i < length; i++) text += pieces[Math.floor(random() * pieces.length)]!;
    assert.deepEqual(pemBlocks(text), reference(text), JSON.stringify(text));
  }
});

test('pemBlocks over 1 MiB of unterminated BEGIN lines (figure printed)', () => {
  const text = '-----BEGIN A-----\n'.repeat(Math.floor((1 << 20) / 18));
  const started = performance.now();
  assert.deepEqual(pemBlocks(text), []);
  console.log(`pemBlocks over ${(text.length / 1024).toFixed(0)} KiB of unterminated BEGIN lines: ${(performance.now() - started).toFixed(1)} ms`);
});
