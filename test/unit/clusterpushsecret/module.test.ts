// The ClusterPushSecret controller's failure paths, with in-memory caches and a fake apiserver for its PushSecret
// writes (the happy paths run against the real control plane in test/integration/push-secret.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClusterPushSecretKind, clusterPushSecretController } from '../../../src/controller/clusterpushsecret/module.ts';
import { NamespaceKind } from '../../../src/k8s/kinds.ts';
import type { ControllerContext } from '../../../src/controller/module.ts';
import type { ControllerSpec } from '../../../src/controller/runtime/manager.ts';
import type { KindDescriptor, KubernetesObject, SupervisedInformer } from '../../../src/k8s/informer.ts';
import { kindKey } from '../../../src/k8s/informer.ts';
import { MemoryInformer } from '../../support/memory-informer.ts';
import { KubeApiError, type KubeClient, type KubeRequest } from '../../../src/k8s/kube-client.ts';


function harness() {
  const informers = new Map<string, MemoryInformer>();
  const informer = (kind: KindDescriptor) => {
    let found = informers.get(kindKey(kind));
    if (!found) informers.set(kindKey(kind), (found = new MemoryInformer()));
    return found;
  };
  const faults: number[] = [];
  const writes: string[] = [];
  const statuses: Record<string, unknown>[] = [];
  // The apiserver's PushSecret paths: server-side apply (PATCH) and DELETE of one object.
  const kube: Pick<KubeClient, 'request'> = {
    async request<T>(req: KubeRequest): Promise<T> {
      const m = /\/namespaces\/([^/]+)\/pushsecrets\/([^/?]+)/.exec(req.path);
      if (!m) throw new Error(`unexpected request ${req.method} ${req.path}`);
      const code = faults.shift();
      if (code) throw new KubeApiError(code, { kind: 'Status', code, reason: 'InternalError', message: 'etcdserver: request timed out' });
      writes.push(`${req.method} ${m[1]}/${m[2]}`);
      return {} as T;
    },
  };
  const ctx = {
    informer,
    clock: { now: () => Date.parse('2026-01-01T00:00:00Z') },
    kube,
    status: { patch: async (_ref: unknown, status: Record<string, unknown>) => (statuses.push(status), 'patched' as const) },
    classes: { servesStore: () => true },
  } as unknown as ControllerContext;
  const spec = clusterPushSecretController.build(ctx) as Omit<ControllerSpec, 'name'>;
  const namespaces = informer(NamespaceKind as KindDescriptor);
  namespaces.objects.set('a', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels: {} } } as KubernetesObject);
  const cps = informer(ClusterPushSecretKind);
  cps.objects.set('fan', {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ClusterPushSecret',
    metadata: { name: 'fan', uid: 'cps-uid', generation: 1 },
    spec: {
      refreshTime: '0s',
      namespaces: ['a'],
      pushSecretSpec: { secretStoreRefs: [{ name: 'aws' }], selector: { secret: { name: 'src' } }, data: [{ match: { secretKey: 'v', remoteRef: { remoteKey: 'k' } } }] },
    },
  } as KubernetesObject);
  return { faults, writes, statuses, reconcile: () => spec.reconcile('fan', new AbortController().signal) };
}

test('a PushSecret write that fails (a 5xx) fails the pass, so the queue retries it with backoff — also with refreshTime 0', async () => {
  const h = harness();
  h.faults.push(500);
  await assert.rejects(h.reconcile(), /etcdserver: request timed out/);
  const failed = h.statuses.at(-1) as { failedNamespaces: { namespace: string }[] };
  assert.deepEqual(failed.failedNamespaces.map((f) => f.namespace), ['a'], 'the status says which namespace failed, first');
  assert.equal(await h.reconcile(), undefined, 'the retry writes it (refreshTime 0: nothing more to schedule)');
  assert.deepEqual(h.writes, ['PATCH a/fan']);
});
