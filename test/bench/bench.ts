// `npm run bench`: how fast the operator brings N ExternalSecrets (fake provider) to Ready on the local control
// plane, what it costs (apiserver requests, provider calls, peak RSS, CPU), and beside it the lower bound: the
// operator's own client, bare, creating N Secrets through the same client-side rate limiter. A measurement,
// never an assertion.
//
//   node test/bench/bench.ts [--count=1000] [--concurrency=4] [--qps=50] [--burst=100]
//                            [--refresh=true] [--refresh-interval=1m] [--cpu-prof=DIR]
//
// The operator runs as a separate process (`node src/main.ts …`) so its RSS and CPU are its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startCluster, repoRoot, type LocalCluster } from '../support/cluster.ts';
import { adminKube, installCrds, ensureNamespace, patchObject, API_GROUP, API_VERSION, Plural } from '../support/operator.ts';
import type { TestKube } from '../support/kube.ts';
import { createKubeClient, type KubeClient } from '../../src/k8s/kube-client.ts';
import { parseDuration } from '../../src/util/duration.ts';

// ---------------------------------------------------------------------------------------------
// Options

interface BenchOptions {
  readonly count: number;
  readonly concurrency: number;
  readonly qps: number;
  readonly burst: number;
  readonly refresh: boolean;
  readonly refreshInterval: string;
  readonly cpuProfDir: string | undefined;
  readonly nodeArgs: readonly string[];
  readonly operatorArgs: readonly string[];
}

const USAGE = `usage: node test/bench/bench.ts [--count=1000 (1-10000)] [--concurrency=4 (operator workers)]
       [--qps=50] [--burst=100 (the operator's client rate limit, also used for the lower bound)]
       [--refresh=true (measure a refresh wave after the first sync)] [--refresh-interval=1m]
       [--cpu-prof=DIR (run the operator under node --cpu-prof)]
       [--node-args='--flag …' (extra Node/V8 flags for the operator, e.g. --max-semi-space-size=1)]
       [--operator-args='--flag …' (extra operator flags, e.g. --sandbox-inline-bytes=0)]`;

function parseOptions(argv: readonly string[]): BenchOptions {
  const raw = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unexpected argument '${arg}'\n${USAGE}`);
    raw.set(m[1]!, m[2] ?? 'true');
  }
  const known = ['count', 'concurrency', 'qps', 'burst', 'refresh', 'refresh-interval', 'cpu-prof', 'node-args', 'operator-args', 'help'];
  for (const k of raw.keys()) if (!known.includes(k)) throw new Error(`unknown option --${k}\n${USAGE}`);
  if (raw.has('help')) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const v = raw.get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer between ${min} and ${max}, got '${v}'`);
    return n;
  };
  const qpsText = raw.get('qps') ?? '50';
  const qps = Number(qpsText);
  if (!(qps > 0 && qps <= 10_000)) throw new Error(`--qps must be a number in (0, 10000], got '${qpsText}'`);
  const refreshInterval = raw.get('refresh-interval') ?? '1m';
  parseDuration(refreshInterval);
  return {
    count: int('count', 1000, 1, 10_000),
    concurrency: int('concurrency', 4, 1, 64),
    qps,
    burst: int('burst', 100, 1, 100_000),
    refresh: (raw.get('refresh') ?? 'true') !== 'false',
    refreshInterval,
    cpuProfDir: raw.get('cpu-prof'),
    nodeArgs: (raw.get('node-args') ?? '').split(' ').filter((a) => a !== ''),
    operatorArgs: (raw.get('operator-args') ?? '').split(' ').filter((a) => a !== ''),
  };
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const NAMESPACE = 'bench';
const LOWER_BOUND_NAMESPACE = 'bench-lower-bound';
const OPERATOR_NAMESPACE = 'secret-relay-system';
const STORE = 'fake-store';
const REMOTE_KEYS = 5;

const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => ms / 1000;

