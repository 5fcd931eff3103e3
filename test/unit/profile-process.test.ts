// scripts/profile-process.ts against a real process whose main thread never returns to its event loop (what a
// lingering, spinning test file or operator looks like): the profile names the function that spins.
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const SPIN = `
function hotStep(n) { let x = 0; for (let i = 0; i < n; i++) x += Math.sqrt(i); return x; }
function spinsForever() { for (;;) hotStep(1e6); }
setTimeout(spinsForever, 50);
process.stdout.write('spinning\\n');
`;

test('a process spinning in a loop is profiled without a restart: its hot function comes first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'profile-process-'));
  writeFileSync(join(dir, 'spin.mjs'), SPIN);
  // Port 0: the inspector opens wherever it can, as it must when 9229 is taken by another process.
  const child = spawn(process.execPath, ['--inspect-port=0', join(dir, 'spin.mjs')], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const out = join(dir, 'spin.cpuprofile');
    const { stdout } = await promisify(execFile)(process.execPath, ['scripts/profile-process.ts', String(child.pid), '1', out], { timeout: 60_000 });
    const top = stdout.split('\n').filter((line) => / ms {2}/.test(line)).slice(0, 2).join('\n');
    assert.match(top, /(spinsForever|hotStep) .*spin\.mjs/, stdout);
    assert.ok(existsSync(out));
    assert.ok((JSON.parse(readFileSync(out, 'utf8')) as { samples: unknown[] }).samples.length > 0);
  } finally {
    child.kill('SIGKILL');
  }
});

test('a process that is not node is refused (SIGUSR1 would end it)', async () => {
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await assert.rejects(promisify(execFile)(process.execPath, ['scripts/profile-process.ts', String(sleeper.pid), '1'], { timeout: 30_000 }), /is not node/);
    assert.equal(sleeper.exitCode, null, 'still running');
  } finally {
    sleeper.kill('SIGKILL');
  }
});
