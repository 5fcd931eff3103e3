// Behaving like ESO where we use its field names, through the operator against the real apiserver: the
// ExternalSecret's own labels and annotations on the Secret (class 1), rewrites whose pattern matches the empty
// string (2), Go regular-expression syntax in find and rewrite (3), gjson property paths and value bytes (4), and a
// find that matches nothing (6). Expected values are ESO's (checked against Go and gjson in the unit tables).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, createObject, patchObject, Plural, readSecret, type TestOperator, startTestOperator, waitFor } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';

let cluster: LocalCluster;
let kube: TestKube;
let op: TestOperator;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('eso-parity');

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false', '--concurrency=4'] });
});

after(async () => {
  await stopTestOperator(op, 'eso-parity');
  await cluster?.stop();
});

type Entry = { key: string; value: string; version?: string };

async function fakeStore(ns: string, data: Entry[]): Promise<void> {
  await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name: 'store' }, spec: { provider: { fake: { data } } } }, ns);
}

function es(name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name, ...metadata }, spec: { secretStoreRef: { name: 'store' }, ...spec } };
}

test("class 1: without a template the ExternalSecret's labels and annotations go to the Secret, never kubectl's or ours", async () => {
  const ns = await namespaces.create(kube);
  await fakeStore(ns, [{ key: 'k', value: secrets.next() }]);
  await createObject(kube, Plural.ExternalSecret, es('meta', { data: [{ secretKey: 'value', remoteRef: { key: 'k' } }] }, {
    labels: { env: 'dev', 'secret-relay.dev/ignored': 'x' },
    annotations: { 'acme.org/owner': 'q-team', 'kubectl.kubernetes.io/last-applied-configuration': '{"kind":"ExternalSecret"}', 'secret-relay.dev/force-sync': '1' },
  }), ns);
  const secret = await waitFor('the Secret with the copied label', async () => {
    const found = await readSecret(kube, ns, 'meta');
    return found?.metadata?.labels?.['env'] === 'dev' ? found : undefined;
  });
  assert.equal(secret.metadata?.annotations?.['acme.org/owner'], 'q-team');
  assert.equal(secret.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], undefined);
  assert.equal(secret.metadata?.annotations?.['secret-relay.dev/force-sync'], undefined);
  assert.equal(secret.metadata?.labels?.['secret-relay.dev/ignored'], undefined);
  // A label removed from the ExternalSecret leaves the Secret too.
  await patchObject(kube, Plural.ExternalSecret, 'meta', { metadata: { labels: { env: null, team: 'a' } } }, ns);
  await waitFor('the Secret to follow the label change', async () => {
    const labels = (await readSecret(kube, ns, 'meta'))?.metadata?.labels ?? {};
    return labels['team'] === 'a' && labels['env'] === undefined ? true : undefined;
  });
});

test('class 2: rewrites whose pattern matches the empty string give what Go gives (dev-user, ElEvElE)', async () => {
  const ns = await namespaces.create(kube);
  const user = secrets.next();
  const level = secrets.next();
  await fakeStore(ns, [{ key: 'user', value: user }, { key: 'level', value: level }]);
  await createObject(kube, Plural.ExternalSecret, es('prefix', {
    dataFrom: [{ find: { name: { regexp: '^user$' } }, rewrite: [{ regexp: { source: '(.*)', target: 'dev-$1' } }] }],
  }), ns);
  await createObject(kube, Plural.ExternalSecret, es('stars', {
    dataFrom: [{ find: { name: { regexp: '^level$' } }, rewrite: [{ regexp: { source: 'e*', target: 'E' } }] }],
  }), ns);
  await waitSecretData(kube, ns, 'prefix', { 'dev-user': user });
  await waitSecretData(kube, ns, 'stars', { ElEvElE: level });
});

