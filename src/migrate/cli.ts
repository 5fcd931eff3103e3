#!/usr/bin/env node
// `secret-relay migrate`: converts External Secrets Operator manifests to secret-relay's (convert.ts) and writes
// them — to stdout (default), in place (--write), or to another tree (--out DIR) — or only reports (--check).
// Files are written whole or not at all (a temp file renamed over the target). Exit 1 when anything was refused,
// 2 on a usage error. docs/migrating-from-eso.md describes it.
import { mkdir, readdir, readFile, rename, stat, writeFile, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { convertFiles, formatReport, summarize, type DocumentReport, type FileResult } from './convert.ts';
import { createTemplateEngine } from '../templates/engine.ts';

const USAGE = `usage: secret-relay migrate [--write | --out DIR | --check] [--adopt] [--json] [PATH ...]
  PATH      ESO manifests: files, directories (every .yaml/.yml below them) or - for stdin (the default)
  --write   rewrite the files in place
  --out DIR write the converted tree under DIR (paths relative to each directory given)
  --check   report only; write nothing
  --adopt   annotate converted ExternalSecrets with secret-relay.dev/adopt: "true" (take over ESO's Secrets)
  --json    the report as JSON (stdout with --write, --out or --check; else stderr, beside the YAML)
Without --write, --out or --check, the converted YAML goes to stdout and the report to stderr.
Exit status: 0 all converted, 1 something was refused, 2 usage error.`;

export interface Io {
  readonly stdin: () => Promise<string>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

interface Input {
  readonly file: string;
  /** Where it goes under --out. */
  readonly relative: string;
}

async function collect(path: string): Promise<Input[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [{ file: path, relative: basename(path) }];
  const found: Input[] = [];
  const walk = async (dir: string): Promise<void> => {
    const children = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const child of children) {
      if (child.name.startsWith('.')) continue;
      const full = join(dir, child.name);
      if (child.isDirectory()) await walk(full);
      else if (/\.ya?ml$/.test(child.name)) found.push({ file: full, relative: relative(path, full) });
    }
  };
  await walk(path);
  return found;
}

/** Writes all or nothing: a temp file beside the target, renamed over it. */
async function writeWhole(target: string, text: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const temp = join(dirname(target), `.${basename(target)}.migrate-${process.pid}.tmp`);
  try {
    await writeFile(temp, text, { flag: 'wx' });
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

function describe(err: unknown): string {
  const code = (err as { code?: string }).code;
  const path = (err as { path?: string }).path;
  return code && path ? `${code} ${path}` : err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

export async function runMigrate(argv: readonly string[], io: Io): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { write: { type: 'boolean' }, out: { type: 'string' }, check: { type: 'boolean' }, adopt: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    io.stderr(`${describe(err)}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = args;
  if (values.help) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  if ([values.write, values.out !== undefined, values.check].filter(Boolean).length > 1) {
    io.stderr(`--write, --out and --check exclude each other\n${USAGE}\n`);
    return 2;
  }
  const paths = positionals.length > 0 ? positionals : ['-'];
  if (values.write && paths.includes('-')) {
    io.stderr('--write rewrites files; stdin has none (use --out DIR, or no flag to print)\n');
    return 2;
  }
  const engine = createTemplateEngine();
  const options = { adopt: values.adopt === true };
  const read: { input: Input; text: string }[] = [];
  const ioErrors: DocumentReport[] = [];
  for (const path of paths) {
    let inputs: Input[];
    try {
      inputs = path === '-' ? [{ file: '-', relative: 'stdin.yaml' }] : await collect(path);
    } catch (err) {
      ioErrors.push({ file: path, line: 0, outcome: 'refused', reasons: [`cannot read: ${describe(err)}`], notes: [] });
      continue;
    }
    for (const input of inputs) {
      try {
        const text = input.file === '-' ? await io.stdin() : await readFile(input.file, 'utf8');
        read.push({ input, text });
      } catch (err) {
        ioErrors.push({ file: input.file, line: 0, outcome: 'refused', reasons: [`cannot read: ${describe(err)}`], notes: [] });
      }
    }
  }
  // All files at once: a templateFrom may read a ConfigMap of another file of the tree.
  const converted = convertFiles(read.map(({ input, text }) => ({ file: input.file === '-' ? '<stdin>' : input.file, text })), options, engine);
  const results: { input: Input; text: string; result: FileResult }[] = read.map((r, i) => ({ ...r, result: converted[i]! }));
  const printed: string[] = [];
  for (const { input, text, result } of results) {
    if (values.check || result.malformed) continue;
    try {
      if (values.write) {
        if (result.output !== undefined) await writeWhole(input.file, result.output);
      } else if (values.out !== undefined) {
        // The whole tree, so it can replace the original: files without ESO documents are copied as they are.
        await writeWhole(resolve(values.out, input.relative), result.output ?? text);
      } else printed.push(result.output ?? text);
    } catch (err) {
      ioErrors.push({ file: input.file, line: 0, outcome: 'refused', reasons: [`cannot write: ${describe(err)}; the file was left as it was`], notes: [] });
    }
  }
  const reports = [...results.flatMap((r) => r.result.reports), ...ioErrors];
  const toStdoutReport = values.json === true;
  if (printed.length > 0) io.stdout(printed.map((text, i) => `${i > 0 && !text.startsWith('---') ? '---\n' : ''}${text.endsWith('\n') || text === '' ? text : `${text}\n`}`).join(''));
  if (toStdoutReport) {
    const json = JSON.stringify({ documents: reports, summary: summarize(reports) }, null, 2) + '\n';
    if (printed.length > 0) io.stderr(json);
    else io.stdout(json);
  } else if (values.check || values.write || values.out !== undefined) io.stdout(formatReport(reports));
  else io.stderr(formatReport(reports));
  return summarize(reports).refused > 0 ? 1 : 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const COMMANDS = ['migrate'];

if (import.meta.main) {
  const [command, ...rest] = process.argv.slice(2);
  if (command === undefined || !COMMANDS.includes(command)) {
    process.stderr.write(`${command === undefined ? 'a command is needed' : `unknown command ${command}`}\n${USAGE}\n`);
    process.exitCode = 2;
  } else {
    const io: Io = { stdin: readStdin, stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };
    runMigrate(rest, io).then(
      (code) => (process.exitCode = code),
      (err: unknown) => {
        process.stderr.write(`secret-relay migrate failed: ${describe(err)}\n`);
        process.exitCode = 1;
      },
    );
  }
}
