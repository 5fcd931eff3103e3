// An informer of the operator's client, behind the fault proxy in front of the real apiserver: a watch that
// stalls (its request never answered) is given up after the inactivity timeout and reopened; a watch refused
// with 410 Gone (its resourceVersion compacted away) relists; either way the cache catches up by itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { useCluster } from '../support/shared-cluster.ts';
import type { LocalCluster } from '../support/cluster.ts';
import { adminKube, createNamespace, waitFor } from '../support/operator.ts';
import type { TestKube } from '../support/kube.ts';
import { forward, startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { createKubeClient, type KubeClient } from '../../src/k8s/kube-client.ts';
import { createSupervisedInformer } from '../../src/k8s/informer.ts';
import { listAllPages, core } from '../../src/k8s/resources.ts';

let cluster: LocalCluster;
let admin: TestKube;
let proxy: FaultProxy;
let kube: KubeClient;
let dir: string;

before(async () => {
  cluster = await useCluster();
  admin = adminKube(cluster.kubeconfigPath);
  proxy = await startFaultProxy(cluster.kubeconfigPath);
  dir = mkdtempSync(join(tmpdir(), 'informer-faults-'));
  proxy.writeKubeconfig(join(dir, 'kubeconfig'));
  kube = createKubeClient({ kubeconfigPath: join(dir, 'kubeconfig') });
});

after(async () => {
  await kube?.close();
  await proxy?.close();
  await admin?.close();
  rmSync(dir, { recursive: true, force: true });
  await cluster?.stop();
});

test('a stalled watch is reopened after the inactivity timeout, and a watch refused with 410 relists: the cache catches up', { timeout: 120_000 }, async () => {
  const ns = await createNamespace(admin, 'informer-faults');
  const seen: string[] = [];
  const informer = createSupervisedInformer<V1ConfigMap>({
    kube,
    name: 'configmaps',
    path: `/api/v1/namespaces/${ns}/configmaps`,
    list: () => listAllPages(kube, core('configmaps', ns)),
    watch: { inactivityTimeoutMs: 2_000 },
    backoff: { baseMs: 100, maxMs: 1_000 },
  });
  informer.on('add', (cm) => seen.push(cm.metadata?.name ?? ''));
  const watches = () => proxy.log.filter((r) => r.url.startsWith(`/api/v1/namespaces/${ns}/configmaps?`) && r.url.includes('watch=true'));
  // The first watch stalls: no headers, no bookmark, nothing.
  let stalled = 0;
  proxy.setRule((r) => (r.url.startsWith(`/api/v1/namespaces/${ns}/configmaps?`) && r.url.includes('watch=true') && stalled++ === 0 ? { kind: 'stall' } : forward));
  try {
    await informer.start();
    await admin.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'during-stall' } } });
    await waitFor('the informer to see during-stall', () => seen.includes('during-stall'), 30_000);
    assert.ok(watches().length >= 2 && watches()[0]!.fault === 'stall', 'the stalled watch was given up and a new one opened');

    // The next watch is refused with 410 (compacted): the informer lists again and misses nothing.
    const listsBefore = proxy.log.filter((r) => r.url.startsWith(`/api/v1/namespaces/${ns}/configmaps?`) && !r.url.includes('watch=true')).length;
    let refused = 0;
    proxy.setRule((r) => (r.url.startsWith(`/api/v1/namespaces/${ns}/configmaps?`) && r.url.includes('watch=true') && refused++ === 0 ? { kind: 'status', code: 410, reason: 'Expired' } : forward));
    // The open watch ends at its 2 s inactivity timeout (no bookmark comes that soon) and is reopened into the 410.
    await admin.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'after-gone' } } });
    await waitFor('the informer to see after-gone', () => seen.includes('after-gone'), 30_000);
    await waitFor('a watch refused with 410 and a relist', () => refused > 0 && proxy.log.filter((r) => r.url.startsWith(`/api/v1/namespaces/${ns}/configmaps?`) && !r.url.includes('watch=true')).length > listsBefore, 30_000);
    assert.ok(informer.get('after-gone', ns));
  } finally {
    proxy.setRule(() => forward);
    await informer.stop();
  }
});
