// Rollouts against the real control plane: the real deployment, statefulset and daemonset controllers create
// the ReplicaSets and ControllerRevisions asserted on (pods never run here: no kubelet, no scheduler), so a new
// ReplicaSet / revision is exactly what a user's cluster would roll out.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type * as k8s from '@kubernetes/client-node';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { installArgoRolloutCrd } from '../support/argo-rollouts.ts';
import { adminKube, createObject, eventNotes, getObject, mergePatchSecret, patchObject, Plural, readSecret, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { DATA_HMAC_ANNOTATION } from '../../src/controller/externalsecret/desired-secret.ts';
import { SECRET_VERSIONS_ANNOTATION } from '../../src/controller/rollouts/plan.ts';

let cluster: LocalCluster;
let kube: TestKube;
let op: TestOperator;
/** Operators stopped during the suite (a restart test): their logs and audit records are scanned too. */
const stopped: TestOperator[] = [];
const secrets = new SecretValues();
const namespaces = new TestNamespaces('rollout');

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false', '--concurrency=4'] });
});

after(async () => {
  try {
    // Argo Rollouts too (the shared scan covers Deployments, StatefulSets and DaemonSets).
    const rollouts: unknown[] = [];
    for (const namespace of namespaces.names) {
      try {
        const list = (await kube.custom.listNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts', namespace })) as { items: { metadata?: unknown; spec?: { template?: { metadata?: unknown } } }[] };
        rollouts.push(...list.items.map((r) => [r.metadata, r.spec?.template?.metadata]));
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
      }
    }
    await assertNoLeaks({ logs: [...stopped.map((o) => o.logs), op.logs], audit: [...stopped.map((o) => o.audit), op.audit], expectAudit: true, kube, namespaces: namespaces.names, values: secrets, atLeast: 4, extra: { 'Argo Rollouts': JSON.stringify(rollouts) } });
  } finally {
    await stopTestOperator(op, 'rollouts');
    await cluster?.stop();
  }
});

type Entry = { key: string; value: string };

async function fakeStore(ns: string, data: Entry[]): Promise<void> {
  await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name: 'store' }, spec: { provider: { fake: { data } } } }, ns);
}
async function setStoreData(ns: string, data: Entry[]): Promise<void> {
  await patchObject(kube, Plural.SecretStore, 'store', { spec: { provider: { fake: { data } } } }, ns);
}

/** An ExternalSecret writing Secret `name` with key `value` from remote key `name`, refreshed every second. */
async function externalSecret(ns: string, name: string, extra: Record<string, unknown> = {}): Promise<void> {
  await createObject(kube, Plural.ExternalSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name },
    spec: { secretStoreRef: { name: 'store' }, refreshInterval: '1s', data: [{ secretKey: 'value', remoteRef: { key: name } }], ...extra },
  }, ns);
}

const image = 'registry.invalid/app:1';
const envSpec = (secret: string): k8s.V1PodSpec => ({ containers: [{ name: 'app', image, env: [{ name: 'VALUE', valueFrom: { secretKeyRef: { name: secret, key: 'value' } } }] }] });
const volumeSpec = (secret: string, subPath?: string): k8s.V1PodSpec => ({
  containers: [{ name: 'app', image, volumeMounts: [{ name: 'creds', mountPath: subPath ? '/etc/creds/value' : '/etc/creds', ...(subPath ? { subPath } : {}) }] }],
  volumes: [{ name: 'creds', secret: { secretName: secret } }],
});

function template(name: string, spec: k8s.V1PodSpec) {
  return { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec } };
}

async function deployment(ns: string, name: string, spec: k8s.V1PodSpec, annotations: Record<string, string> = {}): Promise<void> {
  await kube.apps.createNamespacedDeployment({ namespace: ns, body: { metadata: { name, annotations }, spec: { replicas: 1, ...template(name, spec) } } });
}

