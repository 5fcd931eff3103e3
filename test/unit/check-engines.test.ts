// scripts/check-engines.ts, the postinstall that replaces npm's EBADENGINE warnings (hidden by loglevel=error in
// .npmrc, issue 30): quiet for what the pinned Node 24 runs, loud for a package it cannot run, and reading ranges
// exactly as node-semver (npm's own reader) does.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { engineMismatches, npmVersionFrom, satisfies, type Lockfile } from '../../scripts/check-engines.ts';

const root = join(import.meta.dirname, '../..');
const script = join(root, 'scripts/check-engines.ts');
/** A fresh, editable copy of the project's package-lock.json. */
const lockfile = (): { packages: Record<string, Record<string, unknown>> } =>
  JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
const pinnedNode = `v${(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['node']}`;

test('reads every engines range in the lockfile (and the rest of the grammar) as node-semver does', () => {
  // node-semver is what npm itself uses; it is in the install (a dependency of several dev tools), not in the script.
  const semver = createRequire(join(root, 'package.json'))('semver') as { satisfies(v: string, r: string, o: object): boolean };
  const ranges = new Set<string>();
  for (const entry of Object.values(lockfile().packages)) {
    const engines = entry['engines'];
    if (engines && !Array.isArray(engines)) for (const r of Object.values(engines as Record<string, string>)) ranges.add(r);
  }
  assert.ok(ranges.size > 50, `the lockfile has many distinct ranges (${ranges.size})`);
  for (const r of ['1.2 - 2.3', '1 - 2', '1.2.3 - 2.3.4', '~1.2.3', '~1', '~>1.2', '^0.0.3', '^0.1.2', '^0', '^0.0', '<*', '>*', '', 'x',
    '=20.1.2', '20.1.2', '20', '<=20', '<20.1', '>20.1', '>20.1.2', '>=14.0.0-rc.1', '<24.0.0-0', '^22||^24||>=26', 'not a range', '>=a'])
    ranges.add(r);
  const versions: string[] = [];
  for (const major of [0, 1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27])
    for (const minor of [0, 1, 2, 3, 4, 6, 8, 9, 10, 12, 13, 16, 17, 19, 20, 21])
      for (const patch of [0, 1, 2, 3, 4, 10]) versions.push(`v${major}.${minor}.${patch}`);
  const differences: string[] = [];
  for (const range of ranges)
    for (const version of versions) {
      let expected: boolean;
      try {
        expected = semver.satisfies(version, range, { includePrerelease: true }); // npm-install-checks' options
      } catch {
        expected = false;
      }
      if ((satisfies(version, range) === true) !== expected) differences.push(`${version} ${JSON.stringify(range)}: semver says ${expected}`);
    }
  assert.deepEqual(differences.slice(0, 10), []);
  assert.equal(satisfies('v24.21.0', 'not a range'), undefined, 'an unreadable range is told apart');
});

test('the pinned Node satisfies every installed package: a clean install prints no EBADENGINE', () => {
  assert.deepEqual(engineMismatches(lockfile() as Lockfile, { node: pinnedNode, npm: '11.19.1' }), []);
});

test("on the machine's own Node 20 the same check finds what npm warned about, the project itself included", () => {
  const found = engineMismatches(lockfile() as Lockfile, { node: 'v20.20.2' });
  const ids = new Set(found.map((m) => m.id));
  assert.ok(ids.has('secret-relay@0.1.0'), 'the project needs Node >= 24');
  assert.ok(ids.size > 20, `npm 11 on Node 20 warns for 29 packages; found ${ids.size}`);
  assert.ok(found.every((m) => m.engine === 'node' && m.current === 'v20.20.2'));
});

test('a package the pinned Node cannot run (or the npm cannot install) is still reported', () => {
  const lock = lockfile();
  lock.packages['node_modules/yaml']!['engines'] = { node: '>=26' };
  lock.packages['node_modules/zod']!['engines'] = { npm: '>=99' };
  lock.packages['node_modules/pino']!['engines'] = ['node >= 99']; // the old array form: npm ignores it, and so do we
  const found = engineMismatches(lock as Lockfile, { node: pinnedNode, npm: '11.19.1' });
  assert.deepEqual(
    found.map((m) => [m.id.replace(/@.*/, ''), m.engine, m.required, m.current]),
    [['yaml', 'node', '>=26', pinnedNode], ['zod', 'npm', '>=99', '11.19.1']],
  );
  assert.deepEqual(engineMismatches(lock as Lockfile, { node: pinnedNode }, (path) => path !== 'node_modules/yaml'), [], 'only installed packages count; npm unknown → no npm check');
});

test('the postinstall prints npm-style warnings for an edited lockfile, for installed packages only, and exits 0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'check-engines-'));
  try {
    const lock = lockfile();
    lock.packages['node_modules/yaml']!['engines'] = { node: '>=26' };
    lock.packages['node_modules/zod']!['engines'] = { node: '>=26' }; // not installed in dir: npm would not warn either
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock));
    mkdirSync(join(dir, 'node_modules/yaml'), { recursive: true });
    writeFileSync(join(dir, 'node_modules/yaml/package.json'), '{}');
    const run = (cwdLock: string) =>
      spawnSync(process.execPath, [script, cwdLock], { encoding: 'utf8', env: { ...process.env, npm_config_user_agent: 'npm/11.19.1 node/v20.20.2 linux x64 workspaces/false' } });
    const result = run(dir);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, '');
    const yamlVersion = lock.packages['node_modules/yaml']!['version'] as string;
    assert.equal(
      result.stderr,
      `npm warn EBADENGINE Unsupported engine: yaml@${yamlVersion} (node_modules/yaml) requires node ">=26"; the Node this project's scripts run on is ${process.version}\n`,
    );
    // And the real tree, as `npm ci` leaves it: silent (node_modules here is the project's own install).
    const clean = run(root);
    assert.equal(clean.status, 0, clean.stderr);
    if (process.version === pinnedNode) assert.equal(clean.stderr, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("npm's version is read from its user agent", () => {
  assert.equal(npmVersionFrom('npm/11.19.1 node/v20.20.2 linux x64 workspaces/false'), '11.19.1');
  assert.equal(npmVersionFrom(undefined), undefined);
  assert.equal(npmVersionFrom('yarn/1.22.22 npm/? node/v24.21.0'), undefined);
});
