// One leader at a time, proven by the writes: two operator processes, each behind its own fault proxy in front
// of the real apiserver, while ExternalSecrets keep arriving (both would write). The leader's Lease requests are
// then stalled and its other requests held for a while (a slow network): it must stop writing at its renew
// deadline, before the standby can take the Lease. From the proxies' logs (one clock): the old leader's last
// write was answered before the new leader's first write was sent.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, createNamespace, createObject, Plural, waitFor } from '../support/operator.ts';
import type { TestKube } from '../support/kube.ts';
import { leaseHolderOf, spawnOperatorProcess } from '../support/operator-process.ts';
import { forward, isWrite, startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';

const LEASE_SECONDS = 6;
const LEASE_NAME = `fence-${randomBytes(3).toString('hex')}`;
/** How long the old leader's proxy holds each of its requests once the fault starts: writes are in flight at the deadline. */
const HOLD_MS = 2_000;

let cluster: LocalCluster;
let kube: TestKube;
let dir: string;
const operators = new Map<string, { process: ChildProcess; output: string[]; proxy: FaultProxy }>();

async function startOperatorProcess(identity: string): Promise<void> {
  const proxy = await startFaultProxy(cluster.kubeconfigPath);
  const kubeconfig = join(dir, `${identity}.kubeconfig`);
  proxy.writeKubeconfig(kubeconfig);
  const { process: child, output } = spawnOperatorProcess({ kubeconfigPath: kubeconfig, identity, leaseName: LEASE_NAME, leaseSeconds: LEASE_SECONDS });
  operators.set(identity, { process: child, output, proxy });
}

const leaseHolder = (): Promise<string | undefined> => leaseHolderOf(kube, LEASE_NAME);

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  dir = mkdtempSync(join(tmpdir(), 'leader-fence-'));
});

after(async () => {
  for (const { process: child, proxy } of operators.values()) {
    if (child.exitCode === null) child.kill('SIGKILL');
    await proxy.close();
  }
  await kube?.close();
  rmSync(dir, { recursive: true, force: true });
  await cluster?.stop();
});

test("a leader whose renewals are blocked stops writing before the standby's first write", { timeout: 180_000 }, async () => {
  await startOperatorProcess('operator-a');
  await waitFor('operator-a to lead', async () => (await leaseHolder()) === 'operator-a', 60_000);
  await startOperatorProcess('operator-b');
  const a = operators.get('operator-a')!;
  const b = operators.get('operator-b')!;
  await waitFor('operator-b to campaign', () => b.proxy.log.some((r) => r.url.includes(`/leases/${LEASE_NAME}`)), 60_000);

  const ns = await createNamespace(kube, 'fence');
  await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name: 'store' }, spec: { provider: { fake: { data: [{ key: 'k', value: 'v' }] } } } }, ns);
  // ExternalSecrets keep arriving for the whole test: whoever leads has something to write.
  let arriving = true;
  let created = 0;
  const arrivals = (async () => {
    while (arriving) {
      const name = `es-${created++}`;
      await createObject(kube, Plural.ExternalSecret, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name }, spec: { secretStoreRef: { name: 'store' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] } }, ns);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  try {
    await waitFor('operator-a to write', () => a.proxy.log.some((r) => isWrite(r) && r.url.includes(`/namespaces/${ns}/`) && r.status !== undefined && r.status < 300), 60_000);

    // The fault: operator-a's Lease requests stall; everything else it sends is held HOLD_MS first.
    const faultAt = Date.now();
    a.proxy.setRule((r) => (r.url.includes(`/leases/${LEASE_NAME}`) ? { kind: 'stall' } : isWrite(r) ? { kind: 'delay', ms: HOLD_MS } : forward));

    await waitFor('operator-b to take the lease', async () => (await leaseHolder()) === 'operator-b', 60_000);
    await waitFor('operator-b to write', () => b.proxy.log.filter((r) => isWrite(r) && r.forwardedAt !== undefined).length >= 3, 60_000);
    arriving = false;
    await arrivals;
    // operator-a's held requests have all been forwarded or dropped (stalled Lease requests aside).
    await waitFor('operator-a to settle', () => a.proxy.log.every((r) => r.fault !== 'delay' || r.dropped || r.answeredAt !== undefined), 30_000);
    await waitFor('operator-a to end its term', () => a.output.join('').includes('no longer leading'), 30_000);

    const aWrites = a.proxy.log.filter((r) => isWrite(r) && r.forwardedAt !== undefined);
    const bWrites = b.proxy.log.filter((r) => isWrite(r) && r.forwardedAt !== undefined);
    // A write the term's end cut after it was forwarded has no answer: it was in flight until the proxy cut it.
    const lastA = Math.max(...aWrites.map((r) => r.answeredAt ?? r.cutAt ?? Number.POSITIVE_INFINITY));
    const cutWrites = aWrites.filter((r) => r.answeredAt === undefined && r.cutAt !== undefined).length;
    const firstB = Math.min(...bWrites.map((r) => r.forwardedAt!));
    const heldDuringFault = a.proxy.log.filter((r) => r.fault === 'delay').length;
    process.stdout.write(
      `# operator-a: ${aWrites.length} writes forwarded, ${heldDuringFault} held during the fault (${a.proxy.log.filter((r) => r.dropped).length} dropped before forwarding, ${cutWrites} cut in flight: by the term's end); ` +
        `last answered ${lastA - faultAt} ms after the fault; operator-b's first write ${firstB - faultAt} ms after it\n`,
    );
    assert.ok(heldDuringFault > 0, 'operator-a had writes in flight during the fault (else the test proves nothing)');
    assert.ok(lastA < firstB, `operator-a's last write was answered ${lastA - firstB} ms after operator-b's first write was sent: two leaders wrote at once`);
  } finally {
    arriving = false;
    await arrivals;
    for (const [name, o] of operators) process.stdout.write(`# ${name} output tail:\n${o.output.join('').split('\n').slice(-5).map((l) => `#   ${l}`).join('\n')}\n`);
  }
});
