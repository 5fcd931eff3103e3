// `node test/bench/tenant-isolation.ts`: a normal namespace's rotation latency with and without a hostile neighbour
// (issue 26). The operator runs as its own process (leader election on), the normal namespace holds N templated
// ExternalSecrets on a refresh interval; each rotation patches the store's value and times until every Secret holds
// it. Then a hostile namespace arrives — a PKCS#12 bundle asking for 0x7fffffff iterations, the gjson wildcard bomb,
// a template looping to its limits, and M ExternalSecrets at a 1 s interval — and the rotations are timed again.
// Also printed: the operator's peak RSS, whether the Lease ever changed hands, and what the hostile objects say.
// A measurement, never an assertion.
//
//   node test/bench/tenant-isolation.ts [--normal=20] [--hostile=2000] [--rotations=3] [--operator-args='…']
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, repoRoot, type LocalCluster } from '../support/cluster.ts';
import { adminKube, installCrds, ensureNamespace, patchObject, API_GROUP, API_VERSION, Plural } from '../support/operator.ts';
import type { TestKube } from '../support/kube.ts';
import { EC_CHAIN_P12_BASE64 } from '../unit/templates/fixtures.ts';
import { gjsonBomb, LOOPING_TEMPLATE, pkcs12Bomb } from '../support/hostile-inputs.ts';

const args = new Map(process.argv.slice(2).map((a) => {
  const m = /^--([a-z-]+)=(.*)$/.exec(a);
  if (!m) throw new Error(`unexpected argument '${a}'`);
  return [m[1]!, m[2]!] as const;
}));
const NORMAL = Number(args.get('normal') ?? 20);
const HOSTILE = Number(args.get('hostile') ?? 2000);
const ROTATIONS = Number(args.get('rotations') ?? 3);
const OPERATOR_ARGS = (args.get('operator-args') ?? '').split(' ').filter((a) => a !== '');
const REFRESH = '10s';
const OPERATOR_NAMESPACE = 'secret-relay-system';
const LEASE = 'secret-relay-leader';

