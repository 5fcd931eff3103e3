// Whose Secret is it? Against a real apiserver (and its garbage collector): a Secret this ExternalSecret did not
// create is never written without the secret-relay.dev/adopt opt-in; adoption moves the ownerReference and the
// field ownership without the data ever being missing; CreateOrMerge creates, merges and outlives its
// ExternalSecret. Every value used is searched for in the logs, audit records, Events and statuses at the end.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, createObject, decodeData, eventNotes, getObject, patchObject, Plural, readSecret, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import { createEsoExternalSecret } from '../support/eso.ts';
import type { TestKube } from '../support/kube.ts';
import type { RemoteRef } from '../../src/providers/provider.ts';

let cluster: LocalCluster;
let kube: TestKube;
let op: TestOperator;
const secrets = new SecretValues();
const callsByKey = new Map<string, number>();
const namespaces = new TestNamespaces('own');

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  op = await startTestOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    args: ['--leader-elect=false', '--concurrency=4'],
    fakeHooks: {
      onCall(operation, ref) {
        if (operation === 'getSecret') callsByKey.set((ref as RemoteRef).key, (callsByKey.get((ref as RemoteRef).key) ?? 0) + 1);
      },
    },
  });
});

after(async () => {
  await stopTestOperator(op, 'ownership');
  await cluster?.stop();
});

type Entry = { key: string; value: string };

async function fakeStore(ns: string, data: Entry[]): Promise<void> {
  await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name: 'store' }, spec: { provider: { fake: { data } } } }, ns);
}

function es(name: string, target: Record<string, unknown>, keys: Record<string, string>, extra: { annotations?: Record<string, string>; refreshInterval?: string } = {}) {
  return {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: {
      secretStoreRef: { name: 'store' },
      ...(extra.refreshInterval ? { refreshInterval: extra.refreshInterval } : {}),
      target,
      data: Object.entries(keys).map(([secretKey, key]) => ({ secretKey, remoteRef: { key } })),
    },
  };
}

async function handMadeSecret(ns: string, name: string, stringData: Record<string, string>, metadata: Partial<k8s.V1ObjectMeta> = {}, fieldManager?: string): Promise<k8s.V1Secret> {
  return kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name, labels: { team: 'a' }, annotations: { note: 'made by hand' }, ...metadata }, stringData }, ...(fieldManager ? { fieldManager } : {}) });
}

/** Everything a user could notice about a Secret, resourceVersion included. */
function snapshot(secret: k8s.V1Secret | undefined) {
  const m = secret?.metadata;
  return { resourceVersion: m?.resourceVersion, labels: m?.labels, annotations: m?.annotations, ownerReferences: m?.ownerReferences, managedFields: JSON.stringify(m?.managedFields), data: secret?.data, type: secret?.type };
}

async function externalSecretReconciles(): Promise<number> {
  const metric = await op.operator.registry.getSingleMetric('secret_relay_reconcile_total')!.get();
  return metric.values.filter((v) => v.labels['controller'] === 'externalsecret').reduce((sum, v) => sum + v.value, 0);
}

/** apiserver requests the operator sent, by verb (printed as figures, never asserted). */
async function kubeRequests(): Promise<Record<string, number>> {
  const metric = await op.operator.registry.getSingleMetric('secret_relay_kube_requests_total')!.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels['verb']), v.value]));
}

function requestsSince(before: Record<string, number>, after: Record<string, number>): string {
  return Object.entries(after).map(([verb, n]) => [verb, n - (before[verb] ?? 0)] as const).filter(([, n]) => n > 0).map(([verb, n]) => `${verb}=${n}`).join(' ') || 'none';
}

function auditOf(ns: string): Record<string, unknown>[] {
  return op.audit.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => (r['externalSecret'] as { namespace: string }).namespace === ns);
}

