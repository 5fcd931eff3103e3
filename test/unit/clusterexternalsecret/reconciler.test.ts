// The ClusterExternalSecret reconciler with in-memory caches and writers: fan-out per namespace, no takeover of a
// foreign ExternalSecret (also when one appears between cache and write), deletion where no longer selected, status.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterExternalSecret } from '../../../src/api/index.ts';
import { createClusterExternalSecretReconciler, type CachedChild } from '../../../src/controller/clusterexternalsecret/reconciler.ts';
import { CHILD_DIGEST_ANNOTATION, CLUSTER_EXTERNAL_SECRET_LABEL, type NamespaceView } from '../../../src/controller/clusterexternalsecret/plan.ts';

const ces: ClusterExternalSecret = {
  apiVersion: 'secret-relay.dev/v1alpha1',
  kind: 'ClusterExternalSecret',
  metadata: { name: 'shared', uid: 'uid-1', generation: 1 },
  spec: { externalSecretSpec: {} as never, namespaceSelectors: [{ matchLabels: { shared: 'yes' } }], refreshTime: '1m' },
};

function world() {
  const namespaces = new Map<string, NamespaceView>([
    ['a', { name: 'a', labels: { shared: 'yes' }, terminating: false }],
    ['b', { name: 'b', labels: { shared: 'yes' }, terminating: false }],
    ['c', { name: 'c', labels: {}, terminating: false }],
  ]);
  const children = new Map<string, CachedChild>();
  const queued: string[] = [];
  const applied: { ns: string; force: boolean; body: { metadata: { annotations: Record<string, string> } } }[] = [];
  const deleted: string[] = [];
  const statuses: Record<string, unknown>[] = [];
  const events: string[] = [];
  const conflictIn = new Set<string>();
  const reconcile = createClusterExternalSecretReconciler({
    clock: { now: () => Date.parse('2026-12-01T00:00:00Z') },
    getClusterExternalSecret: (name) => (name === 'shared' ? { ok: true, value: ces, rawExternalSecretSpec: { secretStoreRef: { name: 'store', kind: 'ClusterSecretStore' } } } : undefined),
    listNamespaces: () => [...namespaces.values()],
    getNamespace: (name) => namespaces.get(name),
    getExternalSecret: (ns, name) => (name === 'shared' ? children.get(ns) : undefined),
    childrenOf: () => [...children.values()].filter((c) => c.labels[CLUSTER_EXTERNAL_SECRET_LABEL] === 'shared'),
    writer: {
      async apply(body, _manager, force) {
        const ns = body.metadata.namespace;
        if (conflictIn.has(ns) && !force) throw Object.assign(new Error('conflict'), { code: 409 });
        applied.push({ ns, force, body: body as never });
        const annotations = (body as unknown as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
        children.set(ns, { namespace: ns, name: 'shared', uid: `uid-${ns}`, labels: { [CLUSTER_EXTERNAL_SECRET_LABEL]: 'shared' }, annotations, ownerReferences: [{ apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ClusterExternalSecret', name: 'shared', uid: 'uid-1', controller: true }] });
      },
      async delete(ns, _name, { uid }) {
        deleted.push(`${ns}:${uid}`);
        children.delete(ns);
        return 'deleted';
      },
    },
    status: { patch: async (_ref, status) => (statuses.push(status), 'patched') },
    events: { record: async (_t, type, reason, note) => void events.push(`${type} ${reason} ${note}`) },
    enqueue: (key) => void queued.push(key),
  });
  return { namespaces, children, queued, applied, deleted, statuses, events, conflictIn, reconcile };
}

test('the parent fans out one key per selected namespace; children create (unforced), then the parent reports them provisioned', async () => {
  const w = world();
  assert.deepEqual(await w.reconcile('shared'), { requeueAfter: 60_000 });
  assert.deepEqual(w.queued.sort(), ['a/shared', 'b/shared']);
  await w.reconcile('a/shared');
  await w.reconcile('b/shared');
  assert.deepEqual(w.applied.map((a) => `${a.ns} force=${a.force}`), ['a force=false', 'b force=false']);
  assert.ok(w.applied[0]!.body.metadata.annotations[CHILD_DIGEST_ANNOTATION]);
  w.queued.length = 0;
  await w.reconcile('shared');
  assert.deepEqual(w.queued, [], 'children up to date: nothing to write');
  const status = w.statuses.at(-1) as { provisionedNamespaces: string[]; conditions: { status: string; reason: string }[] };
  assert.deepEqual(status.provisionedNamespaces, ['a', 'b']);
  assert.equal(status.conditions[0]!.reason, 'Provisioned');
});

test('a foreign ExternalSecret of that name is left untouched and reported; one that appears before the write gives a 409, not a takeover', async () => {
  const w = world();
  w.children.set('a', { namespace: 'a', name: 'shared', uid: 'someone', labels: {}, annotations: {}, ownerReferences: [] });
  w.conflictIn.add('b');
  await w.reconcile('shared');
  assert.deepEqual(w.queued, ['b/shared'], 'a is refused without a write');
  await w.reconcile('b/shared');
  assert.equal(w.applied.length, 0);
  await w.reconcile('shared');
  const status = w.statuses.at(-1) as { failedNamespaces: { namespace: string; reason: string }[]; conditions: { reason: string }[] };
  assert.deepEqual(status.failedNamespaces.map((f) => f.namespace), ['a', 'b']);
  assert.match(status.failedNamespaces[0]!.reason, /ExternalSecret a\/shared already exists and is controlled by nobody/);
  assert.equal(status.conditions[0]!.reason, 'NotProvisioned');
  assert.equal(w.events.filter((e) => e.startsWith('Warning')).length, 2, 'one Event per new failure');
});

test('a namespace that stops matching loses its ExternalSecret (deleted by uid); a foreign one there is never deleted', async () => {
  const w = world();
  await w.reconcile('shared');
  await w.reconcile('a/shared');
  w.namespaces.set('a', { name: 'a', labels: {}, terminating: false });
  w.children.set('c', { namespace: 'c', name: 'shared', uid: 'foreign', labels: { [CLUSTER_EXTERNAL_SECRET_LABEL]: 'shared' }, annotations: {}, ownerReferences: [] });
  w.queued.length = 0;
  await w.reconcile('shared');
  assert.ok(w.queued.includes('a/shared'));
  assert.ok(!w.queued.includes('c/shared'));
  await w.reconcile('a/shared');
  await w.reconcile('c/shared');
  assert.deepEqual(w.deleted, ['a:uid-a']);
});
