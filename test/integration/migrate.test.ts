// `secret-relay migrate` against the real control plane: the converted corpus (test/fixtures/migrate/eso, every
// kind and provider) is accepted by our CRDs with strict field validation, and what the fake store serves syncs
// to Secrets byte-identical to what ESO's Go templates render from the same values (test/go-template-reference).
// Then the switch itself: a Secret owned by a real ESO ExternalSecret (ESO's CRD installed, ESO not running) is
// adopted by the converted ExternalSecret while a watch records every version of it — none missing, empty or
// different — and ESO's object deleted with orphan propagation leaves the Secret ours.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { convertFile, convertFiles } from '../../src/migrate/convert.ts';
import type { TestKube } from '../support/kube.ts';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { installEsoCrds } from '../support/eso-crds.ts';
import { goRender } from '../support/go-template-reference.ts';
import { adminKube, API_GROUP, API_VERSION, eventNotes, Plural, readSecret, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';

type Obj = Record<string, unknown>;
const corpus = new URL('../fixtures/migrate/eso/', import.meta.url).pathname;
const plurals: Record<string, string> = {
  ExternalSecret: Plural.ExternalSecret,
  SecretStore: Plural.SecretStore,
  ClusterSecretStore: Plural.ClusterSecretStore,
  ClusterExternalSecret: Plural.ClusterExternalSecret,
  VaultDynamicSecret: Plural.VaultDynamicSecret,
};
const clusterScoped = new Set(['ClusterSecretStore', 'ClusterExternalSecret']);

let cluster: LocalCluster;
let kube: TestKube;
let op: TestOperator;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('migrate');
const created: { plural: string; name: string }[] = [];

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  await installEsoCrds(kube);
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false', '--concurrency=4'] });
});

after(async () => {
  for (const { plural, name } of created) await kube.custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural, name }).catch(() => {});
  await stopTestOperator(op, 'migrate');
  await cluster?.stop();
});

/** Creates one converted object for real, refusing unknown or duplicate fields (as `kubectl apply` would). */
async function createStrict(doc: Obj, namespace: string): Promise<void> {
  const kind = String(doc['kind']);
  const plural = plurals[kind];
  assert.ok(plural, `converted to a kind we serve: ${kind}`);
  const body = { ...doc, metadata: { ...(doc['metadata'] as Obj) } };
  const common = { group: API_GROUP, version: API_VERSION, plural, body, fieldValidation: 'Strict' };
  if (clusterScoped.has(kind)) {
    await kube.custom.createClusterCustomObject(common);
    created.push({ plural, name: String((body.metadata as Obj)['name']) });
  } else {
    await kube.custom.createNamespacedCustomObject({ ...common, namespace });
  }
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.yaml')).map((e) => join(e.parentPath, e.name)).sort();
}