/** Which field managers own f:data.f:<key> of the Secret. */
function dataKeyManagers(secret: k8s.V1Secret | undefined, key: string): string[] {
  return (secret?.metadata?.managedFields ?? [])
    .filter((entry) => Object.hasOwn(((entry.fieldsV1 as Record<string, Record<string, unknown>> | undefined)?.['f:data'] ?? {}), `f:${key}`))
    .map((entry) => entry.manager ?? '');
}

test('a hand-made Secret is left byte-identical under Owner and Orphan, with a reason, an Event and an audit record; deleting it lets the ExternalSecret create its own', async (t) => {
  const ns = await namespaces.create(kube);
  const theirs = secrets.next('theirs');
  const ours = secrets.next('ours');
  await fakeStore(ns, [{ key: 'remote', value: ours }]);
  await handMadeSecret(ns, 'precious', { password: theirs, other: 'kept' });
  await handMadeSecret(ns, 'keepsake', { password: theirs });
  const before = snapshot(await readSecret(kube, ns, 'precious'));
  const beforeOrphan = snapshot(await readSecret(kube, ns, 'keepsake'));

  await createObject(kube, Plural.ExternalSecret, es('app', { name: 'precious' }, { password: 'remote' }, { refreshInterval: '2s' }), ns);
  await createObject(kube, Plural.ExternalSecret, es('orphan', { name: 'keepsake', creationPolicy: 'Orphan' }, { password: 'remote' }), ns);
  const refused = await waitReady(kube, { namespace: ns, name: 'app', status: 'False', reason: 'SecretExistsNotOwned' });
  assert.match(refused.message, new RegExp(`^Secret ${ns}/precious exists and this ExternalSecret did not create it \\(written by [^)]+\\); nothing was written\\.`));
  assert.match(refused.message, /spec\.target\.name/);
  assert.match(refused.message, /secret-relay\.dev\/adopt="true"/);
  await waitReady(kube, { namespace: ns, name: 'orphan', status: 'False', reason: 'SecretExistsNotOwned', message: /keepsake exists/ });

  // A few rechecks of the refused ExternalSecret (every 2 s): still nothing written, and no provider call. (The
  // first attempt read the provider: its create-only write is what found the Secret there.)
  const providerCalls = callsByKey.get('remote') ?? 0;
  const seen = await externalSecretReconciles();
  const requestsBefore = await kubeRequests();
  await waitFor('three more reconciles', async () => (await externalSecretReconciles()) >= seen + 3, 20_000);
  t.diagnostic(`apiserver requests during ${(await externalSecretReconciles()) - seen} rechecks of a refused ExternalSecret: ${requestsSince(requestsBefore, await kubeRequests())}`);
  assert.deepEqual(snapshot(await readSecret(kube, ns, 'precious')), before);
  assert.deepEqual(snapshot(await readSecret(kube, ns, 'keepsake')), beforeOrphan);
  assert.ok(providerCalls <= 2, `at most one provider read per refused ExternalSecret (${providerCalls})`);
  assert.equal(callsByKey.get('remote') ?? 0, providerCalls, 'a refused ExternalSecret makes no provider call when it rechecks');
  const warnings = (await eventNotes(kube, ns)).filter((n) => n.startsWith('Warning SecretExistsNotOwned'));
  assert.equal(warnings.filter((n) => n.includes('precious')).length, 1, 'one Event for the refusal, not one per recheck');
  const refusals = auditOf(ns).filter((r) => r['action'] === 'secret.refuse');
  assert.ok(refusals.some((r) => r['result'] === 'denied' && (r['targetSecret'] as { name: string }).name === 'precious'));
  assert.equal(refusals.filter((r) => (r['targetSecret'] as { name: string }).name === 'precious').length, 1);

  // The user removes the hand-made Secret: the next recheck (no Secret event reaches us) creates ours.
  await kube.core.deleteNamespacedSecret({ namespace: ns, name: 'precious' });
  const created = await waitSecretData(kube, ns, 'precious', { password: ours }, 20_000);
  assert.equal(created.metadata?.ownerReferences?.[0]?.name, 'app');
  await waitReady(kube, { namespace: ns, name: 'app', status: 'True', reason: 'SecretSynced' });
});

