// The linger watchdog ends a test file's process that outlives its tests — one held by a handle and spinning on its
// event loop, and one whose main thread never returns to it — printing where the time goes; a file that ends on its
// own is not touched.
// (The profile names the JIT's inlining caller of a hot loop, not always the loop: the tests look for the profile.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const watchdog = new URL('../../support/linger-watchdog.ts', import.meta.url).pathname;

async function runFile(body: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; ms: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'linger-'));
  const file = join(dir, 'lingering.test.ts');
  writeFileSync(file, `import { test } from 'node:test';\nimport { watchForLinger } from ${JSON.stringify(watchdog)};\nwatchForLinger();\ntest('passes', () => {});\n${body}\n`);
  const started = Date.now();
  // As the runner starts a test file: its own process (NODE_TEST_CONTEXT would make it report to this one).
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(process.execPath, [file], { env: { ...env, LINGER_WATCHDOG_MS: '1000' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = (await new Promise((resolve) => child.on('close', (c, s) => resolve([c, s])))) as [number | null, NodeJS.Signals | null];
  clearTimeout(deadline);
  return { code, signal, stderr: stderr + stdout, ms: Date.now() - started };
}

test('a file held alive and spinning after its tests is ended with its tests\' exit code, its profile and resources printed', async () => {
  const run = await runFile(`import { after } from 'node:test';\nafter(() => { const spin = () => { for (let i = 0; i < 1e6; i++); setImmediate(spin); }; spin(); setInterval(() => {}, 1000); });`);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /LINGER: .*lingering\.test\.ts was still running 1 s after its tests ended/);
  assert.match(run.stderr, /self time by function/);
  assert.match(run.stderr, /# active resources: .*Immediate/);
});

test('a file whose main thread never returns to its event loop is killed, its profile printed', async () => {
  const run = await runFile(`import { after } from 'node:test';\nafter(() => { setTimeout(function stuck() { for (;;); }, 10); });`);
  assert.equal(run.signal ?? run.code, 'SIGKILL', run.stderr);
  assert.match(run.stderr, /LINGER: .*lingering\.test\.ts was still running/);
  assert.match(run.stderr, /self time by function/);
});

test('a file that ends on its own is not held by the watchdog', async () => {
  const run = await runFile('');
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /LINGER/);
});
