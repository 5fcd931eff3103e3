// Side by side with External Secrets Operator v2.9.0 itself: a generated corpus (test/eso-parity/corpus.ts) of
// ExternalSecrets, each with its own fake store of identical contents, applied to both operators on one private
// control plane; then the Secrets each wrote are compared byte for byte (data, type, labels, annotations — minus each
// operator's own bookkeeping keys). Prints identical / documented-difference / different counts and every difference.
//   node test/eso-parity/side-by-side.ts [--n=240] [--seed=1] [--eso-dir=DIR] [--out=FILE]
// ESO is built by ../shared/peers/build-eso.sh (its fake provider only; ~6 min cold) into --eso-dir, default
// .cache/peers. Needs kubectl on PATH (as the side-by-side benchmark does). About 2 minutes for 240 cases on 2 cores.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster } from '../support/cluster.ts';
import { generateCorpus, type CorpusCase } from './corpus.ts';
import { compileGoRegexp } from '../../src/util/go-regexp.ts';
import { convertKey } from '../../src/util/key-conversion.ts';
import { SECRET_KEY_PATTERN } from '../../src/api/external-secret.ts';

const { values: args } = parseArgs({
  options: { n: { type: 'string', default: '240' }, seed: { type: 'string', default: '1' }, 'eso-dir': { type: 'string' }, out: { type: 'string' } },
});
const project = resolve(new URL('../..', import.meta.url).pathname);
const n = Number(args.n);
const seed = Number(args.seed);
const esoDir = resolve(args['eso-dir'] ?? join(project, '.cache/peers'));
const work = mkdtempSync(join(tmpdir(), 'eso-side-by-side-'));
const say = (m: string) => process.stderr.write(`[side-by-side] ${m}\n`);

if (!existsSync(join(esoDir, 'run-eso.sh'))) {
  // The peers folder sits beside the project (../shared/peers), or at /work/shared/peers for a worktree.
  const script = [resolve(project, '../shared/peers/build-eso.sh'), '/work/shared/peers/build-eso.sh'].find((path) => existsSync(path));
  if (script === undefined) throw new Error('build-eso.sh not found in ../shared/peers: build ESO there and pass --eso-dir');
  say(`building ESO into ${esoDir} (${script})`);
  execFileSync('bash', [script, esoDir], { stdio: ['ignore', 'ignore', 'inherit'] });
}

type Json = Record<string, any>;
const OWN_KEYS = /^(reconcile\.external-secrets\.io\/|external-secrets\.io\/|secret-relay\.dev\/)/;

const cluster = await startCluster({ stateDir: join(work, 'cluster'), log: say });
const env = { ...process.env, KUBECONFIG: cluster.kubeconfigPath };
const kubectl = (...argv: string[]) => execFileSync('kubectl', argv, { env, maxBuffer: 256 << 20, encoding: 'utf8' });
const children: ChildProcess[] = [];

function stopAll(): Promise<void> {
  for (const child of children) child.kill('SIGTERM');
  return cluster.stop();
}
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));

