// spec.externalSecretName changed: the ExternalSecrets written under the old name are ours and asked for by
// nothing any more — they are deleted once the new ones are written (each namespace's key, retried with backoff),
// never a foreign one of that name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterExternalSecret } from '../../../src/api/index.ts';
import { createClusterExternalSecretReconciler, type CachedChild } from '../../../src/controller/clusterexternalsecret/reconciler.ts';
import { CLUSTER_EXTERNAL_SECRET_LABEL, type NamespaceView } from '../../../src/controller/clusterexternalsecret/plan.ts';

function world() {
  let ces: ClusterExternalSecret = {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ClusterExternalSecret',
    metadata: { name: 'shared', uid: 'uid-1', generation: 1 },
    spec: { externalSecretSpec: {} as never, namespaces: ['a', 'b'], refreshTime: '1m' },
  };
  const namespaces = new Map<string, NamespaceView>(['a', 'b'].map((name) => [name, { name, labels: {}, terminating: false }]));
  const children = new Map<string, CachedChild>(); // by namespace/name
  const queued = new Set<string>();
  const log: string[] = [];
  let deleteFails = false;
  const ours = (ns: string, name: string, labels = { [CLUSTER_EXTERNAL_SECRET_LABEL]: 'shared' }): CachedChild => ({
    namespace: ns,
    name,
    uid: `uid-${ns}-${name}`,
    labels,
    annotations: {},
    ownerReferences: [{ apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ClusterExternalSecret', name: 'shared', uid: 'uid-1', controller: true }],
  });
  const reconcile = createClusterExternalSecretReconciler({
    clock: { now: () => Date.parse('2026-12-01T00:00:00Z') },
    getClusterExternalSecret: (name) => (name === 'shared' ? { ok: true, value: ces, rawExternalSecretSpec: {} } : undefined),
    listNamespaces: () => [...namespaces.values()],
    getNamespace: (name) => namespaces.get(name),
    getExternalSecret: (ns, name) => children.get(`${ns}/${name}`),
    childrenOf: (cesName, namespace) => [...children.values()].filter((c) => c.labels[CLUSTER_EXTERNAL_SECRET_LABEL] === cesName && (namespace === undefined || c.namespace === namespace)),
    writer: {
      async apply(body) {
        const { namespace, name } = body.metadata;
        log.push(`apply ${namespace}/${name}`);
        children.set(`${namespace}/${name}`, ours(namespace, name));
      },
      async delete(ns, name, { uid }) {
        if (deleteFails) throw new Error('the apiserver timed out');
        log.push(`delete ${ns}/${name} ${uid}`);
        children.delete(`${ns}/${name}`);
        return 'deleted';
      },
    },
    status: { patch: async () => 'patched' },
    events: { record: async () => {} },
    enqueue: (key) => void queued.add(key),
  });
  /** Runs the parent, then every key it queued, until nothing is queued. */
  const settle = async () => {
    await reconcile('shared');
    for (let round = 0; round < 5 && [...queued].some((k) => k.includes('/')); round++) {
      const keys = [...queued].filter((k) => k.includes('/'));
      queued.clear();
      for (const key of keys) await reconcile(key);
    }
  };
  return {
    children,
    log,
    settle,
    reconcile,
    ours,
    rename: (externalSecretName: string) => (ces = { ...ces, metadata: { ...ces.metadata, generation: 2 }, spec: { ...ces.spec, externalSecretName } }),
    failDeletes: (fails: boolean) => (deleteFails = fails),
  };
}

test('externalSecretName changed: the new ExternalSecrets are written, then the old ones deleted (by uid)', async () => {
  const w = world();
  await w.settle();
  assert.deepEqual([...w.children.keys()].sort(), ['a/shared', 'b/shared']);
  w.log.length = 0;
  w.rename('renamed');
  await w.settle();
  assert.deepEqual([...w.children.keys()].sort(), ['a/renamed', 'b/renamed'], 'only the new name is left');
  assert.deepEqual(w.log.filter((l) => l.startsWith('apply a') || l.startsWith('delete a')), ['apply a/renamed', 'delete a/shared uid-a-shared'], 'new first, then the old');
});

test('an ExternalSecret of the old name that is not ours stays', async () => {
  const w = world();
  w.children.set('a/other', { ...w.ours('a', 'other'), ownerReferences: [] });
  w.children.set('b/other', { ...w.ours('b', 'other'), ownerReferences: [{ apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ClusterExternalSecret', name: 'shared', uid: 'uid-earlier', controller: true }] });
  await w.settle();
  assert.ok(w.children.has('a/other') && w.children.has('b/other'), 'foreign (no owner, an earlier ClusterExternalSecret) left alone');
});

test('deleting the old ExternalSecret fails: the namespace key fails (so the queue retries it) and the retry deletes it', async () => {
  const w = world();
  await w.settle();
  w.rename('renamed');
  w.failDeletes(true);
  await w.reconcile('shared');
  await assert.rejects(w.reconcile('a/shared'), /timed out/);
  w.failDeletes(false);
  await w.reconcile('a/shared');
  assert.equal(w.children.has('a/shared'), false);
});
