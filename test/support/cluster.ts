// A real local Kubernetes control plane for tests and `npm run cluster:up`:
// embedded etcd, kube-apiserver and kube-controller-manager, each a separate
// process of the kube-local binary built from test/cluster (Go).
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync, statSync, readdirSync, statfsSync, renameSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const repoRoot = path.resolve(import.meta.dirname, '../..');
const goDir = path.join(repoRoot, 'test/cluster');
/** The control plane's --service-account-issuer: the `iss` of its ServiceAccount tokens, which the fakes' OIDC trust names. */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const binaryPath = path.join(repoRoot, '.cache/cluster/bin/kube-local');

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export interface ClusterOptions {
  /** Where certs, etcd data, logs and cluster.json live; must be absent or empty. Default: a fresh temp dir. stop() removes it. */
  stateDir?: string;
  /** Let the processes outlive this Node process (cluster:up). Default false: they exit when it dies. */
  detached?: boolean;
  /** Deadline for the cluster to become ready. Default 120 s. */
  readyTimeoutMs?: number;
  /** Progress messages (building, starting). Default: silent. */
  log?: (message: string) => void;
}

export interface LocalCluster {
  /** Admin kubeconfig (client cert in system:masters, CA embedded). */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  server: string;
  stateDir: string;
  /** The cluster CA (PEM): signs the serving and admin certs. */
  caPem: string;
  pids: Pids;
  /** Stop the apiserver and start it again on the same port; etcd keeps the data. */
  restartApiserver(): Promise<void>;
  /** Stop every process, wait for them to exit, remove the state dir. Idempotent. */
  stop(): Promise<void>;
}

interface Pids { etcd: number; apiserver: number; controllerManager: number }

/** What cluster.json in the state dir records, so another process (cluster:down) can find the instance. */
interface ClusterState {
  server: string;
  ports: { etcdClient: number; etcdPeer: number; apiserver: number };
  pids: Pids;
}

type ProcName = 'etcd' | 'apiserver' | 'controller-manager';

/** Builds the kube-local binary if it is missing or older than its Go sources; returns its path. */
export async function ensureBinary(log: (m: string) => void = () => {}): Promise<string> {
  if (!binaryStale()) return binaryPath;
  const go = await findGo();
  const cacheDir = (await execFileP(go, ['env', 'GOCACHE'], { cwd: goDir })).stdout.trim();
  // A cold build fills ~3 GiB of module and build cache.
  requireDisk(existsSync(cacheDir) ? cacheDir : os.homedir(), 4 * GiB, 'to build the control plane (Go module and build caches)');
  mkdirSync(path.dirname(binaryPath), { recursive: true });
  log(`building ${path.relative(repoRoot, binaryPath)} from test/cluster (cold: ~10 min on 2 cores with an empty Go cache; later builds are incremental)...`);
  const started = Date.now();
  // Build to a temp name then rename, so a concurrent reader never sees a half-written binary.
  const tmp = `${binaryPath}.tmp-${process.pid}`;
  try {
    // -buildvcs=false: the binary needs no git stamp, and a tree without .git must still build.
    await execFileP(go, ['build', '-trimpath', '-buildvcs=false', `-ldflags=${linkerFlags()}`, '-o', tmp, '.'], { cwd: goDir, maxBuffer: 64 * MiB });
    renameSync(tmp, binaryPath);
    writeFileSync(`${binaryPath}.ldflags`, linkerFlags());
  } catch (err) {
    rmSync(tmp, { force: true });
    const e = err as { stderr?: string; message: string };
    throw new Error(`building the control plane failed (go build in ${goDir}):\n${tail(e.stderr ?? e.message, 40)}`);
  }
  log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return binaryPath;
}

/**
 * -s -w: no symbols (a third smaller). -X …version: the apiserver reports the Kubernetes release it is built from
 * (/version, `kubectl version`), as a released binary does — without it, it reports v0.0.0, which Helm's
 * `kubeVersion: ">=1.29.0-0"` check refuses, so `helm install` of our chart failed against the test cluster.
 */
function linkerFlags(): string {
  const release = /^\s*k8s\.io\/kubernetes (v(\d+)\.(\d+)\.\d+)\s*$/m.exec(readFileSync(path.join(goDir, 'go.mod'), 'utf8'));
  if (!release) throw new Error(`${path.join(goDir, 'go.mod')} requires no k8s.io/kubernetes vX.Y.Z`);
  const [, gitVersion, major, minor] = release;
  const pkg = 'k8s.io/component-base/version';
  return `-s -w -X ${pkg}.gitVersion=${gitVersion} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitTreeState=clean`;
}

