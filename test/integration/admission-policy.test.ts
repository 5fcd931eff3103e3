// The admission policies the install ships (deploy/manifests/admission-policies.yaml, from the chart), against the
// real apiserver (ValidatingAdmissionPolicy is GA): with a token of the operator's ServiceAccount, each write the
// operator never makes is forged and must be refused with the policy's message — Secrets of a credential type or
// with kubernetes.io/service-account.* annotations, workload patches beyond the rollout annotations, long-lived or
// apiserver-audience TokenRequests — while each write it does make is still accepted, and an operator running
// with that token syncs and rolls out. Other users (the admin) are not affected.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { installArgoRolloutCrd } from '../support/argo-rollouts.ts';
import { adminKube, createObject, eventNotes, patchObject, Plural, readSecret, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import { createTestKube, type TestKube } from '../support/kube.ts';
import { MANIFESTS_DIR, MANIFESTS_NAMESPACE, splitDocuments, type RenderedDocument } from '../../scripts/render-manifests.ts';
import { ROLLED_AT_ANNOTATION, SECRET_VERSIONS_ANNOTATION } from '../../src/controller/rollouts/plan.ts';

let cluster: LocalCluster;
let kube: TestKube;
/** The tests' client holding a token of the operator's ServiceAccount: what the operator (or a thief of its token) may do. */
let operatorIdentity: TestKube;
let op: TestOperator | undefined;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('admission');

const SECRET_TYPE_MESSAGE = 'secret-relay never writes a Secret of type kubernetes.io/service-account-token or bootstrap.kubernetes.io/token';
const SECRET_ANNOTATION_MESSAGE = 'secret-relay never writes a Secret annotated kubernetes.io/service-account.*';
const SECRET_DELETE_MESSAGE = 'secret-relay never deletes a Secret of type kubernetes.io/service-account-token';
const WORKLOAD_SPEC_MESSAGE = "secret-relay may change nothing in a workload's spec but the pod-template annotation secret-relay.dev/secret-versions";
const WORKLOAD_METADATA_MESSAGE = 'secret-relay may change no workload metadata but its own secret-relay.dev/rolled-at annotation';
const TOKEN_LIFETIME_MESSAGE = 'secret-relay never requests a ServiceAccount token valid for more than 3600 seconds';
const TOKEN_AUDIENCE_MESSAGE = "secret-relay never requests a ServiceAccount token for the apiserver's own audience";

/** The documents of the shipped plain install: the operator's ServiceAccount, its RBAC and the admission policies. */
function shipped(file: string): RenderedDocument[] {
  return splitDocuments(readFileSync(join(MANIFESTS_DIR, file), 'utf8'));
}

const API_PATHS: Readonly<Record<string, { prefix: string; plural: string; namespaced: boolean }>> = {
  Namespace: { prefix: '/api/v1', plural: 'namespaces', namespaced: false },
  ServiceAccount: { prefix: '/api/v1', plural: 'serviceaccounts', namespaced: true },
  ClusterRole: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterrolebindings', namespaced: false },
  Role: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'roles', namespaced: true },
  RoleBinding: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'rolebindings', namespaced: true },
  ValidatingAdmissionPolicy: { prefix: '/apis/admissionregistration.k8s.io/v1', plural: 'validatingadmissionpolicies', namespaced: false },
  ValidatingAdmissionPolicyBinding: { prefix: '/apis/admissionregistration.k8s.io/v1', plural: 'validatingadmissionpolicybindings', namespaced: false },
};

