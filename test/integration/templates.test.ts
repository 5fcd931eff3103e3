// Templates and dataFrom end to end against a real apiserver: one in-process operator, a fresh namespace
// per test. Every secret value used is remembered and, at the end, searched for in every log line, audit
// record, Event and status written during the file.
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import {
  adminKube,
  createObject,
  decodeData,
  eventNotes,
  patchObject,
  Plural,
  readSecret,
  startTestOperator,
  type TestOperator,
} from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecret, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { CA_CERT_PEM, EC_CHAIN_P12_BASE64, LEAF_CERT_PEM, LEAF_KEY_PEM } from '../unit/templates/fixtures.ts';

let cluster: LocalCluster;
let kube: TestKube;
let op: TestOperator;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('tpl');

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false', '--concurrency=4'] });
});

after(async () => {
  await stopTestOperator(op, 'templates');
  await cluster?.stop();
});

type Entry = { key: string; value: string; version?: string; tags?: Record<string, string> };

async function fakeStore(ns: string, data: Entry[]): Promise<void> {
  await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name: 'store' }, spec: { provider: { fake: { data } } } }, ns);
}

function es(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name }, spec: { secretStoreRef: { name: 'store' }, ...spec } };
}

test('a template shapes a dockerconfigjson Secret: type, labels, annotations and data', async () => {
  const ns = await namespaces.create(kube);
  const token = secrets.next('token');
  await fakeStore(ns, [{ key: 'registry', value: JSON.stringify({ host: 'ghcr.io', user: 'bot', token }) }]);
  await createObject(kube, Plural.ExternalSecret, es('pull', {
    dataFrom: [{ extract: { key: 'registry' } }],
    target: {
      template: {
        type: 'kubernetes.io/dockerconfigjson',
        metadata: { labels: { registry: '{{ host }}' }, annotations: { 'example.com/user': '{{ user | upcase }}' } },
        data: { '.dockerconfigjson': '{{ host | dockerconfigjson: user, token }}' },
      },
    },
  }), ns);
  const secret = await waitSecret(kube, ns, 'pull', (d) => d['.dockerconfigjson'] !== undefined, 'has .dockerconfigjson');
  assert.equal(secret.type, 'kubernetes.io/dockerconfigjson');
  assert.equal(secret.metadata?.labels?.['registry'], 'ghcr.io');
  assert.equal(secret.metadata?.annotations?.['example.com/user'], 'BOT');
  const config = JSON.parse(decodeData(secret)!['.dockerconfigjson']!) as { auths: Record<string, { auth: string }> };
  assert.equal(Buffer.from(config.auths['ghcr.io']!.auth, 'base64').toString(), `bot:${token}`);
  assert.deepEqual(Object.keys(decodeData(secret)!), ['.dockerconfigjson'], 'Replace: only rendered keys');
  await waitReady(kube, { namespace: ns, name: 'pull', status: 'True', reason: 'SecretSynced' });
});

test('a PKCS#12 bundle in the provider becomes a kubernetes.io/tls Secret', async () => {
  const ns = await namespaces.create(kube);
  await fakeStore(ns, [{ key: 'keystore', value: JSON.stringify({ p12: EC_CHAIN_P12_BASE64, password: 'p12-pass' }) }]);
  await createObject(kube, Plural.ExternalSecret, es('tls', {
    dataFrom: [{ extract: { key: 'keystore' } }],
    target: {
      template: {
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': '{{ p12 | base64_decode | pkcs12_certificates: password }}',
          'tls.key': '{{ p12 | base64_decode | pkcs12_private_key: password }}',
        },
      },
    },
  }), ns);
  const secret = await waitSecret(kube, ns, 'tls', (d) => d['tls.key'] !== undefined, 'has tls.key');
  assert.equal(secret.type, 'kubernetes.io/tls');
  const data = decodeData(secret)!;
  assert.equal(data['tls.crt'], `${LEAF_CERT_PEM}${CA_CERT_PEM}`);
  assert.equal(data['tls.key'], LEAF_KEY_PEM);
  assert.ok(new X509Certificate(LEAF_CERT_PEM).checkPrivateKey(createPrivateKey(data['tls.key']!)));
});

