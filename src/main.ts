// The process entry. V8's heap is sized first (heap-tuning.ts), before the operator's ~1,100 modules are loaded:
// static imports are all loaded before any of them runs, and the young generation grown while loading them stays
// grown (33 MiB instead of 2 at idle), so the rest comes through a dynamic import.
import './heap-tuning.ts';
import { enableCompileCache } from 'node:module';

// Node's compile cache (type-stripped sources and V8 code, by content hash): the image fills it at build time and
// sets NODE_COMPILE_CACHE, so Node reads it before this file (src/warm-compile-cache.ts); elsewhere (npm start, the
// benchmarks) it is turned on here, in the OS's temporary directory, and a second start compiles nothing: idle RSS
// 124 → 112 MiB. A directory that cannot be written leaves it off, silently (NODE_DISABLE_COMPILE_CACHE=1: off).
enableCompileCache();

await import('./cli.ts');