/** Runs `task(i)` for i in [0, n) with at most `limit` in flight. */
async function pool(n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) await task(i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

/** Retries transient failures (the apiserver under load answers 429/5xx or drops a connection). */
async function retrying<T>(what: string, fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === 409 || attempt >= attempts || (code !== undefined && code < 500 && code !== 429)) {
        throw new Error(`${what} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      await sleep(100 * 2 ** attempt);
    }
  }
}

async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean>, everyMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds(timeoutMs)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Resident set size (kB) and CPU time (s) of a process, from /proc. */
function procStats(pid: number): { rssKb: number; cpuSeconds: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    return { rssKb, cpuSeconds: ticks / 100 };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Objects

type Obj = Record<string, unknown>;

function externalSecret(i: number): Obj {
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: 'ExternalSecret',
    metadata: { name: `es-${i}` },
    spec: {
      secretStoreRef: { name: STORE },
      refreshInterval: '1h',
      data: [
        { secretKey: 'username', remoteRef: { key: `key-${i % REMOTE_KEYS}`, property: 'username' } },
        { secretKey: 'password', remoteRef: { key: `key-${(i + 1) % REMOTE_KEYS}`, property: 'password' } },
      ],
    },
  };
}

interface EsSummary {
  readonly total: number;
  readonly ready: number;
  /** Ready=True with observedGeneration equal to the object's generation. */
  readonly readyCurrent: number;
}

async function summarize(kube: TestKube): Promise<EsSummary> {
  let total = 0;
  let ready = 0;
  let readyCurrent = 0;
  let _continue: string | undefined;
  do {
    const page = (await kube.custom.listNamespacedCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      namespace: NAMESPACE,
      plural: Plural.ExternalSecret,
      limit: 2000,
      ...(_continue ? { _continue } : {}),
    })) as { items: Obj[]; metadata?: { continue?: string } };
    for (const item of page.items) {
      total++;
      const meta = item.metadata as { name: string; generation?: number };
      const status = item.status as { conditions?: { type: string; status: string; observedGeneration?: number }[]; refreshTime?: string } | undefined;
      const cond = status?.conditions?.find((c) => c.type === 'Ready');
      if (cond?.status === 'True') {
        ready++;
        if (cond.observedGeneration === meta.generation) readyCurrent++;
      }
    }
    _continue = page.metadata?.continue || undefined;
  } while (_continue);
  return { total, ready, readyCurrent };
}

// ---------------------------------------------------------------------------------------------
// The operator process

interface OperatorProcess {
  readonly child: ChildProcess;
  readonly logPath: string;
  metricsPort(): Promise<number>;
  /** Peak VmRSS seen so far, kB. */
  peakRssKb(): number;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

function startOperatorProcess(options: BenchOptions, kubeconfigPath: string, dir: string): OperatorProcess {
  const logPath = join(dir, 'operator.log');
  const out = openSync(logPath, 'a');
  const node = process.execPath;
  const args = [
    ...(options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : []),
    ...options.nodeArgs,
    join(repoRoot, 'src/main.ts'),
    `--kubeconfig=${kubeconfigPath}`,
    '--leader-elect=false',
    '--metrics-port=0',
    '--metrics-host=127.0.0.1',
    `--namespace=${OPERATOR_NAMESPACE}`,
    `--qps=${options.qps}`,
    `--burst=${options.burst}`,
    `--concurrency=${options.concurrency}`,
    '--log-level=info',
    ...options.operatorArgs,
  ];
  const child = spawn(node, args, { cwd: repoRoot, stdio: ['ignore', out, out], env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } });
  closeSync(out);
  let peak = 0;
  let cpu = 0;
  const sampler = setInterval(() => {
    const s = child.pid ? procStats(child.pid) : undefined;
    if (s) {
      peak = Math.max(peak, s.rssKb);
      cpu = s.cpuSeconds;
    }
  }, 200);
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));
  return {
    child,
    logPath,
    async metricsPort() {
      let port: number | undefined;
      await waitUntil('the operator to log its metrics port', 60_000, async () => {
        if (exited) throw new Error(`the operator exited early; see ${logPath}:\n${tailOf(logPath)}`);
        const m = /"metricsPort":(\d+)/.exec(readFileSync(logPath, 'utf8'));
        port = m ? Number(m[1]) : undefined;
        return port !== undefined;
      }, 100).catch((err: Error) => {
        throw new Error(`${err.message}\n${tailOf(logPath)}`);
      });
      return port!;
    },
    peakRssKb: () => peak,
    cpuSeconds: () => cpu,
    async stop() {
      clearInterval(sampler);
      if (exited) return;
      child.kill('SIGTERM');
      const killed = await Promise.race([exitedPromise.then(() => false), sleep(15_000).then(() => true)]);
      if (killed && !exited) {
        child.kill('SIGKILL');
        await exitedPromise;
      }
    },
  };
}

function tailOf(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

interface Scrape {
  readonly kube: Record<string, number>;
  readonly provider: Record<string, number>;
  readonly readyTrue: number;
  readonly reconciles: Record<string, number>;
  /** Successful syncs by status write (written, deferred). */
  readonly syncs: Record<string, number>;
  readonly heapUsedBytes: number;
}

async function scrape(port: number): Promise<Scrape> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const kube: Record<string, number> = {};
  const provider: Record<string, number> = {};
  const reconciles: Record<string, number> = {};
  const syncs: Record<string, number> = {};
  let readyTrue = 0;
  let heapUsedBytes = 0;
  for (const line of text.split('\n')) {
    let m = /^secret_relay_kube_requests_total\{verb="([a-z]+)"\} (\S+)/.exec(line);
    if (m) kube[m[1]!] = Number(m[2]);
    m = /^secret_relay_provider_requests_total\{([^}]*)\} (\S+)/.exec(line);
    if (m) {
      const op = /operation="([^"]+)"/.exec(m[1]!)?.[1] ?? '?';
      const result = /result="([^"]+)"/.exec(m[1]!)?.[1] ?? '?';
      provider[`${op}/${result}`] = (provider[`${op}/${result}`] ?? 0) + Number(m[2]);
    }
    m = /^secret_relay_reconcile_total\{controller="externalsecret",result="([a-z]+)"\} (\S+)/.exec(line);
    if (m) reconciles[m[1]!] = Number(m[2]);
    m = /^secret_relay_externalsecret_syncs_total\{status_write="([a-z]+)"\} (\S+)/.exec(line);
    if (m) syncs[m[1]!] = Number(m[2]);
    m = /^secret_relay_externalsecrets_ready\{condition="True"\} (\S+)/.exec(line);
    if (m) readyTrue = Number(m[1]);
    m = /^nodejs_heap_size_used_bytes (\S+)/.exec(line);
    if (m) heapUsedBytes = Number(m[1]);
  }
  return { kube, provider, readyTrue, reconciles, syncs, heapUsedBytes };
}

function diff(after: Record<string, number>, before: Record<string, number> = {}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** Audit records by action in the operator's output from byte `from` on. */
function auditActions(logPath: string, from: number): { counts: Record<string, number>; end: number } {
  const buffer = readFileSync(logPath);
  const counts: Record<string, number> = {};
  for (const line of buffer.subarray(from).toString('utf8').split('\n')) {
    if (!line.startsWith('{"audit":"secret-relay"')) continue;
    const action = /"action":"([a-z.]+)"/.exec(line)?.[1] ?? '?';
    counts[action] = (counts[action] ?? 0) + 1;
  }
  return { counts, end: buffer.length };
}

// ---------------------------------------------------------------------------------------------
// Phases

interface Phase {
  readonly name: string;
  readonly seconds: number;
  readonly kube: Record<string, number>;
  readonly provider: Record<string, number>;
  readonly audit: Record<string, number>;
  readonly reconciles: Record<string, number>;
  readonly operatorCpu: number;
  readonly apiserverCpu: number;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'secret-relay-bench-'));
  let cluster: LocalCluster | undefined;
  let operator: OperatorProcess | undefined;
  let admin: TestKube | undefined;
  let lowerBoundKube: KubeClient | undefined;
  const cleanup = async () => {
    await operator?.stop().catch(() => {});
    await admin?.close().catch(() => {});
    await lowerBoundKube?.close().catch(() => {});
    await cluster?.stop().catch(() => {});
  };
  let interrupted = false;
  const onSignal = (signal: string) => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping the operator and the cluster`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  try {
    log(`count=${options.count} concurrency=${options.concurrency} qps=${options.qps} burst=${options.burst}; work dir ${dir}`);
    cluster = await startCluster({ log });
    // The bench's own client (the tests' client-node one) is not rate limited: setting up is not what is measured.
    admin = adminKube(cluster.kubeconfigPath);
    const kube = admin;
    await installCrds(kube);
    for (const ns of [NAMESPACE, LOWER_BOUND_NAMESPACE, OPERATOR_NAMESPACE]) await ensureNamespace(kube, ns);

    const data = Array.from({ length: REMOTE_KEYS }, (_, k) => ({
      key: `key-${k}`,
      value: JSON.stringify({ username: `user-${k}`, password: randomBytes(12).toString('hex') }),
    }));
    await kube.custom.createNamespacedCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      namespace: NAMESPACE,
      plural: Plural.SecretStore,
      body: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'SecretStore', metadata: { name: STORE }, spec: { provider: { fake: { data } } } },
    });

    log(`creating ${options.count} ExternalSecrets (not timed)`);
    let created = Date.now();
    await pool(options.count, 64, (i) =>
      retrying(`creating es-${i}`, () =>
        kube.custom.createNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: NAMESPACE, plural: Plural.ExternalSecret, body: externalSecret(i) }),
      ).then(() => undefined),
    );
    log(`created in ${seconds(Date.now() - created).toFixed(1)} s`);

    // --- Phase 1: first sync -------------------------------------------------------------------------
    const apiserverPid = cluster.pids.apiserver;
    const apiCpu0 = procStats(apiserverPid)?.cpuSeconds ?? 0;
    const t0 = Date.now();
    operator = startOperatorProcess(options, cluster.kubeconfigPath, dir);
    const port = await operator.metricsPort();
    log(`operator pid ${operator.child.pid} started; metrics on :${port}; waiting for ${options.count} Ready=True`);
    let lastReport = 0;
    // The operator's own Ready gauge (read from its cache) is cheap to poll; a list confirms it.
    await waitUntil(`${options.count} ExternalSecrets Ready=True`, 60 * 60_000, async () => {
      const m = await scrape(port);
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        log(`  ${m.readyTrue}/${options.count} ready after ${seconds(Date.now() - t0).toFixed(0)} s; rss ${(operator!.peakRssKb() / 1024).toFixed(0)} MiB peak`);
      }
      if (m.readyTrue < options.count) return false;
      return (await summarize(kube)).ready >= options.count;
    }, 250);
    const t1 = Date.now();
    const m1 = await scrape(port);
    const audit1 = auditActions(operator.logPath, 0);
    const phases: Phase[] = [
      {
        name: 'first sync',
        seconds: seconds(t1 - t0),
        kube: m1.kube,
        provider: m1.provider,
        audit: audit1.counts,
        reconciles: m1.reconciles,
        operatorCpu: operator.cpuSeconds(),
        apiserverCpu: (procStats(apiserverPid)?.cpuSeconds ?? 0) - apiCpu0,
      },
    ];
    const firstSyncRss = operator.peakRssKb();
    const firstSyncHeap = m1.heapUsedBytes;

    // --- Phase 2/3: a spec-change wave, then one periodic refresh wave ---------------------------------
    if (options.refresh) {
      log(`refresh: setting refreshInterval=${options.refreshInterval} on every ExternalSecret (a spec change: fetch, no data change)`);
      const before = await scrape(port);
      const cpuOp = operator.cpuSeconds();
      const cpuApi = procStats(apiserverPid)?.cpuSeconds ?? 0;
      const t2 = Date.now();
      await pool(options.count, 64, (i) =>
        retrying(`patching es-${i}`, () => patchObject(kube, Plural.ExternalSecret, `es-${i}`, { spec: { refreshInterval: options.refreshInterval } }, NAMESPACE)),
      );
      await waitUntil('every ExternalSecret synced at its new generation', 60 * 60_000, async () => (await summarize(kube)).readyCurrent >= options.count, 1000);
      const t3 = Date.now();
      const m2 = await scrape(port);
      const audit2 = auditActions(operator.logPath, audit1.end);
      phases.push({
        name: 'spec-change wave',
        seconds: seconds(t3 - t2),
        kube: diff(m2.kube, before.kube),
        provider: diff(m2.provider, before.provider),
        audit: audit2.counts,
        reconciles: diff(m2.reconciles, before.reconciles),
        operatorCpu: operator.cpuSeconds() - cpuOp,
        apiserverCpu: (procStats(apiserverPid)?.cpuSeconds ?? 0) - cpuApi,
      });

      // A refresh that changed nothing no longer writes status.refreshTime (--refresh-time-period): count syncs instead.
      const syncsBefore = sum(m2.syncs);
      const cpuOp3 = operator.cpuSeconds();
      const cpuApi3 = procStats(apiserverPid)?.cpuSeconds ?? 0;
      log(`refresh: waiting for every ExternalSecret to refresh once on its ${options.refreshInterval} interval`);
      await waitUntil('one periodic refresh of every ExternalSecret', 60 * 60_000, async () => sum((await scrape(port)).syncs) - syncsBefore >= options.count, 1000);
      const t4 = Date.now();
      const m3 = await scrape(port);
      const audit3 = auditActions(operator.logPath, audit2.end);
      phases.push({
        name: `periodic refresh (${options.refreshInterval})`,
        seconds: seconds(t4 - t3),
        kube: diff(m3.kube, m2.kube),
        provider: diff(m3.provider, m2.provider),
        audit: audit3.counts,
        reconciles: diff(m3.reconciles, m2.reconciles),
        operatorCpu: operator.cpuSeconds() - cpuOp3,
        apiserverCpu: (procStats(apiserverPid)?.cpuSeconds ?? 0) - cpuApi3,
      });
    }
    const peakRss = operator.peakRssKb();
    await operator.stop();
    const profiles = options.cpuProfDir && existsSync(options.cpuProfDir) ? options.cpuProfDir : undefined;
    operator = undefined;

    // --- Lower bound: the operator's own client, bare, creating N Secrets through the same rate limiter ---
    log(`lower bound: creating ${options.count} Secrets at qps=${options.qps} burst=${options.burst}`);
    lowerBoundKube = createKubeClient({ kubeconfigPath: cluster.kubeconfigPath, qps: options.qps, burst: options.burst });
    const lb = lowerBoundKube;
    const tl0 = Date.now();
    await pool(options.count, 64, (i) =>
      retrying(`creating Secret lb-${i}`, () =>
        lb.request({
          method: 'POST',
          path: `/api/v1/namespaces/${LOWER_BOUND_NAMESPACE}/secrets`,
          body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: `lb-${i}` }, stringData: { username: 'u', password: 'p' } },
        }),
      ).then(() => undefined),
    );
    const lowerBound = seconds(Date.now() - tl0);

    report(options, phases, { firstSyncRss, firstSyncHeap, peakRss, lowerBound, logPath: join(dir, 'operator.log'), profiles, });
  } catch (err) {
    if (operator) log(`operator log (${operator.logPath}) ends with:\n${tailOf(operator.logPath)}`);
    throw err;
  } finally {
    await cleanup();
  }
}

