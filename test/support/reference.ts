// Runs test/reference (Go's regexp and tidwall/gjson, as ESO v2.9.0 builds them) over a batch of requests, so a
// test's expected values come from the reference implementation itself. Built by test/setup/install-reference.sh.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const binary = fileURLToPath(new URL('../../.cache/bin/eso-reference', import.meta.url));

export type ReferenceRequest =
  | { op: 'regexp'; pattern: string; input: string; template: string }
  | { op: 'gjson'; json: string; path: string }
  | { op: 'extract'; json: string }
  | { op: 'decode'; strategy: string; input: string }
  | { op: 'merge'; merge: object; data: Record<string, string> };

export interface RegexpAnswer { ok: boolean; match?: boolean; replaced?: string }
export interface GjsonAnswer { exists: boolean; string: string }
export interface ExtractAnswer { ok: boolean; entries?: Record<string, string> }
export interface DecodeAnswer { ok: boolean; base64?: string }

/** One answer per request, in order. Throws naming the install script when the program is not built. */
export function askReference<T>(requests: readonly ReferenceRequest[]): T[] {
  if (!existsSync(binary)) {
    throw new Error(`the reference program is not built (${binary}); run: bash test/setup/install-reference.sh`);
  }
  const run = spawnSync(binary, [], { input: requests.map((r) => JSON.stringify(r)).join('\n') + '\n', encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`the reference program failed (${run.status}): ${run.stderr}`);
  const answers = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as T);
  if (answers.length !== requests.length) throw new Error(`the reference program answered ${answers.length} of ${requests.length} requests`);
  return answers;
}