/** Server-side apply with strict field validation, as `kubectl apply --server-side` does; fails on an error or a warning. */
async function apply(doc: RenderedDocument): Promise<void> {
  const where = API_PATHS[doc.kind];
  assert.ok(where, `no API path known for kind ${doc.kind}`);
  const { name, namespace } = doc.object.metadata;
  const url = new URL(`${cluster.server}${where.prefix}${where.namespaced ? `/namespaces/${namespace}` : ''}/${where.plural}/${name}?fieldManager=admission-policy-test&force=true&fieldValidation=Strict`);
  const options: https.RequestOptions = { method: 'PATCH', headers: { 'Content-Type': 'application/apply-patch+yaml', Accept: 'application/json' } };
  await kube.config.applyToHTTPSOptions(options);
  const result = await new Promise<{ status: number; body: string; warning: unknown }>((resolve, reject) => {
    const req = https.request(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, warning: res.headers['warning'] }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(doc.object));
  });
  assert.ok(result.status === 200 || result.status === 201, `applying ${doc.kind} ${name} failed (${result.status}): ${result.body}`);
  assert.equal(result.warning, undefined, `applying ${doc.kind} ${name} drew a warning`);
}

/** The refusal of a call: its HTTP code and body; undefined when it was accepted. */
async function refusal(call: Promise<unknown>): Promise<{ code: number; body: string } | undefined> {
  try {
    await call;
    return undefined;
  } catch (err) {
    if (err instanceof k8s.ApiException) return { code: err.code, body: typeof err.body === 'string' ? err.body : JSON.stringify(err.body) };
    throw err;
  }
}

/** The call is refused by the named policy with its message. */
async function assertDenied(what: string, call: Promise<unknown>, policy: string, message: string): Promise<void> {
  const refused = await refusal(call);
  assert.ok(refused, `${what}: accepted, but the admission policy should refuse it`);
  assert.equal(refused.code, 403, `${what}: ${refused.body}`);
  assert.ok(refused.body.includes(`ValidatingAdmissionPolicy '${policy}'`), `${what}: not refused by ${policy}: ${refused.body}`);
  assert.ok(refused.body.includes(message), `${what}: the refusal does not carry the policy's message "${message}": ${refused.body}`);
}

async function assertAccepted(what: string, call: Promise<unknown>): Promise<void> {
  const refused = await refusal(call);
  assert.equal(refused, undefined, `${what}: refused (${refused?.code}): ${refused?.body}`);
}

const dryRun = 'All';
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  for (const doc of [...shipped('namespace.yaml'), ...shipped('rbac.yaml'), ...shipped('admission-policies.yaml')]) await apply(doc);
  const serviceAccount = shipped('rbac.yaml').find((d) => d.kind === 'ServiceAccount')!;
  const token = await kube.core.createNamespacedServiceAccountToken({
    namespace: serviceAccount.namespace!,
    name: serviceAccount.name,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  operatorIdentity = createTestKube({ kubeconfigPath: cluster.kubeconfigPath, bearerToken: token.status!.token! });
  // Policies take effect once the apiserver has loaded them: wait until a forbidden write is refused.
  const ns = await namespaces.create(kube);
  await waitFor('the admission policies in force', async () => {
    const refused = await refusal(operatorIdentity.core.createNamespacedSecret({ namespace: ns, dryRun, body: { metadata: { name: 'probe', annotations: { 'kubernetes.io/service-account.name': 'default' } }, type: 'kubernetes.io/service-account-token' } }));
    return refused?.code === 403 && refused.body.includes('ValidatingAdmissionPolicy');
  });
});

after(async () => {
  await stopTestOperator(op, 'admission-policy');
  await operatorIdentity?.close();
  await cluster?.stop();
});

