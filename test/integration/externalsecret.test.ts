// The engine end to end against a real apiserver: one in-process operator, a fresh namespace per test.
// Every secret value used is remembered and, at the end, searched for in every log line, audit record,
// Event and status written during the suite.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import {
  adminKube,
  createObject,
  decodeData,
  deleteObject,
  eventNotes,
  getObject,
  mergePatchSecret,
  patchObject,
  Plural,
  readSecret,
  readyOf,
  startTestOperator,
  waitFor,
  type TestOperator,
} from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import type { RemoteRef } from '../../src/providers/provider.ts';

let cluster: LocalCluster;
let kube: TestKube;
let op: TestOperator;
const secrets = new SecretValues();
const failingKeys = new Set<string>();
const callsByKey = new Map<string, number>();
const namespaces = new TestNamespaces('es');

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  op = await startTestOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    args: ['--leader-elect=false', '--concurrency=4'],
    fakeHooks: {
      onCall(operation, ref) {
        if (operation !== 'getSecret') return;
        const key = (ref as RemoteRef).key;
        callsByKey.set(key, (callsByKey.get(key) ?? 0) + 1);
        if (failingKeys.has(key)) throw new Error(`fake provider unavailable for ${key}`);
      },
    },
  });
});

after(async () => {
  await stopTestOperator(op, 'externalsecret');
  await cluster?.stop();
});

type Entry = { key: string; value: string; version?: string };

async function fakeStore(ns: string, name: string, data: Entry[]): Promise<void> {
  await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name }, spec: { provider: { fake: { data } } } }, ns);
}

async function setStoreData(ns: string, name: string, data: Entry[]): Promise<void> {
  await patchObject(kube, Plural.SecretStore, name, { spec: { provider: { fake: { data } } } }, ns);
}

function es(name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name, ...metadata }, spec };
}

test('an ExternalSecret creates its Secret, owned, with Ready, an Event and audit records', async () => {
  const ns = await namespaces.create(kube);
  const password = secrets.next('password');
  await fakeStore(ns, 'store', [{ key: 'db', value: JSON.stringify({ user: 'app', password }) }, { key: 'token', value: secrets.next('token') }]);
  await createObject(kube, Plural.ExternalSecret, es('db', {
    secretStoreRef: { name: 'store' },
    data: [
      { secretKey: 'password', remoteRef: { key: 'db', property: 'password' } },
      { secretKey: 'user', remoteRef: { key: 'db', property: 'user' } },
    ],
  }), ns);
  await waitSecretData(kube, ns, 'db', { password, user: 'app' });
  const ready = await waitReady(kube, { namespace: ns, name: 'db', status: 'True', reason: 'SecretSynced' });
  assert.equal(ready.status, 'True');
  const secret = await readSecret(kube, ns, 'db');
  const owner = secret?.metadata?.ownerReferences?.[0];
  assert.equal(owner?.kind, 'ExternalSecret');
  assert.equal(owner?.name, 'db');
  assert.equal(owner?.controller, true);
  const status = (await getObject(kube, Plural.ExternalSecret, 'db', ns))?.['status'] as Record<string, unknown>;
  assert.ok(status['refreshTime'], 'status.refreshTime is set');
  assert.ok(status['syncedResourceVersion'], 'status.syncedResourceVersion is set');
  await waitFor('a Created Event', async () => (await eventNotes(kube, ns)).some((n) => n.startsWith('Normal Created')));
  const auditLines = op.audit.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => (r['externalSecret'] as { namespace: string }).namespace === ns);
  assert.ok(auditLines.some((r) => r['action'] === 'provider.read' && r['remoteKey'] === 'db#password' && r['result'] === 'success'));
  assert.ok(auditLines.some((r) => r['action'] === 'secret.create' && (r['targetSecret'] as { name: string }).name === 'db' && r['provider'] === 'fake' && r['identity'] === 'fake'));
});

test('a rotation in the provider reaches the Secret within the refresh interval', async () => {
  const ns = await namespaces.create(kube);
  const v1 = secrets.next();
  const v2 = secrets.next();
  await fakeStore(ns, 'store', [{ key: 'api', value: v1 }]);
  await createObject(kube, Plural.ExternalSecret, es('api', { secretStoreRef: { name: 'store' }, refreshInterval: '1s', data: [{ secretKey: 'key', remoteRef: { key: 'api' } }] }), ns);
  await waitSecretData(kube, ns, 'api', { key: v1 });
  await setStoreData(ns, 'store', [{ key: 'api', value: v2 }]);
  await waitSecretData(kube, ns, 'api', { key: v2 }, 10_000);
  await waitFor('an Updated Event', async () => (await eventNotes(kube, ns)).some((n) => n.startsWith('Normal Updated')));
});

