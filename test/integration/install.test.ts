// The install as shipped, against a real apiserver: the rendered manifests apply with server-side apply and
// strict field validation; their Deployment passes the restricted Pod Security level; and an operator holding
// only a token of the chart's ServiceAccount syncs ExternalSecrets end to end (the shipped RBAC is enough, and the
// shipped admission policies bound to that ServiceAccount refuse none of its writes), also when RBAC is scoped to
// watched namespaces and token minting to named ServiceAccounts. What the policies refuse:
// test/integration/admission-policy.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { startCluster, type LocalCluster } from '../support/cluster.ts';
import {
  adminKube,
  createNamespace,
  createObject,
  deleteObject,
  eventNotes,
  getObject,
  patchObject,
  Plural,
  readSecret,
  readyOf,
  startTestOperator,
  waitFor,
  type TestOperator,
} from '../support/operator.ts';
import { assertNoLeaks, SecretValues, waitReady, waitSecretData } from '../support/integration.ts';
import { createTestKube, type TestKube } from '../support/kube.ts';
import { helmTemplate, MANIFESTS_DIR, MANIFESTS_NAMESPACE, splitDocuments, type RenderedDocument } from '../../scripts/render-manifests.ts';

let cluster: LocalCluster;
let kube: TestKube;
const operators: TestOperator[] = [];
const secrets = new SecretValues();

/** Stops an operator once; after() stops the ones still running. */
async function stopOperator(op: TestOperator): Promise<void> {
  const i = operators.indexOf(op);
  if (i === -1) return;
  operators.splice(i, 1);
  await op.stop();
  op.logs.saveTo(`install-${op.config.identity}`);
}

before(async () => {
  cluster = await startCluster();
  kube = adminKube(cluster.kubeconfigPath);
});

after(async () => {
  for (const op of operators) op.logs.saveTo(`install-${op.config.identity}`);
  await Promise.all(operators.map((op) => op.stop()));
  await cluster?.stop();
});

// --- server-side apply with fieldValidation=Strict, as `kubectl apply --server-side` does -------------------

const RESOURCES: Readonly<Record<string, { prefix: string; plural: string; namespaced: boolean }>> = {
  Namespace: { prefix: '/api/v1', plural: 'namespaces', namespaced: false },
  ServiceAccount: { prefix: '/api/v1', plural: 'serviceaccounts', namespaced: true },
  Service: { prefix: '/api/v1', plural: 'services', namespaced: true },
  CustomResourceDefinition: { prefix: '/apis/apiextensions.k8s.io/v1', plural: 'customresourcedefinitions', namespaced: false },
  ClusterRole: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterrolebindings', namespaced: false },
  Role: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'roles', namespaced: true },
  RoleBinding: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'rolebindings', namespaced: true },
  Deployment: { prefix: '/apis/apps/v1', plural: 'deployments', namespaced: true },
  PodDisruptionBudget: { prefix: '/apis/policy/v1', plural: 'poddisruptionbudgets', namespaced: true },
  ValidatingAdmissionPolicy: { prefix: '/apis/admissionregistration.k8s.io/v1', plural: 'validatingadmissionpolicies', namespaced: false },
  ValidatingAdmissionPolicyBinding: { prefix: '/apis/admissionregistration.k8s.io/v1', plural: 'validatingadmissionpolicybindings', namespaced: false },
};

interface ApplyResult {
  readonly status: number;
  readonly body: string;
  readonly warnings: string[];
}

async function serverSideApply(doc: RenderedDocument): Promise<ApplyResult> {
  const resource = RESOURCES[doc.kind];
  assert.ok(resource, `no API path known for kind ${doc.kind}; add it to RESOURCES`);
  const { name, namespace } = doc.object.metadata;
  const path = `${resource.prefix}${resource.namespaced ? `/namespaces/${namespace}` : ''}/${resource.plural}/${name}`;
  const url = new URL(`${cluster.server}${path}?fieldManager=install-test&force=true&fieldValidation=Strict`);
  const options: https.RequestOptions = { method: 'PATCH', headers: { 'Content-Type': 'application/apply-patch+yaml', Accept: 'application/json' } };
  await kube.config.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = https.request(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const warning = res.headers['warning'];
        resolve({ status: res.statusCode ?? 0, body, warnings: warning === undefined ? [] : [warning].flat() });
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify(doc.object));
  });
}