test('dataFrom: extract of nested JSON, find by regexp and by tags, rewrites, beside data[]', async () => {
  const ns = await namespaces.create(kube);
  const password = secrets.next('password');
  const prodA = secrets.next('prod-a');
  const prodB = secrets.next('prod-b');
  const dev = secrets.next('dev');
  await fakeStore(ns, [
    { key: 'db', value: JSON.stringify({ user: 'app', password, options: { ssl: true, pool: 5 } }) },
    { key: 'team/a/api-key', value: prodA, tags: { env: 'prod' } },
    { key: 'team/a/debug', value: dev, tags: { env: 'dev' } },
    { key: 'team/b/token', value: prodB, tags: { env: 'prod' } },
    { key: 'single', value: 'one' },
  ]);
  await createObject(kube, Plural.ExternalSecret, es('many', {
    data: [{ secretKey: 'single', remoteRef: { key: 'single' } }],
    dataFrom: [
      { extract: { key: 'db' }, rewrite: [{ regexp: { source: '^(.*)$', target: 'db_$1' } }] },
      // The fake provider converts found names before any rewrite, as ESO's fake does: team/a/x arrives as team_a_x.
      { find: { name: { regexp: '^team/a/' } }, rewrite: [{ regexp: { source: '^team_a_', target: '' } }] },
      { find: { tags: { env: 'prod' } }, rewrite: [{ transform: { template: '{{ value | split: "_" | last | upcase }}' } }] },
      { find: { path: 'team/b/' } },
    ],
  }), ns);
  await waitSecretData(kube, ns, 'many', {
    single: 'one',
    db_user: 'app',
    db_password: password,
    db_options: '{"ssl":true,"pool":5}',
    'api-key': prodA,
    debug: dev,
    'API-KEY': prodA,
    TOKEN: prodB,
    team_b_token: prodB,
  });
  await waitReady(kube, { namespace: ns, name: 'many', status: 'True', reason: 'SecretSynced' });
});

test('mergePolicy Merge keeps the fetched keys under the rendered ones; Replace drops them', async () => {
  const ns = await namespaces.create(kube);
  const password = secrets.next('password');
  await fakeStore(ns, [{ key: 'db', value: JSON.stringify({ user: 'app', password }) }]);
  await createObject(kube, Plural.ExternalSecret, es('merged', {
    dataFrom: [{ extract: { key: 'db' } }],
    target: { template: { mergePolicy: 'Merge', data: { user: '{{ user | upcase }}', url: 'postgres://{{ user }}:{{ password }}@db' } } },
  }), ns);
  await waitSecretData(kube, ns, 'merged', { user: 'APP', password, url: `postgres://app:${password}@db` });
  await patchObject(kube, Plural.ExternalSecret, 'merged', { spec: { target: { template: { mergePolicy: 'Replace' } } } }, ns);
  await waitSecretData(kube, ns, 'merged', { user: 'APP', url: `postgres://app:${password}@db` });
});

test('templateFrom a ConfigMap (Values, KeysAndValues) and a Secret, into data and labels; a ConfigMap edit arrives at the next refresh', async () => {
  const ns = await namespaces.create(kube);
  const password = secrets.next('password');
  await fakeStore(ns, [{ key: 'db', value: JSON.stringify({ user: 'app', password }) }]);
  await kube.core.createNamespacedConfigMap({
    namespace: ns,
    body: { metadata: { name: 'tpl' }, data: { 'app.properties': 'db.user={{ user }}\ndb.password={{ password }}\n', env: 'DB_USER: "{{ user }}"\nDB_PORT: 5432\n' } },
  });
  await kube.core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'tpl-secret' }, stringData: { dsn: 'app={{ user }}' } },
  });
  await createObject(kube, Plural.ExternalSecret, es('from', {
    refreshInterval: '1s',
    dataFrom: [{ extract: { key: 'db' } }],
    target: {
      template: {
        templateFrom: [
          { configMap: { name: 'tpl', items: [{ key: 'app.properties' }, { key: 'env', templateAs: 'KeysAndValues' }] } },
          { secret: { name: 'tpl-secret', items: [{ key: 'dsn' }] } },
          { literal: 'app: "{{ user }}"', target: 'Labels' },
        ],
      },
    },
  }), ns);
  const secret = await waitSecretData(kube, ns, 'from', {
    'app.properties': `db.user=app\ndb.password=${password}\n`,
    DB_USER: 'app',
    DB_PORT: '5432',
    dsn: 'app=app',
  });
  assert.equal(secret.metadata?.labels?.['app'], 'app');
  await kube.core.patchNamespacedConfigMap(
    { namespace: ns, name: 'tpl', body: [{ op: 'replace', path: '/data/env', value: 'DB_USER: "{{ user | upcase }}"\n' }] },
  );
  await waitSecretData(kube, ns, 'from', { 'app.properties': `db.user=app\ndb.password=${password}\n`, DB_USER: 'APP', dsn: 'app=app' });
});

