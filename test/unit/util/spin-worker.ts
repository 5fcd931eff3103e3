// A worker for the pool's tests: busy-spins for `spinMs` (CPU work no timer can interrupt), then answers its `id`;
// `fail` makes the task fail; `allocateMb` allocates until the heap limit stops it.
import { parentPort, workerData } from 'node:worker_threads';
import { serveTasks } from '../../../src/util/worker-pool.ts';

// `workerData.loadMs`: the module takes that long to load (a worker starting on a loaded machine).
const loadUntil = performance.now() + ((workerData as { loadMs?: number } | undefined)?.loadMs ?? 0);
while (performance.now() < loadUntil) {
  // spin
}

serveTasks(parentPort!, (task) => {
  const { id, spinMs = 0, fail, allocate } = task as { id: string; spinMs?: number; fail?: boolean; allocate?: boolean };
  const until = performance.now() + spinMs;
  while (performance.now() < until) {
    // spin
  }
  if (fail) throw new RangeError(`task ${id} failed`);
  if (allocate) {
    const hold: string[][] = [];
    for (;;) hold.push(Array.from({ length: 1e5 }, (_, i) => `${id}-${i}`));
  }
  return id;
});
