// V8's heap sized for a small, long-lived process. Imported first by main.ts, so it runs before the rest of the
// operator is evaluated; V8 reads both flags at each garbage collection, so setting them at run time works.
//
// Why (npm run bench -- --count=1000, 2 cores, docs/benchmark.md "Memory"): on a machine with 16 GiB or more
// V8 lets the young generation grow to 2 × 64 MiB and the old generation grow 1.1–4× after each full GC, so
// the operator's RSS follows its allocation rate, not what it keeps: 377 MiB peak for ~80 MiB of live heap.
// Keeping the young generation at its initial size and the old generation's growth at 25% gave a 190 MiB
// peak (66 MiB heap in use at the end) for ~1 s more CPU per 1,000 first syncs (more frequent collections).
import { setFlagsFromString } from 'node:v8';

/** The flags, each with the value chosen; a flag the user gave node (command line or NODE_OPTIONS) wins. */
export const HEAP_FLAGS: Readonly<Record<string, string>> = {
  'semi-space-growth-factor': '1',
  'heap-growing-percent': '25',
};

/** The flags to set: HEAP_FLAGS less those node was started with. */
export function heapFlagsToSet(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = new Set([...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map((arg) => arg.replace(/^--/, '').replace(/_/g, '-').split('=')[0]));
  return Object.entries(HEAP_FLAGS)
    .filter(([flag]) => !given.has(flag))
    .map(([flag, value]) => `--${flag}=${value}`);
}

for (const flag of heapFlagsToSet(process.execArgv, process.env['NODE_OPTIONS'])) setFlagsFromString(flag);