test('the shipped policies match only the operator ServiceAccount, fail closed and deny', () => {
  const docs = shipped('admission-policies.yaml');
  const policies = docs.filter((d) => d.kind === 'ValidatingAdmissionPolicy');
  const bindings = docs.filter((d) => d.kind === 'ValidatingAdmissionPolicyBinding');
  assert.deepEqual(policies.map((p) => p.name).sort(), ['secret-relay-secrets', 'secret-relay-token-requests', 'secret-relay-workloads']);
  for (const p of policies) {
    const spec = p.object['spec'] as { failurePolicy: string; matchConditions: { expression: string }[] };
    assert.equal(spec.failurePolicy, 'Fail', p.name);
    assert.deepEqual(spec.matchConditions.map((c) => c.expression), [`request.userInfo.username == 'system:serviceaccount:${MANIFESTS_NAMESPACE}:secret-relay'`], p.name);
    const binding = bindings.find((b) => (b.object['spec'] as { policyName: string }).policyName === p.name);
    assert.ok(binding, `no binding for ${p.name}`);
    assert.deepEqual((binding.object['spec'] as { validationActions: string[] }).validationActions, ['Deny']);
  }
});

test('Secrets: the operator token cannot write a credential type or token-controller annotations, nor delete token Secrets; ordinary writes pass; the admin is not affected', async () => {
  const ns = await namespaces.create(kube);
  const policy = 'secret-relay-secrets';
  const secret = (name: string, type: string, annotations: Record<string, string> = {}): k8s.V1Secret => ({
    metadata: { name, labels: { 'secret-relay.dev/managed': 'true' }, annotations },
    type,
    data: { value: Buffer.from(secrets.next('value')).toString('base64') },
  });
  const sa = { 'kubernetes.io/service-account.name': 'default' };
  await assertDenied('create a service-account-token Secret', operatorIdentity.core.createNamespacedSecret({ namespace: ns, dryRun, body: secret('t', 'kubernetes.io/service-account-token', sa) }), policy, SECRET_TYPE_MESSAGE);
  await assertDenied('create a bootstrap token Secret', operatorIdentity.core.createNamespacedSecret({ namespace: ns, dryRun, body: secret('bootstrap-token-abcdef', 'bootstrap.kubernetes.io/token') }), policy, SECRET_TYPE_MESSAGE);
  await assertDenied('create an Opaque Secret with kubernetes.io/service-account.name', operatorIdentity.core.createNamespacedSecret({ namespace: ns, dryRun, body: secret('a', 'Opaque', sa) }), policy, SECRET_ANNOTATION_MESSAGE);
  await assertDenied('create with kubernetes.io/service-account.uid', operatorIdentity.core.createNamespacedSecret({ namespace: ns, dryRun, body: secret('u', 'Opaque', { 'kubernetes.io/service-account.uid': 'x' }) }), policy, SECRET_ANNOTATION_MESSAGE);

  // The operator's writes: server-side apply of an Opaque and a TLS Secret (really written), then updated.
  await assertAccepted('apply an Opaque Secret', operatorIdentity.core.createNamespacedSecret({ namespace: ns, body: secret('plain', 'Opaque', { 'example.com/note': 'x' }) }));
  await assertAccepted('create a kubernetes.io/tls Secret', operatorIdentity.core.createNamespacedSecret({ namespace: ns, dryRun, body: { ...secret('tls', 'kubernetes.io/tls'), data: { 'tls.crt': '', 'tls.key': '' } } }));
  await assertAccepted('update it', operatorIdentity.core.patchNamespacedSecret({ namespace: ns, name: 'plain', body: { data: { other: 'eA==' } } }, merge));
  await assertDenied('annotate it kubernetes.io/service-account.name', operatorIdentity.core.patchNamespacedSecret({ namespace: ns, name: 'plain', dryRun, body: { metadata: { annotations: sa } } }, merge), policy, SECRET_ANNOTATION_MESSAGE);
  await assertAccepted('delete it', operatorIdentity.core.deleteNamespacedSecret({ namespace: ns, name: 'plain' }));

  // The admin makes a token Secret (the token controller fills it): allowed to them, and the operator can neither
  // write into it nor delete it.
  await assertAccepted('the admin creates a service-account-token Secret', kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'sa-token', annotations: sa }, type: 'kubernetes.io/service-account-token' } }));
  await assertAccepted('the admin creates a bootstrap token Secret', kube.core.createNamespacedSecret({ namespace: ns, dryRun, body: secret('bootstrap-token-abcdef', 'bootstrap.kubernetes.io/token') }));
  const filled = await waitFor('the token controller to fill it', async () => ((await readSecret(kube, ns, 'sa-token'))?.data?.['token'] ? true : undefined));
  assert.ok(filled);
  await assertDenied('merge a key into the token Secret', operatorIdentity.core.patchNamespacedSecret({ namespace: ns, name: 'sa-token', dryRun, body: { data: { extra: 'eA==' } } }, merge), policy, SECRET_TYPE_MESSAGE);
  await assertDenied('delete the token Secret', operatorIdentity.core.deleteNamespacedSecret({ namespace: ns, name: 'sa-token', dryRun }), policy, SECRET_DELETE_MESSAGE);
  await assertAccepted('the admin deletes it', kube.core.deleteNamespacedSecret({ namespace: ns, name: 'sa-token', dryRun }));
});

