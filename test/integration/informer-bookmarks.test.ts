// Against a real apiserver: an informer's watches receive bookmarks, and when the server ends a watch the
// informer reconnects from the bookmark's resourceVersion without listing again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { KubernetesListObject, V1ConfigMap } from '@kubernetes/client-node';
import { useCluster } from '../support/shared-cluster.ts';
import type { LocalCluster } from '../support/cluster.ts';
import { adminKube, createNamespace } from '../support/operator.ts';
import { createKubeClient, type KubeClient } from '../../src/k8s/kube-client.ts';
import { createSupervisedInformer } from '../../src/k8s/informer.ts';

const selector = 'secret-relay.dev/test=informer-bookmarks';

let cluster: LocalCluster;
/** The operator's own client: the informer under test lists and watches through it, and its requests are counted. */
let kube: KubeClient;

before(async () => {
  cluster = await useCluster();
  kube = createKubeClient({ kubeconfigPath: cluster.kubeconfigPath });
}, { timeout: 30 * 60_000 }); // includes a cold Go build of the control plane on a fresh machine

after(async () => {
  await kube?.close();
  await cluster?.stop();
});

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function configMap(namespace: string, name: string): V1ConfigMap {
  return { metadata: { name, namespace, labels: { 'secret-relay.dev/test': 'informer-bookmarks' } }, data: { v: '1' } };
}

test('watches get bookmarks and reconnect from them without a new LIST', { timeout: 2 * 60_000 }, async () => {
  const other = adminKube(cluster.kubeconfigPath); // the tests' own client: our writes, not counted
  const namespace = await createNamespace(other, 'informer-bookmarks');
  const elsewhere = await createNamespace(other, 'informer-bookmarks-other');
  // Counted from here on: only the informer uses this client until the end of the test.
  const requests = { list: 0, watch: 0 };
  const unobserve = kube.observeRequests((verb) => {
    if (verb === 'list' || verb === 'watch') requests[verb]++;
  });
  const bookmarks: bigint[] = [];
  const added: string[] = [];
  await other.core.createNamespacedConfigMap({ namespace, body: configMap(namespace, 'listed') });
  // The server ends each watch after 3-5 s, sending a bookmark 2 s before.
  const informer = createSupervisedInformer<V1ConfigMap>({
    kube,
    name: 'test configmaps',
    path: `/api/v1/namespaces/${namespace}/configmaps`,
    labelSelector: selector,
    list: () => kube.request<KubernetesListObject<V1ConfigMap>>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/configmaps`, query: { labelSelector: selector } }),
    watch: { minTimeoutSeconds: 3, onBookmark: (rv) => bookmarks.push(BigInt(rv)) },
  });
  informer.on('add', (cm) => added.push(cm.metadata!.name!));
  try {
    await informer.start();
    assert.deepEqual(added, ['listed']);
    assert.equal(requests.list, 1);

    // A write the informer does not see (another namespace) still moves its bookmarks past it, so a
    // reconnect after it starts from a recent resourceVersion (resourceVersions are etcd revisions here).
    const unseen = await other.core.createNamespacedConfigMap({ namespace: elsewhere, body: configMap(elsewhere, 'unseen') });
    const unseenVersion = BigInt(unseen.metadata!.resourceVersion!);
    await waitFor('a bookmark at or past the unseen write', () => bookmarks.some((rv) => rv >= unseenVersion), 30_000);
    await waitFor('two reconnects', () => requests.watch >= 3, 30_000);

    await other.core.createNamespacedConfigMap({ namespace, body: configMap(namespace, 'after-reconnects') });
    await waitFor('the informer to see after-reconnects', () => added.includes('after-reconnects'), 30_000);

    assert.equal(requests.list, 1, `no reconnect listed again (${requests.watch} watch requests)`);
    assert.equal(informer.restarts(), 0, 'reconnects are not failures');
    assert.deepEqual(added, ['listed', 'after-reconnects']);
  } finally {
    unobserve();
    await informer.stop();
    await other.close();
  }
});
