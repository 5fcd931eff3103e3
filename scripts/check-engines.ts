// The root `postinstall` (issue 30): npm checks every package's `engines` against the Node that runs npm — on a
// machine whose own Node is older than 24 that floods `npm ci` with EBADENGINE warnings for packages that will in
// fact run on the pinned Node 24 (the `node` package), and npm has no setting to compare with another version. So
// .npmrc sets loglevel=error, and this script makes the same check against the Node the project's scripts run on
// (npm puts node_modules/.bin, and so the pinned Node, first on a script's PATH): it reads `engines` from
// package-lock.json (lockfile v3 records them), checks the packages actually installed, and prints a warning in
// npm's words for each real mismatch. Node built-ins only: it must run on a half-finished install.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

// --- a subset of node-semver's range grammar, enough for `engines` (unit-tested against node-semver) -------------

type Version = readonly [number, number, number];
interface Comparator {
  readonly op: '>=' | '<' | '<=' | '>';
  readonly version: Version;
}

const PART = String.raw`(\d+|[xX*])`;
const PARTIAL = new RegExp(String.raw`^v?${PART}(?:\.${PART})?(?:\.${PART})?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$`);

/** Major/minor/patch of a partial version; a wildcard or a missing part ends it (`20.x` → [20]). */
function parsePartial(text: string): number[] | undefined {
  const m = PARTIAL.exec(text);
  if (!m) return undefined;
  const parts: number[] = [];
  for (const p of m.slice(1, 4)) {
    if (p === undefined || /^[xX*]$/.test(p)) break;
    parts.push(Number(p));
  }
  return parts;
}

function full(parts: readonly number[]): Version {
  return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0];
}

/** The version just past every version a partial names: 20 → 21.0.0, 20.1 → 20.2.0. */
function pastPartial(parts: readonly number[]): Version {
  if (parts.length === 1) return [parts[0]! + 1, 0, 0];
  return [parts[0]!, parts[1]! + 1, 0];
}