const image = 'registry.invalid/app:1';
const podTemplate = (app: string) => ({ metadata: { labels: { app }, annotations: { 'example.com/keep': 'x' } }, spec: { containers: [{ name: 'app', image }] } });
const ARGO = { group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts' } as const;


test('workloads: the operator token may patch only the rollout annotations, on Deployments, StatefulSets, DaemonSets and Argo Rollouts; the admin may patch anything', async () => {
  const ns = await namespaces.create(kube);
  const policy = 'secret-relay-workloads';
  await installArgoRolloutCrd(kube);
  await kube.apps.createNamespacedDeployment({ namespace: ns, body: { metadata: { name: 'web' }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: podTemplate('web') } } });
  await kube.apps.createNamespacedStatefulSet({ namespace: ns, body: { metadata: { name: 'db' }, spec: { serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: podTemplate('db') } } });
  await kube.apps.createNamespacedDaemonSet({ namespace: ns, body: { metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'agent' } }, template: podTemplate('agent') } } });
  await waitFor('the Rollout created', async () => {
    await kube.custom.createNamespacedCustomObject({ ...ARGO, namespace: ns, body: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'canary' }, spec: { replicas: 1, selector: { matchLabels: { app: 'canary' } }, template: podTemplate('canary'), strategy: { canary: {} } } } });
    return true;
  });

  /** A merge patch of one workload by `who`, dry-run unless asked. */
  const patch = (who: TestKube, kind: string, name: string, body: object, options: { dryRun?: boolean } = { dryRun: true }) => {
    const dry = options.dryRun === false ? {} : { dryRun };
    if (kind === 'Deployment') return who.apps.patchNamespacedDeployment({ namespace: ns, name, body, ...dry }, merge);
    if (kind === 'StatefulSet') return who.apps.patchNamespacedStatefulSet({ namespace: ns, name, body, ...dry }, merge);
    if (kind === 'DaemonSet') return who.apps.patchNamespacedDaemonSet({ namespace: ns, name, body, ...dry }, merge);
    return who.custom.patchNamespacedCustomObject({ ...ARGO, namespace: ns, name, body, ...dry }, merge);
  };
  // Exactly the patch src/controller/rollouts/plan.ts sends.
  const rollout = (versions: string) => ({
    metadata: { annotations: { [ROLLED_AT_ANNOTATION]: new Date().toISOString() } },
    spec: { template: { metadata: { annotations: { [SECRET_VERSIONS_ANNOTATION]: versions } } } },
  });
  const forged: readonly [string, object, string][] = [
    ['change the image', { spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.invalid/evil:1' }] } } } }, WORKLOAD_SPEC_MESSAGE],
    ['change the ServiceAccount', { spec: { template: { spec: { serviceAccountName: 'admin' } } } }, WORKLOAD_SPEC_MESSAGE],
    ['change a pod-template label', { spec: { template: { metadata: { labels: { extra: 'x' } } } } }, WORKLOAD_SPEC_MESSAGE],
    ['add another pod-template annotation', { spec: { template: { metadata: { annotations: { 'example.com/other': 'x' } } } } }, WORKLOAD_SPEC_MESSAGE],
    ['remove a pod-template annotation', { spec: { template: { metadata: { annotations: { 'example.com/keep': null } } } } }, WORKLOAD_SPEC_MESSAGE],
    ['change the rollout annotation and the image at once', { spec: { template: { metadata: { annotations: { [SECRET_VERSIONS_ANNOTATION]: 'a=b' } }, spec: { containers: [{ name: 'app', image: 'registry.invalid/evil:1' }] } } } }, WORKLOAD_SPEC_MESSAGE],
    ['set minReadySeconds', { spec: { minReadySeconds: 30 } }, WORKLOAD_SPEC_MESSAGE],
    ['label the workload', { metadata: { labels: { extra: 'x' } } }, WORKLOAD_METADATA_MESSAGE],
    ['annotate the workload', { metadata: { annotations: { 'example.com/other': 'x' } } }, WORKLOAD_METADATA_MESSAGE],
  ];
  for (const [kind, name] of [['Deployment', 'web'], ['StatefulSet', 'db'], ['DaemonSet', 'agent'], ['argo.Rollout', 'canary']] as const) {
    await assertAccepted(`${kind}: the rollout patch`, patch(operatorIdentity, kind, name, rollout('db=v1:abc'), { dryRun: false }));
    await assertAccepted(`${kind}: the next rollout patch`, patch(operatorIdentity, kind, name, rollout('db=v1:def,api=v1:123')));
    for (const [what, body, message] of forged) await assertDenied(`${kind}: ${what}`, patch(operatorIdentity, kind, name, body), policy, message);
    await assertAccepted(`${kind}: the admin changes the image`, patch(kube, kind, name, forged[0]![1]));
  }
  await assertDenied('Argo Rollout: change the strategy', patch(operatorIdentity, 'argo.Rollout', 'canary', { spec: { strategy: { blueGreen: {} } } }), policy, WORKLOAD_SPEC_MESSAGE);
  await assertDenied('Argo Rollout: scale it', patch(operatorIdentity, 'argo.Rollout', 'canary', { spec: { replicas: 5 } }), policy, WORKLOAD_SPEC_MESSAGE);
  await assertDenied('Deployment: scale it', patch(operatorIdentity, 'Deployment', 'web', { spec: { replicas: 5 } }), policy, WORKLOAD_SPEC_MESSAGE);
  // The operator's patch really landed (it was not a dry run).
  const web = await kube.apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
  assert.equal(web.spec?.template.metadata?.annotations?.[SECRET_VERSIONS_ANNOTATION], 'db=v1:abc');
});