test('a Secret owned by a Deployment, or by another ExternalSecret, is left as it is and its owner is named', async () => {
  const ns = await namespaces.create(kube);
  const v = secrets.next();
  await fakeStore(ns, [{ key: 'k', value: v }]);
  const deployment = await kube.apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'web' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'registry.invalid/web:1' }] } },
      },
    },
  });
  await handMadeSecret(ns, 'web-config', { setting: secrets.next() }, {
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: deployment.metadata!.uid!, controller: true }],
  });
  const webBefore = snapshot(await readSecret(kube, ns, 'web-config'));
  await createObject(kube, Plural.ExternalSecret, es('web', { name: 'web-config' }, { setting: 'k' }), ns);
  await waitReady(kube, { namespace: ns, name: 'web', status: 'False', reason: 'SecretExistsNotOwned', message: /web-config exists and it is owned by Deployment web \(apps\)/ });

  await createObject(kube, Plural.ExternalSecret, es('first', { name: 'shared' }, { k: 'k' }), ns);
  await waitSecretData(kube, ns, 'shared', { k: v });
  const sharedBefore = snapshot(await readSecret(kube, ns, 'shared'));
  await createObject(kube, Plural.ExternalSecret, es('second', { name: 'shared' }, { other: 'k' }), ns);
  await waitReady(kube, { namespace: ns, name: 'second', status: 'False', reason: 'SecretExistsNotOwned', message: /shared exists and it is owned by ExternalSecret first;/ });

  assert.deepEqual(snapshot(await readSecret(kube, ns, 'web-config')), webBefore);
  assert.deepEqual(snapshot(await readSecret(kube, ns, 'shared')), sharedBefore);
  await waitReady(kube, { namespace: ns, name: 'first', status: 'True', reason: 'SecretSynced' });
});

test('with secret-relay.dev/adopt a hand-made Secret is taken over: ownerReference and field ownership move to us, undeclared keys go, Event and audit say so', async () => {
  const ns = await namespaces.create(kube);
  const password = secrets.next('password');
  const legacy = secrets.next('legacy');
  await fakeStore(ns, [{ key: 'pw', value: password }, { key: 'user', value: 'app' }]);
  await handMadeSecret(ns, 'precious', { password, user: 'app', legacy }, {}, 'kubectl-create');
  await createObject(kube, Plural.ExternalSecret, es('app', { name: 'precious' }, { password: 'pw', user: 'user' }, { annotations: { 'secret-relay.dev/adopt': 'true' } }), ns);
  const adopted = await waitSecretData(kube, ns, 'precious', { password, user: 'app' });
  const owner = adopted.metadata?.ownerReferences ?? [];
  assert.equal(owner.length, 1);
  assert.equal(owner[0]?.kind, 'ExternalSecret');
  assert.equal(owner[0]?.name, 'app');
  assert.equal(owner[0]?.controller, true);
  assert.deepEqual(dataKeyManagers(adopted, 'password'), ['secret-relay.dev/app'], 'only our field manager owns the key');
  // Their labels and annotations are not data: they stay.
  assert.equal(adopted.metadata?.labels?.['team'], 'a');
  assert.equal(adopted.metadata?.annotations?.['note'], 'made by hand');
  await waitReady(kube, { namespace: ns, name: 'app', status: 'True', reason: 'SecretSynced' });
  const notes = await eventNotes(kube, ns);
  assert.ok(notes.some((n) => n === 'Normal Adopted: Secret precious adopted from kubectl-create; keys it did not declare were removed: legacy'), notes.join('\n'));
  assert.ok(auditOf(ns).some((r) => r['action'] === 'secret.adopt' && r['result'] === 'success' && r['provider'] === 'fake'));
  // The keys are ours alone now: dropping one from the spec removes it, as for a Secret we created.
  await patchObject(kube, Plural.ExternalSecret, 'app', { spec: { data: [{ secretKey: 'password', remoteRef: { key: 'pw' } }] } }, ns);
  await waitSecretData(kube, ns, 'precious', { password });
});

