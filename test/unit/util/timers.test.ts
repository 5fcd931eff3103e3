// The system timers past Node's 2^31-1 ms limit: a longer setTimeout fires after 1 ms (with a TimeoutOverflowWarning),
// and a work queue re-arming its timer for a key due in 41 days (refreshInterval: 1000h) woke every millisecond.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { delay, MAX_TIMER_MS, systemTimers } from '../../../src/util/timers.ts';
import { WorkQueue } from '../../../src/controller/runtime/work-queue.ts';

const DAY_MS = 24 * 3600_000;

/** Counts the process warnings (TimeoutOverflowWarning) emitted while `run` runs. */
async function warningsDuring(run: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const onWarning = (warning: Error) => seen.push(warning.name);
  process.on('warning', onWarning);
  try {
    await run();
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

test('a timer longer than 2^31-1 ms waits (it does not fire after 1 ms), and can be cleared', async () => {
  let fired = 0;
  const warnings = await warningsDuring(async () => {
    const handle = systemTimers.setTimeout(() => fired++, 41 * DAY_MS);
    await delay(systemTimers, 50);
    systemTimers.clearTimeout(handle);
  });
  assert.equal(fired, 0);
  assert.deepEqual(warnings, []);
  assert.ok(41 * DAY_MS > MAX_TIMER_MS);
});

test('short, zero and negative delays fire as before; a cleared one does not', async () => {
  const fired: string[] = [];
  systemTimers.setTimeout(() => fired.push('0 ms'), 0);
  systemTimers.setTimeout(() => fired.push('-5 ms'), -5);
  systemTimers.clearTimeout(systemTimers.setTimeout(() => fired.push('cleared'), 5));
  // Timers fire in the order they are due: once the 10 ms one has, the cleared 5 ms one would have too.
  await new Promise<void>((resolve) => systemTimers.setTimeout(() => (fired.push('10 ms'), resolve()), 10));
  assert.deepEqual(fired.sort(), ['-5 ms', '0 ms', '10 ms']);
});

test('a work queue holding a key due in 41 days does not wake every millisecond', async () => {
  const queue = new WorkQueue({ rateLimit: { qps: 50, burst: 100 } });
  const warnings = await warningsDuring(async () => {
    queue.addAfter('team/app', 41 * DAY_MS);
    const cpu = process.cpuUsage();
    await delay(systemTimers, 200);
    const used = process.cpuUsage(cpu);
    console.log(`CPU while idle with a key due in 41 days: ${((used.user + used.system) / 1000).toFixed(1)} ms in 200 ms`);
  });
  assert.deepEqual(warnings, [], 'no TimeoutOverflowWarning: the timer was not armed past the limit');
  assert.equal(queue.len(), 0, 'the key is not handed out early');
  queue.shutDown();
});