test('TokenRequests: the operator token gets short-lived tokens for named audiences only; the admin is not affected', async () => {
  const ns = await namespaces.create(kube);
  const policy = 'secret-relay-token-requests';
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader' } } });
  const request = (who: TestKube, spec: k8s.V1TokenRequestSpec) => who.core.createNamespacedServiceAccountToken({ namespace: ns, name: 'reader', body: { spec } });
  // What the providers request: a store's audience, EXCHANGE_TOKEN_SECONDS (600) or up to the cap.
  await assertAccepted('audience sts.amazonaws.com, 600 s', request(operatorIdentity, { audiences: ['sts.amazonaws.com'], expirationSeconds: 600 }));
  await assertAccepted('audiences vault and another, 3600 s', request(operatorIdentity, { audiences: ['vault', 'api://AzureADTokenExchange'], expirationSeconds: 3600 }));
  await assertDenied('a day-long token', request(operatorIdentity, { audiences: ['vault'], expirationSeconds: 86_400 }), policy, TOKEN_LIFETIME_MESSAGE);
  await assertDenied('3601 s', request(operatorIdentity, { audiences: ['vault'], expirationSeconds: 3601 }), policy, TOKEN_LIFETIME_MESSAGE);
  await assertDenied('no audience (the apiserver\'s)', request(operatorIdentity, { audiences: [], expirationSeconds: 600 }), policy, TOKEN_AUDIENCE_MESSAGE);
  await assertDenied('the apiserver\'s audience named', request(operatorIdentity, { audiences: ['vault', 'https://kubernetes.default.svc.cluster.local'], expirationSeconds: 600 }), policy, TOKEN_AUDIENCE_MESSAGE);
  await assertDenied('https://kubernetes.default.svc', request(operatorIdentity, { audiences: ['https://kubernetes.default.svc'], expirationSeconds: 600 }), policy, TOKEN_AUDIENCE_MESSAGE);
  const admin = await request(kube, { audiences: [], expirationSeconds: 86_400 });
  assert.ok(admin.status?.token, 'the admin still gets an apiserver token for a day');
  secrets.add(admin.status.token);
});