/** The ReplicaSets the deployment controller made for a Deployment (one per pod template it ever had). */
async function replicaSets(ns: string, name: string): Promise<number> {
  const list = await kube.apps.listNamespacedReplicaSet({ namespace: ns });
  return list.items.filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === name)).length;
}

async function revisions(ns: string, kind: 'StatefulSet' | 'DaemonSet', name: string): Promise<number> {
  const list = await kube.apps.listNamespacedControllerRevision({ namespace: ns });
  return list.items.filter((r) => r.metadata?.ownerReferences?.some((o) => o.kind === kind && o.name === name)).length;
}

async function versionsOf(ns: string, name: string): Promise<string> {
  const d = await kube.apps.readNamespacedDeployment({ namespace: ns, name });
  return d.spec?.template.metadata?.annotations?.[SECRET_VERSIONS_ANNOTATION] ?? '';
}

async function hmacOf(ns: string, secret: string): Promise<string> {
  return (await readSecret(kube, ns, secret))?.metadata?.annotations?.[DATA_HMAC_ANNOTATION] ?? '';
}

async function waitReplicaSets(ns: string, name: string, n: number): Promise<void> {
  await waitFor(`${n} ReplicaSet(s) of Deployment ${ns}/${name}`, async () => (await replicaSets(ns, name)) === n);
}

async function waitEvent(ns: string, pattern: RegExp): Promise<string> {
  return waitFor(`an Event matching ${pattern} in ${ns}`, async () => (await eventNotes(kube, ns)).find((n) => pattern.test(n)), 30_000);
}

/** Creates the store and Secret `name`, waits until synced, then returns a function rotating it. */
async function syncedSecret(ns: string, names: string[], extra: Record<string, Record<string, unknown>> = {}) {
  const data = new Map(names.map((n) => [n, secrets.next(n)]));
  await fakeStore(ns, [...data].map(([key, value]) => ({ key, value })));
  for (const n of names) await externalSecret(ns, n, extra[n] ?? {});
  for (const n of names) await waitSecretData(kube, ns, n, { value: data.get(n)! });
  return async (rotate: string): Promise<string> => {
    const next = secrets.next(rotate);
    data.set(rotate, next);
    await setStoreData(ns, [...data].map(([key, value]) => ({ key, value })));
    await waitSecretData(kube, ns, rotate, { value: next }, 15_000);
    return next;
  };
}