async function applyAll(documents: readonly RenderedDocument[]): Promise<void> {
  for (const doc of documents) {
    const result = await serverSideApply(doc);
    assert.ok(result.status === 200 || result.status === 201, `applying ${doc.kind} ${doc.name} failed (${result.status}): ${result.body}`);
    assert.deepEqual(result.warnings, [], `applying ${doc.kind} ${doc.name} drew warnings`);
    if (doc.kind === 'CustomResourceDefinition') {
      await waitFor(`CRD ${doc.name} Established`, async () => {
        const crd = await kube.apiextensions.readCustomResourceDefinition({ name: doc.name });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      });
    }
  }
}

/** deploy/manifests/ in the order kustomization.yaml lists them. */
function shippedManifests(): RenderedDocument[] {
  const kustomization = readFileSync(join(MANIFESTS_DIR, 'kustomization.yaml'), 'utf8');
  const files = [...kustomization.matchAll(/^ {2}- (\S+)$/gm)].map((m) => m[1]!);
  assert.ok(files.length >= 4, `kustomization.yaml lists ${files.join(', ')}`);
  return files.flatMap((f) => splitDocuments(readFileSync(join(MANIFESTS_DIR, f), 'utf8')));
}

/** The operator flags of a rendered Deployment, minus the metrics port (tests pick a free one). */
function deploymentArgs(documents: readonly RenderedDocument[]): string[] {
  const deployment = documents.find((d) => d.kind === 'Deployment')!.object as unknown as k8s.V1Deployment;
  const args = deployment.spec!.template.spec!.containers[0]!.args ?? [];
  return args.filter((a) => !a.startsWith('--metrics-port'));
}

