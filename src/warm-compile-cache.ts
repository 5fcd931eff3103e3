// Fills Node's compile cache (NODE_COMPILE_CACHE) at image build time: every module of src/ and every package the
// providers load on demand, type-stripped and compiled once, so the running operator neither loads the TypeScript
// stripper (its WebAssembly, ~17 MiB of RSS, in the main thread and again in each sandbox worker) nor compiles its
// ~1,100 modules. Idle RSS with no objects: 124 MiB without the cache, 97 MiB with it (docs/benchmark.md "Memory").
// The cache is read-only at run time (readOnlyRootFilesystem); Node reads it without writing when nothing changed.
//   NODE_COMPILE_CACHE=/app/.compile-cache node src/warm-compile-cache.ts
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getCompileCacheDir } from 'node:module';

const srcDir = import.meta.dirname;
/** Entry points: importing them would run the operator or the migrate command. */
const ENTRY_POINTS = new Set(['main.ts', 'cli.ts', 'warm-compile-cache.ts']);

if (getCompileCacheDir() === undefined) {
  process.stderr.write('warm-compile-cache: set NODE_COMPILE_CACHE to the directory to fill\n');
  process.exit(2);
}

const modules = (readdirSync(srcDir, { recursive: true, encoding: 'utf8' }) as string[]).filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts') && !ENTRY_POINTS.has(path)).sort();
const packages = new Set<string>();
for (const path of modules) {
  for (const match of readFileSync(join(srcDir, path), 'utf8').matchAll(/import\('([^.'][^']*)'\)/g)) packages.add(match[1]!);
}
// The entry points run as `--help` (which loads them and exits), so they are cached without starting anything.
execFileSync(process.execPath, [join(srcDir, 'main.ts'), '--help'], { stdio: 'ignore' });
let failed = 0;
for (const specifier of [...modules.map((path) => pathToFileURL(join(srcDir, path)).href), ...packages]) {
  try {
    await import(specifier);
  } catch (err) {
    // A worker's entry throws outside a worker thread, after it was compiled (and so cached).
    if (!specifier.endsWith('-worker.ts')) {
      failed++;
      process.stderr.write(`warm-compile-cache: ${specifier.startsWith('file:') ? relative(srcDir, new URL(specifier).pathname) : specifier}: ${(err as Error).message}\n`);
    }
  }
}
process.stdout.write(`compile cache filled in ${getCompileCacheDir()}: ${modules.length} modules of src/, ${packages.size} packages loaded on demand${failed ? `, ${failed} failed` : ''}\n`);
process.exitCode = failed ? 1 : 0;
