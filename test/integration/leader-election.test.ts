// Two electors, each with its own client, campaign for one Lease on the real apiserver.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startCluster, type LocalCluster } from '../support/cluster.ts';
import { adminKube } from '../support/operator.ts';
import type { TestKube } from '../support/kube.ts';
import { createKubeClient } from '../../src/k8s/kube-client.ts';
import { createLeaseStore } from '../../src/k8s/leases.ts';
import { LeaderElector } from '../../src/controller/runtime/leader-election.ts';

const namespace = 'default';
const timing = { leaseDurationMs: 5_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 };

let cluster: LocalCluster;
/** The tests' own client, reading the Lease the electors write. */
let admin: TestKube;

before(async () => {
  cluster = await startCluster();
  admin = adminKube(cluster.kubeconfigPath);
}, { timeout: 30 * 60_000 }); // includes a cold Go build of the control plane on a fresh machine

after(async () => {
  await admin?.close();
  await cluster?.stop();
});

/** Polls `condition` every 50 ms until it holds; fails naming `what` after `timeoutMs`. Returns the elapsed ms. */
async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - start;
}

/** An elector as a separate operator process would have it: its own kubeconfig load, client and identity. */
function candidate(leaseName: string, identity: string) {
  const kube = createKubeClient({ kubeconfigPath: cluster.kubeconfigPath });
  const terms: AbortSignal[] = [];
  const elector = new LeaderElector({
    store: createLeaseStore(kube),
    namespace,
    name: leaseName,
    identity,
    ...timing,
    onStartedLeading: (signal) => {
      terms.push(signal);
    },
    onStoppedLeading: () => {},
  });
  return { elector, terms };
}

async function holder(leaseName: string): Promise<string | undefined> {
  const lease = await admin.coordination.readNamespacedLease({ namespace, name: leaseName });
  return lease.spec?.holderIdentity;
}

function uniqueLease(): string {
  return `le-test-${randomUUID().slice(0, 8)}`;
}

test('of two electors exactly one leads, and the Lease names it', async () => {
  const name = uniqueLease();
  const a = candidate(name, 'operator-a');
  const b = candidate(name, 'operator-b');
  a.elector.start();
  b.elector.start();
  try {
    await waitFor('a leader', () => a.elector.isLeader() || b.elector.isLeader(), 10_000);
    const leader = a.elector.isLeader() ? a : b;
    // Over a lease duration (many renewals and standby attempts) the leadership never doubles or moves.
    const observeUntil = Date.now() + timing.leaseDurationMs;
    while (Date.now() < observeUntil) {
      assert.equal(Number(a.elector.isLeader()) + Number(b.elector.isLeader()), 1, 'exactly one leader');
      assert.equal(leader.elector.isLeader(), true, 'leadership stays put while the leader renews');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(await holder(name), leader.elector.identity);
    const lease = await admin.coordination.readNamespacedLease({ namespace, name });
    assert.equal(lease.spec?.leaseDurationSeconds, 5);
    const renewedAgo = Date.now() - new Date(lease.spec!.renewTime as unknown as string).getTime();
    assert.ok(renewedAgo < timing.renewDeadlineMs, `renewed ${renewedAgo} ms ago`);
  } finally {
    await a.elector.stop();
    await b.elector.stop();
  }
});

test('a crashed leader (no release) is replaced by the standby within the lease duration', async () => {
  const name = uniqueLease();
  const a = candidate(name, 'operator-a');
  const b = candidate(name, 'operator-b');
  a.elector.start();
  await waitFor('operator-a to lead', () => a.elector.isLeader(), 10_000);
  b.elector.start();
  try {
    // The crash: renewals stop, nothing is released.
    await a.elector.stop({ release: false });
    const crashedAt = Date.now();
    assert.equal(await holder(name), 'operator-a', 'the dead leader still holds the Lease');
    // Expiry counts from when the standby saw the last renewal (≤ one try late), then one more try to notice.
    const limit = timing.leaseDurationMs + 2 * 1.2 * timing.retryPeriodMs + 1_000; // + request and scheduling slack
    await waitFor('operator-b to take over', () => b.elector.isLeader(), limit);
    const tookOver = Date.now() - crashedAt;
    assert.ok(tookOver >= timing.leaseDurationMs - timing.retryPeriodMs - 200, `not before the lease expired (took over after ${tookOver} ms)`);
    assert.equal(await holder(name), 'operator-b');
    const lease = await admin.coordination.readNamespacedLease({ namespace, name });
    assert.equal(lease.spec?.leaseTransitions, 1);
  } finally {
    await b.elector.stop();
  }
});

test('a graceful stop releases the Lease and the standby takes over at once', async () => {
  const name = uniqueLease();
  const a = candidate(name, 'operator-a');
  const b = candidate(name, 'operator-b');
  a.elector.start();
  await waitFor('operator-a to lead', () => a.elector.isLeader(), 10_000);
  b.elector.start();
  try {
    await a.elector.stop();
    assert.equal(a.terms[0]?.aborted, true, "the old leader's work signal is aborted");
    const tookOver = await waitFor('operator-b to take over', () => b.elector.isLeader(), timing.leaseDurationMs);
    assert.ok(tookOver <= 1.2 * timing.retryPeriodMs + 700, `took over ${tookOver} ms after the release (lease duration ${timing.leaseDurationMs} ms)`);
    assert.equal(await holder(name), 'operator-b');
  } finally {
    await b.elector.stop();
  }
  assert.equal(await holder(name), '', 'released on the way out');
});