test('spec changes add and remove keys; deleting the ExternalSecret deletes an Owner Secret', async () => {
  const ns = await namespaces.create(kube);
  const a = secrets.next();
  const b = secrets.next();
  await fakeStore(ns, 'store', [{ key: 'a', value: a }, { key: 'b', value: b }]);
  await createObject(kube, Plural.ExternalSecret, es('app', { secretStoreRef: { name: 'store' }, data: [{ secretKey: 'a', remoteRef: { key: 'a' } }] }), ns);
  await waitSecretData(kube, ns, 'app', { a });
  await patchObject(kube, Plural.ExternalSecret, 'app', { spec: { data: [{ secretKey: 'b', remoteRef: { key: 'b' } }] } }, ns);
  await waitSecretData(kube, ns, 'app', { b });
  await deleteObject(kube, Plural.ExternalSecret, 'app', ns);
  // The garbage collector learns of a new CRD at its next discovery sync (up to 30 s after install).
  await waitFor('the owned Secret to be garbage-collected', async () => (await readSecret(kube, ns, 'app')) === undefined, 90_000);
});

test('creationPolicy Orphan keeps the Secret after the ExternalSecret is deleted', async () => {
  const ns = await namespaces.create(kube);
  const v = secrets.next();
  await fakeStore(ns, 'store', [{ key: 'k', value: v }]);
  await createObject(kube, Plural.ExternalSecret, es('orphan', { secretStoreRef: { name: 'store' }, target: { creationPolicy: 'Orphan' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] }), ns);
  await waitSecretData(kube, ns, 'orphan', { k: v });
  assert.equal((await readSecret(kube, ns, 'orphan'))?.metadata?.ownerReferences, undefined);
  await deleteObject(kube, Plural.ExternalSecret, 'orphan', ns);
  await waitFor('the ExternalSecret to be gone', async () => (await getObject(kube, Plural.ExternalSecret, 'orphan', ns)) === undefined);
  // The garbage collector has nothing to collect; the Secret is still there with its data.
  assert.deepEqual(decodeData(await readSecret(kube, ns, 'orphan')), { k: v });
});

test('creationPolicy Merge adds keys to an existing Secret and refuses a missing one', async () => {
  const ns = await namespaces.create(kube);
  const v = secrets.next();
  await fakeStore(ns, 'store', [{ key: 'k', value: v }]);
  await createObject(kube, Plural.ExternalSecret, es('merge', { secretStoreRef: { name: 'store' }, target: { name: 'existing', creationPolicy: 'Merge' }, data: [{ secretKey: 'merged', remoteRef: { key: 'k' } }] }), ns);
  const refused = await waitReady(kube, { namespace: ns, name: 'merge', status: 'False', reason: 'SecretSyncedError' });
  assert.match(refused.message, /creationPolicy Merge needs an existing Secret/);
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'existing' }, stringData: { theirs: 'kept' } } });
  await waitSecretData(kube, ns, 'existing', { theirs: 'kept', merged: v }, 60_000);
});

test('creationPolicy None fetches but writes no Secret', async () => {
  const ns = await namespaces.create(kube);
  await fakeStore(ns, 'store', [{ key: 'k', value: secrets.next() }]);
  await createObject(kube, Plural.ExternalSecret, es('none', { secretStoreRef: { name: 'store' }, target: { creationPolicy: 'None' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] }), ns);
  await waitReady(kube, { namespace: ns, name: 'none', status: 'True', reason: 'SecretSynced' });
  assert.equal(await readSecret(kube, ns, 'none'), undefined);
});

test('deletionPolicy: Retain keeps, Delete deletes, Merge removes the keys of a vanished remote secret', async () => {
  const ns = await namespaces.create(kube);
  const keep = secrets.next();
  const gone = secrets.next();
  const data = [{ key: 'keep', value: keep }, { key: 'gone', value: gone }];
  await fakeStore(ns, 'store', data);
  const spec = (deletionPolicy: string, creationPolicy = 'Owner', keys = ['gone']) => ({
    secretStoreRef: { name: 'store' },
    refreshInterval: '1s',
    target: { deletionPolicy, creationPolicy },
    data: keys.map((k) => ({ secretKey: k, remoteRef: { key: k } })),
  });
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'merge' }, stringData: { theirs: 'kept' } } });
  await createObject(kube, Plural.ExternalSecret, es('retain', spec('Retain')), ns);
  await createObject(kube, Plural.ExternalSecret, es('delete', spec('Delete')), ns);
  await createObject(kube, Plural.ExternalSecret, es('merge', spec('Merge', 'Merge', ['keep', 'gone'])), ns);
  await waitSecretData(kube, ns, 'retain', { gone });
  await waitSecretData(kube, ns, 'delete', { gone });
  await waitSecretData(kube, ns, 'merge', { theirs: 'kept', keep, gone });

  await setStoreData(ns, 'store', [{ key: 'keep', value: keep }]);
  const retained = await waitReady(kube, { namespace: ns, name: 'retain', status: 'False', reason: 'SecretMissing' });
  assert.match(retained.message, /gone/);
  assert.deepEqual(decodeData(await readSecret(kube, ns, 'retain')), { gone });
  await waitFor('the Delete Secret to be deleted', async () => (await readSecret(kube, ns, 'delete')) === undefined);
  await waitReady(kube, { namespace: ns, name: 'delete', status: 'False', reason: 'SecretDeleted' });
  await waitSecretData(kube, ns, 'merge', { theirs: 'kept', keep });
});