test('the converted corpus is accepted with strict field validation, and the fake-store ExternalSecrets sync to what ESO would render', async () => {
  const ns = await namespaces.create(kube, { tier: 'prod' });
  const suffix = randomBytes(3).toString('hex');
  let applied = 0;
  const files = yamlFiles(corpus);
  const results = convertFiles(files.map((file) => ({ file, text: readFileSync(file, 'utf8') })), { adopt: false });
  for (const result of results) {
    assert.ok(result.reports.every((r) => r.outcome !== 'refused'), JSON.stringify(result.reports));
    if (result.output === undefined) continue;
    for (const document of parseAllDocuments(result.output)) {
      const doc = document.toJS() as Obj;
      if (doc['kind'] === 'ConfigMap' && String((doc['metadata'] as Obj)['name']).endsWith('-secret-relay')) {
        await kube.core.createNamespacedConfigMap({ namespace: ns, body: doc as k8s.V1ConfigMap, fieldValidation: 'Strict' });
        continue;
      }
      if (doc['apiVersion'] !== `${API_GROUP}/${API_VERSION}`) continue;
      const metadata = doc['metadata'] as Obj;
      // Cluster-scoped names get a per-run suffix (the control plane is shared), and references to them follow.
      if (clusterScoped.has(String(doc['kind']))) metadata['name'] = `${String(metadata['name'])}-${suffix}`;
      const text = JSON.stringify(doc).replaceAll('{"name":"vault","kind":"ClusterSecretStore"}', `{"name":"vault-${suffix}","kind":"ClusterSecretStore"}`);
      await createStrict(JSON.parse(text) as Obj, ns);
      applied++;
    }
  }
  assert.equal(applied, 14, 'every ESO document of the corpus was converted and created');

  // The fake store's values, and ESO's own rendering of the original templates with them.
  const values = { token: 'tok-123', user: 'app', password: 'p@ss<&>word', host: 'pg.internal' };
  const original = (parseAllDocuments(readFileSync(join(corpus, 'base/external-secrets.yaml'), 'utf8'))[0] as { toJS(): Obj }).toJS() as {
    spec: { target: { template: { data: Record<string, string>; metadata: { labels: Record<string, string> } } } };
  };
  const templates = original.spec.target.template.data;
  const rendered = goRender(Object.values(templates).map((template) => ({ template, data: values })));
  const expected = Object.fromEntries(Object.keys(templates).map((key, i) => [key, rendered[i]!.output!]));
  assert.ok(rendered.every((r) => r.ok));
  const secret = await waitSecretData(kube, ns, 'db-credentials', expected);
  const label = goRender([{ template: original.spec.target.template.metadata.labels['db-user']!, data: values }])[0]!.output;
  assert.equal(secret.metadata?.labels?.['db-user'], label);
  await waitSecretData(kube, ns, 'found', { KEY_FIRST: 'one' });
  // templateFrom: the liquid copy of the ConfigMap renders what ESO renders from the original.
  const configMap = (parseAllDocuments(readFileSync(join(corpus, 'base/templates.yaml'), 'utf8'))[0] as { toJS(): Obj }).toJS() as { data: Record<string, string> };
  const properties = goRender([{ template: configMap.data['app.properties']!, data: values }])[0]!;
  assert.ok(properties.ok);
  await waitSecretData(kube, ns, 'props', { 'app.properties': properties.output! });
  await waitReady(kube, { namespace: ns, name: 'db', status: 'True', reason: 'SecretSynced' });
});

const esoManifest = (ns: string) => `# What the user has in Git today, for ESO.
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: { name: store, namespace: ${ns} }
spec:
  provider:
    fake:
      data:
        - { key: db-user, value: "${secrets.next('user')}" }
        - { key: db-password, value: "${secrets.next('password')}" }
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: db, namespace: ${ns}, labels: { app: web } }
spec:
  refreshInterval: 1h
  secretStoreRef: { name: store, kind: SecretStore }
  target:
    name: db
    template:
      engineVersion: v2
      data:
        user: "{{ .user }}"
        dsn: "postgres://{{ .user }}:{{ .password }}@db:5432/app"
        basic: "{{ printf \\"%s:%s\\" .user .password | b64enc }}"
  data:
    - { secretKey: user, remoteRef: { key: db-user } }
    - { secretKey: password, remoteRef: { key: db-password } }
`;

