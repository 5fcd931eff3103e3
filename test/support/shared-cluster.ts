// One control plane per test run, shared by the test files (they run one at a time): test/global-setup.ts
// starts it and records its state directory in the environment the test files inherit. A test file run
// on its own (node --test test/integration/x.test.ts) starts a private one instead.
import { attachCluster, startCluster, type LocalCluster } from './cluster.ts';
import { adminKube, ensureNamespace, installCrds } from './operator.ts';
import { watchForLinger } from './linger-watchdog.ts';

// Every file on the cluster comes here: one that outlives its tests is reported and ended (./linger-watchdog.ts).
// Only in a file the test runner started (NODE_TEST_CONTEXT), not in the runner's global setup, which imports this too.
if (process.env['NODE_TEST_CONTEXT'] !== undefined) watchForLinger();

export const SHARED_CLUSTER_ENV = 'SECRET_RELAY_TEST_CLUSTER_STATE';

/**
 * The run's shared control plane (its `stop()` does nothing: the global teardown stops it), or a private
 * one. Either way the CRDs are installed and the operator namespace exists.
 */
export async function useCluster(): Promise<LocalCluster> {
  const shared = process.env[SHARED_CLUSTER_ENV];
  let cluster: LocalCluster;
  if (shared) {
    const attached = attachCluster(shared);
    if (!attached) throw new Error(`the shared control plane in ${shared} is not running`);
    cluster = { ...attached, stop: async () => {} };
  } else {
    cluster = await startCluster();
  }
  const kube = adminKube(cluster.kubeconfigPath);
  try {
    await installCrds(kube);
    await ensureNamespace(kube, 'secret-relay-system');
  } finally {
    await kube.close();
  }
  return cluster;
}