try {
  say('installing CRDs (ESO, secret-relay)');
  kubectl('apply', '--server-side', '-f', join(esoDir, 'crds.yaml'));
  kubectl('apply', '--server-side', '-f', join(project, 'crds'));
  kubectl('wait', '--for=condition=Established', 'crd', '--all', '--timeout=120s');

  const corpus = generateCorpus(n, seed);
  const items: Json[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'secret-relay-system' } }];
  for (const c of corpus) {
    for (const [prefix, apiVersion] of [['eso', 'external-secrets.io/v1'], ['sr', 'secret-relay.dev/v1alpha1']] as const) {
      const namespace = `${prefix}-${c.id}`;
      items.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
      items.push({ apiVersion, kind: 'SecretStore', metadata: { name: `store-${c.id}`, namespace }, spec: { provider: { fake: { data: c.data } } } });
      items.push({
        apiVersion,
        kind: 'ExternalSecret',
        metadata: { name: 'es', namespace, ...(c.labels ? { labels: c.labels } : {}), ...(c.annotations ? { annotations: c.annotations } : {}) },
        spec: { secretStoreRef: { name: `store-${c.id}`, kind: 'SecretStore' }, ...c.spec },
      });
    }
  }
  const manifest = join(work, 'corpus.json');
  writeFileSync(manifest, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  say(`creating ${corpus.length} cases (${items.length} objects)`);
  kubectl('create', '-f', manifest);

  const log = (name: string) => openSync(join(work, `${name}.log`), 'w');
  children.push(
    spawn(join(esoDir, 'run-eso.sh'), [], {
      env: { ...env, ESO_CONCURRENT: '1', ESO_QPS: '1000', ESO_BURST: '2000', ESO_METRICS_ADDR: '127.0.0.1:0', ESO_LIVE_ADDR: '127.0.0.1:0' },
      stdio: ['ignore', log('eso'), log('eso')],
    }),
  );
  children.push(
    spawn(join(project, 'node_modules/.bin/node'), ['src/main.ts', '--leader-elect=false', '--namespace=secret-relay-system', '--metrics-port=0', '--metrics-host=127.0.0.1', '--concurrency=4', '--qps=1000', '--burst=2000'], {
      cwd: project,
      env,
      stdio: ['ignore', log('secret-relay'), log('secret-relay')],
    }),
  );
  say(`operators started (logs in ${work})`);

  const list = (resource: string): Json[] => (JSON.parse(kubectl('get', resource, '-A', '-o', 'json')) as { items: Json[] }).items;
  const readyOf = (es: Json) => (es['status']?.['conditions'] ?? []).find((c: Json) => c['type'] === 'Ready') as Json | undefined;
  let previous = '';
  let stable = 0;
  const deadline = Date.now() + 300_000;
  let snapshot: { eso: Json[]; sr: Json[]; secrets: Json[] } = { eso: [], sr: [], secrets: [] };
  for (;;) {
    snapshot = { eso: list('externalsecrets.external-secrets.io'), sr: list('externalsecrets.secret-relay.dev'), secrets: list('secrets') };
    const settled = [...snapshot.eso, ...snapshot.sr].every((es) => readyOf(es) !== undefined);
    const fingerprint = JSON.stringify([snapshot.secrets.map((s) => [s.metadata.namespace, s.metadata.name, s.data, s.metadata.labels, s.metadata.annotations]), [...snapshot.eso, ...snapshot.sr].map((es) => readyOf(es)?.['status'])]);
    stable = settled && fingerprint === previous ? stable + 1 : 0;
    previous = fingerprint;
    if (stable >= 3) break;
    if (Date.now() > deadline) {
      say('deadline reached before every ExternalSecret settled; comparing what there is');
      break;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }

  const secretOf = (namespace: string) => snapshot.secrets.find((s) => s.metadata.namespace === namespace && s.metadata.name === 'es');
  const esOf = (list: Json[], namespace: string) => list.find((es) => es.metadata.namespace === namespace);
  const comparable = (secret: Json | undefined) =>
    secret === undefined
      ? null
      : {
          type: secret.type,
          data: secret.data ?? {},
          labels: Object.fromEntries(Object.entries(secret.metadata.labels ?? {}).filter(([k]) => !OWN_KEYS.test(k))),
          annotations: Object.fromEntries(Object.entries(secret.metadata.annotations ?? {}).filter(([k]) => !OWN_KEYS.test(k))),
        };
  const sorted = (value: unknown): unknown =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, sorted(v)])) : value;

  const counts = { identical: 0, documented: 0, different: 0 };
  const differences: Json[] = [];
  for (const c of corpus) {
    const eso = comparable(secretOf(`eso-${c.id}`));
    const ours = comparable(secretOf(`sr-${c.id}`));
    if (JSON.stringify(sorted(eso)) === JSON.stringify(sorted(ours))) {
      counts.identical++;
      continue;
    }
    const esoReady = readyOf(esOf(snapshot.eso, `eso-${c.id}`) ?? {});
    const ourReady = readyOf(esOf(snapshot.sr, `sr-${c.id}`) ?? {});
    const documented = [...documentedReasons(c, esoReady, ourReady)];
    if (documented.length > 0) counts.documented++;
    else counts.different++;
    differences.push({ id: c.id, family: c.family, documented, spec: c.spec, eso, ours, esoReady: esoReady?.['message'], ourReady: ourReady?.['message'] });
  }
  const total = corpus.length;
  const pct = (x: number) => `${((100 * x) / total).toFixed(1)} %`;
  const report = {
    n: total,
    seed,
    identical: counts.identical,
    documentedDifference: counts.documented,
    different: counts.different,
    identicalOrDocumented: pct(counts.identical + counts.documented),
  };
  if (args.out) writeFileSync(args.out, JSON.stringify({ report, differences }, null, 2));
  for (const d of differences) {
    process.stdout.write(`${d.documented.length > 0 ? 'documented' : 'DIFFERENT '} ${d.id} ${d.family} ${JSON.stringify(d.spec)}\n  eso:  ${JSON.stringify(d.eso)} ${d.esoReady ?? ''}\n  ours: ${JSON.stringify(d.ours)} ${d.ourReady ?? ''}\n`);
  }
  process.stdout.write(
    `\n${total} cases (seed ${seed}): ${counts.identical} identical (${pct(counts.identical)}), ${counts.documented} documented differences, ` +
      `${counts.different} different — ${report.identicalOrDocumented} identical or documented\n`,
  );
} finally {
  await stopAll();
}