function binaryStale(): boolean {
  if (!existsSync(binaryPath)) return true;
  // A binary built with other linker flags (an older build reporting v0.0.0, or another release) is rebuilt.
  const stamp = `${binaryPath}.ldflags`;
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== linkerFlags()) return true;
  const built = statSync(binaryPath).mtimeMs;
  return readdirSync(goDir)
    .filter((f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum')
    .some((f) => statSync(path.join(goDir, f)).mtimeMs > built);
}

async function findGo(): Promise<string> {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  if (process.env.GOROOT) dirs.push(path.join(process.env.GOROOT, 'bin'));
  dirs.push('/usr/local/go/bin', '/usr/lib/go/bin'); // where the go.dev tarball and Debian's golang-go put it
  const go = dirs.map((d) => path.join(d, 'go')).find((p) => existsSync(p));
  if (!go) {
    throw new Error('go not found on PATH (nor in /usr/local/go/bin): the local control plane is built from source and needs Go >= 1.26. '
      + 'Install it with `apt-get install golang-go` (if your distribution\'s Go is older, Go >= 1.21 fetches the 1.26 toolchain itself through the module proxy) '
      + 'or unpack a release from https://go.dev/dl into /usr/local/go.');
  }
  const version = (await execFileP(go, ['env', 'GOVERSION'])).stdout.trim();
  const m = /^go1\.(\d+)/.exec(version);
  if (m && Number(m[1]) < 21) {
    throw new Error(`${go} is ${version}; the local control plane needs Go >= 1.26 (Go >= 1.21 downloads it automatically). `
      + 'Install a newer Go: `apt-get install golang-go` from a recent release or https://go.dev/dl.');
  }
  return go;
}

function requireDisk(dir: string, bytes: number, why: string): void {
  const s = statfsSync(dir);
  const free = s.bavail * s.bsize;
  if (free < bytes) {
    throw new Error(`only ${Math.floor(free / MiB)} MiB free on the filesystem of ${dir}; need ${Math.ceil(bytes / MiB)} MiB ${why}. `
      + 'Free some space (e.g. `go clean -cache`, or remove old files under /tmp).');
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (err) => reject(new Error(`cannot bind a TCP port on 127.0.0.1 (${err.message}); `
      + 'the control plane needs three free loopback ports: check that the loopback interface is up and ports are not exhausted')));
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts a new control plane and waits until it serves requests and has its `default` ServiceAccount. */
export async function startCluster(opts: ClusterOptions = {}): Promise<LocalCluster> {
  // A port found free can be taken (e.g. as another connection's ephemeral port) before etcd or the apiserver
  // binds it: seen once in a CI run ("bind: address already in use"). Start again on new ports, twice at most.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(opts);
    } catch (err) {
      if (attempt >= 3 || !String((err as Error).message).includes('address already in use')) throw err;
      if (opts.stateDir) rmSync(path.resolve(opts.stateDir), { recursive: true, force: true });
    }
  }
}