test('Auto: env and subPath consumers get a new ReplicaSet; a whole-volume consumer does not, and an Event says why; another namespace is never touched', async () => {
  const ns = await namespaces.create(kube);
  const other = await namespaces.create(kube);
  const rotate = await syncedSecret(ns, ['db'], { db: { rollout: { policy: 'Auto', settleWindow: '1s' } } });
  await deployment(ns, 'env', envSpec('db'));
  await deployment(ns, 'subpath', volumeSpec('db', 'value'));
  await deployment(ns, 'volume', volumeSpec('db'));
  // Same Secret name, asking every way it can, in a namespace where nothing changed.
  await deployment(other, 'env', envSpec('db'), { 'reloader.stakater.com/auto': 'true', 'secret-relay.dev/rollout': 'auto' });
  for (const [n, name] of [[ns, 'env'], [ns, 'subpath'], [ns, 'volume'], [other, 'env']] as const) await waitReplicaSets(n, name, 1);

  await rotate('db');
  const hmac = await hmacOf(ns, 'db');
  await waitReplicaSets(ns, 'env', 2);
  await waitReplicaSets(ns, 'subpath', 2);
  // The ExternalSecret's Event is written after every workload of the batch was decided.
  const note = await waitEvent(ns, /^Normal RolledOut: Secret db changed/);
  assert.match(note, /rolled out Deployment\/env \(rollout policy Auto, reads it \(env VALUE in app\)\)/);
  assert.match(note, /rolled out Deployment\/subpath/);
  assert.match(note, /left Deployment\/volume alone: it mounts it as a volume/);
  assert.equal(await replicaSets(ns, 'volume'), 1);
  assert.equal(await versionsOf(ns, 'volume'), '');
  await waitEvent(ns, /^Normal RolloutSkipped: not rolled out for Secret db: it mounts it as a volume/);
  await waitEvent(ns, /^Normal RolledOut: rolled out by secret-relay: Secret db changed/);

  // The pod template names the Secret and the HMAC the Secret carries; status names the workloads.
  assert.equal(await versionsOf(ns, 'env'), `db=${hmac}`);
  const status = (await getObject(kube, Plural.ExternalSecret, 'db', ns))?.['status'] as { rollout?: { secret: string; workloads: string[] } };
  assert.equal(status.rollout?.secret, 'db');
  assert.deepEqual([...(status.rollout?.workloads ?? [])].sort(), ['Deployment/env', 'Deployment/subpath']);
  const audited = op.audit.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r['action'] === 'workload.rollout' && (r['externalSecret'] as { namespace: string }).namespace === ns);
  assert.deepEqual(audited.map((r) => (r['workload'] as { name: string }).name).sort(), ['env', 'subpath']);
  assert.ok(audited.every((r) => r['result'] === 'success' && (r['targetSecret'] as { name: string }).name === 'db'));
  const metrics = await op.operator.registry.getSingleMetric('secret_relay_rollouts_total')!.get();
  assert.ok((metrics.values.find((v) => v.labels['kind'] === 'Deployment' && v.labels['result'] === 'rolled')?.value ?? 0) >= 2);

  assert.equal(await replicaSets(other, 'env'), 1, 'a workload in another namespace is never touched');
  assert.equal((await kube.apps.readNamespacedDeployment({ namespace: other, name: 'env' })).metadata?.annotations?.['secret-relay.dev/rolled-at'], undefined);
});