async function serviceAccountToken(namespace: string, name: string): Promise<string> {
  const result = await kube.core.createNamespacedServiceAccountToken({ namespace, name, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  return result.status!.token!;
}

/** The tests' own client with a ServiceAccount's token: what that identity may do. */
function as(token: string): TestKube {
  return createTestKube({ kubeconfigPath: cluster.kubeconfigPath, bearerToken: token });
}

async function code(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    if (err instanceof k8s.ApiException) return err.code;
    throw err;
  }
}

function assertNoForbidden(op: TestOperator): void {
  const denied = op.logs.lines.filter((l) => /forbidden|\b403\b|RBAC/i.test(l));
  assert.deepEqual(denied, [], 'the operator was refused something by RBAC');
}

// --- the tests ---------------------------------------------------------------------------------------------

test('deploy/manifests apply with server-side apply and strict field validation, and the pods pass the restricted Pod Security level', async () => {
  const documents = shippedManifests();
  const kinds = new Set(documents.map((d) => d.kind));
  for (const kind of ['Namespace', 'CustomResourceDefinition', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'Deployment', 'Service', 'PodDisruptionBudget']) {
    assert.ok(kinds.has(kind), `deploy/manifests has no ${kind}`);
  }
  await applyAll(documents);
  // Applying again changes nothing and is still accepted (upgrade path of `kubectl apply`).
  await applyAll(documents);

  const ns = await kube.core.readNamespace({ name: MANIFESTS_NAMESPACE });
  assert.equal(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
  // The ReplicaSet controller creates the pods through PodSecurity admission (enforce=restricted): a pod spec
  // below that level would be refused and leave a FailedCreate condition instead of two pods.
  const pods = await waitFor('two operator pods created in the restricted namespace', async () => {
    const list = await kube.core.listNamespacedPod({ namespace: MANIFESTS_NAMESPACE, labelSelector: 'app.kubernetes.io/name=secret-relay' });
    return list.items.length === 2 ? list.items : undefined;
  });
  const pod = pods[0]!;
  assert.equal(pod.spec?.serviceAccountName, 'secret-relay');
  assert.equal(pod.spec?.enableServiceLinks, false);
  const container = pod.spec!.containers[0]!;
  assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
  assert.equal(container.readinessProbe?.httpGet?.path, '/readyz');
  assert.equal(container.livenessProbe?.httpGet?.path, '/healthz');
});

test('an operator with only the chart ServiceAccount token syncs, leads, records Events and fails over', async () => {
  const documents = shippedManifests();
  const args = deploymentArgs(documents);
  // Fast failover for the test; everything else exactly as the Deployment runs it.
  const fastLease = ['--lease-duration=4s', '--lease-renew-deadline=3s', '--lease-retry-period=500ms'];
  const token = await serviceAccountToken(MANIFESTS_NAMESPACE, 'secret-relay');
  const start = () => startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, bearerToken: token, namespace: MANIFESTS_NAMESPACE, args: [...args, ...fastLease] });
  const first = await start();
  operators.push(first);
  assert.ok(args.includes('--leader-elect=true'), `the Deployment runs with leader election: ${args.join(' ')}`);
  await waitFor('the first operator to lead', () => first.operator.isLeader());
  const lease = await kube.coordination.readNamespacedLease({ namespace: MANIFESTS_NAMESPACE, name: 'secret-relay-leader' });
  assert.equal(lease.spec?.holderIdentity, first.config.identity);

  // The HMAC key Secret is created in the operator namespace with the chart's name.
  const hmac = await readSecret(kube, MANIFESTS_NAMESPACE, 'secret-relay-hmac-key');
  assert.ok(hmac?.data?.['key'], 'the HMAC key Secret exists');

  // A SecretStore and an ExternalSecret: Secret written (server-side apply), status patched, Event recorded.
  const ns = await createNamespace(kube, 'install');
  const password = secrets.next('password');
  await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name: 'fake' }, spec: { provider: { fake: { data: [{ key: 'db', value: password }] } } } }, ns);
  await createObject(kube, Plural.ExternalSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'db' },
    spec: { secretStoreRef: { name: 'fake' }, refreshInterval: '1h', target: { name: 'db-credentials' }, data: [{ secretKey: 'password', remoteRef: { key: 'db' } }] },
  }, ns);
  await waitSecretData(kube, ns, 'db-credentials', { password });
  assert.equal((await waitReady(kube, { namespace: ns, name: 'db', status: 'True' })).reason, 'SecretSynced');
  await waitFor('a Created Event', async () => (await eventNotes(kube, ns)).some((n) => n.startsWith('Normal Created')));
  assert.equal(readyOf(await getObject(kube, Plural.SecretStore, 'fake', ns))?.status, 'True');

  // Drift repair: a hand-edited Secret is restored (the managed-Secret watch and the apply both work).
  await kube.core.patchNamespacedSecret({ namespace: ns, name: 'db-credentials', body: { data: { password: Buffer.from('edited').toString('base64') } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  await waitSecretData(kube, ns, 'db-credentials', { password });

  // A PushSecret with a Password generator: the chart's token reads the generator, keeps the value in a Secret, holds
  // the cleanup finalizer and patches status (the fake provider cannot write: Ready=False naming it), then lets go.
  await createObject(kube, Plural.Password, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'Password', metadata: { name: 'pw' }, spec: { length: 16 } }, ns);
  await createObject(kube, Plural.PushSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'PushSecret',
    metadata: { name: 'push' },
    spec: { secretStoreRefs: [{ name: 'fake' }], deletionPolicy: 'Delete', selector: { generatorRef: { kind: 'Password', name: 'pw' } }, data: [{ match: { secretKey: 'password', remoteRef: { remoteKey: 'pushed' } } }] },
  }, ns);
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'push', status: 'False', reason: 'Errored', message: /cannot push secrets yet/ });
  const generated = await readSecret(kube, ns, 'push-generated');
  assert.equal(Buffer.from(generated?.data?.['password'] ?? '', 'base64').length, 16, 'the generated password is kept in push-generated');
  secrets.add(Buffer.from(generated!.data!['password']!, 'base64').toString());
  const held = (await getObject(kube, Plural.PushSecret, 'push', ns))?.['metadata'] as { finalizers?: string[] } | undefined;
  assert.deepEqual(held?.finalizers, ['secret-relay.dev/push-secret-cleanup']);
  await deleteObject(kube, Plural.PushSecret, 'push', ns);
  await waitFor('the PushSecret let go (finalizer removed)', async () => (await getObject(kube, Plural.PushSecret, 'push', ns)) === undefined);

  // Renaming the target deletes the old owned Secret.
  await patchObject(kube, Plural.ExternalSecret, 'db', { spec: { target: { name: 'db-renamed' } } }, ns);
  await waitSecretData(kube, ns, 'db-renamed', { password });
  await waitFor('the old target deleted', async () => (await readSecret(kube, ns, 'db-credentials')) === undefined);

  // A ClusterSecretStore: served across namespaces; a broken one gets Ready=False and a Warning Event in
  // 'default' (where the apiserver keeps Events about cluster-scoped objects).
  const shared = `install-shared-${randomBytes(3).toString('hex')}`;
  const broken = `install-broken-${randomBytes(3).toString('hex')}`;
  const token2 = secrets.next('token');
  await createObject(kube, Plural.ClusterSecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ClusterSecretStore', metadata: { name: shared }, spec: { provider: { fake: { data: [{ key: 'api', value: token2 }] } } } });
  await createObject(kube, Plural.ClusterSecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ClusterSecretStore',
    metadata: { name: broken },
    // The test operator has only the fake provider: this store gets Ready=False ProviderNotAvailable.
    spec: { provider: { gcpsm: { projectID: 'not-available-here' } } },
  });
  await createObject(kube, Plural.ExternalSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'api' },
    spec: { secretStoreRef: { name: shared, kind: 'ClusterSecretStore' }, data: [{ secretKey: 'token', remoteRef: { key: 'api' } }] },
  }, ns);
  await waitSecretData(kube, ns, 'api', { token: token2 });
  await waitFor('the broken ClusterSecretStore Ready=False', async () => readyOf(await getObject(kube, Plural.ClusterSecretStore, broken))?.status === 'False');
  await waitFor('a Warning Event about the broken store', async () =>
    (await eventNotes(kube, 'default')).some((n) => n.startsWith('Warning ProviderNotAvailable')),
  );

  // A ClusterExternalSecret: its ExternalSecret created in a selected namespace (create by server-side apply),
  // its status patched, and removed again from a namespace that stops matching (delete).
  const selectedNs = await createNamespace(kube, 'install-ces', { 'install-ces': 'yes' });
  const cesName = `install-ces-${randomBytes(3).toString('hex')}`;
  await createObject(kube, Plural.ClusterExternalSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ClusterExternalSecret',
    metadata: { name: cesName },
    spec: {
      externalSecretName: 'shared-api',
      namespaceSelectors: [{ matchLabels: { 'install-ces': 'yes' } }],
      externalSecretSpec: { secretStoreRef: { name: shared, kind: 'ClusterSecretStore' }, data: [{ secretKey: 'token', remoteRef: { key: 'api' } }] },
    },
  });
  await waitSecretData(kube, selectedNs, 'shared-api', { token: token2 });
  await waitFor('the ClusterExternalSecret Ready', async () => readyOf(await getObject(kube, Plural.ClusterExternalSecret, cesName))?.status === 'True');
  await kube.core.patchNamespace({ name: selectedNs, body: { metadata: { labels: { 'install-ces': 'no' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  await waitFor('its ExternalSecret deleted where no longer selected', async () => (await getObject(kube, Plural.ExternalSecret, 'shared-api', selectedNs)) === undefined);

  // A standby with the same token takes over when the leader stops.
  const second = await start();
  operators.push(second);
  assert.equal(second.operator.isLeader(), false);
  await stopOperator(first);
  await waitFor('the standby to take over', () => second.operator.isLeader(), 15_000);
  const password2 = secrets.next('password');
  await patchObject(kube, Plural.SecretStore, 'fake', { spec: { provider: { fake: { data: [{ key: 'db', value: password2 }] } } } }, ns);
  await patchObject(kube, Plural.ExternalSecret, 'db', { metadata: { annotations: { 'secret-relay.dev/force-sync': String(Date.now()) } } }, ns);
  await waitSecretData(kube, ns, 'db-renamed', { password: password2 });

  assertNoForbidden(first);
  assertNoForbidden(second);
  // The whole ExternalSecrets too (the operator writes only their status, finalizers and annotations).
  const externalSecrets = JSON.stringify([await getObject(kube, Plural.ExternalSecret, 'db', ns), await getObject(kube, Plural.ExternalSecret, 'api', ns)]);
  await assertNoLeaks({ logs: [first.logs, second.logs], audit: [first.audit, second.audit], kube, namespaces: [ns], values: secrets, extra: { 'ExternalSecrets db, api': externalSecrets } });
  await stopOperator(second);
});

test('scoped RBAC: watched namespaces get RoleBindings, token minting is limited to named ServiceAccounts, and that is enough to sync', async () => {
  const watched = await createNamespace(kube, 'watched');
  const unwatched = await createNamespace(kube, 'unwatched');
  const release = 'secret-relay-scoped';
  const releaseNamespace = `relay-scoped-${randomBytes(3).toString('hex')}`;
  const documents = splitDocuments(
    helmTemplate({
      release,
      namespace: releaseNamespace,
      values: {
        namespace: { create: true },
        crds: { install: false },
        replicas: 1,
        watchNamespaces: [watched],
        rbac: { tokenRequest: { mode: 'named', serviceAccounts: [{ namespace: watched, name: 'reader' }] } },
        audit: { sink: 'file' },
      },
    }),
  );
  await applyAll(documents);
  for (const name of ['reader', 'other']) await kube.core.createNamespacedServiceAccount({ namespace: watched, body: { metadata: { name } } });

  const token = await serviceAccountToken(releaseNamespace, release);
  const operatorIdentity = as(token);
  assert.equal(await code(operatorIdentity.core.createNamespacedServiceAccountToken({ namespace: watched, name: 'reader', body: { spec: { audiences: ['vault'] } } })), 200);
  assert.equal(await code(operatorIdentity.core.createNamespacedServiceAccountToken({ namespace: watched, name: 'other', body: { spec: { audiences: ['vault'] } } })), 403);
  assert.equal(await code(operatorIdentity.core.listNamespacedSecret({ namespace: watched })), 200);
  assert.equal(await code(operatorIdentity.core.listNamespacedSecret({ namespace: unwatched })), 403);
  assert.equal(await code(operatorIdentity.core.listSecretForAllNamespaces({})), 403);
  await operatorIdentity.close();

  // The chart's Deployment args, minus the audit file (its emptyDir exists only in the pod).
  const args = deploymentArgs(documents).filter((a) => !a.startsWith('--audit-log-file'));
  assert.ok(args.includes(`--watch-namespaces=${watched}`), args.join(' '));
  const op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, bearerToken: token, namespace: releaseNamespace, args });
  operators.push(op);
  const value = secrets.next('scoped');
  await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name: 'fake' }, spec: { provider: { fake: { data: [{ key: 'k', value }] } } } }, watched);
  await createObject(kube, Plural.ExternalSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'scoped' },
    spec: { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] },
  }, watched);
  await waitSecretData(kube, watched, 'scoped', { k: value });
  await waitReady(kube, { namespace: watched, name: 'scoped', status: 'True' });
  await waitFor('a Created Event in the watched namespace', async () => (await eventNotes(kube, watched)).some((n) => n.startsWith('Normal Created')));
  assert.ok(await readSecret(kube, releaseNamespace, `${release}-hmac-key`), 'the HMAC key Secret is created in the release namespace');
  // Events about ClusterSecretStores go to 'default', outside the watched namespaces: the chart grants that too.
  const broken = `scoped-broken-${randomBytes(3).toString('hex')}`;
  await createObject(kube, Plural.ClusterSecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ClusterSecretStore', metadata: { name: broken }, spec: { provider: { gcpsm: { projectID: 'not-available-here' } } } });
  await waitFor(`a Warning Event about ClusterSecretStore ${broken} in default`, async () =>
    (await kube.events.listNamespacedEvent({ namespace: 'default' })).items.some((e) => e.regarding?.name === broken && e.type === 'Warning'),
  );
  assertNoForbidden(op);
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: [watched], values: secrets });
  await stopOperator(op);
});