test('refreshPolicy CreatedOnce and OnChange ignore rotations; OnChange and the force-sync annotation refresh', async () => {
  const ns = await namespaces.create(kube);
  const v1 = secrets.next();
  const v2 = secrets.next();
  await fakeStore(ns, 'store', [{ key: 'k', value: v1 }]);
  for (const policy of ['CreatedOnce', 'OnChange']) {
    await createObject(kube, Plural.ExternalSecret, es(policy.toLowerCase(), { secretStoreRef: { name: 'store' }, refreshPolicy: policy, refreshInterval: '1s', data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] }), ns);
    await waitSecretData(kube, ns, policy.toLowerCase(), { k: v1 });
  }
  const periodicCalls = callsByKey.get('k') ?? 0;
  await setStoreData(ns, 'store', [{ key: 'k', value: v2 }]);
  // A Periodic twin proves the rotation is visible; then the other two must still hold v1.
  await createObject(kube, Plural.ExternalSecret, es('periodic', { secretStoreRef: { name: 'store' }, refreshInterval: '1s', data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] }), ns);
  await waitSecretData(kube, ns, 'periodic', { k: v2 });
  assert.ok((callsByKey.get('k') ?? 0) > periodicCalls);
  assert.deepEqual(decodeData(await readSecret(kube, ns, 'createdonce')), { k: v1 });
  assert.deepEqual(decodeData(await readSecret(kube, ns, 'onchange')), { k: v1 });
  await patchObject(kube, Plural.ExternalSecret, 'onchange', { metadata: { annotations: { 'secret-relay.dev/force-sync': String(Date.now()) } } }, ns);
  await waitSecretData(kube, ns, 'onchange', { k: v2 });
  await patchObject(kube, Plural.ExternalSecret, 'createdonce', { metadata: { annotations: { 'secret-relay.dev/force-sync': String(Date.now()) } } }, ns);
  // CreatedOnce means once: the annotation does not refresh it either.
  await waitFor('the ExternalSecret to be reconciled after the annotation', async () => (await eventNotes(kube, ns)).length > 0);
  assert.deepEqual(decodeData(await readSecret(kube, ns, 'createdonce')), { k: v1 });
});

test('a hand-edited or deleted Secret is restored', async () => {
  const ns = await namespaces.create(kube);
  const v = secrets.next();
  await fakeStore(ns, 'store', [{ key: 'k', value: v }]);
  await createObject(kube, Plural.ExternalSecret, es('drift', { secretStoreRef: { name: 'store' }, refreshPolicy: 'OnChange', data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] }), ns);
  await waitSecretData(kube, ns, 'drift', { k: v });
  await mergePatchSecret(kube, ns, 'drift', { data: { k: Buffer.from('tampered').toString('base64') } });
  await waitSecretData(kube, ns, 'drift', { k: v });
  await kube.core.deleteNamespacedSecret({ namespace: ns, name: 'drift' });
  await waitSecretData(kube, ns, 'drift', { k: v });
});

test('a provider failure keeps the last good Secret and says why', async () => {
  const ns = await namespaces.create(kube);
  const v = secrets.next();
  const key = `flaky-${ns}`;
  await fakeStore(ns, 'store', [{ key, value: v }]);
  await createObject(kube, Plural.ExternalSecret, es('flaky', { secretStoreRef: { name: 'store' }, refreshInterval: '1s', data: [{ secretKey: 'k', remoteRef: { key } }] }), ns);
  await waitSecretData(kube, ns, 'flaky', { k: v });
  failingKeys.add(key);
  try {
    const failed = await waitReady(kube, { namespace: ns, name: 'flaky', status: 'False', reason: 'SecretSyncedError' });
    assert.match(failed.message, /fake provider unavailable/);
    assert.deepEqual(decodeData(await readSecret(kube, ns, 'flaky')), { k: v });
    await waitFor('an UpdateFailed Warning', async () => (await eventNotes(kube, ns)).some((n) => n.startsWith('Warning UpdateFailed')));
  } finally {
    failingKeys.delete(key);
  }
  await waitReady(kube, { namespace: ns, name: 'flaky', status: 'True', reason: 'SecretSynced' }, 30_000);
});

