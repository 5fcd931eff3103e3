// A test file whose tests have all finished but whose process does not end holds the whole `npm test` run: the
// runner waits for every file's process. Seen once in CI (change-feeds-vault: all tests passed, then 17 min at 100 %
// CPU until stopped by hand; not reproduced since). This watchdog, started once a file's tests are done, waits
// LINGER_MS on a worker thread — which runs even while the main thread spins — and if the process is still there,
// prints what holds it (a CPU profile of its main thread, taken from outside; its active resources) and ends it
// with the code its tests gave. The linger is reported where the run's output is read, not silently cut short.
import { after } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/** From the first root `after` hook: the file's own after hooks (servers stopping) take seconds, not minutes. LINGER_WATCHDOG_MS sets it (its test). */
const LINGER_MS = Number(process.env['LINGER_WATCHDOG_MS'] ?? 300_000);

let registered = false;

/** Profiles a process from outside it (SIGUSR1 opens its inspector; the profiler samples even a spinning thread). */
const PROFILER = new URL('../../scripts/profile-process.ts', import.meta.url).pathname;

// Written with writeSync: a worker's process.stderr goes through the main thread, which may never take it.
const WATCHDOG = `
const { parentPort, workerData } = require('node:worker_threads');
const { spawnSync } = require('node:child_process');
const { writeSync } = require('node:fs');
setTimeout(() => {
  writeSync(2, '\\n# LINGER: ' + workerData.file + ' was still running ' + workerData.ms / 1000 + ' s after its tests ended; its main thread for 3 s, then it is ended:\\n');
  spawnSync(process.execPath, [workerData.profiler, String(process.pid), '3', workerData.out], { stdio: ['ignore', 2, 2], timeout: 60000 });
  parentPort.postMessage('end');
  // A main thread that never returns to its event loop cannot take the message.
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), 5000);
}, workerData.ms);
`;

/** Registers the watchdog for this test file (idempotent: many support modules may call it). */
export function watchForLinger(file = process.argv[1] ?? 'a test file'): void {
  if (registered) return;
  registered = true;
  after(() => {
    const worker = new Worker(WATCHDOG, { eval: true, workerData: { ms: LINGER_MS, file, profiler: PROFILER, out: join(tmpdir(), `linger-${process.pid}.cpuprofile`) } });
    worker.on('message', () => {
      process.stderr.write(`# active resources: ${process.getActiveResourcesInfo().join(', ')}\n`);
      process.exit(process.exitCode ?? 0);
    });
    // Never what keeps the process alive: a file that ends on its own ends as before (after the listener, which refs).
    worker.unref();
  });
}