test("adopting a Secret ESO's ExternalSecret owns: the controller reference moves to us and the data is never missing or different", async (t) => {
  const ns = await namespaces.create(kube);
  const user = secrets.next('user');
  const password = secrets.next('password');
  await fakeStore(ns, [{ key: 'db-user', value: user }, { key: 'db-password', value: password }]);
  // A real owner object: the garbage collector deletes a Secret whose owner does not exist once ESO's kind is known.
  const esoRef = await createEsoExternalSecret(kube, ns, 'db');
  const original = await kube.core.createNamespacedSecret({
    namespace: ns,
    fieldManager: 'externalsecrets.external-secrets.io/db',
    body: {
      metadata: { name: 'db', labels: { 'reconcile.external-secrets.io/managed': 'true' }, ownerReferences: [esoRef] },
      stringData: { user, password },
    },
  });

  // Every version of the Secret the apiserver sends, from before the ExternalSecret exists until the takeover.
  // A watch that ends early (a connection reset on a loaded machine) resumes from the last version it saw, so no
  // version is missed.
  const versions: { type: string; data: Record<string, string> | undefined }[] = [];
  let lastSeen = original.metadata!.resourceVersion!;
  let stopped = false;
  let current: { abort(): void } | undefined;
  const follow = async (): Promise<void> => {
    current = await new k8s.Watch(kube.config).watch(
      `/api/v1/namespaces/${ns}/secrets`,
      { fieldSelector: 'metadata.name=db', resourceVersion: lastSeen },
      (type, obj: k8s.V1Secret) => {
        lastSeen = obj.metadata?.resourceVersion ?? lastSeen;
        versions.push({ type, data: obj.data });
      },
      () => {
        if (!stopped) void follow();
      },
    );
  };
  await follow();
  const watch = {
    abort() {
      stopped = true;
      current?.abort();
    },
  };
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'store', status: 'True' });
  const requestsBefore = await kubeRequests();
  try {
    await createObject(kube, Plural.ExternalSecret, es('db', { name: 'db' }, { user: 'db-user', password: 'db-password' }, { annotations: { 'secret-relay.dev/adopt': 'true' } }), ns);
    const taken = await waitFor('the Secret to be controlled by our ExternalSecret', async () => {
      const secret = await readSecret(kube, ns, 'db');
      const refs = secret?.metadata?.ownerReferences ?? [];
      return refs.length === 1 && refs[0]?.apiVersion === 'secret-relay.dev/v1alpha1' && refs[0]?.controller === true ? secret : undefined;
    });
    await waitFor('the watch to have seen the takeover', () => versions.some((v) => v.type === 'MODIFIED'));
    assert.deepEqual(dataKeyManagers(taken, 'user'), ['secret-relay.dev/db']);
    assert.deepEqual(dataKeyManagers(taken, 'password'), ['secret-relay.dev/db']);
    await waitReady(kube, { namespace: ns, name: 'db', status: 'True', reason: 'SecretSynced' });
    t.diagnostic(`apiserver requests from the ExternalSecret's creation to its adoption being Ready: ${requestsSince(requestsBefore, await kubeRequests())}`);
    assert.ok((await eventNotes(kube, ns)).some((n) => n === "Normal Adopted: Secret db adopted from ESO's ExternalSecret db (external-secrets.io)"));
  } finally {
    watch.abort();
  }
  assert.ok(versions.length > 0);
  for (const version of versions) {
    assert.equal(version.type, 'MODIFIED', 'the Secret was never deleted or recreated');
    assert.deepEqual(version.data, original.data, 'every version held the same data');
  }
});