function report(
  options: BenchOptions,
  phases: Phase[],
  extra: { firstSyncRss: number; firstSyncHeap: number; peakRss: number; lowerBound: number; logPath: string; profiles: string | undefined },
): void {
  const first = phases[0]!;
  const n = options.count;
  const fmt = (r: Record<string, number>) =>
    Object.entries(r)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '-';
  const rows: Array<[string, string]> = [
    ['ExternalSecrets', String(n)],
    ['operator flags', `--qps=${options.qps} --burst=${options.burst} --concurrency=${options.concurrency}`],
    ['time to all Ready', `${first.seconds.toFixed(1)} s (from process start)`],
    ['Secrets/s', (n / first.seconds).toFixed(1)],
    ['peak RSS (first sync)', `${(extra.firstSyncRss / 1024).toFixed(0)} MiB (V8 heap in use when all were Ready: ${(extra.firstSyncHeap / 2 ** 20).toFixed(0)} MiB)`],
    ['peak RSS (whole run)', `${(extra.peakRss / 1024).toFixed(0)} MiB`],
    ['operator CPU', `${first.operatorCpu.toFixed(1)} s; apiserver CPU ${first.apiserverCpu.toFixed(1)} s`],
    ['apiserver requests', `${sum(first.kube)} (${(sum(first.kube) / n).toFixed(2)}/ES): ${fmt(first.kube)}`],
    ['provider calls', `${sum(first.provider)} (${(sum(first.provider) / n).toFixed(2)}/ES): ${fmt(first.provider)}`],
    ['reconciles', fmt(first.reconciles)],
    ['audit records', fmt(first.audit)],
    ['lower bound', `${extra.lowerBound.toFixed(1)} s to create ${n} Secrets at the same qps/burst (${(n / extra.lowerBound).toFixed(1)}/s)`],
    ['ratio operator / lower bound', (first.seconds / extra.lowerBound).toFixed(2)],
  ];
  for (const phase of phases.slice(1)) {
    rows.push(
      [`${phase.name}`, `${phase.seconds.toFixed(1)} s; operator CPU ${phase.operatorCpu.toFixed(1)} s, apiserver CPU ${phase.apiserverCpu.toFixed(1)} s`],
      ['  apiserver requests', `${sum(phase.kube)} (${(sum(phase.kube) / n).toFixed(2)}/ES): ${fmt(phase.kube)}`],
      ['  provider calls', `${sum(phase.provider)} (${(sum(phase.provider) / n).toFixed(2)}/ES): ${fmt(phase.provider)}`],
      ['  Secret writes (audit)', `${(phase.audit['secret.create'] ?? 0) + (phase.audit['secret.update'] ?? 0)}; reconciles ${fmt(phase.reconciles)}`],
    );
  }
  if (extra.profiles) rows.push(['CPU profile', extra.profiles]);
  rows.push(['operator log', extra.logPath]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = ['', `secret-relay benchmark (${new Date().toISOString()}, node ${process.version}, ${cpuCount()} CPUs)`, ''];
  for (const [k, v] of rows) lines.push(`  ${k.padEnd(width)}  ${v}`);
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

function cpuCount(): number | string {
  if (!existsSync('/proc/cpuinfo')) return '?';
  return readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((l) => l.startsWith('processor')).length;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
