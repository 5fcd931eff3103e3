// Speed of our Go-regexp engine (re2js behind src/util/go-regexp.ts) on find/rewrite-shaped work, and of Google's
// re2-wasm beside it when it is installed (it is not a dependency: `npm install --no-save re2-wasm@1.0.2` to compare).
//   node test/eso-parity/bench-regexp.ts
// Prints ms per pass over 20,000 keys (median of 5) and the RSS the engine's import costs.
import { createRequire } from 'node:module';

const keys = Array.from({ length: 20_000 }, (_, i) => `app/${i % 7 ? 'prod' : 'dev'}/db-${i}-password`);
const source = '^app/(?i)PROD/(.*)$';

function median(run: () => number): { ms: number; result: number } {
  const times: number[] = [];
  let result = 0;
  for (let i = 0; i < 5; i++) {
    const started = process.hrtime.bigint();
    result = run();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return { ms: times.sort((a, b) => a - b)[2]!, result };
}

const before = process.memoryUsage().rss;
const { compileGoRegexp } = await import('../../src/util/go-regexp.ts');
const ours = compileGoRegexp(source);
const importCost = (process.memoryUsage().rss - before) / 1e6;
const match = median(() => keys.filter((k) => ours.test(k)).length);
const replace = median(() => keys.map((k) => ours.replaceAll(k, 'x-$1')).length);
console.log(`re2js (ours): match ${match.ms.toFixed(1)} ms, ReplaceAll ${replace.ms.toFixed(1)} ms per ${keys.length} keys (${match.result} matched); import +${importCost.toFixed(1)} MB RSS`);

try {
  const { RE2 } = createRequire(import.meta.url)('re2-wasm') as { RE2: new (source: string, flags: string) => RegExp };
  const wasm = new RE2(source, 'u');
  const wasmGlobal = new RE2(source, 'gu');
  const wasmMatch = median(() => keys.filter((k) => wasm.test(k)).length);
  const wasmReplace = median(() => keys.map((k) => k.replace(wasmGlobal, 'x-$1')).length);
  console.log(`re2-wasm:     match ${wasmMatch.ms.toFixed(1)} ms, replace ${wasmReplace.ms.toFixed(1)} ms per ${keys.length} keys (${wasmMatch.result} matched)`);
} catch {
  console.log('re2-wasm not installed (npm install --no-save re2-wasm@1.0.2 to compare)');
}
