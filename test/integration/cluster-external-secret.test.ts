// ClusterExternalSecret end to end against a real apiserver and kube-controller-manager (garbage collector):
// selection by labels and names, reaction to namespace changes within seconds, removal where no longer selected,
// garbage collection with the owner, no takeover of a foreign ExternalSecret, the same validation as an
// ExternalSecret, and 300 namespaces converging (time and apiserver requests printed).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, createObject, deleteObject, getObject, patchObject, Plural, readyOf, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';

let cluster: LocalCluster;
let kube: TestKube;
let op: TestOperator;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('ces');
const run = randomBytes(3).toString('hex');
const storeName = `ces-store-${run}`;
const token = secrets.next('registry-token');

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false', '--concurrency=4'] });
  await createObject(kube, Plural.ClusterSecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ClusterSecretStore',
    metadata: { name: storeName },
    spec: { provider: { fake: { data: [{ key: 'registry', value: token }] } } },
  });
});

after(async () => {
  await stopTestOperator(op, 'cluster-external-secret');
  await deleteObject(kube, Plural.ClusterSecretStore, storeName).catch(() => {});
});

function ces(name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ClusterExternalSecret',
    metadata: { name },
    spec: {
      externalSecretName: 'registry',
      externalSecretMetadata: { labels: { team: 'platform' } },
      externalSecretSpec: {
        secretStoreRef: { name: storeName, kind: 'ClusterSecretStore' },
        refreshInterval: '1h',
        data: [{ secretKey: 'token', remoteRef: { key: 'registry' } }],
      },
      ...spec,
    },
  };
}

const esOf = (ns: string) => getObject(kube, Plural.ExternalSecret, 'registry', ns);
const cesStatus = async (name: string) => (await getObject(kube, Plural.ClusterExternalSecret, name))?.['status'] as
  | { provisionedNamespaces?: string[]; failedNamespaces?: { namespace: string; reason: string }[]; conditions?: { type: string; status: string; reason: string }[] }
  | undefined;

test('namespaces selected by labels and by name get the ExternalSecret and its Secret; others do not; status lists them', async (t) => {
  const label = `sel-${run}`;
  const byLabel = await namespaces.create(kube, { 'shared-registry': label });
  const byName = await namespaces.create(kube);
  const other = await namespaces.create(kube);
  const name = `select-${run}`;
  await createObject(kube, Plural.ClusterExternalSecret, ces(name, { namespaceSelectors: [{ matchLabels: { 'shared-registry': label } }], namespaces: [byName] }));
  t.after(() => deleteObject(kube, Plural.ClusterExternalSecret, name).catch(() => {}));
  for (const ns of [byLabel, byName]) await waitSecretData(kube, ns, 'registry', { token });
  const child = await esOf(byLabel);
  assert.equal((child?.['metadata'] as { labels: Record<string, string> }).labels['team'], 'platform');
  const owner = (child?.['metadata'] as { ownerReferences: { kind: string; name: string; controller: boolean }[] }).ownerReferences[0]!;
  assert.deepEqual({ kind: owner.kind, name: owner.name, controller: owner.controller }, { kind: 'ClusterExternalSecret', name, controller: true });
  assert.equal(await esOf(other), undefined);
  const status = await waitFor('status lists both namespaces', async () => {
    const s = await cesStatus(name);
    return s?.provisionedNamespaces?.length === 2 && s.conditions?.[0]?.status === 'True' ? s : undefined;
  });
  assert.deepEqual(status.provisionedNamespaces, [byLabel, byName].sort());
  assert.equal(status.conditions?.[0]?.reason, 'Provisioned');
});

