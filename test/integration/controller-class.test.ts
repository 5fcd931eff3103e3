// Controller classes (ESO's spec.controller): two operators started with different --controller-class share one
// cluster; each serves the stores of its class and the ExternalSecrets using them, and never touches the other's —
// no status, no finalizer, no Event, no audit record, no Secret write. A store of a class no operator serves is
// left exactly as applied, and so are its ExternalSecret and PushSecret. A class-less store is served by every installation (ESO).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, createObject, getObject, patchObject, Plural, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';

let cluster: LocalCluster;
let kube: TestKube;
const operators: Record<'a' | 'b', TestOperator | undefined> = { a: undefined, b: undefined };
const namespaces = new TestNamespaces('classes');

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  // Both with leader election, in one namespace: each class elects its own leader (its own Lease).
  for (const shard of ['a', 'b'] as const) {
    operators[shard] = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: [`--controller-class=shard-${shard}`, `--identity=shard-${shard}`] });
  }
});

after(async () => {
  await stopTestOperator(operators.a, 'controller-class-a');
  await stopTestOperator(operators.b, 'controller-class-b');
  await cluster?.stop();
});

const store = (name: string, controller: string | undefined, value: string) => ({
  apiVersion: 'secret-relay.dev/v1alpha1',
  kind: 'SecretStore',
  metadata: { name },
  spec: { ...(controller ? { controller } : {}), provider: { fake: { data: [{ key: 'k', value }] } } },
});
const externalSecret = (name: string, storeName: string) => ({
  apiVersion: 'secret-relay.dev/v1alpha1',
  kind: 'ExternalSecret',
  metadata: { name },
  spec: { secretStoreRef: { name: storeName }, refreshInterval: '0', data: [{ secretKey: 'v', remoteRef: { key: 'k' } }] },
});

/** Everything an operator wrote about an object: its audit records and log lines naming it. */
const mentions = (op: TestOperator | undefined, ns: string, name: string) =>
  [...op!.audit.lines, ...op!.logs.lines].filter((line) => line.includes(`"${ns}"`) && line.includes(`"${name}"`));

test('two operators of different classes each sync their own ExternalSecrets and never touch the other class', async () => {
  const ns = await namespaces.create(kube);
  await createObject(kube, Plural.SecretStore, store('store-a', 'shard-a', 'from-a'), ns);
  await createObject(kube, Plural.SecretStore, store('store-b', 'shard-b', 'from-b'), ns);
  await createObject(kube, Plural.SecretStore, store('store-c', 'shard-c', 'from-c'), ns);
  await createObject(kube, Plural.ExternalSecret, externalSecret('es-a', 'store-a'), ns);
  await createObject(kube, Plural.ExternalSecret, externalSecret('es-b', 'store-b'), ns);
  await createObject(kube, Plural.ExternalSecret, externalSecret('es-c', 'store-c'), ns);
  await createObject(kube, Plural.PushSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'PushSecret',
    metadata: { name: 'push-c' },
    spec: { secretStoreRefs: [{ name: 'store-c' }], selector: { secret: { name: 'es-a' } }, data: [{ match: { secretKey: 'v', remoteRef: { remoteKey: 'copy' } } }] },
  }, ns);

  await waitSecretData(kube, ns, 'es-a', { v: 'from-a' }, 60_000);
  await waitSecretData(kube, ns, 'es-b', { v: 'from-b' }, 60_000);
  await waitReady(kube, { namespace: ns, name: 'es-a', status: 'True' });
  await waitReady(kube, { namespace: ns, name: 'es-b', status: 'True' });

  // Each object was handled by the operator of its class only.
  for (const [mine, other] of [['a', 'b'], ['b', 'a']] as const) {
    assert.ok(mentions(operators[mine], ns, `es-${mine}`).length > 0, `operator ${mine} synced es-${mine}`);
    assert.deepEqual(mentions(operators[other], ns, `es-${mine}`), [], `operator ${other} never touched es-${mine}`);
    assert.deepEqual(mentions(operators[other], ns, `store-${mine}`), [], `operator ${other} never touched store-${mine}`);
  }
  const events = await kube.events.listNamespacedEvent({ namespace: ns });
  for (const event of events.items) {
    const name = event.regarding?.name ?? '';
    const shard = name.slice(-1);
    if (shard === 'a' || shard === 'b') assert.equal(event.reportingInstance, `shard-${shard}`, `${event.reason} on ${name} reported by ${event.reportingInstance}`);
  }

  // Class shard-c has no operator: its store and ExternalSecret stay as applied (no status, no finalizer), no Secret.
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'store-a', status: 'True' });
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'store-b', status: 'True' });
  for (const [plural, name] of [[Plural.SecretStore, 'store-c'], [Plural.ExternalSecret, 'es-c'], [Plural.PushSecret, 'push-c']] as const) {
    const object = await getObject(kube, plural, name, ns);
    assert.equal(object?.['status'], undefined, `${name} has no status`);
    assert.equal((object?.['metadata'] as { finalizers?: unknown }).finalizers, undefined, `${name} has no finalizer`);
    assert.equal((object?.['metadata'] as { generation?: number }).generation, 1);
  }
  assert.equal((await kube.core.listNamespacedSecret({ namespace: ns })).items.some((s) => s.metadata?.name === 'es-c'), false);
  assert.ok(events.items.every((e) => !['es-c', 'store-c', 'push-c'].includes(e.regarding?.name ?? '')), 'no Event about class shard-c');
});

test('moving a store to the other class hands its ExternalSecrets over: the new class syncs them, the old one stops', async () => {
  const ns = await namespaces.create(kube);
  await createObject(kube, Plural.SecretStore, store('moving', 'shard-a', 'first'), ns);
  await createObject(kube, Plural.ExternalSecret, { ...externalSecret('moved', 'moving'), spec: { ...externalSecret('moved', 'moving').spec, refreshInterval: '1h' } }, ns);
  await waitSecretData(kube, ns, 'moved', { v: 'first' }, 60_000);
  const before = mentions(operators.b, ns, 'moved').length;
  assert.equal(before, 0);

  await patchObject(kube, Plural.SecretStore, 'moving', { spec: { controller: 'shard-b', provider: { fake: { data: [{ key: 'k', value: 'second' }] } } } }, ns);
  // Validated by operator b at the new generation; then a refresh is asked for (any annotation change, as a user would).
  await waitFor('operator b to validate the moved store', async () => {
    const moved = await getObject(kube, Plural.SecretStore, 'moving', ns);
    const ready = (moved?.['status'] as { conditions?: { type: string; status: string; observedGeneration?: number }[] } | undefined)?.conditions?.find((c) => c.type === 'Ready');
    return ready?.status === 'True' && ready.observedGeneration === 2;
  }, 60_000);
  await patchObject(kube, Plural.ExternalSecret, 'moved', { metadata: { annotations: { 'secret-relay.dev/force-sync': '1' } } }, ns);
  await waitSecretData(kube, ns, 'moved', { v: 'second' }, 60_000);
  await waitFor('operator b to have synced the ExternalSecret', () => mentions(operators.b, ns, 'moved').length > 0);
});
