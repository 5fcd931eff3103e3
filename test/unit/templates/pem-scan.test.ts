// pemBlocks (pem_blocks, pem_certificates, pem_private_key) finds the blocks a lazy BEGIN…END regex finds, in time
// linear in the text: a value of unterminated BEGIN lines (anyone who can write to the provider can store one) made
// the regex scan to the end of the text once per BEGIN. Equivalence is checked against that regex on shaped random
// texts; the adversarial case prints its time (never asserted).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { decodePemBlocks, pemBlocks } from '../../../src/templates/pem.ts';
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

/**
 * Renders `template` on a worker as the main thread would (a PushSecret's rewrite transform renders there) and
 * waits for it with a deadline far above what a linear scan needs (milliseconds): past it the filter is stuck.
 */
async function renderWithDeadline(template: string, deadlineMs: number): Promise<{ outcome: string; ms: number }> {
  const worker = new Worker(new URL('./main-thread-render.ts', import.meta.url), { workerData: { template } });
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the render did not finish within ${deadlineMs} ms: a filter holds the thread`)), deadlineMs);
      worker.once('message', (message: { outcome: string; ms: number }) => {
        clearTimeout(timer);
        resolve(message);
      });
      worker.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  } finally {
    await worker.terminate();
  }
}

// A tenant builds the text inside the template (no remote value needed): a BEGIN line, then one line of 2^18
// spaces and a character. Go's pem getLine trims the trailing spaces of each line; a /[ \t]+$/ regex did that by
// trying every start of the run, quadratic in its length (40,000 spaces took 1.7 s, 2^18 over a minute).
test('filter_pem and cert_chain on a line of 256 Ki spaces and a character do not hold the thread (rewrite template)', async () => {
  for (const filter of ['filter_pem: "A"', 'cert_chain: "leaf"']) {
    const template = `{% capture begin %}-----BEGIN A-----\n{% endcapture %}{% assign s = " " %}{% for i in (1..18) %}{% assign s = s | append: s %}{% endfor %}{{ begin | append: s | append: "x" | ${filter} }}`;
    const { outcome, ms } = await renderWithDeadline(template, 10_000);
    console.log(`${filter} over a 256 Ki-space line: ${outcome} in ${ms.toFixed(1)} ms`);
  }
});

// 1024 BEGIN lines that hold a colon (Go reads them as headers of the BEGIN before) and no END: each BEGIN's header
// scan ran over all the lines after it, 1024 × the text.
test('a value of BEGIN lines read as headers costs one pass (figure printed)', () => {
  const text = `${`-----BEGIN A:${'y'.repeat(1000)}-----\n`.repeat(1024)}x\n`;
  const started = performance.now();
  const { blocks } = decodePemBlocks(text, 1024, 'filter_pem');
  assert.deepEqual(blocks, []);
  console.log(`decodePemBlocks over ${(text.length / 1024).toFixed(0)} KiB of header-like BEGIN lines: ${(performance.now() - started).toFixed(1)} ms`);
});
