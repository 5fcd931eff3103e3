// Two operator processes on one Lease: only the leader reconciles, and when it dies (SIGKILL, no release)
// the standby takes over within the lease duration and keeps syncing.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, createNamespace, createObject, decodeData, Plural, readSecret, waitFor } from '../support/operator.ts';
import type { TestKube } from '../support/kube.ts';
import { leaseHolderOf, spawnOperatorProcess } from '../support/operator-process.ts';

const LEASE_SECONDS = 4;
/** Unique per run, so a Lease left by another test file cannot delay this one. */
const LEASE_NAME = `failover-${randomBytes(3).toString('hex')}`;
let cluster: LocalCluster;
let kube: TestKube;
const operators = new Map<string, { process: ChildProcess; output: string[] }>();

function startOperatorProcess(identity: string): void {
  const { process: child, output } = spawnOperatorProcess({ kubeconfigPath: cluster.kubeconfigPath, identity, leaseName: LEASE_NAME, leaseSeconds: LEASE_SECONDS });
  operators.set(identity, { process: child, output });
}

const leaseHolder = (): Promise<string | undefined> => leaseHolderOf(kube, LEASE_NAME);

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
});

after(async () => {
  for (const { process: child } of operators.values()) if (child.exitCode === null) child.kill('SIGKILL');
  await cluster?.stop();
});

async function syncOne(ns: string, name: string): Promise<void> {
  const value = `v-${randomBytes(6).toString('hex')}`;
  await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name }, spec: { provider: { fake: { data: [{ key: 'k', value }] } } } }, ns);
  await createObject(kube, Plural.ExternalSecret, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name }, spec: { secretStoreRef: { name }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] } }, ns);
  await waitFor(`Secret ${ns}/${name} synced`, async () => decodeData(await readSecret(kube, ns, name))?.['k'] === value, 30_000);
}

test('one of two operators leads; the standby takes over within the lease duration after the leader is killed', async () => {
  startOperatorProcess('operator-a');
  startOperatorProcess('operator-b');
  const first = await waitFor('a leader', leaseHolder, 30_000);
  assert.ok(operators.has(first), `unexpected holder ${first}`);
  const ns = await createNamespace(kube, 'failover');
  await syncOne(ns, 'before');

  // Only the leader reconciled: the standby's log says it never started its controllers.
  const standby = first === 'operator-a' ? 'operator-b' : 'operator-a';
  assert.ok(!operators.get(standby)!.output.join('').includes('leading: controllers started'), 'the standby must not reconcile');

  const killedAt = Date.now();
  operators.get(first)!.process.kill('SIGKILL');
  const next = await waitFor('the standby to take the lease', async () => {
    const holder = await leaseHolder();
    return holder === standby ? holder : undefined;
  }, 30_000);
  const takeoverMs = Date.now() - killedAt;
  assert.equal(next, standby);
  // A standby counts expiry from when it saw the last renewal: at most two lease durations plus a retry.
  assert.ok(takeoverMs < 2 * LEASE_SECONDS * 1000 + 2000, `takeover took ${takeoverMs} ms`);
  await syncOne(ns, 'after');
  process.stdout.write(`# takeover after SIGKILL: ${takeoverMs} ms (lease ${LEASE_SECONDS}s)\n`);
});