test('an operator running with the ServiceAccount token under the policies syncs Secrets (a TLS-typed one too) and rolls out a Deployment', async () => {
  const ns = await namespaces.create(kube);
  const value = secrets.next('value');
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, bearerToken: await tokenOf(), namespace: MANIFESTS_NAMESPACE, args: ['--leader-elect=false', '--concurrency=2'] });
  await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name: 'store' }, spec: { provider: { fake: { data: [{ key: 'k', value }] } } } }, ns);
  await kube.apps.createNamespacedDeployment({ namespace: ns, body: { metadata: { name: 'web' }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image, env: [{ name: 'V', valueFrom: { secretKeyRef: { name: 'app', key: 'value' } } }] }] } } } } });
  await createObject(kube, Plural.ExternalSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'app', annotations: { 'example.com/team': 'a' } },
    spec: { secretStoreRef: { name: 'store' }, refreshInterval: '1s', data: [{ secretKey: 'value', remoteRef: { key: 'k' } }], rollout: { settleWindow: '1s' }, rolloutRestartTargets: [{ kind: 'Deployment', name: 'web' }] },
  }, ns);
  await createObject(kube, Plural.ExternalSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'tls' },
    spec: { secretStoreRef: { name: 'store' }, data: [{ secretKey: 'v', remoteRef: { key: 'k' } }], target: { template: { type: 'kubernetes.io/tls', data: { 'tls.crt': '{{ v }}', 'tls.key': '{{ v }}' } } } },
  }, ns);
  await waitSecretData(kube, ns, 'app', { value });
  await waitSecretData(kube, ns, 'tls', { 'tls.crt': value, 'tls.key': value });
  await waitReady(kube, { namespace: ns, name: 'tls', status: 'True', reason: 'SecretSynced' });
  const next = secrets.next('value');
  await patchObject(kube, Plural.SecretStore, 'store', { spec: { provider: { fake: { data: [{ key: 'k', value: next }] } } } }, ns);
  await waitSecretData(kube, ns, 'app', { value: next });
  await waitFor('the Deployment rolled out by the operator', async () => {
    const web = await kube.apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
    return web.spec?.template.metadata?.annotations?.[SECRET_VERSIONS_ANNOTATION] !== undefined;
  });
  await waitFor('a RolledOut Event', async () => (await eventNotes(kube, ns)).some((n) => n.startsWith('Normal RolledOut')));
  const denied = op.logs.lines.filter((l) => /ValidatingAdmissionPolicy|forbidden/i.test(l));
  assert.deepEqual(denied, [], 'the operator was refused something');
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets });
});

async function tokenOf(): Promise<string> {
  const result = await kube.core.createNamespacedServiceAccountToken({ namespace: MANIFESTS_NAMESPACE, name: 'secret-relay', body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  return result.status!.token!;
}
