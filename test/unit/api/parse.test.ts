import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  parseClusterSecretStore,
  parseExternalSecret,
  parseSecretStore,
  targetSecretName,
  type ParseResult,
} from '../../../src/api/index.ts';
import {
  badCases,
  badObject,
  clusterSecretStore,
  externalSecret,
  fakeProvider,
  minimalExternalSecretSpec,
  secretStore,
} from './fixtures.ts';

function parserFor(kind: string): (obj: unknown) => ParseResult<unknown> {
  if (kind === 'ExternalSecret') return parseExternalSecret;
  if (kind === 'SecretStore') return parseSecretStore;
  return parseClusterSecretStore;
}

test('a minimal ExternalSecret parses with every default applied', () => {
  const result = parseExternalSecret(externalSecret('db', minimalExternalSecretSpec, 'team-a'));
  assert.ok(result.ok, result.ok ? '' : result.error);
  assert.deepEqual(result.value.spec, {
    secretStoreRef: { name: 'fake-store', kind: 'SecretStore' },
    refreshInterval: '1h',
    refreshPolicy: 'Periodic',
    target: { creationPolicy: 'Owner', deletionPolicy: 'Retain', immutable: false },
    data: [{ secretKey: 'password', remoteRef: { key: 'db/password', decodingStrategy: 'None', metadataPolicy: 'None' } }],
  });
  assert.equal(targetSecretName(result.value), 'db');
});

test('explicit values are kept, and target.name names the Secret', () => {
  const result = parseExternalSecret(
    externalSecret('db', {
      ...minimalExternalSecretSpec,
      secretStoreRef: { name: 'shared', kind: 'ClusterSecretStore' },
      refreshInterval: '0',
      refreshPolicy: 'CreatedOnce',
      target: { name: 'db-credentials', creationPolicy: 'Orphan', deletionPolicy: 'Delete' },
    }),
  );
  // deletionPolicy Delete needs creationPolicy Owner: Orphan is refused.
  assert.equal(result.ok, false);
  const owned = parseExternalSecret(
    externalSecret('db', {
      ...minimalExternalSecretSpec,
      refreshInterval: '15m30s',
      target: { name: 'db-credentials', deletionPolicy: 'Delete', immutable: true },
    }),
  );
  assert.ok(owned.ok, owned.ok ? '' : owned.error);
  assert.equal(owned.value.spec.refreshInterval, '15m30s');
  assert.equal(owned.value.spec.target.creationPolicy, 'Owner');
  assert.equal(targetSecretName(owned.value), 'db-credentials');
});

test('status written by the operator parses', () => {
  const result = parseExternalSecret({
    ...externalSecret('db', minimalExternalSecretSpec, 'team-a'),
    status: {
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'SecretSynced',
          message: 'Secret was synced',
          lastTransitionTime: '2025-01-02T03:04:05Z',
          observedGeneration: 3,
        },
      ],
      refreshTime: '2025-01-02T03:04:05Z',
      syncedResourceVersion: '3-abc',
      binding: { name: 'db' },
    },
  });
  assert.ok(result.ok, result.ok ? '' : result.error);
  assert.equal(result.value.status?.conditions?.[0]?.reason, 'SecretSynced');
});

test('stores parse with defaults; placeholder providers keep their fields', () => {
  const fake = parseSecretStore(secretStore('fake-store', { provider: fakeProvider }, 'team-a'));
  assert.ok(fake.ok, fake.ok ? '' : fake.error);
  assert.equal(fake.value.spec.refreshInterval, '5m');
  assert.deepEqual(fake.value.spec.provider.fake?.data, [{ key: 'db/password', value: 'not-a-real-secret' }]);

  const aws = parseSecretStore(secretStore('aws', { provider: { aws: { service: 'SecretsManager', region: 'eu-west-1' } } }));
  assert.ok(aws.ok, aws.ok ? '' : aws.error);
  assert.deepEqual(aws.value.spec.provider.aws, { service: 'SecretsManager', region: 'eu-west-1' });

  const cluster = parseClusterSecretStore(
    clusterSecretStore('shared', {
      provider: fakeProvider,
      conditions: [
        { namespaces: ['team-a'] },
        { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] } },
        { namespaceRegexes: ['^team-.*$'] },
      ],
    }),
  );
  assert.ok(cluster.ok, cluster.ok ? '' : cluster.error);
  assert.equal(cluster.value.spec.conditions.length, 3);
  const open = parseClusterSecretStore(clusterSecretStore('open', { provider: fakeProvider }));
  assert.ok(open.ok);
  assert.deepEqual(open.value.spec.conditions, []);
});

test('the same key may appear in the fake provider under different versions', () => {
  const result = parseSecretStore(
    secretStore('versions', {
      provider: { fake: { data: [{ key: 'a', value: '1', version: 'v1' }, { key: 'a', value: '2', version: 'v2' }, { key: 'a', value: '3' }] } },
    }),
  );
  assert.ok(result.ok, result.ok ? '' : result.error);
});

for (const badCase of badCases) {
  test(`parse rejects: ${badCase.title}`, () => {
    const result = parserFor(badCase.kind)(badObject(badCase, 'bad', 'team-a'));
    assert.equal(result.ok, false, `${badCase.title} was accepted`);
    if (result.ok) return;
    assert.ok(result.error.includes(badCase.parse), `expected "${badCase.parse}" in: ${result.error}`);
    const prefix = badCase.kind === 'ClusterSecretStore' ? `${badCase.kind} bad is invalid: ` : `${badCase.kind} team-a/bad is invalid: `;
    assert.ok(result.error.startsWith(prefix), result.error);
  });
}

test('an object of another kind or version is rejected, naming the field', () => {
  const wrongVersion = parseExternalSecret({ ...externalSecret('db', minimalExternalSecretSpec), apiVersion: 'external-secrets.io/v1' });
  assert.equal(wrongVersion.ok, false);
  assert.match(wrongVersion.ok ? '' : wrongVersion.error, /^ExternalSecret db is invalid: apiVersion: /);
  const notAnObject = parseSecretStore('nope');
  assert.deepEqual(notAnObject, { ok: false, error: 'SecretStore is invalid: (object): Invalid input: expected object, received string' });
});

test('errors never echo values', () => {
  const result = parseSecretStore(secretStore('s', { provider: { fake: { data: [{ key: '', value: 'hunter2-secret' }] } } }));
  assert.equal(result.ok, false);
  assert.ok(!JSON.stringify(result).includes('hunter2-secret'));
});

test('refreshInterval follows the grammar of src/duration.ts', () => {
  const withInterval = (refreshInterval: string) =>
    parseExternalSecret(externalSecret('db', { ...minimalExternalSecretSpec, refreshInterval }));
  for (const good of ['0', '0s', '1h', '1h30m', '15m30s', '10s', '250ms', '1.5h', '1h0m0s']) {
    const result = withInterval(good);
    assert.ok(result.ok, `${good}: ${result.ok ? '' : result.error}`);
  }
  for (const bad of ['', '1', '1d', '30s1m', '1 h', '-1s', '10ns']) {
    const result = withInterval(bad);
    assert.equal(result.ok, false, bad);
    assert.match(result.ok ? '' : result.error, /spec\.refreshInterval must be a duration such as 1h, 15m or 30s; 0 fetches once/);
  }
  // The CRD's pattern cannot see sub-millisecond precision; parsing still refuses it, saying why.
  const fine = withInterval('0.5ms');
  assert.match(fine.ok ? '' : fine.error, /spec\.refreshInterval must be a duration .* \(it is finer than a millisecond\)/);
});
