// ESO v1 manifests secret-relay used to refuse, end to end against the real apiserver: an ExternalSecret without
// spec.secretStoreRef whose entries each name their own sourceRef.storeRef (reads from two stores into one Secret),
// and dataFrom rewrite.merge (Extract and JSON strategies). A store an entry names that does not exist makes the
// ExternalSecret not ready, naming the entry; nothing is written.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, createObject, eventNotes, Plural, readSecret, startTestOperator, type TestOperator } from '../support/operator.ts';
import { stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';

let cluster: LocalCluster;
let kube: TestKube;
let op: TestOperator;
const namespaces = new TestNamespaces('sources');
const reads = new Map<string, number>();

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  op = await startTestOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    args: ['--leader-elect=false'],
    fakeHooks: {
      // A key named flaky-N fails its first N reads with an outage, as a provider timing out would.
      onCall(operation, ref) {
        const key = operation === 'getSecret' ? (ref as { key: string }).key : '';
        const failing = /^flaky-(\d+)$/.exec(key);
        if (!failing) return;
        const seen = (reads.get(key) ?? 0) + 1;
        reads.set(key, seen);
        if (seen <= Number(failing[1])) throw new Error(`fake provider timed out reading ${key}`);
      },
    },
  });
});

after(async () => {
  await stopTestOperator(op, 'externalsecret-sources');
  await cluster?.stop();
});

async function fakeStore(ns: string, name: string, data: Record<string, string>, extra: Record<string, unknown> = {}): Promise<void> {
  await createObject(kube, Plural.SecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name },
    spec: { ...extra, provider: { fake: { data: Object.entries(data).map(([key, value]) => ({ key, value })) } } },
  }, ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name, status: 'True' });
}

const es = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name }, spec });

test('no spec.secretStoreRef: each entry reads from the store its sourceRef.storeRef names, into one Secret', async () => {
  const ns = await namespaces.create(kube);
  await fakeStore(ns, 'db-store', { db: '{"user":"app","password":"db-pass"}' });
  await fakeStore(ns, 'api-store', { api: '{"token":"api-token"}' });
  await createObject(kube, Plural.ExternalSecret, es('combined', {
    data: [{ secretKey: 'user', remoteRef: { key: 'db', property: 'user' }, sourceRef: { storeRef: { name: 'db-store', kind: 'SecretStore' } } }],
    dataFrom: [{ extract: { key: 'api' }, sourceRef: { storeRef: { name: 'api-store', kind: 'SecretStore' } } }],
  }), ns);
  await waitSecretData(kube, ns, 'combined', { user: 'app', token: 'api-token' });
  await waitReady(kube, { namespace: ns, name: 'combined', status: 'True' });
  // Audited per store: each read names the store it went to.
  const reads = op.audit.lines.map((line) => JSON.parse(line) as { action: string; externalSecret?: { namespace: string }; store?: { name: string } })
    .filter((r) => r.action === 'provider.read' && r.externalSecret?.namespace === ns);
  assert.deepEqual(new Set(reads.map((r) => r.store?.name)), new Set(['db-store', 'api-store']));
});

test('an entry whose own store does not exist: Ready=False naming the entry, no Secret', async () => {
  const ns = await namespaces.create(kube);
  await fakeStore(ns, 'db-store', { db: '{"user":"app"}' });
  await createObject(kube, Plural.ExternalSecret, es('half', {
    secretStoreRef: { name: 'db-store' },
    data: [
      { secretKey: 'user', remoteRef: { key: 'db', property: 'user' } },
      { secretKey: 'other', remoteRef: { key: 'x' }, sourceRef: { storeRef: { name: 'nowhere' } } },
    ],
  }), ns);
  await waitReady(kube, { namespace: ns, name: 'half', status: 'False', message: /spec\.data\[1\]: SecretStore .*nowhere does not exist/ });
  assert.equal(await readSecret(kube, ns, 'half'), undefined);
});

test("dataFrom rewrite.merge: ESO's Extract hoists every JSON value's fields; JSON writes them under `into`", async () => {
  const ns = await namespaces.create(kube);
  await fakeStore(ns, 'vault-backend', { 'app/db-credentials': '{"username":"app","port":5432}', 'app/api-credentials': '{"token":"t0k3n"}' });
  // ESO's own documentation example (datafrom-rewrite-merge-empty.yaml), with the store renamed.
  await createObject(kube, Plural.ExternalSecret, es('merged', {
    secretStoreRef: { name: 'vault-backend', kind: 'SecretStore' },
    dataFrom: [{ find: { name: { regexp: '.*-credentials' } }, rewrite: [{ merge: {} }] }],
  }), ns);
  await waitSecretData(kube, ns, 'merged', { username: 'app', port: '5432', token: 't0k3n' });
  // The fake provider converts found names (app/… → app_…) before the rewrites, as ESO's fake does.
  await createObject(kube, Plural.ExternalSecret, es('merged-json', {
    secretStoreRef: { name: 'vault-backend' },
    dataFrom: [{ find: { name: { regexp: '.*-credentials' } }, rewrite: [{ merge: { strategy: 'JSON', into: 'config.json' } }, { regexp: { source: '^app_', target: '' } }] }],
  }), ns);
  await waitSecretData(kube, ns, 'merged-json', {
    'config.json': '{"port":5432,"token":"t0k3n","username":"app"}',
    'db-credentials': '{"username":"app","port":5432}',
    'api-credentials': '{"token":"t0k3n"}',
  });
});

test("the store's retrySettings: reads that time out twice are retried at retryInterval (requeues) — the Secret is written and the ExternalSecret never reported failing", async () => {
  const ns = await namespaces.create(kube);
  await fakeStore(ns, 'patient', { 'flaky-2': 'v' }, { retrySettings: { maxRetries: 3, retryInterval: '200ms' } });
  await createObject(kube, Plural.ExternalSecret, es('retried', { secretStoreRef: { name: 'patient' }, data: [{ secretKey: 'k', remoteRef: { key: 'flaky-2' } }] }), ns);
  await waitSecretData(kube, ns, 'retried', { k: 'v' });
  await waitReady(kube, { namespace: ns, name: 'retried', status: 'True' });
  assert.equal(reads.get('flaky-2'), 3);
  const notes = await eventNotes(kube, ns);
  assert.deepEqual(notes.filter((note) => note.startsWith('Warning')), [], 'no Warning Event: the user saw no failure');
});