test('a namespace created with matching labels gets its Secret within seconds; removing the label removes the ExternalSecret', async (t) => {
  const label = `late-${run}`;
  const name = `late-${run}`;
  await createObject(kube, Plural.ClusterExternalSecret, ces(name, { namespaceSelectors: [{ matchLabels: { 'late-registry': label } }] }));
  t.after(() => deleteObject(kube, Plural.ClusterExternalSecret, name).catch(() => {}));
  const started = Date.now();
  const ns = await namespaces.create(kube, { 'late-registry': label });
  await waitSecretData(kube, ns, 'registry', { token }, 15_000);
  t.diagnostic(`new namespace → Secret in ${Date.now() - started} ms (refreshTime is 1m: this came from the namespace watch)`);

  await kube.core.patchNamespace({ name: ns, body: [{ op: 'remove', path: '/metadata/labels/late-registry' }] });
  await waitFor('the ExternalSecret removed from the namespace that stopped matching', async () => (await esOf(ns)) === undefined, 15_000);
  await waitFor('status without it', async () => ((await cesStatus(name))?.provisionedNamespaces ?? []).length === 0);
});

test('a changed externalSecretName: the ExternalSecret under the new name is written and the one under the old name deleted', async (t) => {
  const name = `rename-${run}`;
  const ns = await namespaces.create(kube);
  await createObject(kube, Plural.ClusterExternalSecret, ces(name, { namespaces: [ns] }));
  t.after(() => deleteObject(kube, Plural.ClusterExternalSecret, name).catch(() => {}));
  await waitSecretData(kube, ns, 'registry', { token });
  await patchObject(kube, Plural.ClusterExternalSecret, name, { spec: { externalSecretName: 'registry-renamed' } });
  await waitSecretData(kube, ns, 'registry-renamed', { token });
  await waitFor('the ExternalSecret under the old name deleted', async () => (await esOf(ns)) === undefined, 15_000);
  await waitFor('status names the new one', async () => {
    const s = (await getObject(kube, Plural.ClusterExternalSecret, name))?.['status'] as { externalSecretName?: string; provisionedNamespaces?: string[] } | undefined;
    return s?.externalSecretName === 'registry-renamed' && s.provisionedNamespaces?.[0] === ns;
  });
});

test('deleting the ClusterExternalSecret lets the garbage collector remove every ExternalSecret it made', async () => {
  const label = `gc-${run}`;
  const name = `gc-${run}`;
  const a = await namespaces.create(kube, { 'gc-registry': label });
  const b = await namespaces.create(kube, { 'gc-registry': label });
  await createObject(kube, Plural.ClusterExternalSecret, ces(name, { namespaceSelectors: [{ matchLabels: { 'gc-registry': label } }] }));
  for (const ns of [a, b]) await waitFor(`ExternalSecret in ${ns}`, () => esOf(ns));
  await deleteObject(kube, Plural.ClusterExternalSecret, name);
  // The garbage collector learns a new CRD at its 30 s discovery resync.
  for (const ns of [a, b]) await waitFor(`ExternalSecret in ${ns} garbage-collected`, async () => (await esOf(ns)) === undefined, 90_000);
});

test('an ExternalSecret of that name that it did not create is reported in failedNamespaces and left untouched', async (t) => {
  const label = `foreign-${run}`;
  const name = `foreign-${run}`;
  const ns = await namespaces.create(kube, { 'foreign-registry': label });
  const mine = await createObject(kube, Plural.ExternalSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'registry' },
    spec: { secretStoreRef: { name: storeName, kind: 'ClusterSecretStore' }, target: { name: 'hand-made' }, data: [{ secretKey: 'x', remoteRef: { key: 'registry' } }] },
  }, ns);
  const before = (mine['metadata'] as { resourceVersion: string }).resourceVersion;
  await createObject(kube, Plural.ClusterExternalSecret, ces(name, { namespaceSelectors: [{ matchLabels: { 'foreign-registry': label } }] }));
  t.after(() => deleteObject(kube, Plural.ClusterExternalSecret, name).catch(() => {}));
  const status = await waitFor('the namespace reported as failed', async () => {
    const s = await cesStatus(name);
    return s?.failedNamespaces?.some((f) => f.namespace === ns) ? s : undefined;
  });
  assert.match(status.failedNamespaces![0]!.reason, /ExternalSecret .*\/registry already exists and is controlled by nobody/);
  assert.equal(status.conditions?.[0]?.reason, 'NotProvisioned');
  const after = await esOf(ns);
  const spec = after?.['spec'] as { target: { name: string } };
  assert.equal(spec.target.name, 'hand-made');
  // Our own status write may touch it (its Ready condition); its spec and labels are what the user wrote.
  assert.ok(!((after?.['metadata'] as { labels?: Record<string, string> }).labels ?? {})['secret-relay.dev/cluster-external-secret']);
  assert.ok(before);
});