test('CreateOrMerge creates the Secret, merges into an existing one keeping its keys, outlives the ExternalSecret, and is recreated when deleted', async () => {
  const ns = await namespaces.create(kube);
  const v = secrets.next();
  await fakeStore(ns, [{ key: 'k', value: v }]);
  await handMadeSecret(ns, 'existing', { theirs: 'kept' });
  await createObject(kube, Plural.ExternalSecret, es('fresh', { name: 'made', creationPolicy: 'CreateOrMerge' }, { k: 'k' }), ns);
  await createObject(kube, Plural.ExternalSecret, es('merge', { name: 'existing', creationPolicy: 'CreateOrMerge' }, { k: 'k' }), ns);
  const made = await waitSecretData(kube, ns, 'made', { k: v });
  assert.equal(made.metadata?.ownerReferences, undefined, 'CreateOrMerge sets no ownerReference');
  const merged = await waitSecretData(kube, ns, 'existing', { theirs: 'kept', k: v });
  assert.equal(merged.metadata?.ownerReferences, undefined);
  assert.equal(merged.metadata?.labels?.['team'], 'a');

  // Switching the merge into someone's Secret to Owner would hand their keys to the garbage collector: refused.
  const mergedBefore = snapshot(await readSecret(kube, ns, 'existing'));
  await patchObject(kube, Plural.ExternalSecret, 'merge', { spec: { target: { creationPolicy: 'Owner' } } }, ns);
  await waitReady(kube, { namespace: ns, name: 'merge', status: 'False', reason: 'SecretExistsNotOwned', message: /only merged keys into it: it holds keys written by [^,]+, which creationPolicy Owner/ });
  assert.deepEqual(snapshot(await readSecret(kube, ns, 'existing')), mergedBefore);
  await patchObject(kube, Plural.ExternalSecret, 'merge', { spec: { target: { creationPolicy: 'CreateOrMerge' } } }, ns);
  await waitReady(kube, { namespace: ns, name: 'merge', status: 'True', reason: 'SecretSynced' });

  // Deleted: recreated at once (the managed-Secret watch), not at the next hourly refresh.
  await kube.core.deleteNamespacedSecret({ namespace: ns, name: 'made' });
  await waitFor('the Secret to be gone', async () => (await readSecret(kube, ns, 'made'))?.metadata?.uid !== made.metadata?.uid);
  const recreated = await waitSecretData(kube, ns, 'made', { k: v }, 15_000);
  assert.notEqual(recreated.metadata?.uid, made.metadata?.uid);

  for (const name of ['fresh', 'merge']) await kube.custom.deleteNamespacedCustomObject({ group: 'secret-relay.dev', version: 'v1alpha1', namespace: ns, plural: Plural.ExternalSecret, name });
  await waitFor('the ExternalSecrets to be gone', async () => (await getObject(kube, Plural.ExternalSecret, 'fresh', ns)) === undefined && (await getObject(kube, Plural.ExternalSecret, 'merge', ns)) === undefined);
  assert.deepEqual(decodeData(await readSecret(kube, ns, 'made')), { k: v });
  assert.deepEqual(decodeData(await readSecret(kube, ns, 'existing')), { theirs: 'kept', k: v });
});