/** One comparator token (`>=20`, `^22.13`, `~1.2`, `20.x`, `*`) as plain comparators; undefined if unreadable. */
function desugar(token: string): Comparator[] | undefined {
  const m = /^(<=|>=|<|>|=|\^|~>?)?(.*)$/.exec(token)!;
  const op = m[1] ?? '=';
  const parts = parsePartial(m[2]!);
  if (!parts) return undefined;
  const complete = parts.length === 3;
  if (parts.length === 0) return op === '<' || op === '>' ? [{ op: '<', version: [0, 0, 0] }] : [];
  switch (op) {
    case '>=':
      return [{ op: '>=', version: full(parts) }];
    case '>':
      return [complete ? { op: '>', version: full(parts) } : { op: '>=', version: pastPartial(parts) }];
    case '<':
      return [{ op: '<', version: full(parts) }];
    case '<=':
      return [complete ? { op: '<=', version: full(parts) } : { op: '<', version: pastPartial(parts) }];
    case '^': {
      const [major, minor = 0, patch = 0] = parts;
      const upper: Version =
        major! > 0 || parts.length === 1 ? [major! + 1, 0, 0] : minor > 0 || parts.length === 2 ? [0, minor + 1, 0] : [0, 0, patch + 1];
      return [{ op: '>=', version: full(parts) }, { op: '<', version: upper }];
    }
    case '~':
    case '~>':
      return [{ op: '>=', version: full(parts) }, { op: '<', version: pastPartial(parts.slice(0, 2)) }];
    default: // '=' or a bare version
      return complete
        ? [{ op: '>=', version: full(parts) }, { op: '<=', version: full(parts) }]
        : [{ op: '>=', version: full(parts) }, { op: '<', version: pastPartial(parts) }];
  }
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

function holds(version: Version, c: Comparator): boolean {
  const d = compare(version, c.version);
  return c.op === '>=' ? d >= 0 : c.op === '>' ? d > 0 : c.op === '<' ? d < 0 : d <= 0;
}

/**
 * Whether a release version (`v24.21.0`) satisfies an `engines` range, as node-semver decides it; undefined when the
 * range cannot be read (npm then warns too: an unreadable range satisfies nothing).
 */
export function satisfies(version: string, range: string): boolean | undefined {
  const parts = parsePartial(version.trim());
  if (!parts || parts.length !== 3) return undefined;
  const v = full(parts);
  let readable = true;
  const anySet = range.split('||').some((alternative) => {
    // Glue an operator to its version (`>= 0.4` → `>=0.4`), then read a hyphen range or a list of comparators.
    const set = alternative.trim().replace(/(<=|>=|<|>|=|\^|~>?)\s+/g, '$1');
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(set);
    let comparators: Comparator[] | undefined = [];
    if (hyphen) {
      const from = parsePartial(hyphen[1]!);
      const to = parsePartial(hyphen[2]!);
      if (!from || !to) comparators = undefined;
      else {
        if (from.length > 0) comparators.push({ op: '>=', version: full(from) });
        if (to.length === 3) comparators.push({ op: '<=', version: full(to) });
        else if (to.length > 0) comparators.push({ op: '<', version: pastPartial(to) });
      }
    } else {
      for (const token of set.split(/\s+/).filter((t) => t !== '')) {
        const found = desugar(token);
        if (!found) {
          comparators = undefined;
          break;
        }
        comparators.push(...found);
      }
    }
    if (!comparators) {
      readable = false;
      return false;
    }
    return comparators.every((c) => holds(v, c));
  });
  return anySet ? true : readable ? false : undefined;
}

// --- the check --------------------------------------------------------------------------------------------------

interface LockEntry {
  readonly name?: string;
  readonly version?: string;
  readonly link?: boolean;
  readonly engines?: Record<string, string> | readonly string[];
}
export interface Lockfile {
  readonly name?: string;
  readonly version?: string;
  readonly packages?: Record<string, LockEntry>;
}
export interface EngineMismatch {
  /** The entry's path in the lockfile (`node_modules/a/node_modules/b`; '' is the project itself). */
  readonly path: string;
  /** name@version, as npm names a package in its warning. */
  readonly id: string;
  readonly engine: 'node' | 'npm';
  readonly required: string;
  readonly current: string;
}

/** The name a lockfile path installs (`node_modules/@scope/a/node_modules/b` → b). */
function nameAt(path: string): string {
  const i = path.lastIndexOf('node_modules/');
  return i < 0 ? path : path.slice(i + 'node_modules/'.length);
}

/**
 * Every installed package whose `engines` the given Node (and npm, when known) does not satisfy — npm's own
 * EBADENGINE check (npm-install-checks), but against the Node the project runs on. `isInstalled` says which lockfile
 * paths are on disk (an optional package for another platform, or dev packages under --omit=dev, are not).
 */
export function engineMismatches(
  lock: Lockfile,
  current: { readonly node: string; readonly npm?: string | undefined },
  isInstalled: (path: string) => boolean = () => true,
): EngineMismatch[] {
  const out: EngineMismatch[] = [];
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    // npm reads only the object form; the old array form (["node >= 0.4"]) is ignored by npm, and so here.
    if (entry.link || !entry.engines || Array.isArray(entry.engines)) continue;
    if (path !== '' && !isInstalled(path)) continue;
    const engines = entry.engines as Record<string, string>;
    const id = `${entry.name ?? (path === '' ? lock.name : nameAt(path))}@${entry.version ?? (path === '' ? lock.version : '')}`;
    for (const engine of ['node', 'npm'] as const) {
      const required = engines[engine];
      const version = current[engine];
      if (typeof required !== 'string' || version === undefined) continue;
      if (satisfies(version, required) !== true) out.push({ path, id, engine, required, current: version });
    }
  }
  return out;
}

/** npm's own words, so a search for EBADENGINE finds these as it finds npm's. */
export function formatMismatch(m: EngineMismatch): string {
  const where = m.path === '' ? 'this project' : m.path;
  const runs = m.engine === 'node' ? "the Node this project's scripts run on" : 'the npm running this install';
  return `npm warn EBADENGINE Unsupported engine: ${m.id} (${where}) requires ${m.engine} ${JSON.stringify(m.required)}; ${runs} is ${m.current}`;
}

/** The npm version from npm's user agent (`npm/11.19.1 node/v20.20.2 linux x64 …`), when npm runs this script. */
export function npmVersionFrom(userAgent: string | undefined): string | undefined {
  return /^npm\/(\S+)/.exec(userAgent ?? '')?.[1];
}

function main(): void {
  const root = resolve(process.argv[2] ?? process.cwd());
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lockfile;
  const mismatches = engineMismatches(
    lock,
    { node: process.version, npm: npmVersionFrom(process.env['npm_config_user_agent']) },
    (path) => existsSync(join(root, path, 'package.json')),
  );
  for (const m of mismatches) process.stderr.write(`${formatMismatch(m)}\n`);
  // A warning, not a failure, as npm's own check with engine-strict=false (.npmrc).
}

if (import.meta.main) main();