test('volumeConsumers Restart rolls whole-volume consumers too', async () => {
  const ns = await namespaces.create(kube);
  const rotate = await syncedSecret(ns, ['tls'], { tls: { rollout: { policy: 'Auto', volumeConsumers: 'Restart', settleWindow: '1s' } } });
  await deployment(ns, 'volume', volumeSpec('tls'));
  await waitReplicaSets(ns, 'volume', 1);
  await rotate('tls');
  await waitReplicaSets(ns, 'volume', 2);
  await waitEvent(ns, /^Normal RolledOut: Secret tls changed: rolled out Deployment\/volume \(rollout policy Auto with volumeConsumers Restart/);
});

test('username and password rotated a moment apart give exactly one new ReplicaSet', async () => {
  const ns = await namespaces.create(kube);
  const rollout = { rollout: { policy: 'Auto', settleWindow: '5s' } };
  const rotate = await syncedSecret(ns, ['username', 'password'], { username: rollout, password: rollout });
  await deployment(ns, 'api', { containers: [{ name: 'app', image, envFrom: [{ secretRef: { name: 'username' } }, { secretRef: { name: 'password' } }] }] });
  await waitReplicaSets(ns, 'api', 1);
  await rotate('username');
  await rotate('password');
  const [user, pass] = [await hmacOf(ns, 'username'), await hmacOf(ns, 'password')];
  await waitFor('the pod template carries both new versions', async () => (await versionsOf(ns, 'api')) === `password=${pass},username=${user}`);
  await waitReplicaSets(ns, 'api', 2);
  // A rollout between the two would have left a third ReplicaSet (the deployment controller keeps old ones).
  assert.equal(await replicaSets(ns, 'api'), 2);
});

test('an unchanged refresh, a drift repair and a spec change that keeps the data roll nothing; the next real change rolls once', async () => {
  const ns = await namespaces.create(kube);
  const rotate = await syncedSecret(ns, ['db'], { db: { rollout: { policy: 'Auto', settleWindow: '1s', minInterval: '0s' } } });
  await deployment(ns, 'api', envSpec('db'));
  await waitReplicaSets(ns, 'api', 1);
  const reads = () => op.audit.lines.filter((l) => l.includes('"provider.read"') && l.includes(`"namespace":"${ns}"`)).length;

  // Unchanged refreshes (every second).
  const before = reads();
  await waitFor('three more refreshes', () => reads() >= before + 3);
  // A drift repair: the Secret is edited by hand and the operator restores it.
  const value = (await readSecret(kube, ns, 'db'))!.data!['value']!;
  await mergePatchSecret(kube, ns, 'db', { data: { value: Buffer.from(secrets.next('edited')).toString('base64') } });
  await waitFor('the drift repaired', async () => (await readSecret(kube, ns, 'db'))?.data?.['value'] === value);
  // A spec change that does not change the data (the refresh interval).
  await patchObject(kube, Plural.ExternalSecret, 'db', { spec: { refreshInterval: '2s' } }, ns);
  await waitFor('the new generation synced', async () => {
    const es = await getObject(kube, Plural.ExternalSecret, 'db', ns);
    return (es?.['status'] as { conditions?: { observedGeneration?: number }[] })?.conditions?.[0]?.observedGeneration === (es?.['metadata'] as { generation: number }).generation;
  });
  const afterRefresh = reads();
  await waitFor('a refresh after the spec change', () => reads() > afterRefresh);
  assert.equal(await versionsOf(ns, 'api'), '', 'nothing was rolled so far');

  await rotate('db');
  const hmac = await hmacOf(ns, 'db');
  await waitFor('the rollout for the real change', async () => (await versionsOf(ns, 'api')) === `db=${hmac}`);
  await waitReplicaSets(ns, 'api', 2);
  assert.equal(await replicaSets(ns, 'api'), 2);
});

test('explicit targets: a StatefulSet and a DaemonSet get a new controller revision; a missing target gives a Warning and the Secret still syncs', async () => {
  const ns = await namespaces.create(kube);
  const rotate = await syncedSecret(ns, ['config'], {
    config: {
      rollout: { settleWindow: '1s' },
      rolloutRestartTargets: [{ kind: 'StatefulSet', name: 'cache' }, { kind: 'DaemonSet', name: 'agent' }, { kind: 'Deployment', name: 'not-there' }, { kind: 'argo.Rollout', name: 'canary' }],
    },
  });
  // They read the Secret as a volume: explicit targets roll whatever they read.
  await kube.apps.createNamespacedStatefulSet({ namespace: ns, body: { metadata: { name: 'cache' }, spec: { serviceName: 'cache', replicas: 1, ...template('cache', volumeSpec('config')) } } });
  await kube.apps.createNamespacedDaemonSet({ namespace: ns, body: { metadata: { name: 'agent' }, spec: template('agent', volumeSpec('config')) } });
  await waitFor('the first revisions', async () => (await revisions(ns, 'StatefulSet', 'cache')) === 1 && (await revisions(ns, 'DaemonSet', 'agent')) === 1);

  await rotate('config');
  await waitFor('a new StatefulSet revision', async () => (await revisions(ns, 'StatefulSet', 'cache')) === 2);
  await waitFor('a new DaemonSet revision', async () => (await revisions(ns, 'DaemonSet', 'agent')) === 2);
  await waitEvent(ns, /^Warning RolloutFailed: spec.rolloutRestartTargets names Deployment not-there, which does not exist in namespace/);
  // Argo Rollouts' CRD is not installed here: the target counts as missing, with the same message.
  await waitEvent(ns, /^Warning RolloutFailed: spec.rolloutRestartTargets names argo.Rollout canary, which does not exist/);
  await waitReady(kube, { namespace: ns, name: 'config', status: 'True', reason: 'SecretSynced' });
});

test('Reloader annotations and ours are honoured without any rollout setting on the ExternalSecret', async () => {
  const ns = await namespaces.create(kube);
  const rotate = await syncedSecret(ns, ['api-key', 'other']);
  await deployment(ns, 'reloader-auto', volumeSpec('api-key'), { 'reloader.stakater.com/auto': 'true' });
  await deployment(ns, 'reloader-named', { containers: [{ name: 'app', image }] }, { 'secret.reloader.stakater.com/reload': 'unrelated,api-key' });
  await deployment(ns, 'ours', envSpec('api-key'), { 'secret-relay.dev/rollout': 'api-key' });
  await deployment(ns, 'not-asking', envSpec('api-key'));
  for (const name of ['reloader-auto', 'reloader-named', 'ours', 'not-asking']) await waitReplicaSets(ns, name, 1);
  await rotate('api-key');
  for (const name of ['reloader-auto', 'reloader-named', 'ours']) await waitReplicaSets(ns, name, 2);
  await waitEvent(ns, /^Normal RolledOut: Secret api-key changed: .*Deployment\/reloader-auto \(Reloader annotation auto/);
  assert.equal(await replicaSets(ns, 'not-asking'), 1, 'Off is the default: a workload that did not ask is not restarted');
});

test('an Argo Rollout named as a target gets the pod-template annotation when its CRD is installed', async () => {
  await installArgoRolloutCrd(kube);
  const ns = await namespaces.create(kube);
  const rotate = await syncedSecret(ns, ['db'], { db: { rollout: { settleWindow: '1s' }, rolloutRestartTargets: [{ kind: 'argo.Rollout', name: 'web' }] } });
  const argo = { group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts', namespace: ns };
  await waitFor('the Rollout created', async () => {
    await kube.custom.createNamespacedCustomObject({ ...argo, body: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'web' }, spec: template('web', envSpec('db')) } });
    return true;
  });
  await rotate('db');
  const hmac = await hmacOf(ns, 'db');
  await waitFor('the Rollout\'s pod template carries the new version', async () => {
    const rollout = (await kube.custom.getNamespacedCustomObject({ ...argo, name: 'web' })) as { spec: { template: { metadata?: { annotations?: Record<string, string> } } } };
    return rollout.spec.template.metadata?.annotations?.[SECRET_VERSIONS_ANNOTATION] === `db=${hmac}`;
  });
  await waitEvent(ns, /^Normal RolledOut: Secret db changed: rolled out argo.Rollout\/web \(named in ExternalSecret db's rolloutRestartTargets\)/);
});

test('a restart within the settle window does not lose the rollout: the new process rolls the workload rolled for the older version', async () => {
  const ns = await namespaces.create(kube);
  const rotate = await syncedSecret(ns, ['db'], { db: { rollout: { policy: 'Auto', settleWindow: '1s', minInterval: '1s' } } });
  await deployment(ns, 'env', envSpec('db'));
  await waitReplicaSets(ns, 'env', 1);
  await rotate('db');
  await waitReplicaSets(ns, 'env', 2);
  // A long settle window: the next change waits in memory — and the process ends before rolling it.
  const synced = async () => ((await getObject(kube, Plural.ExternalSecret, 'db', ns))?.['status'] as { syncedResourceVersion?: string } | undefined)?.syncedResourceVersion;
  const before = await synced();
  await patchObject(kube, Plural.ExternalSecret, 'db', { spec: { rollout: { policy: 'Auto', settleWindow: '10m', minInterval: '1s' } } }, ns);
  await waitFor('the operator has seen the longer settle window', async () => (await synced()) !== before);
  await rotate('db');
  const hmac = await hmacOf(ns, 'db');
  assert.notEqual(await versionsOf(ns, 'env'), `db=${hmac}`, 'not rolled yet: the change settles');
  await op.stop();
  stopped.push(op);
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false', '--concurrency=4'] });
  await waitReplicaSets(ns, 'env', 3);
  assert.equal(await versionsOf(ns, 'env'), `db=${hmac}`);
});