const log = (message: string) => process.stderr.write(`[isolation ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function pool(n: number, limit: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, n) }, async () => {
    for (let i = next++; i < n; i = next++) await task(i);
  }));
}

async function retrying<T>(fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (attempt >= attempts || (code !== undefined && code < 500 && code !== 429)) throw err;
      await sleep(100 * 2 ** attempt);
    }
  }
}

async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean>, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

function rssKb(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const store = (data: { key: string; value: string }[]) => ({ apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'SecretStore', metadata: { name: 'store' }, spec: { provider: { fake: { data } } } });
const es = (name: string, spec: Record<string, unknown>) => ({ apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'ExternalSecret', metadata: { name }, spec: { secretStoreRef: { name: 'store' }, ...spec } });

async function create(kube: TestKube, namespace: string, plural: string, body: Record<string, unknown>): Promise<void> {
  await retrying(() => kube.custom.createNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural, body }));
}

/** Patches the normal store's value and returns the ms until every normal Secret holds it (and each rotation's median). */
async function rotate(kube: TestKube, round: string): Promise<{ all: number; median: number }> {
  const value = `v-${round}-${Date.now()}`;
  const started = Date.now();
  await patchObject(kube, Plural.SecretStore, 'store', { spec: { provider: { fake: { data: [{ key: 'db', value: JSON.stringify({ password: value }) }] } } } }, 'normal');
  const reached = new Map<string, number>();
  await waitUntil(`${NORMAL} Secrets holding rotation ${round}`, 10 * 60_000, async () => {
    const list = await kube.core.listNamespacedSecret({ namespace: 'normal' });
    for (const secret of list.items) {
      const name = secret.metadata?.name ?? '';
      if (reached.has(name)) continue;
      if (Buffer.from(secret.data?.['password'] ?? '', 'base64').toString() === value.toUpperCase()) reached.set(name, Date.now() - started);
    }
    return reached.size >= NORMAL;
  }, 200);
  const times = [...reached.values()].sort((a, b) => a - b);
  return { all: times.at(-1)!, median: times[Math.floor(times.length / 2)]! };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'secret-relay-isolation-'));
  let cluster: LocalCluster | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  let kube: TestKube | undefined;
  try {
    cluster = await startCluster({ log });
    kube = adminKube(cluster.kubeconfigPath);
    await installCrds(kube);
    for (const ns of ['normal', 'hostile', OPERATOR_NAMESPACE]) await ensureNamespace(kube, ns);
    await create(kube, 'normal', Plural.SecretStore, store([{ key: 'db', value: JSON.stringify({ password: 'initial' }) }]));
    await pool(NORMAL, 16, (i) => create(kube!, 'normal', Plural.ExternalSecret, es(`app-${i}`, {
      refreshInterval: REFRESH,
      data: [{ secretKey: 'password', remoteRef: { key: 'db', property: 'password' } }],
      target: { template: { data: { password: '{{ password | upcase }}' } } },
    })));

    const logPath = join(dir, 'operator.log');
    const out = openSync(logPath, 'a');
    child = spawn(process.execPath, [
      join(repoRoot, 'src/main.ts'), `--kubeconfig=${cluster.kubeconfigPath}`, '--leader-elect=true', `--lease-name=${LEASE}`, '--identity=bench-leader',
      '--metrics-port=0', '--metrics-host=127.0.0.1', `--namespace=${OPERATOR_NAMESPACE}`, '--log-level=info', ...OPERATOR_ARGS,
    ], { cwd: repoRoot, stdio: ['ignore', out, out], env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } });
    closeSync(out);
    const pid = child.pid!;
    let peakKb = 0;
    const holders = new Set<string>();
    const sampler = setInterval(() => {
      peakKb = Math.max(peakKb, rssKb(pid));
      void kube!.coordination.readNamespacedLease({ namespace: OPERATOR_NAMESPACE, name: LEASE }).then((l) => holders.add(l.spec?.holderIdentity ?? '(none)'), () => {});
    }, 250);

    await waitUntil('the normal namespace synced', 5 * 60_000, async () => (await kube!.core.listNamespacedSecret({ namespace: 'normal' })).items.length >= NORMAL);
    const quiet: { all: number; median: number }[] = [];
    for (let r = 0; r < ROTATIONS; r++) quiet.push(await rotate(kube, `quiet-${r}`));
    const quietPeak = peakKb;
    log(`without a hostile namespace: ${quiet.map((q) => `${q.all} ms`).join(', ')}`);

    log(`creating the hostile namespace: 3 bombs and ${HOSTILE} ExternalSecrets at refreshInterval 1s`);
    const bomb = gjsonBomb(20, 6000);
    const p12 = Buffer.from(pkcs12Bomb(new Uint8Array(Buffer.from(EC_CHAIN_P12_BASE64, 'base64')))).toString('base64');
    await create(kube, 'hostile', Plural.SecretStore, store([{ key: 'keystore', value: JSON.stringify({ p12, password: 'p12-pass' }) }, { key: 'wide', value: bomb.json }, { key: 'plain', value: 'x' }]));
    await create(kube, 'hostile', Plural.ExternalSecret, es('p12-bomb', { refreshInterval: '1s', dataFrom: [{ extract: { key: 'keystore' } }], target: { template: { data: { k: '{{ p12 | base64_decode | pkcs12_private_key: password }}' } } } }));
    await create(kube, 'hostile', Plural.ExternalSecret, es('gjson-bomb', { refreshInterval: '1s', data: [{ secretKey: 'v', remoteRef: { key: 'wide', property: bomb.property } }] }));
    await create(kube, 'hostile', Plural.ExternalSecret, es('loop', { refreshInterval: '1s', data: [{ secretKey: 'p', remoteRef: { key: 'plain' } }], target: { template: { data: { v: LOOPING_TEMPLATE } } } }));
    await pool(HOSTILE, 32, (i) => create(kube!, 'hostile', Plural.ExternalSecret, es(`spam-${i}`, { refreshInterval: '1s', data: [{ secretKey: 'v', remoteRef: { key: 'plain' } }] })));

    const hostileStart = Date.now();
    const loud: { all: number; median: number }[] = [];
    for (let r = 0; r < ROTATIONS; r++) loud.push(await rotate(kube, `hostile-${r}`));
    const conditions: Record<string, string> = {};
    for (const name of ['p12-bomb', 'gjson-bomb', 'loop']) {
      const obj = (await kube.custom.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: 'hostile', plural: Plural.ExternalSecret, name })) as { status?: { conditions?: { type: string; status: string; message: string }[] } };
      const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
      conditions[name] = ready ? `Ready=${ready.status}: ${ready.message.slice(0, 150)}` : '(no condition yet)';
    }
    clearInterval(sampler);

    const fmt = (rs: { all: number; median: number }[]) => rs.map((r) => `${(r.all / 1000).toFixed(1)} s (median ${(r.median / 1000).toFixed(1)} s)`).join(', ');
    process.stdout.write(`
secret-relay tenant isolation (${new Date().toISOString()}, node ${process.version})

  normal namespace              ${NORMAL} ExternalSecrets, templated, refreshInterval ${REFRESH}
  hostile namespace             PKCS#12 0x7fffffff bomb, gjson wildcard bomb, looping template, ${HOSTILE} ExternalSecrets at 1s
  operator flags                ${OPERATOR_ARGS.join(' ') || '(defaults)'}
  rotation → all Secrets        alone: ${fmt(quiet)}
                                beside the hostile namespace: ${fmt(loud)} (from ${((Date.now() - hostileStart) / 1000).toFixed(0)} s of hostile load)
  peak RSS                      ${(quietPeak / 1024).toFixed(0)} MiB alone, ${(peakKb / 1024).toFixed(0)} MiB with the hostile namespace
  Lease holders seen            ${[...holders].join(', ')}
  hostile objects               ${Object.entries(conditions).map(([n, c]) => `${n}: ${c}`).join('\n                                ')}
  operator log                  ${logPath}
`);
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await Promise.race([new Promise((resolve) => child!.once('exit', resolve)), sleep(15_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await kube?.close().catch(() => {});
    await cluster?.stop().catch(() => {});
  }
}

await main();
