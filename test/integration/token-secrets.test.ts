// Secrets the operator writes are never ones the apiserver fills with credentials (issue 24, item 6): no
// kubernetes.io/service-account-token or bootstrap.kubernetes.io/token type, no kubernetes.io/service-account.*
// annotation — whether from the template, the ExternalSecret's own copied metadata, templateFrom, or a Merge
// into a token Secret. Against the real apiserver with the token controller running (it fills a token into
// any Secret of that type naming a ServiceAccount: the incumbent's CVE-2026-42876).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { repoRoot, type LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, createObject, decodeData, installCrds, patchObject, Plural, readSecret, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';

let cluster: LocalCluster;
let kube: TestKube;
let op: TestOperator;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('tokens');

/** What every refusal names: the rule, so a tenant reading the condition knows why. */
const RULE = /secret-relay never writes .*(kubernetes\.io\/service-account-token|kubernetes\.io\/service-account\.)/;

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false', '--concurrency=2'] });
});

after(async () => {
  await stopTestOperator(op, 'token-secrets');
  await cluster?.stop();
});

async function fakeStore(ns: string, value: string): Promise<void> {
  await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name: 'store' }, spec: { provider: { fake: { data: [{ key: 'k', value }] } } } }, ns);
}

function es(name: string, spec: Record<string, unknown>, annotations?: Record<string, string>) {
  return {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: { secretStoreRef: { name: 'store' }, refreshInterval: '1h', data: [{ secretKey: 'value', remoteRef: { key: 'k' } }], ...spec },
  };
}

const TOKEN_TEMPLATE = {
  type: 'kubernetes.io/service-account-token',
  metadata: { annotations: { 'kubernetes.io/service-account.name': 'default' } },
};

/** No Secret of that name, or one without a token the token controller filled. */
async function assertNoToken(ns: string, name: string): Promise<void> {
  const secret = await readSecret(kube, ns, name);
  assert.equal(secret?.type === 'kubernetes.io/service-account-token', false, `Secret ${ns}/${name} is a service-account-token Secret`);
  assert.equal(decodeData(secret)?.['token'], undefined, `Secret ${ns}/${name} holds a token`);
}

async function apiErrorOf(call: Promise<unknown>): Promise<{ code: number; body: string } | undefined> {
  try {
    await call;
    return undefined;
  } catch (err) {
    if (err instanceof k8s.ApiException) return { code: err.code, body: String(err.body) };
    throw err;
  }
}

test('the CRD refuses target.template.type kubernetes.io/service-account-token and bootstrap.kubernetes.io/token up front', async () => {
  const ns = await namespaces.create(kube);
  await fakeStore(ns, secrets.next('value'));
  for (const type of ['kubernetes.io/service-account-token', 'bootstrap.kubernetes.io/token']) {
    const refused = await apiErrorOf(createObject(kube, Plural.ExternalSecret, es('token', { target: { template: { ...TOKEN_TEMPLATE, type } } }), ns));
    assert.equal(refused?.code, 422, `an ExternalSecret with template.type ${type} was accepted`);
    assert.match(refused.body, RULE);
  }
  await assertNoToken(ns, 'token');
});

test('an ExternalSecret stored before the CRD had the rule gets Ready=False naming it, and no token is minted', async () => {
  const ns = await namespaces.create(kube);
  await fakeStore(ns, secrets.next('value'));
  // The ExternalSecret CRD as an older release shipped it: without the type rule (validation ratcheting keeps
  // such objects once stored, and the operator must still refuse them).
  const file = join(repoRoot, 'crds/secret-relay.dev_externalsecrets.yaml');
  const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(file, 'utf8'));
  const typeSchema = crd.spec.versions[0]!.schema!.openAPIV3Schema!.properties!['spec']!.properties!['target']!.properties!['template']!.properties!['type']!;
  typeSchema.x_kubernetes_validations = (typeSchema.x_kubernetes_validations ?? []).filter((v) => !v.rule.includes('service-account-token'));
  const current = await kube.apiextensions.readCustomResourceDefinition({ name: crd.metadata!.name! });
  crd.metadata!.resourceVersion = current.metadata!.resourceVersion!;
  await kube.apiextensions.replaceCustomResourceDefinition({ name: crd.metadata!.name!, body: crd });
  try {
    // The apiserver takes a moment to serve the replaced schema.
    await waitFor('the ExternalSecret created under the older CRD', async () => {
      await createObject(kube, Plural.ExternalSecret, es('token', { target: { template: TOKEN_TEMPLATE } }), ns);
      return true;
    });
  } finally {
    await installCrds(kube);
  }
  const ready = await waitReady(kube, { namespace: ns, name: 'token', status: 'False', message: RULE });
  assert.equal(ready.reason, 'InvalidSpec');
  await assertNoToken(ns, 'token');
});