test('an invalid externalSecretSpec is refused by the apiserver with the same message as an ExternalSecret', async () => {
  const bad = { target: { creationPolicy: 'Orphan', deletionPolicy: 'Delete' } };
  const cesError = await createObject(kube, Plural.ClusterExternalSecret, ces(`invalid-${run}`, { namespaces: ['default'], externalSecretSpec: { secretStoreRef: { name: storeName }, ...bad } })).then(
    () => undefined,
    (err: { code?: number; body?: unknown }) => err,
  );
  const esError = await createObject(kube, Plural.ExternalSecret, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name: `invalid-${run}` }, spec: { secretStoreRef: { name: storeName }, ...bad } }, 'default').then(
    () => undefined,
    (err: { code?: number; body?: unknown }) => err,
  );
  assert.equal(cesError?.code, 422);
  assert.equal(esError?.code, 422);
  const message = (e: { body?: unknown } | undefined) => String(JSON.parse(String(e?.body)).message);
  // The CEL rule's message as the ExternalSecret gets it, e.g. "spec.target.deletionPolicy Delete only deletes …".
  const rule = /spec\.target\.deletionPolicy: Invalid value: ([^\],]*)/.exec(message(esError))?.[1];
  assert.ok(rule, message(esError));
  assert.ok(message(cesError).includes(rule), message(cesError));
});

test('1 ClusterExternalSecret × 300 namespaces converges (time and apiserver requests printed)', async (t) => {
  const label = `wide-${run}`;
  const name = `wide-${run}`;
  const count = 300;
  const created: string[] = [];
  for (let i = 0; i < count; i++) created.push(await namespaces.create(kube, { 'wide-registry': label }));
  const requestsBefore = await kubeRequests();
  const started = Date.now();
  await createObject(kube, Plural.ClusterExternalSecret, ces(name, { namespaceSelectors: [{ matchLabels: { 'wide-registry': label } }] }));
  t.after(() => deleteObject(kube, Plural.ClusterExternalSecret, name).catch(() => {}));
  await waitFor(`all ${count} namespaces provisioned`, async () => ((await cesStatus(name))?.provisionedNamespaces ?? []).length === count, 300_000);
  const provisionedMs = Date.now() - started;
  await waitFor(`every ExternalSecret Ready`, async () => {
    const list = (await kube.custom.listClusterCustomObject({ group: 'secret-relay.dev', version: 'v1alpha1', plural: Plural.ExternalSecret, labelSelector: `secret-relay.dev/cluster-external-secret=${name}` })) as { items: { status?: unknown }[] };
    return list.items.length === count && list.items.every((item) => readyOf(item as never)?.status === 'True');
  }, 300_000);
  const readyMs = Date.now() - started;
  const requests = diff(await kubeRequests(), requestsBefore);
  t.diagnostic(`${count} namespaces: ExternalSecrets provisioned in ${(provisionedMs / 1000).toFixed(1)} s, all Ready (Secrets written) in ${(readyMs / 1000).toFixed(1)} s; operator apiserver requests ${JSON.stringify(requests)}`);
  for (const ns of created.slice(0, 3)) await waitSecretData(kube, ns, 'registry', { token });
});

test('no secret value in logs, audit records, Events or statuses', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names.slice(0, 20), values: secrets });
});

async function kubeRequests(): Promise<Record<string, number>> {
  const metric = await op.operator.registry.getSingleMetric('secret_relay_kube_requests_total')?.get();
  const out: Record<string, number> = {};
  for (const v of metric?.values ?? []) out[String(v.labels['verb'])] = (out[String(v.labels['verb'])] ?? 0) + v.value;
  return out;
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => (v as number) > 0));
}