test("migrate --adopt takes over a Secret a real ESO ExternalSecret owns with no version missing, empty or different; deleting ESO's object with orphan propagation leaves it ours", async (t) => {
  const ns = await namespaces.create(kube);
  const manifest = esoManifest(ns);
  const eso = parseAllDocuments(manifest).map((d) => (Array.isArray(d) ? undefined : d.toJS())) as Obj[];
  const esoSecretStore = eso[0]!;
  const esoExternalSecret = eso[1]!;

  // ESO's world as ESO left it: its ExternalSecret (a real object, so the garbage collector knows the owner) and
  // the Secret it rendered, controlled by it and written by its field manager. ESO itself is not running (step 1
  // of docs/migrating-from-eso.md scales it down).
  const owner = (await kube.custom.createNamespacedCustomObject({ group: 'external-secrets.io', version: 'v1', namespace: ns, plural: 'externalsecrets', body: esoExternalSecret })) as { metadata: { uid: string } };
  const fake = ((esoSecretStore['spec'] as Obj)['provider'] as { fake: { data: { key: string; value: string }[] } }).fake.data;
  const values = { user: fake[0]!.value, password: fake[1]!.value };
  const templates = (((esoExternalSecret['spec'] as Obj)['target'] as Obj)['template'] as { data: Record<string, string> }).data;
  const rendered = goRender(Object.values(templates).map((template) => ({ template, data: values })));
  const esoData = Object.fromEntries(Object.keys(templates).map((key, i) => [key, Buffer.from(rendered[i]!.output!).toString('base64')]));
  const original = await kube.core.createNamespacedSecret({
    namespace: ns,
    fieldManager: 'external-secrets',
    body: {
      metadata: {
        name: 'db',
        labels: { 'reconcile.external-secrets.io/managed': 'true' },
        ownerReferences: [{ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', name: 'db', uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      type: 'Opaque',
      data: esoData,
    },
  });
  for (const value of Object.values(rendered)) secrets.add(value.output!);

  // Every version of the Secret from now on, as the apiserver sends them.
  const versions: { type: string; data: Record<string, string> | undefined; owners: string[] }[] = [];
  const watch = await new k8s.Watch(kube.config).watch(
    `/api/v1/namespaces/${ns}/secrets`,
    { fieldSelector: 'metadata.name=db', resourceVersion: original.metadata!.resourceVersion! },
    (type, obj: k8s.V1Secret) => versions.push({ type, data: obj.data, owners: (obj.metadata?.ownerReferences ?? []).map((r) => `${r.apiVersion}/${r.kind}`) }),
    () => {},
  );
  try {
    const result = convertFile('git/db.yaml', manifest, { adopt: true });
    assert.deepEqual(result.reports.map((r) => r.outcome), ['converted', 'converted-with-notes']);
    for (const document of parseAllDocuments(result.output!)) await createStrict(document.toJS() as Obj, ns);

    const taken = await waitFor('the Secret to be controlled by the converted ExternalSecret', async () => {
      const secret = await readSecret(kube, ns, 'db');
      const refs = secret?.metadata?.ownerReferences ?? [];
      return refs.length === 1 && refs[0]?.apiVersion === `${API_GROUP}/${API_VERSION}` && refs[0]?.controller === true ? secret : undefined;
    });
    assert.deepEqual(taken.data, esoData, 'our first write is byte-identical to what ESO rendered');
    await waitReady(kube, { namespace: ns, name: 'db', status: 'True', reason: 'SecretSynced' });
    assert.ok((await eventNotes(kube, ns)).some((n) => n === "Normal Adopted: Secret db adopted from ESO's ExternalSecret db (external-secrets.io)"));

    // ESO's object goes, its dependents orphaned (kubectl delete externalsecrets.external-secrets.io db --cascade=orphan).
    await kube.custom.deleteNamespacedCustomObject({ group: 'external-secrets.io', version: 'v1', namespace: ns, plural: 'externalsecrets', name: 'db', propagationPolicy: 'Orphan' });
    await waitFor("ESO's ExternalSecret to be gone", async () => {
      try {
        await kube.custom.getNamespacedCustomObject({ group: 'external-secrets.io', version: 'v1', namespace: ns, plural: 'externalsecrets', name: 'db' });
        return false;
      } catch (err) {
        return err instanceof k8s.ApiException && err.code === 404;
      }
      // The garbage collector's orphan finalizer runs once it has discovered ESO's freshly installed CRD, which its
      // discovery resync does every 30 s: measured 0.3-27 s here.
    }, 90_000);
    // The garbage collector has orphaned the dependents once ESO's object is gone (its orphan finalizer is done).
    const after = await readSecret(kube, ns, 'db');
    assert.equal(after?.metadata?.uid, original.metadata?.uid, 'the same Secret, never deleted and recreated');
    assert.deepEqual(after?.metadata?.ownerReferences?.map((r) => `${r.apiVersion}/${r.kind}/${r.name}`), [`${API_GROUP}/${API_VERSION}/ExternalSecret/db`]);
    assert.deepEqual(after?.data, esoData);
    await waitReady(kube, { namespace: ns, name: 'db', status: 'True', reason: 'SecretSynced' });
  } finally {
    watch.abort();
  }
  t.diagnostic(`versions of the Secret seen during the switch: ${versions.length} (${versions.map((v) => v.owners.join('+') || 'no owner').join(' → ')})`);
  assert.ok(versions.length >= 1, 'the takeover was seen');
  for (const version of versions) {
    assert.equal(version.type, 'MODIFIED', 'the Secret was never deleted or recreated');
    assert.deepEqual(version.data, esoData, 'every version held exactly the data ESO wrote');
  }
  // The takeover removes ESO's controller reference, then our apply adds ours: never two controllers at once.
  assert.ok(versions.every((v) => v.owners.length <= 1), 'at no moment two controllers');
  assert.deepEqual(versions.at(-1)?.owners, [`${API_GROUP}/${API_VERSION}/ExternalSecret`]);
});

test('nothing the tests used leaks into logs, audit records, Events or statuses', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets, atLeast: 4 });
});