test('a target rename never deletes a Secret we did not create', async () => {
  const ns = await namespaces.create(kube);
  const v = secrets.next();
  await fakeStore(ns, [{ key: 'k', value: v }]);
  await handMadeSecret(ns, 'precious', { mine: 'not yours' });
  await handMadeSecret(ns, 'shared', { theirs: 'kept' });
  const preciousBefore = snapshot(await readSecret(kube, ns, 'precious'));
  await createObject(kube, Plural.ExternalSecret, es('mover', { name: 'mine' }, { k: 'k' }), ns);
  await createObject(kube, Plural.ExternalSecret, es('merger', { name: 'shared', creationPolicy: 'CreateOrMerge' }, { k: 'k' }), ns);
  await waitSecretData(kube, ns, 'mine', { k: v });
  await waitSecretData(kube, ns, 'shared', { theirs: 'kept', k: v });

  // Renamed onto someone else's Secret: refused, and the Secret it had stays until a rename succeeds.
  await patchObject(kube, Plural.ExternalSecret, 'mover', { spec: { target: { name: 'precious' } } }, ns);
  await waitReady(kube, { namespace: ns, name: 'mover', status: 'False', reason: 'SecretExistsNotOwned' });
  assert.deepEqual(decodeData(await readSecret(kube, ns, 'mine')), { k: v });
  await patchObject(kube, Plural.ExternalSecret, 'mover', { spec: { target: { name: 'next' } } }, ns);
  await waitSecretData(kube, ns, 'next', { k: v });
  await waitFor('the Secret it created under the old name to be deleted', async () => (await readSecret(kube, ns, 'mine')) === undefined);
  assert.deepEqual(snapshot(await readSecret(kube, ns, 'precious')), preciousBefore);

  // A merge target is someone else's: a rename leaves it.
  await patchObject(kube, Plural.ExternalSecret, 'merger', { spec: { target: { name: 'elsewhere' } } }, ns);
  await waitSecretData(kube, ns, 'elsewhere', { k: v });
  await waitReady(kube, { namespace: ns, name: 'merger', status: 'True', reason: 'SecretSynced' });
  assert.equal((await readSecret(kube, ns, 'shared'))?.data?.['theirs'], Buffer.from('kept').toString('base64'));
});

test('Secrets of an earlier operator version, and of a deleted ExternalSecret of the same name, keep syncing without an opt-in', async () => {
  const ns = await namespaces.create(kube);
  const old = secrets.next('old');
  const v1 = secrets.next();
  const v2 = secrets.next();
  await fakeStore(ns, [{ key: 'k', value: v1 }]);
  // What an earlier version wrote: our label and field manager, no ownerReference.
  await kube.core.patchNamespacedSecret(
    {
      namespace: ns,
      name: 'legacy',
      fieldManager: 'secret-relay.dev/legacy',
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'legacy', namespace: ns, labels: { 'secret-relay.dev/managed': 'true' } }, data: { k: Buffer.from(old).toString('base64') } },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
  );
  await createObject(kube, Plural.ExternalSecret, es('legacy', {}, { k: 'k' }), ns);
  const synced = await waitSecretData(kube, ns, 'legacy', { k: v1 });
  assert.equal(synced.metadata?.ownerReferences?.[0]?.name, 'legacy');

  // An Owner Secret whose ExternalSecret was deleted with --cascade=orphan, then the ExternalSecret recreated.
  await createObject(kube, Plural.ExternalSecret, es('again', {}, { k: 'k' }), ns);
  const first = await waitSecretData(kube, ns, 'again', { k: v1 });
  const firstUid = first.metadata!.ownerReferences![0]!.uid;
  await kube.custom.deleteNamespacedCustomObject({ group: 'secret-relay.dev', version: 'v1alpha1', namespace: ns, plural: Plural.ExternalSecret, name: 'again', propagationPolicy: 'Orphan' });
  // The garbage collector orphans the Secret (removes the reference) before the ExternalSecret goes; it learns of
  // a new CRD at its next discovery sync (up to 30 s after install).
  await waitFor('the ExternalSecret to be gone', async () => (await getObject(kube, Plural.ExternalSecret, 'again', ns)) === undefined, 90_000);
  await patchObject(kube, Plural.SecretStore, 'store', { spec: { provider: { fake: { data: [{ key: 'k', value: v2 }] } } } }, ns);
  await createObject(kube, Plural.ExternalSecret, es('again', {}, { k: 'k' }), ns);
  const resynced = await waitSecretData(kube, ns, 'again', { k: v2 });
  const refs = resynced.metadata?.ownerReferences ?? [];
  assert.equal(refs.length, 1);
  assert.notEqual(refs[0]?.uid, firstUid, 'the reference names the new ExternalSecret');
  await waitReady(kube, { namespace: ns, name: 'again', status: 'True', reason: 'SecretSynced' });
});

test('no secret value leaked into logs, audit records, Events or statuses', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], expectAudit: true, kube, namespaces: namespaces.names, values: secrets, atLeast: 12 });
});
