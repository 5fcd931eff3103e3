// The generated CRDs against a real kube-apiserver: they install (structural, CEL cost within budget), bad objects
// are refused with the readable messages users will see from `kubectl apply`, good ones get their defaults.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
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
let apiextensions: k8s.ApiextensionsV1Api;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** The apiserver's limit on the total size of an object's annotations (TotalAnnotationSizeLimitB). */
const ANNOTATIONS_LIMIT = 262_144;
const crdAnnotationBytes = new Map<string, number>();
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
  apiextensions = config.makeApiClient(k8s.ApiextensionsV1Api);
  const core = config.makeApiClient(k8s.CoreV1Api);

  const crdDir = join(REPO_ROOT, 'crds');
  for (const file of readdirSync(crdDir).filter((name) => name.endsWith('.yaml'))) {
    // loadYaml deserializes into the client's typed model. A plain parse would not do: the client serializes
    // V1CustomResourceDefinition by its own property names (`_default`, `_enum`, `xKubernetesValidations`) and
    // silently drops `default`, `enum` and `x-kubernetes-validations` from a plain object.
    const text = readFileSync(join(crdDir, file), 'utf8');
    const body = k8s.loadYaml<k8s.V1CustomResourceDefinition>(text);
    // As plain client-side `kubectl apply` creates it: the whole object as JSON in the last-applied-configuration
    // annotation, which the apiserver refuses beyond 262144 bytes of annotations (the limit large CRDs hit).
    const lastApplied = JSON.stringify(parse(text));
    crdAnnotationBytes.set(file, lastApplied.length);
    body.metadata = { ...body.metadata, annotations: { [LAST_APPLIED]: lastApplied } };
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

test('a minimal ExternalSecret is stored as written; the operator applies the defaults when it parses it', async () => {
  const created = await create('ExternalSecret', externalSecret('minimal', minimalExternalSecretSpec, namespace));
  // Nothing the user did not write: a GitOps tool comparing the file with the object sees no drift.
  assert.deepEqual(created['spec'], minimalExternalSecretSpec);
  const parsed = parseExternalSecret(created);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  assert.deepEqual(parsed.value.spec, {
    secretStoreRef: { name: 'fake-store', kind: 'SecretStore' },
    refreshInterval: '1h',
    refreshPolicy: 'Periodic',
    target: { creationPolicy: 'Owner', deletionPolicy: 'Retain', immutable: false },
    data: [{ secretKey: 'password', remoteRef: { key: 'db/password', decodingStrategy: 'None', metadataPolicy: 'None' } }],
  });
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

test('stores are stored as written and defaulted when parsed; placeholder providers keep what the user wrote', async () => {
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
  assert.equal((fake['spec'] as Json)['refreshInterval'], undefined);
  const parsedFake = parseSecretStore(fake);
  assert.ok(parsedFake.ok);
  assert.equal(parsedFake.value.spec.refreshInterval, '5m');

  // The gcpsm schema keeps ESO's field names; the version selection policy is defaulted by the operator, not stored.
  const gcp = await create(
    'SecretStore',
    secretStore('gcp-store', { provider: { gcpsm: { projectID: 'demo-project', auth: { workloadIdentity: { serviceAccountRef: { name: 'reader' } } } } } }, namespace),
  );
  assert.deepEqual((gcp['spec'] as Json)['provider'], {
    gcpsm: { projectID: 'demo-project', auth: { workloadIdentity: { serviceAccountRef: { name: 'reader' } } } },
  });
  const parsedGcp = parseSecretStore(gcp);
  assert.ok(parsedGcp.ok);
  assert.equal(parsedGcp.value.spec.provider.gcpsm?.secretVersionSelectionPolicy, 'LatestOrFail');

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
  assert.equal((open['spec'] as Json)['conditions'], undefined);
  const parsedOpen = parseClusterSecretStore(open);
  assert.ok(parsedOpen.ok);
  assert.deepEqual(parsedOpen.value.spec.conditions, []);
});

test('the CRDs apply with plain client-side kubectl apply: the last-applied-configuration annotation fits', async (t) => {
  for (const [file, bytes] of crdAnnotationBytes) {
    t.diagnostic(`${file}: last-applied-configuration ${bytes} bytes of ${ANNOTATIONS_LIMIT}`);
    assert.ok(bytes < ANNOTATIONS_LIMIT, `${file}: ${bytes} bytes`);
  }
  assert.equal(crdAnnotationBytes.size, Object.keys(Plural).length);
  const crd = await apiextensions.readCustomResourceDefinition({ name: `${Plural.ExternalSecret}.${API_GROUP}` });
  assert.ok((crd.metadata?.annotations?.[LAST_APPLIED]?.length ?? 0) > 0, 'the apiserver kept the annotation');
});

/** Every manifest of our kinds in examples/, README.md and docs/ (fenced yaml blocks): file, kind and object. */
function shippedManifests(): { where: string; kind: keyof typeof Plural; doc: Json }[] {
  const sources: { where: string; text: string }[] = [];
  for (const name of readdirSync(join(REPO_ROOT, 'examples')).filter((n) => /\.ya?ml$/.test(n))) {
    sources.push({ where: `examples/${name}`, text: readFileSync(join(REPO_ROOT, 'examples', name), 'utf8') });
  }
  const markdown = ['README.md', ...readdirSync(join(REPO_ROOT, 'docs'), { recursive: true, encoding: 'utf8' }).filter((n) => n.endsWith('.md')).map((n) => `docs/${n}`)];
  for (const file of markdown) {
    const text = readFileSync(join(REPO_ROOT, file), 'utf8');
    for (const [index, block] of [...text.matchAll(/```ya?ml\n([\s\S]*?)```/g)].entries()) sources.push({ where: `${file} yaml block ${index + 1}`, text: block[1]! });
  }
  const manifests: { where: string; kind: keyof typeof Plural; doc: Json }[] = [];
  for (const { where, text } of sources) {
    for (const document of parseAllDocuments(text)) {
      const doc = document.toJS() as Json | null;
      if (doc === null || typeof doc !== 'object' || doc['apiVersion'] !== `${API_GROUP}/${API_VERSION}`) continue;
      assert.ok(String(doc['kind']) in Plural, `${where}: kind ${String(doc['kind'])}`);
      manifests.push({ where, kind: doc['kind'] as keyof typeof Plural, doc });
    }
  }
  return manifests;
}

test('every manifest in examples/ and docs/ reads back as written: no field under spec the file did not set', async (t) => {
  const manifests = shippedManifests();
  assert.ok(manifests.length >= 10, `only ${manifests.length} manifests found`);
  const scope = { ClusterSecretStore: 'Cluster', ClusterExternalSecret: 'Cluster' } as Partial<Record<keyof typeof Plural, 'Cluster'>>;
  for (const [index, { where, kind, doc }] of manifests.entries()) {
    const metadata = { ...(doc['metadata'] as Json), name: `shipped-${index}-${suffix}` };
    const plural = Plural[kind];
    const common = { group: API_GROUP, version: API_VERSION, plural, fieldValidation: 'Strict' };
    // Applied as `kubectl apply` does: strict field validation, the file itself in last-applied-configuration.
    const body = { ...doc, metadata: { ...metadata, annotations: { [LAST_APPLIED]: JSON.stringify(doc) } } };
    let read: Json;
    if (scope[kind] === 'Cluster') {
      await custom.createClusterCustomObject({ ...common, body });
      read = (await custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural, name: String(metadata['name']) })) as Json;
    } else {
      await custom.createNamespacedCustomObject({ ...common, namespace, body: { ...body, metadata: { ...body.metadata, namespace } } });
      read = (await custom.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, plural, namespace, name: String(metadata['name']) })) as Json;
    }
    assert.deepEqual(read['spec'], doc['spec'], `${where}: ${kind} ${String((doc['metadata'] as Json)['name'])} reads back differently`);
    t.diagnostic(`${where}: ${kind} reads back as written`);
  }
});
