// A supervised informer keeps delivering events after the apiserver restarts (client-node's own informer stops
// for good on the connection error that a restart causes).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { KubernetesListObject, V1ConfigMap } from '@kubernetes/client-node';
import { startCluster, type LocalCluster } from '../support/cluster.ts';
import { adminKube } from '../support/operator.ts';
import type { TestKube } from '../support/kube.ts';
import { createKubeClient, type KubeClient } from '../../src/k8s/kube-client.ts';
import { createSupervisedInformer, type SupervisedInformer } from '../../src/k8s/informer.ts';

const namespace = 'informer-restart';
const selector = 'secret-relay.dev/test=informer-restart';

let cluster: LocalCluster;
/** The operator's own client, which the informer under test lists and watches through. */
let kube: KubeClient;
/** The tests' own client, for the writes the informer should see. */
let admin: TestKube;

before(async () => {
  cluster = await startCluster();
  kube = createKubeClient({ kubeconfigPath: cluster.kubeconfigPath });
  admin = adminKube(cluster.kubeconfigPath);
  await admin.core.createNamespace({ body: { metadata: { name: namespace } } });
}, { timeout: 30 * 60_000 }); // includes a cold Go build of the control plane on a fresh machine

after(async () => {
  await admin?.close();
  await kube?.close();
  await cluster?.stop();
});

/** Polls `condition` every 50 ms until it holds; fails naming `what` after `timeoutMs`. */
async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await condition()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function configMap(name: string, labelled = true): V1ConfigMap {
  return { metadata: { name, namespace, labels: labelled ? { 'secret-relay.dev/test': 'informer-restart' } : {} }, data: { v: '1' } };
}

test('a supervised informer keeps delivering events after the apiserver restarts', { timeout: 5 * 60_000 }, async () => {
  const warnings: Array<{ obj: object; msg: string }> = [];
  const events: string[] = [];
  const informer: SupervisedInformer<V1ConfigMap> = createSupervisedInformer<V1ConfigMap>({
    kube,
    name: 'test configmaps',
    path: `/api/v1/namespaces/${namespace}/configmaps`,
    labelSelector: selector,
    list: () => kube.request<KubernetesListObject<V1ConfigMap>>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/configmaps`, query: { labelSelector: selector } }),
    backoff: { baseMs: 200, maxMs: 2_000 },
    logger: { info: () => {}, warn: (obj, msg) => warnings.push({ obj, msg }) },
  });
  for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, (cm) => events.push(`${verb} ${cm.metadata?.name}`));

  await admin.core.createNamespacedConfigMap({ namespace, body: configMap('listed') });
  try {
    await informer.start();
    assert.equal(informer.hasSynced(), true);
    assert.ok(informer.get('listed', namespace), 'the first list fills the cache');

    await admin.core.createNamespacedConfigMap({ namespace, body: configMap('before-restart') });
    await waitFor('the informer to see before-restart', () => events.includes('add before-restart'), 30_000);

    await cluster.restartApiserver();

    await admin.core.createNamespacedConfigMap({ namespace, body: configMap('unlabelled', false) });
    await admin.core.createNamespacedConfigMap({ namespace, body: configMap('after-restart') });
    await waitFor('the informer to see after-restart', () => events.includes('add after-restart'), 60_000);
    await admin.core.patchNamespacedConfigMap({ namespace, name: 'listed', body: [{ op: 'replace', path: '/data/v', value: '2' }] });
    await waitFor('the informer to see the update of listed', () => events.includes('update listed'), 30_000);
    await admin.core.deleteNamespacedConfigMap({ namespace, name: 'before-restart' });
    await waitFor('the informer to see the delete of before-restart', () => events.includes('delete before-restart'), 30_000);

    assert.equal(informer.get('after-restart', namespace)?.metadata?.name, 'after-restart');
    assert.equal(informer.get('before-restart', namespace), undefined);
    assert.equal(informer.get('listed', namespace)?.data?.v, '2');
    // Created before after-restart, so it would have arrived first had the label selector not been applied.
    assert.equal(informer.get('unlabelled', namespace), undefined, 'objects outside the label selector are not cached');
    assert.ok(!events.some((e) => e.endsWith(' unlabelled')));

    assert.ok(informer.restarts() >= 1, 'the watch failed while the apiserver was down and the supervisor restarted it');
    assert.ok(warnings.length >= 1 && warnings.every((w) => /restarting it with backoff/.test(w.msg)), 'each error was logged');
  } finally {
    await informer.stop();
  }
});
