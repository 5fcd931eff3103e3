// node --test --test-global-setup=test/global-setup.ts: one control plane for the whole run.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachCluster, startCluster } from './support/cluster.ts';
import { SHARED_CLUSTER_ENV } from './support/shared-cluster.ts';
import { adminKube, installCrds } from './support/operator.ts';

export async function globalSetup(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'secret-relay-test-cluster-'));
  const started = Date.now();
  const cluster = await startCluster({ stateDir, detached: true, log: (m) => process.stderr.write(`# ${m}\n`) });
  // Installing the CRDs first gives the garbage collector time to discover them before tests rely on it.
  const kube = adminKube(cluster.kubeconfigPath);
  try {
    await installCrds(kube);
  } finally {
    await kube.close();
  }
  process.env[SHARED_CLUSTER_ENV] = stateDir;
  process.stderr.write(`# shared control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

export async function globalTeardown(): Promise<void> {
  const stateDir = process.env[SHARED_CLUSTER_ENV];
  if (stateDir) await attachCluster(stateDir)?.stop();
}
