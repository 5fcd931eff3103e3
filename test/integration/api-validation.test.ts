// The generated CRDs against a real kube-apiserver: they install (structural, CEL cost within budget), bad objects
// are refused with the readable messages users will see from `kubectl apply`, good ones get their defaults.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import {
  API_GROUP,
  API_VERSION,
  parseClusterSecretStore,
  parseExternalSecret,
  parseSecretStore,
  Plural,
} from '../../src/api/index.ts';
import { REPO_ROOT } from '../../src/api/generate.ts';
import { startCluster, type LocalCluster } from '../support/cluster.ts';
import {
  badCases,
  badObject,
  clusterSecretStore,
  externalSecret,
  fakeProvider,
  minimalExternalSecretSpec,
  secretStore,
  type FixtureKind,
} from '../unit/api/fixtures.ts';

type Json = Record<string, unknown>;

let cluster: LocalCluster | undefined;
let custom: k8s.CustomObjectsApi;
const namespace = `api-validation-${randomBytes(3).toString('hex')}`;
/** ClusterSecretStores are cluster-wide: a per-run suffix keeps names unique. */
const suffix = namespace.slice('api-validation-'.length);

async function waitFor<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`, { cause: lastError });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

before(async () => {
  cluster = await startCluster();
  const config = new k8s.KubeConfig();
  config.loadFromFile(cluster.kubeconfigPath);
  custom = config.makeApiClient(k8s.CustomObjectsApi);
  const apiextensions = config.makeApiClient(k8s.ApiextensionsV1Api);
  const core = config.makeApiClient(k8s.CoreV1Api);

  const crdDir = join(REPO_ROOT, 'crds');
  for (const file of readdirSync(crdDir).filter((name) => name.endsWith('.yaml'))) {
    // loadYaml deserializes into the client's typed model. A plain parse would not do: the client serializes
    // V1CustomResourceDefinition by its own property names (`_default`, `_enum`, `xKubernetesValidations`) and
    // silently drops `default`, `enum` and `x-kubernetes-validations` from a plain object.
    const body = k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(join(crdDir, file), 'utf8'));
    await apiextensions.createCustomResourceDefinition({ body });
  }
  for (const plural of Object.values(Plural)) {
    const name = `${plural}.${API_GROUP}`;
    await waitFor(`CRD ${name} to be Established`, 30_000, async () => {
      const crd = await apiextensions.readCustomResourceDefinition({ name });
      const established = crd.status?.conditions?.find((condition) => condition.type === 'Established');
      return established?.status === 'True' ? true : undefined;
    });
  }
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  // Established precedes the resource being served by a moment; list until it answers.
  for (const plural of Object.values(Plural)) {
    await waitFor(`${plural} to be served`, 30_000, async () => {
      await custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural });
      return true;
    });
  }
});

after(async () => {
  await cluster?.stop();
});

async function create(kind: FixtureKind, body: Json): Promise<Json> {
  const plural = Plural[kind];
  if (kind === 'ClusterSecretStore') {
    return (await custom.createClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural, body })) as Json;
  }
  return (await custom.createNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural, body })) as Json;
}

/** The apiserver's error for a refused create: HTTP status and the Status message. */
async function refusal(kind: FixtureKind, body: Json): Promise<{ code: number; message: string }> {
  try {
    await create(kind, body);
  } catch (err) {
    if (!(err instanceof k8s.ApiException)) throw err;
    const status = (typeof err.body === 'string' ? JSON.parse(err.body) : err.body) as { message?: string };
    return { code: err.code, message: status.message ?? String(err.body) };
  }
  assert.fail(`the apiserver accepted ${JSON.stringify(body).slice(0, 300)}`);
}

badCases.forEach((badCase, index) => {
  test(`the apiserver refuses: ${badCase.title}`, async (t) => {
    const name = badCase.kind === 'ClusterSecretStore' ? `bad-${index}-${suffix}` : `bad-${index}`;
    const { code, message } = await refusal(badCase.kind, badObject(badCase, name, namespace));
    t.diagnostic(message);
    assert.equal(code, 422, message);
    assert.ok(message.includes(badCase.apiserver), `expected "${badCase.apiserver}" in: ${message}`);
  });
});

test('a minimal ExternalSecret is accepted and defaulted by the apiserver', async () => {
  const created = await create('ExternalSecret', externalSecret('minimal', minimalExternalSecretSpec, namespace));
  assert.deepEqual(created['spec'], {
    secretStoreRef: { name: 'fake-store', kind: 'SecretStore' },
    refreshInterval: '1h',
    refreshPolicy: 'Periodic',
    target: { creationPolicy: 'Owner', deletionPolicy: 'Retain', immutable: false },
    data: [{ secretKey: 'password', remoteRef: { key: 'db/password', decodingStrategy: 'None', metadataPolicy: 'None' } }],
  });
  // What the apiserver stores, the operator can parse, with the same defaults.
  const parsed = parseExternalSecret(created);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  assert.deepEqual(parsed.value.spec, created['spec']);
});

test('an ExternalSecret using every field is accepted as written', async () => {
  const spec = {
    secretStoreRef: { name: 'shared', kind: 'ClusterSecretStore' },
    refreshInterval: '15m30s',
    refreshPolicy: 'OnChange',
    target: { name: 'db-credentials', creationPolicy: 'Owner', deletionPolicy: 'Delete', immutable: true },
    data: [
      { secretKey: 'username', remoteRef: { key: 'db', property: 'user', version: '3', decodingStrategy: 'Base64', metadataPolicy: 'None' } },
      { secretKey: '.dot_key-1', remoteRef: { key: 'db', property: 'password', decodingStrategy: 'Auto', metadataPolicy: 'None' } },
    ],
  };
  const created = await create('ExternalSecret', externalSecret('full', spec, namespace));
  assert.deepEqual(created['spec'], spec);
});

test('the operator can write the status it reports', async () => {
  const created = await create('ExternalSecret', externalSecret('with-status', minimalExternalSecretSpec, namespace));
  const status = {
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'SecretSynced',
        message: 'Secret was synced',
        lastTransitionTime: '2025-01-02T03:04:05Z',
        observedGeneration: 1,
      },
    ],
    refreshTime: '2025-01-02T03:04:05Z',
    syncedResourceVersion: '1-abc',
    binding: { name: 'with-status' },
  };
  const updated = (await custom.replaceNamespacedCustomObjectStatus({
    group: API_GROUP,
    version: API_VERSION,
    namespace,
    plural: Plural.ExternalSecret,
    name: 'with-status',
    body: { ...created, status },
  })) as Json;
  assert.deepEqual(updated['status'], status);
  const parsed = parseExternalSecret(updated);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
});

test('stores are accepted and defaulted; placeholder providers keep what the user wrote', async () => {
  const fake = await create(
    'SecretStore',
    secretStore(
      'fake-store',
      {
        provider: {
          fake: {
            data: [
              { key: 'db/password', value: 'v1-value', version: 'v1' },
              { key: 'db/password', value: 'latest-value' },
            ],
          },
        },
      },
      namespace,
    ),
  );
  assert.equal((fake['spec'] as Json)['refreshInterval'], '5m');
  assert.ok(parseSecretStore(fake).ok);

  // The gcpsm schema keeps ESO's field names and defaults the version selection policy.
  const gcp = await create(
    'SecretStore',
    secretStore('gcp-store', { provider: { gcpsm: { projectID: 'demo-project', auth: { workloadIdentity: { serviceAccountRef: { name: 'reader' } } } } } }, namespace),
  );
  assert.deepEqual((gcp['spec'] as Json)['provider'], {
    gcpsm: { projectID: 'demo-project', secretVersionSelectionPolicy: 'LatestOrFail', auth: { workloadIdentity: { serviceAccountRef: { name: 'reader' } } } },
  });

  const shared = await create(
    'ClusterSecretStore',
    clusterSecretStore(`shared-${suffix}`, {
      provider: fakeProvider,
      refreshInterval: '1m',
      conditions: [
        { namespaces: [namespace] },
        { namespaceSelector: { matchLabels: { team: 'a' }, matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] } },
        { namespaceRegexes: ['^team-.*$'] },
      ],
    }),
  );
  const parsedShared = parseClusterSecretStore(shared);
  assert.ok(parsedShared.ok, parsedShared.ok ? '' : parsedShared.error);
  assert.equal(parsedShared.value.spec.conditions.length, 3);

  const open = await create('ClusterSecretStore', clusterSecretStore(`open-${suffix}`, { provider: fakeProvider }));
  assert.deepEqual((open['spec'] as Json)['conditions'], []);
});
