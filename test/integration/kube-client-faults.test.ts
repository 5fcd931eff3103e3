// The operator's Kubernetes client against the real apiserver behind a fault proxy: 429 with Retry-After, 503
// without it and connection resets heal inside the client (the reconcile neither fails nor goes back to the
// provider), and a paged list whose continue token expired (410) falls back to one full list.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useCluster } from '../support/shared-cluster.ts';
import type { LocalCluster } from '../support/cluster.ts';
import { adminKube, createNamespace, createObject, decodeData, getObject, Plural, readSecret, readyOf, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import type { TestKube } from '../support/kube.ts';
import { forward, startFaultProxy, type Fault, type FaultProxy } from '../support/fault-proxy.ts';
import { createKubeClient } from '../../src/k8s/kube-client.ts';
import { core, listAllPages } from '../../src/k8s/resources.ts';

let cluster: LocalCluster;
let kube: TestKube;
let proxy: FaultProxy;
let dir: string;
let kubeconfigPath: string;

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  proxy = await startFaultProxy(cluster.kubeconfigPath);
  dir = mkdtempSync(join(tmpdir(), 'kube-client-faults-'));
  kubeconfigPath = join(dir, 'kubeconfig');
  proxy.writeKubeconfig(kubeconfigPath);
});

after(async () => {
  await proxy?.close();
  await kube?.close();
  rmSync(dir, { recursive: true, force: true });
  await cluster?.stop();
});

test('429 with Retry-After, 503 and resets heal inside the client: the Secret syncs with one provider read and no failed reconcile', { timeout: 120_000 }, async () => {
  const ns = await createNamespace(kube, 'client-faults');
  // The first attempt of each write in the namespace is refused, alternately 429 + Retry-After and a bare 503;
  // the first read of each path in it is reset.
  const attempts = new Map<string, number>();
  let writes = 0;
  proxy.setRule((r): Fault => {
    if (!r.url.includes(`/namespaces/${ns}/`) || r.url.includes('watch=true')) return forward;
    const key = `${r.method} ${r.url}`;
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    if (n > 1) return forward;
    if (r.method === 'GET') return { kind: 'reset' };
    return writes++ % 2 === 0 ? { kind: 'status', code: 429, retryAfterSeconds: 1 } : { kind: 'status', code: 503 };
  });
  let operator: TestOperator | undefined;
  try {
    operator = await startTestOperator({ kubeconfigPath, args: ['--leader-elect=false', `--watch-namespaces=${ns}`] });
    await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name: 'store' }, spec: { provider: { fake: { data: [{ key: 'k', value: 'healed' }] } } } }, ns);
    await createObject(kube, Plural.ExternalSecret, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name: 'es' }, spec: { secretStoreRef: { name: 'store' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] } }, ns);
    await waitFor('the Secret synced and Ready', async () => decodeData(await readSecret(kube, ns, 'es'))?.['k'] === 'healed' && readyOf(await getObject(kube, Plural.ExternalSecret, 'es', ns))?.status === 'True', 60_000);

    const faulted = proxy.log.filter((r) => r.url.includes(`/namespaces/${ns}/`) && r.fault !== 'forward');
    assert.ok(faulted.some((r) => r.fault === 'status') && faulted.some((r) => r.fault === 'reset'), 'faults were injected');
    for (const r of faulted.filter((f) => f.method !== 'GET')) {
      assert.ok(proxy.log.some((later) => later.method === r.method && later.url === r.url && later.receivedAt > r.receivedAt && later.status !== undefined && later.status < 300), `${r.method} ${r.url} was retried and succeeded`);
    }
    const failed = operator.logs.lines.filter((l) => l.includes('reconcile failed'));
    assert.deepEqual(failed, [], 'no reconcile failed: the client absorbed the faults');
    const reads = operator.audit.lines.filter((l) => l.includes('"provider.read"') && l.includes('"name":"es"'));
    assert.equal(reads.length, 1, 'the provider was read once, not again for a Kubernetes fault');
  } finally {
    proxy.setRule(() => forward);
    await operator?.stop();
  }
});

test('a paged list against the real apiserver follows continue, and an expired continue token (410) falls back to a full list', { timeout: 60_000 }, async () => {
  const ns = await createNamespace(kube, 'paged-list');
  for (let i = 0; i < 5; i++) await kube.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `cm-${i}` }, data: { i: String(i) } } });
  const client = createKubeClient({ kubeconfigPath });
  try {
    const at = core('configmaps', ns);
    const since = proxy.log.length;
    const paged = await listAllPages<{ items: Array<{ metadata: { name: string } }>; metadata: { resourceVersion: string } }>(client, at, {}, 2);
    const names = (l: { items: Array<{ metadata: { name: string } }> }) => l.items.map((i) => i.metadata.name).filter((n) => n.startsWith('cm-'));
    assert.deepEqual(names(paged), ['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4']);
    const pages = proxy.log.slice(since);
    assert.ok(pages.length >= 3 && pages.every((r) => r.url.includes('limit=2')), `pages: ${pages.map((r) => r.url).join(' ')}`);
    assert.ok(pages.slice(1).every((r) => r.url.includes('continue=')));

    proxy.setRule((r) => (r.url.includes('continue=') ? { kind: 'status', code: 410, reason: 'Expired' } : forward));
    const before410 = proxy.log.length;
    const full = await listAllPages<{ items: Array<{ metadata: { name: string } }> }>(client, at, {}, 2);
    assert.deepEqual(names(full), ['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4']);
    const fallback = proxy.log.slice(before410);
    assert.deepEqual(fallback.map((r) => [r.url.includes('limit=2'), r.url.includes('continue='), r.status]), [[true, false, 200], [true, true, 410], [false, false, 200]]);
  } finally {
    proxy.setRule(() => forward);
    await client.close();
  }
});