test('a template error leaves the Secret as it was, says where (line) and why, never a value; fixing it recovers', async () => {
  const ns = await namespaces.create(kube);
  const password = secrets.next('password');
  await fakeStore(ns, [{ key: 'db', value: JSON.stringify({ user: 'app', password }) }]);
  await createObject(kube, Plural.ExternalSecret, es('broken', {
    dataFrom: [{ extract: { key: 'db' } }],
    target: { template: { data: { url: 'postgres://{{ user }}:{{ password }}@db' } } },
  }), ns);
  const before = await waitSecretData(kube, ns, 'broken', { url: `postgres://app:${password}@db` });

  const failures: Array<{ data: Record<string, string>; message: RegExp }> = [
    { data: { url: 'postgres://{{ user }}\n:{{ pasword }}@db' }, message: /spec\.target\.template\.data\["url"\] \(line 2, column \d+\): undefined variable in pasword/ },
    { data: { url: '{{ password | no_such_filter }}' }, message: /undefined filter: no_such_filter/ },
    { data: { url: '{{ password | parse_json }}' }, message: /parse_json: the input is not valid JSON/ },
    { data: { url: '{% include "/etc/passwd" %}' }, message: /the include tag is disabled/ },
    { data: { url: '{% for i in (1..100000000) %}{{ password }}{% endfor %}' }, message: /limit exceeded/ },
  ];
  for (const failure of failures) {
    await patchObject(kube, Plural.ExternalSecret, 'broken', { spec: { target: { template: { data: failure.data } } } }, ns);
    const ready = await waitReady(kube, { namespace: ns, name: 'broken', status: 'False', reason: 'SecretSyncedError', message: failure.message });
    assert.ok(!ready.message.includes(password), 'no value in the condition');
    const now = await readSecret(kube, ns, 'broken');
    assert.deepEqual(now?.data, before.data, 'the Secret is untouched');
  }
  await patchObject(kube, Plural.ExternalSecret, 'broken', { spec: { target: { template: { data: { url: '{{ user }}@db' } } } } }, ns);
  await waitSecretData(kube, ns, 'broken', { url: 'app@db' });
  await waitReady(kube, { namespace: ns, name: 'broken', status: 'True', reason: 'SecretSynced' });
  assert.ok((await eventNotes(kube, ns)).some((note) => note.includes('undefined variable in pasword')));
});

test('two sources producing the same key are reported by key and source; a rewrite leaving a bad character is converted', async () => {
  const ns = await namespaces.create(kube);
  const password = secrets.next('password');
  await fakeStore(ns, [
    { key: 'db', value: JSON.stringify({ password, 'bad key': 'x' }) },
    { key: 'other', value: secrets.next('other') },
  ]);
  await createObject(kube, Plural.ExternalSecret, es('dup', {
    data: [{ secretKey: 'password', remoteRef: { key: 'other' } }],
    dataFrom: [{ extract: { key: 'db', conversionStrategy: 'Default' } }],
  }), ns);
  await waitReady(kube, { namespace: ns, name: 'dup', status: 'False', reason: 'SecretSyncedError', message: /key "password" comes from both spec\.data\[0\] and spec\.dataFrom\[0\] \(extract "db"\)/ });
  assert.equal(await readSecret(kube, ns, 'dup'), undefined, 'no surprising Secret is written');
  await createObject(kube, Plural.ExternalSecret, es('badkey', {
    dataFrom: [{ extract: { key: 'db' }, rewrite: [{ regexp: { source: '^pass', target: 'pass/' } }] }],
  }), ns);
  // The conversion runs after the rewrite too (ESO fails here with "invalid secret keys": docs/eso-differences.md).
  await waitSecretData(kube, ns, 'badkey', { pass_word: password, bad_key: 'x' });
});

test('the CRD refuses malformed dataFrom and template entries with readable messages', async () => {
  const ns = await namespaces.create(kube);
  const refusals: Array<{ spec: Record<string, unknown>; message: RegExp }> = [
    { spec: { dataFrom: [{ extract: { key: 'a' }, find: { path: 'x' } }] }, message: /must set exactly one of extract, find or sourceRef/ },
    { spec: { dataFrom: [{ find: {} }] }, message: /must select by name\.regexp, tags or path/ },
    { spec: { dataFrom: [{ extract: { key: 'a' }, rewrite: [{}] }] }, message: /must set exactly one of regexp, transform or merge/ },
    { spec: { target: { template: { templateFrom: [{ literal: 'a: b', configMap: { name: 'x', items: [{ key: 'k' }] } }] } } }, message: /exactly one of configMap, secret or literal/ },
    { spec: { target: { template: { data: { 'bad key': 'x' } } } }, message: /template\.data keys must be Secret keys/ },
    { spec: {}, message: /spec\.data must list at least one entry, or spec\.dataFrom one source, or spec\.target\.template a template/ },
  ];
  for (const { spec, message } of refusals) {
    await assert.rejects(createObject(kube, Plural.ExternalSecret, es('refused', spec), ns), (err: unknown) => {
      const body = String((err as { body?: unknown }).body ?? err);
      assert.match(body, message);
      return true;
    });
  }
});

test('no secret value appears in any log line, audit record, Event or status written during the file', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets, atLeast: 6 });
});