async function startClusterOnce(opts: ClusterOptions): Promise<LocalCluster> {
  const log = opts.log ?? (() => {});
  const bin = await ensureBinary(log);
  let stateDir: string;
  if (opts.stateDir) {
    stateDir = path.resolve(opts.stateDir);
    // Certs and data of an earlier instance would not match this one's ports.
    if (existsSync(stateDir) && readdirSync(stateDir).length > 0) {
      throw new Error(`state dir ${stateDir} is not empty: stop the cluster using it (or remove the dir) first`);
    }
    mkdirSync(stateDir, { recursive: true });
  } else {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'secret-relay-cluster-'));
  }
  requireDisk(stateDir, 512 * MiB, 'for etcd data and logs');
  const ports = { etcdClient: await freePort(), etcdPeer: await freePort(), apiserver: await freePort() };
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const state: ClusterState = { server, ports, pids: { etcd: 0, apiserver: 0, controllerManager: 0 } };
  const cluster = handle(stateDir, state, bin, Boolean(opts.detached));
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  try {
    log(`starting the control plane in ${stateDir}`);
    await run(bin, ['certs', '--dir', path.join(stateDir, 'pki'), '--server', server]);
    state.pids.etcd = launch(bin, stateDir, 'etcd', etcdArgs(stateDir, state), Boolean(opts.detached));
    save(stateDir, state);
    await waitFor('etcd to be healthy', deadline, () => processesAlive(stateDir, state, ['etcd']),
      async () => (await httpGet(`http://127.0.0.1:${ports.etcdClient}/health`)).status === 200);
    state.pids.apiserver = launch(bin, stateDir, 'apiserver', apiserverArgs(stateDir, state), Boolean(opts.detached));
    save(stateDir, state);
    await waitReady(stateDir, state, deadline);
    state.pids.controllerManager = launch(bin, stateDir, 'controller-manager', controllerManagerArgs(stateDir), Boolean(opts.detached));
    save(stateDir, state);
    // The default ServiceAccount proves the controller-manager is running its controllers.
    await waitFor('the default ServiceAccount in namespace default (created by the controller-manager)', deadline,
      () => processesAlive(stateDir, state, ['etcd', 'apiserver', 'controller-manager']),
      async () => (await adminGet(stateDir, state, '/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
      { stateDir, name: 'controller-manager' });
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/**
 * The instance recorded in stateDir (by a startCluster, e.g. from another process), if any of its
 * processes is still running; undefined otherwise.
 */
export function attachCluster(stateDir: string): LocalCluster | undefined {
  stateDir = path.resolve(stateDir);
  let state: ClusterState;
  try {
    state = JSON.parse(readFileSync(path.join(stateDir, 'cluster.json'), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
  if (!Object.values(state.pids).some((pid) => ours(pid))) return undefined;
  return handle(stateDir, state, binaryPath, true);
}

/** Whether all processes of the instance are alive and the apiserver answers /readyz. */
export async function isHealthy(cluster: LocalCluster): Promise<boolean> {
  if (!Object.values(cluster.pids).every((pid) => ours(pid))) return false;
  try {
    return (await getWithCerts(cluster.stateDir, `${cluster.server}/readyz`)).status === 200;
  } catch {
    return false;
  }
}

// A SIGTERMed apiserver drains open connections (watches) for up to its 60 s request
// timeout. Nothing here needs that: etcd holds the data, so cut it short.
const APISERVER_GRACE_MS = 2_000;

function handle(stateDir: string, state: ClusterState, bin: string, detached: boolean): LocalCluster {
  let stopped: Promise<void> | undefined;
  const kubeconfigPath = path.join(stateDir, 'pki/admin.kubeconfig');
  return {
    kubeconfigPath,
    server: state.server,
    stateDir,
    get caPem() { return readFileSync(path.join(stateDir, 'pki/ca.crt'), 'utf8'); },
    pids: state.pids, // live view: restartApiserver updates it
    async restartApiserver() {
      await terminate(state.pids.apiserver, APISERVER_GRACE_MS);
      state.pids.apiserver = launch(bin, stateDir, 'apiserver', apiserverArgs(stateDir, state), detached);
      save(stateDir, state);
      await waitReady(stateDir, state, Date.now() + 120_000);
    },
    stop() {
      // Reverse start order: clients before etcd, so nothing logs errors about a vanished etcd.
      stopped ??= (async () => {
        await terminate(state.pids.controllerManager);
        await terminate(state.pids.apiserver, APISERVER_GRACE_MS);
        await terminate(state.pids.etcd);
        await rm(stateDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

function etcdArgs(stateDir: string, s: ClusterState): string[] {
  return ['etcd', '--data-dir', path.join(stateDir, 'etcd'), '--client-port', String(s.ports.etcdClient), '--peer-port', String(s.ports.etcdPeer)];
}

function apiserverArgs(stateDir: string, s: ClusterState): string[] {
  const pki = (f: string) => path.join(stateDir, 'pki', f);
  return [
    'apiserver',
    `--etcd-servers=http://127.0.0.1:${s.ports.etcdClient}`,
    `--secure-port=${s.ports.apiserver}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    // Nothing routes to the `kubernetes` Service here, and Endpoints may not hold a loopback address.
    '--endpoint-reconciler-type=none',
    `--tls-cert-file=${pki('apiserver.crt')}`,
    `--tls-private-key-file=${pki('apiserver.key')}`,
    `--client-ca-file=${pki('ca.crt')}`,
    '--authorization-mode=RBAC',
    '--service-cluster-ip-range=10.0.0.0/24',
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${pki('sa.key')}`,
    `--service-account-signing-key-file=${pki('sa.key')}`,
    '--allow-privileged=true',
    `--cert-dir=${path.join(stateDir, 'apiserver-certs')}`,
  ];
}

function controllerManagerArgs(stateDir: string): string[] {
  const pki = (f: string) => path.join(stateDir, 'pki', f);
  return [
    'controller-manager',
    `--kubeconfig=${pki('admin.kubeconfig')}`,
    // Only what the tests rely on: ownerReference GC, namespace deletion, Deployment -> ReplicaSet, StatefulSet
    // and DaemonSet -> ControllerRevision (rollouts), the `default` ServiceAccount (+ legacy token Secrets),
    // kube-root-ca.crt, aggregated admin/edit/view roles.
    '--controllers=garbage-collector-controller,namespace-controller,deployment-controller,replicaset-controller,'
      + 'statefulset-controller,daemonset-controller,serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller,clusterrole-aggregation-controller',
    '--leader-elect=false',
    '--secure-port=0',
    '--use-service-account-credentials=false',
    `--service-account-private-key-file=${pki('sa.key')}`,
    `--root-ca-file=${pki('ca.crt')}`,
  ];
}

function logPath(stateDir: string, name: ProcName): string {
  return path.join(stateDir, 'logs', `${name}.log`);
}

function launch(bin: string, stateDir: string, name: ProcName, args: string[], detached: boolean): number {
  mkdirSync(path.join(stateDir, 'logs'), { recursive: true });
  const fd = openSync(logPath(stateDir, name), 'a');
  try {
    const child = spawn(bin, args, {
      stdio: ['ignore', fd, fd],
      detached, // own process group: Ctrl-C in the terminal of `cluster:up` does not reach it
      // Attached children watch their parent and exit when it dies, so a killed test run leaves nothing behind.
      env: { ...process.env, KUBE_LOCAL_EXIT_WITH_PARENT: detached ? '' : '1' },
    });
    child.on('error', () => {}); // surfaced by the readiness wait via the log and the dead pid
    if (detached) child.unref();
    if (!child.pid) throw new Error(`could not start ${bin} ${name}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

function save(stateDir: string, state: ClusterState): void {
  writeFileSync(path.join(stateDir, 'cluster.json'), JSON.stringify(state, null, 2));
}

async function run(bin: string, args: string[]): Promise<void> {
  try {
    await execFileP(bin, args);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${path.basename(bin)} ${args[0]} failed: ${e.stderr || e.message}`);
  }
}

/** A pid that is running (not a zombie) and is one of our kube-local processes (guards against pid reuse). */
function ours(pid: number): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) [ZX]/.test(stat)) return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kube-local');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    try { process.kill(pid, 0); return true; } catch { return false; } // no /proc (not Linux)
  }
}

/** SIGTERM, then SIGKILL after graceMs. */
async function terminate(pid: number, graceMs = 15_000): Promise<void> {
  if (!ours(pid)) return;
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  const deadline = Date.now() + graceMs;
  while (ours(pid)) {
    if (Date.now() > deadline) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      await waitFor(`pid ${pid} to exit after SIGKILL`, Date.now() + 5_000, () => {}, async () => !ours(pid));
      return;
    }
    await delay(50);
  }
}

function processesAlive(stateDir: string, state: ClusterState, names: ProcName[]): void {
  for (const name of names) {
    const pid = { etcd: state.pids.etcd, apiserver: state.pids.apiserver, 'controller-manager': state.pids.controllerManager }[name];
    if (!ours(pid)) {
      throw new Error(`${name} exited during startup; last lines of its log:\n${logTail(stateDir, name)}`);
    }
  }
}

async function waitReady(stateDir: string, state: ClusterState, deadline: number): Promise<void> {
  await waitFor('the apiserver to answer /readyz', deadline, () => processesAlive(stateDir, state, ['etcd', 'apiserver']),
    async () => (await adminGet(stateDir, state, '/readyz')).status === 200, { stateDir, name: 'apiserver' });
}

/** Polls `ready` until it returns true; `check` throws if waiting is pointless (a process died). */
async function waitFor(what: string, deadline: number, check: () => void, ready: () => Promise<boolean>, logs?: { stateDir: string; name: ProcName }): Promise<void> {
  let lastErr = '';
  for (let interval = 50; ; interval = Math.min(interval * 2, 500)) {
    check();
    try {
      if (await ready()) return;
    } catch (err) {
      lastErr = (err as Error).message;
    }
    if (Date.now() > deadline) {
      const tailText = logs ? `\nlast lines of ${logs.name}.log:\n${logTail(logs.stateDir, logs.name)}` : '';
      throw new Error(`timed out waiting for ${what}${lastErr ? ` (last error: ${lastErr})` : ''}${tailText}`);
    }
    await delay(interval);
  }
}

function logTail(stateDir: string, name: ProcName, lines = 30): string {
  try {
    return tail(readFileSync(logPath(stateDir, name), 'utf8'), lines);
  } catch {
    return '(no log)';
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function adminGet(stateDir: string, state: ClusterState, p: string): Promise<{ status: number; body: string }> {
  return getWithCerts(stateDir, `${state.server}${p}`);
}

function getWithCerts(stateDir: string, url: string): Promise<{ status: number; body: string }> {
  const pki = (f: string) => readFileSync(path.join(stateDir, 'pki', f));
  return request(url, { ca: pki('ca.crt'), cert: pki('admin.crt'), key: pki('admin.key') });
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return request(url, {});
}

function request(url: string, tls: https.RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(url, { ...tls, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
  });
}