/** Why a differing case is one of the deliberate differences docs/eso-differences.md lists (empty: it is not). */
function* documentedReasons(c: CorpusCase, eso: Json | undefined, ours: Json | undefined): Generator<string> {
  yield* c.documented;
  const ourMessage = String(ours?.['message'] ?? '');
  const esoMessage = String(eso?.['message'] ?? '');
  if (/renames both|comes from both|both become key|two fake keys become/.test(ourMessage)) yield 'duplicate keys refused';
  if (/invalid secret keys|secret name collision/.test(esoMessage) || rewriteLeavesInvalidKey(c)) yield 'key conversion after rewrite';
}

/**
 * Does ESO's own pipeline (its fake's find converts names, then the rewrites run, with no conversion after them) leave
 * a key a Secret cannot hold? ESO then fails the ExternalSecret; secret-relay converts after rewriting (documented).
 */
function rewriteLeavesInvalidKey(c: CorpusCase): boolean {
  const entry = (c.spec['dataFrom'] as Json[] | undefined)?.[0];
  const steps = (entry?.['rewrite'] as Json[] | undefined) ?? [];
  const find = entry?.['find'] as Json | undefined;
  const extract = entry?.['extract'] as Json | undefined;
  if ((!find && !extract) || steps.length === 0) return false;
  let names: string[];
  try {
    if (find) {
      // ESO's fake find converts names before the rewrites.
      const strategy = find['conversionStrategy'] === 'Unicode' ? 'Unicode' : 'Default';
      const pattern = compileGoRegexp(String(find['name']['regexp']));
      names = c.data.filter((d) => pattern.test(d.key)).map((d) => convertKey(strategy, d.key));
    } else {
      const value = c.data.find((d) => d.key === extract!['key'])?.value ?? '{}';
      names = Object.keys(JSON.parse(value) as object);
    }
    const valid = new RegExp(SECRET_KEY_PATTERN);
    return names
      .map((name) => steps.reduce((key: string, step: Json) => compileGoRegexp(step['regexp']['source']).replaceAll(key, step['regexp']['target']), name))
      .some((key) => !valid.test(key));
  } catch {
    return false;
  }
}
