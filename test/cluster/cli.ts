// npm run cluster:up | cluster:down  (node test/cluster/cli.ts up|down|status)
// A long-lived local control plane for development. State (certs, etcd data, logs,
// pids in cluster.json) lives in .cache/cluster/state, or $SECRET_RELAY_CLUSTER_STATE.
// Only `export KUBECONFIG=...` goes to stdout, so `eval "$(npm run -s cluster:up)"` works.
import { existsSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { attachCluster, ensureBinary, isHealthy, repoRoot, startCluster } from '../support/cluster.ts';

const stateDir = path.resolve(process.env.SECRET_RELAY_CLUSTER_STATE || path.join(repoRoot, '.cache/cluster/state'));
const say = (m: string) => console.error(m);

async function up(): Promise<void> {
  const existing = attachCluster(stateDir);
  if (existing) {
    if (await isHealthy(existing)) {
      say(`control plane already running at ${existing.server} (state in ${stateDir})`);
      console.log(`export KUBECONFIG=${existing.kubeconfigPath}`);
      return;
    }
    say('found a control plane that is not healthy; stopping it and starting a new one');
    await existing.stop();
  } else if (existsSync(stateDir)) {
    rmSync(stateDir, { recursive: true, force: true }); // leftovers of an instance whose processes are gone
  }
  const started = Date.now();
  const cluster = await startCluster({ stateDir, detached: true, log: say });
  say(`control plane ready at ${cluster.server} in ${((Date.now() - started) / 1000).toFixed(1)} s (stop it with: npm run cluster:down)`);
  console.log(`export KUBECONFIG=${cluster.kubeconfigPath}`);
}

async function down(): Promise<void> {
  const existing = attachCluster(stateDir);
  if (existing) {
    await existing.stop();
    say(`control plane stopped; removed ${stateDir}`);
  } else {
    rmSync(stateDir, { recursive: true, force: true });
    say('no control plane running');
  }
}

async function status(): Promise<void> {
  const existing = attachCluster(stateDir);
  if (existing && (await isHealthy(existing))) {
    say(`running at ${existing.server}, pids ${JSON.stringify(existing.pids)}, state in ${stateDir}`);
    console.log(`export KUBECONFIG=${existing.kubeconfigPath}`);
  } else {
    say(existing ? 'not healthy (run cluster:down, then cluster:up)' : 'not running');
    process.exitCode = 1;
  }
}

/** Builds the control-plane binary when missing or stale (CI and test setup call this before the tests). */
async function build(): Promise<void> {
  const started = Date.now();
  const bin = await ensureBinary(say);
  say(`control-plane binary ready: ${bin} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

const commands: Record<string, () => Promise<void>> = { up, down, status, build };
const command = commands[process.argv[2] ?? ''];
if (!command) {
  say('usage: node test/cluster/cli.ts up|down|status|build');
  process.exit(2);
}
try {
  await command();
} catch (err) {
  say(`cluster ${process.argv[2]}: ${(err as Error).message}`);
  process.exitCode = 1;
}