test('a ClusterSecretStore serves only the namespaces its conditions admit, and nothing is fetched elsewhere', async () => {
  const allowed = await namespaces.create(kube, { team: 'blue' });
  const denied = await namespaces.create(kube, { team: 'red' });
  const name = `css-${allowed}`;
  const key = `shared-${allowed}`;
  const v = secrets.next();
  await createObject(kube, Plural.ClusterSecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ClusterSecretStore',
    metadata: { name },
    spec: { provider: { fake: { data: [{ key, value: v }] } }, conditions: [{ namespaceSelector: { matchLabels: { team: 'blue' } } }] },
  });
  const ref = { secretStoreRef: { name, kind: 'ClusterSecretStore' }, data: [{ secretKey: 'k', remoteRef: { key } }] };
  await createObject(kube, Plural.ExternalSecret, es('shared', ref), allowed);
  await waitSecretData(kube, allowed, 'shared', { k: v });
  const callsBefore = callsByKey.get(key) ?? 0;
  await createObject(kube, Plural.ExternalSecret, es('shared', ref), denied);
  const refused = await waitReady(kube, { namespace: denied, name: 'shared', status: 'False', reason: 'NamespaceNotAllowed' });
  assert.match(refused.message, new RegExp(`namespace ${denied} is not admitted`));
  assert.equal(await readSecret(kube, denied, 'shared'), undefined);
  assert.equal(callsByKey.get(key) ?? 0, callsBefore, 'no provider call for the refused namespace');
  await deleteObject(kube, Plural.ClusterSecretStore, name);
});

test('a SecretStore serves only its own namespace; a missing store is reported', async () => {
  const home = await namespaces.create(kube);
  const other = await namespaces.create(kube);
  await fakeStore(home, 'store', [{ key: 'k', value: secrets.next() }]);
  await createObject(kube, Plural.ExternalSecret, es('cross', { secretStoreRef: { name: 'store' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] }), other);
  const missing = await waitReady(kube, { namespace: other, name: 'cross', status: 'False', reason: 'StoreNotFound' });
  assert.match(missing.message, new RegExp(`SecretStore ${other}/store does not exist`));
});

test('renaming the target moves the data and removes the old owned Secret', async () => {
  const ns = await namespaces.create(kube);
  const v = secrets.next();
  await fakeStore(ns, 'store', [{ key: 'k', value: v }]);
  await createObject(kube, Plural.ExternalSecret, es('rename', { secretStoreRef: { name: 'store' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] }), ns);
  await waitSecretData(kube, ns, 'rename', { k: v });
  await patchObject(kube, Plural.ExternalSecret, 'rename', { spec: { target: { name: 'renamed' } } }, ns);
  await waitSecretData(kube, ns, 'renamed', { k: v });
  await waitFor('the old Secret to be removed', async () => (await readSecret(kube, ns, 'rename')) === undefined);
});

test('a store with a provider this version lacks is not Ready, and says so', async () => {
  const ns = await namespaces.create(kube);
  await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name: 'gcp' }, spec: { provider: { gcpsm: { projectID: 'demo-project' } } } }, ns);
  const ready = await waitFor('the store to be not Ready', async () => {
    const r = readyOf(await getObject(kube, Plural.SecretStore, 'gcp', ns));
    return r?.status === 'False' ? r : undefined;
  });
  assert.equal(ready.reason, 'ProviderNotAvailable');
  await createObject(kube, Plural.ExternalSecret, es('uses-gcp', { secretStoreRef: { name: 'gcp' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] }), ns);
  const es1 = await waitReady(kube, { namespace: ns, name: 'uses-gcp', status: 'False', reason: 'StoreNotReady' });
  assert.match(es1.message, /provider gcpsm is not available/);
});

test('metrics count reconciles and provider calls with bounded labels', async () => {
  const res = await fetch(`http://127.0.0.1:${op.operator.metricsPort}/metrics`);
  const text = await res.text();
  assert.match(text, /secret_relay_reconcile_total\{controller="externalsecret",result="success"\} [1-9]/);
  assert.match(text, /secret_relay_provider_requests_total\{provider="fake",operation="getSecret",result="success"\} [1-9]/);
  for (const ns of namespaces.names) assert.ok(!text.includes(ns), `metrics mention namespace ${ns}`);
  assert.equal((await fetch(`http://127.0.0.1:${op.operator.metricsPort}/readyz`)).status, 200);
});

test('no secret value appears in any log line, audit record, Event or status written during the suite', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], expectAudit: true, kube, namespaces: namespaces.names, values: secrets, atLeast: 11 });
});
