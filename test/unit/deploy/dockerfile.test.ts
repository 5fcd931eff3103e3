// No Docker engine runs here, so the image is not built; these check what can be checked without one:
// the Dockerfile copies files that exist and that .dockerignore lets through, installs production
// dependencies only, runs as the numeric non-root user the chart expects, and starts the real entry point.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../../scripts/render-manifests.ts';
import { helmTemplate, splitDocuments } from '../../../scripts/render-manifests.ts';

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const instructions = dockerfile
  .split('\n')
  .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))
  .map((l) => l.trim());

/** Whether .dockerignore (a `*` then `!path` allow-list) lets a context path through. */
function inContext(path: string): boolean {
  const lines = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  assert.equal(lines[0], '*', '.dockerignore is an allow-list starting with *');
  return lines.slice(1).some((l) => l.startsWith('!') && (path === l.slice(1).replace(/\/$/, '') || path.startsWith(l.slice(1))));
}

test('every COPY from the build context names a file that exists and is not ignored', () => {
  const copies = instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from='));
  assert.ok(copies.length >= 2);
  for (const copy of copies) {
    const sources = copy.split(/\s+/).slice(1, -1);
    for (const source of sources) {
      assert.ok(existsSync(join(repoRoot, source)), `${copy}: ${source} does not exist`);
      assert.ok(inContext(source.replace(/\/$/, '')), `${copy}: ${source} is excluded by .dockerignore`);
    }
  }
});

test('multi-stage on Node 24, production dependencies from the lockfile, npm removed from the runtime', () => {
  const froms = instructions.filter((l) => l.startsWith('FROM '));
  assert.equal(froms.length, 2, 'a dependency stage and a runtime stage');
  assert.match(instructions.find((l) => l.startsWith('ARG NODE_IMAGE='))!, /^ARG NODE_IMAGE=node:24[-.]/);
  assert.ok(instructions.some((l) => /npm ci --omit=dev/.test(l)));
  assert.ok(instructions.some((l) => l.startsWith('RUN rm -rf') && l.includes('/usr/local/bin/npm')));
});

test('the image runs src/main.ts as the non-root user the chart runs it as', () => {
  const entry = instructions.find((l) => l.startsWith('ENTRYPOINT '))!;
  const argv = JSON.parse(entry.slice('ENTRYPOINT '.length)) as string[];
  assert.equal(argv[0], 'node');
  assert.ok(existsSync(join(repoRoot, argv[1]!)), `${argv[1]} does not exist`);
  assert.equal(argv[1], JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts.start.split(' ')[1]);

  const user = instructions.filter((l) => l.startsWith('USER ')).at(-1)!.slice('USER '.length);
  const [uid, gid] = user.split(':').map(Number);
  assert.ok(uid! > 0 && gid! > 0, `USER ${user} must be a numeric non-root uid:gid`);
  const deployment = splitDocuments(helmTemplate()).find((d) => d.kind === 'Deployment')!.object as unknown as {
    spec: { template: { spec: { securityContext: { runAsUser: number; runAsGroup: number } } } };
  };
  assert.deepEqual([deployment.spec.template.spec.securityContext.runAsUser, deployment.spec.template.spec.securityContext.runAsGroup], [uid, gid]);
});

test('the image\'s compile-cache step loads every module of src/ and the packages providers load on demand, as the image\'s user, before the user switch ends', () => {
  const warm = instructions.findIndex((l) => l === 'RUN node src/warm-compile-cache.ts');
  assert.ok(warm > instructions.findIndex((l) => l.startsWith('USER ')), 'filled by the user that runs the operator: the cache is per uid');
  assert.ok(instructions.includes('ENV NODE_COMPILE_CACHE=/app/.compile-cache'));
  // What the RUN step does: a module that cannot be imported alone (a side effect at load) would fail the image build.
  const dir = mkdtempSync(join(tmpdir(), 'compile-cache-'));
  try {
    const out = execFileSync(process.execPath, [join(repoRoot, 'src/warm-compile-cache.ts')], { env: { ...process.env, NODE_COMPILE_CACHE: dir }, encoding: 'utf8' });
    assert.match(out, /^compile cache filled in .*: \d{3,} modules of src\/, \d+ packages loaded on demand\n$/);
    const [versionDir] = readdirSync(dir);
    assert.ok(readdirSync(join(dir, versionDir!)).length > 1000, 'the sources and the packages they load');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