test("the ExternalSecret's own kubernetes.io/service-account.* annotation is not copied: Ready=False naming the rule, the last good Secret stays", async () => {
  const ns = await namespaces.create(kube);
  const value = secrets.next('value');
  await fakeStore(ns, value);
  await createObject(kube, Plural.ExternalSecret, es('copied', {}), ns);
  const good = await waitSecretData(kube, ns, 'copied', { value });
  await waitReady(kube, { namespace: ns, name: 'copied', status: 'True' });

  await patchObject(kube, Plural.ExternalSecret, 'copied', { metadata: { annotations: { 'kubernetes.io/service-account.name': 'default' } } }, ns);
  const ready = await waitReady(kube, { namespace: ns, name: 'copied', status: 'False', message: RULE });
  assert.equal(ready.reason, 'InvalidSpec');
  const after = await readSecret(kube, ns, 'copied');
  assert.equal(after?.metadata?.resourceVersion, good.metadata?.resourceVersion, 'the last good Secret was rewritten');
  assert.equal(after?.metadata?.annotations?.['kubernetes.io/service-account.name'], undefined);
});

test('a template annotation kubernetes.io/service-account.* (metadata or templateFrom) is refused with Ready=False naming the rule', async () => {
  const ns = await namespaces.create(kube);
  await fakeStore(ns, secrets.next('value'));
  await createObject(kube, Plural.ExternalSecret, es('meta', { target: { template: { metadata: { annotations: { 'kubernetes.io/service-account.name': 'default' } } } } }), ns);
  await createObject(kube, Plural.ExternalSecret, es('rendered', {
    target: { template: { templateFrom: [{ literal: 'kubernetes.io/service-account.uid: "{{ value | size }}"', target: 'Annotations' }] } },
  }), ns);
  for (const name of ['meta', 'rendered']) {
    const ready = await waitReady(kube, { namespace: ns, name, status: 'False', message: RULE });
    assert.equal(ready.reason, 'InvalidSpec');
    assert.equal(await readSecret(kube, ns, name), undefined, `Secret ${name} was written`);
  }
});

test('creationPolicy Merge into an existing service-account-token Secret writes nothing to it', async () => {
  const ns = await namespaces.create(kube);
  await fakeStore(ns, secrets.next('value'));
  await kube.core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'sa-token', annotations: { 'kubernetes.io/service-account.name': 'default' } }, type: 'kubernetes.io/service-account-token' },
  });
  const filled = await waitFor('the token controller to fill the admin-made token Secret', async () => {
    const secret = await readSecret(kube, ns, 'sa-token');
    return secret?.data?.['token'] ? secret : undefined;
  });
  secrets.add(Buffer.from(filled.data!['token']!, 'base64').toString('utf8'));
  await createObject(kube, Plural.ExternalSecret, es('merge', { target: { name: 'sa-token', creationPolicy: 'Merge' } }), ns);
  const ready = await waitReady(kube, { namespace: ns, name: 'merge', status: 'False', message: RULE });
  assert.equal(ready.reason, 'InvalidSpec');
  const after = await readSecret(kube, ns, 'sa-token');
  assert.equal(after?.metadata?.resourceVersion, filled.metadata?.resourceVersion, 'the token Secret was written to');
});

test('nothing leaked', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets });
});