test('class 3: Go regular-expression syntax in find and rewrite; a backreference is refused as Go refuses it', async () => {
  const ns = await namespaces.create(kube);
  const [a, b, c] = [secrets.next(), secrets.next(), secrets.next()];
  await fakeStore(ns, [{ key: 'app-DB-user', value: a }, { key: 'app-db-pass', value: b }, { key: 'other', value: c }]);
  await createObject(kube, Plural.ExternalSecret, es('go-syntax', {
    dataFrom: [{
      find: { name: { regexp: '\\Aapp-(?i)db-\\pL+\\z' } },
      rewrite: [{ regexp: { source: '^app-(?i:db)-([[:lower:]]+)$', target: '${1}' } }],
    }],
  }), ns);
  await waitSecretData(kube, ns, 'go-syntax', { user: a, pass: b });
  await createObject(kube, Plural.ExternalSecret, es('backreference', { dataFrom: [{ find: { name: { regexp: '(o)\\1' } } }] }), ns);
  await waitReady(kube, { namespace: ns, name: 'backreference', status: 'False', message: /not a valid Go regular expression \(error parsing regexp: invalid escape sequence/ });
  assert.equal(await readSecret(kube, ns, 'backreference'), undefined);
});

test('class 4: property is gjson (wildcards, #, zero-padded indexes, queries) and values are its bytes; extract keeps stored JSON', async () => {
  const ns = await namespaces.create(kube);
  const password = secrets.next();
  const doc = `{"name": "n", "password": "${password}", "ratio": 1.0, "exp": 1e3, "nothing": null, "items": ["a", "b"], "sp": {"value": 3.14}, "objs": [{"n": "x", "age": 40}, {"n": "y", "age": 50}]}`;
  await fakeStore(ns, [{ key: 'doc', value: doc }]);
  await createObject(kube, Plural.ExternalSecret, es('gjson', {
    data: [
      { secretKey: 'wild', remoteRef: { key: 'doc', property: 'pass*' } },
      { secretKey: 'count', remoteRef: { key: 'doc', property: 'items.#' } },
      { secretKey: 'padded', remoteRef: { key: 'doc', property: 'items.01' } },
      { secretKey: 'query', remoteRef: { key: 'doc', property: 'objs.#(age>45).n' } },
      { secretKey: 'ratio', remoteRef: { key: 'doc', property: 'ratio' } },
      { secretKey: 'exp', remoteRef: { key: 'doc', property: 'exp' } },
      { secretKey: 'nothing', remoteRef: { key: 'doc', property: 'nothing' } },
      { secretKey: 'spaced', remoteRef: { key: 'doc', property: 'sp' } },
    ],
  }), ns);
  await waitSecretData(kube, ns, 'gjson', { wild: password, count: '2', padded: 'b', query: 'y', ratio: '1', exp: '1000', nothing: '', spaced: '{"value": 3.14}' });
  await createObject(kube, Plural.ExternalSecret, es('extract', { dataFrom: [{ extract: { key: 'doc' } }] }), ns);
  await waitSecretData(kube, ns, 'extract', {
    name: 'n', password, ratio: '1.0', exp: '1e3', nothing: '', items: '["a", "b"]', sp: '{"value": 3.14}', objs: '[{"n": "x", "age": 40}, {"n": "y", "age": 50}]',
  });
});

test('class 6: a find that matches nothing writes no Secret and stays Ready; with deletionPolicy Delete it deletes ours', async () => {
  const ns = await namespaces.create(kube);
  const v = secrets.next();
  await fakeStore(ns, [{ key: 'present', value: v }]);
  await createObject(kube, Plural.ExternalSecret, es('nothing', { dataFrom: [{ find: { name: { regexp: '^absent' } } }] }), ns);
  await waitReady(kube, { namespace: ns, name: 'nothing', status: 'True', reason: 'SecretSynced', message: /no Secret written/ });
  assert.equal(await readSecret(kube, ns, 'nothing'), undefined);

  await createObject(kube, Plural.ExternalSecret, es('shrinks', { refreshInterval: '1s', target: { deletionPolicy: 'Delete' }, dataFrom: [{ find: { name: { regexp: '^present$' } } }] }), ns);
  await waitSecretData(kube, ns, 'shrinks', { present: v });
  await patchObject(kube, Plural.ExternalSecret, 'shrinks', { spec: { dataFrom: [{ find: { name: { regexp: '^absent$' } } }] } }, ns);
  await waitFor('the Secret to be deleted', async () => ((await readSecret(kube, ns, 'shrinks')) === undefined ? true : undefined));
  await waitReady(kube, { namespace: ns, name: 'shrinks', status: 'False', reason: 'SecretDeleted' });
});

test('no secret value reaches logs, audit records, Events or status', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], expectAudit: true, kube, namespaces: namespaces.names, values: secrets, atLeast: 8 });
});
