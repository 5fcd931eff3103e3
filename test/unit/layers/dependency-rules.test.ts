// The layer rules (.dependency-cruiser.cjs) hold for src/, and they do fail on a wrong-way import: the same
// config run over a tiny tree where src/k8s imports a controller must report it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../../..');
// Run by this Node (24), not whatever `node` is first on PATH.
const depcruise = join(repoRoot, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs');
const config = join(repoRoot, '.dependency-cruiser.cjs');

async function cruise(cwd: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await execFileP(process.execPath, [depcruise, 'src', '--config', config, '--output-type', 'err'], { cwd });
    return { code: 0, output: stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'layers-'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', allowImportingTsExtensions: true, noEmit: true } }));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

test('src/ follows the layer rules', async () => {
  const { code, output } = await cruise(repoRoot);
  assert.equal(code, 0, output);
});

test('a wrong-way import (src/k8s → src/controller) fails the rules', async (t) => {
  const dir = tree({
    'src/controller/thing.ts': 'export const thing = 1;\n',
    'src/k8s/client.ts': "import { thing } from '../controller/thing.ts';\nexport const x = thing;\n",
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { code, output } = await cruise(dir);
  assert.notEqual(code, 0);
  assert.match(output, /k8s-not-up/);
  assert.match(output, /src\/k8s\/client\.ts → src\/controller\/thing\.ts/);
});

test('a type-only upward import and an import cycle fail too', async (t) => {
  const dir = tree({
    'src/controller/thing.ts': 'export interface Thing { a: number }\n',
    'src/util/clock.ts': "import type { Thing } from '../controller/thing.ts';\nexport type T = Thing;\n",
    'src/providers/x/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
    'src/providers/x/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { code, output } = await cruise(dir);
  assert.notEqual(code, 0);
  assert.match(output, /util-is-the-bottom/);
  assert.match(output, /no-circular/);
});
