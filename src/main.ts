// The process entry. V8's heap is sized first (heap-tuning.ts), before the operator's ~1,100 modules are loaded:
// static imports are all loaded before any of them runs, and the young generation grown while loading them stays
// grown (33 MiB instead of 2 at idle), so the rest comes through a dynamic import.
import './heap-tuning.ts';

await import('./cli.ts');
