// Runs test/go-template-reference (Go's text/template with sprig v3 and ESO v2.9.0's pkcs12/PEM functions, the
// engine ESO's templates run on) over a batch of templates, so the migrate tests take their expected output from
// the original engine itself. Built by test/setup/install-go-template-reference.sh.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const binary = fileURLToPath(new URL('../../.cache/bin/go-template-reference', import.meta.url));

export interface GoTemplateCase {
  readonly template: string;
  /** The data values as text. */
  readonly data: Readonly<Record<string, string>>;
  /** Values that are not text, base64-encoded (decoded into the data by the program). */
  readonly data64?: Readonly<Record<string, string>>;
}

export interface GoTemplateAnswer {
  readonly ok: boolean;
  readonly output?: string;
  readonly error?: string;
}

/** One answer per case, in order. Throws naming the install script when the program is not built. */
export function goRender(cases: readonly GoTemplateCase[]): GoTemplateAnswer[] {
  if (!existsSync(binary)) throw new Error(`the Go template reference is not built (${binary}); run: bash test/setup/install-go-template-reference.sh`);
  const run = spawnSync(binary, [], { input: cases.map((c) => JSON.stringify(c)).join('\n') + '\n', encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`the Go template reference failed (${run.status}): ${run.stderr}`);
  const answers = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as GoTemplateAnswer);
  if (answers.length !== cases.length) throw new Error(`the Go template reference answered ${answers.length} of ${cases.length}`);
  return answers;
}
