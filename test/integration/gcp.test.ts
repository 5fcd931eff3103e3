// The gcpsm provider against the gcp fakes (test/fakes/gcp: Secret Manager over gRPC, STS and IAM Credentials that
// verify the apiserver's tokens) and the real control plane. Every secret value used is remembered and searched
// for in logs, audit, Events and status at the end.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, createObject, eventNotes, patchObject, Plural, readSecret, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData, refreshTimesIn } from '../support/integration.ts';
import { Role, startGcpFake, type GcpFake } from '../fakes/gcp/index.ts';
import { directStoreContext } from '../support/direct-store.ts';
import type { TestKube } from '../support/kube.ts';
import { createKubeClient, type KubeClient } from '../../src/k8s/kube-client.ts';
import { createStoreKubeAccess } from '../../src/k8s/store-access.ts';
import { createGcpProvider } from '../../src/providers/gcp/provider.ts';
import type { GcpsmProvider } from '../../src/api/types.generated.ts';
import { NoSecretError, TerminalError, ThrottledError, type SecretsClient } from '../../src/providers/provider.ts';
import { defaultHoldResultsMs } from '../../src/providers/shared-calls.ts';

/** --service-account-issuer of the test control plane (test/support/cluster.ts). */
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const PROJECT = 'relay-tests';
const PROJECT_NUMBER = '482910375561';
const CLUSTER = { clusterProjectID: PROJECT, clusterLocation: 'europe-west1', clusterName: 'relay' };
const gsa = (name: string) => `${name}@${PROJECT}.iam.gserviceaccount.com`;

let cluster: LocalCluster;
let kube: TestKube;
/** The operator's own client, for the src code these tests call directly (createStoreKubeAccess). */
let operatorKube: KubeClient;
let fake: GcpFake;
let op: TestOperator;
let wifAudience: string;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('gcp');
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const signal = () => AbortSignal.timeout(30_000);

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  operatorKube = createKubeClient({ kubeconfigPath: cluster.kubeconfigPath });
  // Pages of 5: find follows next_page_token over several pages.
  fake = await startGcpFake({ kubeconfigPath: cluster.kubeconfigPath, issuer: ISSUER, pageSizeCap: 5 });
  fake.identity.addProject(PROJECT, PROJECT_NUMBER);
  fake.identity.addGkeCluster({ projectID: PROJECT, location: CLUSTER.clusterLocation, name: CLUSTER.clusterName });
  wifAudience = fake.identity.addFederationProvider({ projectID: PROJECT, pool: 'relay-pool', provider: 'relay-cluster' });
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false', '--concurrency=4', '--refresh-time-period=0' /* the refresh-wave test reads each refresh from status.refreshTime */, '--trusted-endpoint-hosts=127.0.0.1' /* the fakes' endpoints */], providers: [createGcpProvider()] });
});

after(async () => {
  await stopTestOperator(op, 'gcp');
  await fake?.stop();
  await operatorKube?.close();
  await cluster?.stop();
});

beforeEach(() => {
  fake.secretManager.clear();
  fake.identity.clear();
});

/** A Kubernetes ServiceAccount (annotated with a Google service account when `google` is given), bound to it when `bind`. */
async function gkeServiceAccount(ns: string, name: string, google?: string, bind = true): Promise<void> {
  await kube.core.createNamespacedServiceAccount({
    namespace: ns,
    body: { metadata: { name, ...(google ? { annotations: { 'iam.gke.io/gcp-service-account': google } } : {}) } },
  });
  if (google) {
    fake.identity.createServiceAccount(google);
    if (bind) fake.identity.bindWorkloadIdentityUser(google, fake.identity.gkeMember(PROJECT, ns, name));
  }
}

function gcpsm(spec: Partial<GcpsmProvider>): GcpsmProvider {
  return { projectID: PROJECT, secretVersionSelectionPolicy: 'LatestOrFail', endpoints: fake.endpoints, ...spec } as GcpsmProvider;
}

const wi = (name: string, extra: Record<string, unknown> = {}) => ({ workloadIdentity: { serviceAccountRef: { name, ...extra }, ...CLUSTER } });

function store(name: string, spec: Partial<GcpsmProvider>, kind: 'SecretStore' | 'ClusterSecretStore' = 'SecretStore') {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind, metadata: { name }, spec: { provider: { gcpsm: gcpsm(spec) } } };
}

function es(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name }, spec };
}

/** A provider client straight from the provider (no operator), acting as a GKE Workload Identity ServiceAccount of `ns`. */
async function directClient(ns: string, spec: Partial<GcpsmProvider>): Promise<SecretsClient> {
  return createGcpProvider().newClient(gcpsm(spec), directStoreContext(operatorKube, ns));
}

/** A namespace with ServiceAccount `reader` bound to Google service account `google`, granted `roles` on the project. */
async function readerNamespace(google: string, roles: readonly (typeof Role)[keyof typeof Role][] = [Role.accessor]): Promise<string> {
  const ns = await namespaces.create(kube);
  await gkeServiceAccount(ns, 'reader', google);
  for (const role of roles) fake.secretManager.grant(`serviceAccount:${google}`, role, PROJECT);
  return ns;
}

test('reads: latest and numbered versions, binary payloads, regional secrets, metadata (labels and annotations)', async () => {
  const ns = await readerNamespace(gsa(`reads-${randomBytes(2).toString('hex')}`), [Role.accessor, Role.viewer]);
  const v1 = secrets.next('v1');
  const v2 = secrets.next('v2');
  fake.secretManager.createSecret(PROJECT, `${ns}-db`, { value: v1, labels: { team: 'payments' }, annotations: { owner: 'ops@example.com' } });
  fake.secretManager.addVersion(PROJECT, `${ns}-db`, v2);
  const binary = Buffer.from([0, 1, 2, 254, 255, ...randomBytes(16)]);
  fake.secretManager.createSecret(PROJECT, `${ns}-cert`, { value: binary });
  const regional = secrets.next('regional');
  fake.secretManager.createSecret(PROJECT, `${ns}-db`, { value: regional, location: 'europe-west1' });

  const client = await directClient(ns, { auth: wi('reader') });
  assert.equal(text(await client.getSecret({ key: `${ns}-db` }, signal())), v2, 'no version: latest');
  assert.equal(text(await client.getSecret({ key: `${ns}-db`, version: 'latest' }, signal())), v2);
  assert.equal(text(await client.getSecret({ key: `${ns}-db`, version: '1' }, signal())), v1, 'a version number');
  assert.equal(text(await client.getSecret({ key: `projects/${PROJECT}/secrets/${ns}-db/versions/1` }, signal())), v1, 'a full resource name');
  assert.deepEqual(Buffer.from(await client.getSecret({ key: `${ns}-cert` }, signal())), binary, 'bytes come back byte for byte');
  assert.deepEqual(JSON.parse(text(await client.getSecret({ key: `${ns}-db`, metadataPolicy: 'Fetch' }, signal()))), {
    annotations: { owner: 'ops@example.com' },
    labels: { team: 'payments' },
  });
  await assert.rejects(client.getSecret({ key: `${ns}-db`, version: '9' }, signal()), (err: unknown) => {
    assert.ok(err instanceof NoSecretError);
    assert.match(err.message, new RegExp(`Secret Version \\[projects/${PROJECT_NUMBER}/secrets/${ns}-db/versions/9\\] not found`));
    return true;
  });
  const regionalClient = await directClient(ns, { auth: wi('reader'), location: 'europe-west1' });
  assert.equal(text(await regionalClient.getSecret({ key: `${ns}-db` }, signal())), regional, 'location reads projects/P/locations/L/secrets/S');
  assert.deepEqual(
    fake.secretManager.calls.filter((c) => c.method === 'AccessSecretVersion' && c.name.includes('/locations/')).map((c) => c.name),
    [`projects/${PROJECT}/locations/europe-west1/secrets/${ns}-db/versions/latest`],
  );
  await client.close();
  await regionalClient.close();
});

test('version policy: a disabled or destroyed latest fails under LatestOrFail; LatestOrFetch reads the newest enabled version', async () => {
  const google = gsa(`policy-${randomBytes(2).toString('hex')}`);
  const ns = await readerNamespace(google, [Role.accessor, Role.viewer]);
  const good = secrets.next('good');
  fake.secretManager.createSecret(PROJECT, `${ns}-rotated`, { value: secrets.next('old') });
  fake.secretManager.addVersion(PROJECT, `${ns}-rotated`, good);
  fake.secretManager.addVersion(PROJECT, `${ns}-rotated`, secrets.next('bad'));
  fake.secretManager.setVersionState(PROJECT, `${ns}-rotated`, 3, 'DISABLED');

  const strict = await directClient(ns, { auth: wi('reader') });
  await assert.rejects(strict.getSecret({ key: `${ns}-rotated` }, signal()), (err: unknown) => {
    assert.ok(err instanceof TerminalError);
    assert.match(err.message, new RegExp(`Secret Version \\[projects/${PROJECT_NUMBER}/secrets/${ns}-rotated/versions/3\\] is in DISABLED state`));
    assert.match(err.message, /LatestOrFetch/);
    return true;
  });
  const fetching = await directClient(ns, { auth: wi('reader'), secretVersionSelectionPolicy: 'LatestOrFetch' });
  assert.equal(text(await fetching.getSecret({ key: `${ns}-rotated` }, signal())), good);
  fake.secretManager.setVersionState(PROJECT, `${ns}-rotated`, 3, 'DESTROYED');
  assert.equal(text(await fetching.getSecret({ key: `${ns}-rotated` }, signal())), good, 'destroyed as well');
  await assert.rejects(fetching.getSecret({ key: `${ns}-rotated`, version: '3' }, signal()), /DESTROYED state/, 'an explicit version never falls back');
  await strict.close();
  await fetching.close();
});

test('find: ListSecrets with a label filter and name regexp, every page followed; find values shared by the wave', async () => {
  const google = gsa(`find-${randomBytes(2).toString('hex')}`);
  const ns = await readerNamespace(google, [Role.accessor, Role.viewer]);
  const expected: Record<string, string> = {};
  for (let i = 0; i < 12; i++) {
    const value = secrets.next(`found-${i}`);
    fake.secretManager.createSecret(PROJECT, `${ns}-app-${i}`, { value, labels: { team: i % 2 === 0 ? 'a' : 'b', env: 'prod' } });
    if (i % 2 === 0) expected[`${ns}-app-${i}`] = value;
  }
  fake.secretManager.createSecret(PROJECT, `${ns}-other`, { value: secrets.next('other'), labels: { team: 'a', env: 'prod' } });
  await createObject(kube, Plural.SecretStore, store('gcp', { auth: wi('reader') }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'gcp', status: 'True' });
  await createObject(kube, Plural.ExternalSecret, es('found', {
    secretStoreRef: { name: 'gcp' },
    refreshInterval: '1h',
    dataFrom: [{ find: { tags: { team: 'a', env: 'prod' }, name: { regexp: `^${ns}-app-` } } }],
  }), ns);
  await waitSecretData(kube, ns, 'found', expected);
  const lists = fake.secretManager.calls.filter((c) => c.method === 'ListSecrets');
  assert.ok(lists.length >= 2, `the 7 team-a secrets came in pages of 5 (${lists.length} ListSecrets calls)`);
  assert.equal(fake.secretManager.count('AccessSecretVersion', (name) => name.includes(`${ns}-other`)), 0, 'a secret the regexp excludes is never read');
});

test('GKE Workload Identity end to end: TokenRequest token → STS → generateAccessToken; property, extract and metadata through the controller', async () => {
  const google = gsa(`gke-${randomBytes(2).toString('hex')}`);
  const ns = await namespaces.create(kube);
  await gkeServiceAccount(ns, 'reader', google);
  fake.secretManager.createSecret(PROJECT, `${ns}-db`, { value: '{}', labels: { team: 'checkout' } });
  const password = secrets.next('gke-password');
  fake.secretManager.addVersion(PROJECT, `${ns}-db`, JSON.stringify({ user: 'app', db: { password } }));
  fake.secretManager.grant(`serviceAccount:${google}`, Role.accessor, PROJECT, `${ns}-db`);
  fake.secretManager.grant(`serviceAccount:${google}`, Role.viewer, PROJECT, `${ns}-db`);
  await createObject(kube, Plural.SecretStore, store('gcp', { auth: wi('reader') }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'gcp', status: 'True' });
  await createObject(kube, Plural.ExternalSecret, es('db', {
    secretStoreRef: { name: 'gcp' },
    refreshInterval: '1h',
    data: [
      { secretKey: 'password', remoteRef: { key: `${ns}-db`, property: 'db.password' } },
      { secretKey: 'team', remoteRef: { key: `${ns}-db`, metadataPolicy: 'Fetch', property: 'labels.team' } },
    ],
    dataFrom: [{ extract: { key: `${ns}-db`, version: '2' } }],
  }), ns);
  await waitSecretData(kube, ns, 'db', { password, team: 'checkout', user: 'app', db: JSON.stringify({ password }) });

  const mine = fake.identity.exchanges.filter((e) => e.subject === `system:serviceaccount:${ns}:reader`);
  assert.equal(mine.length, 1, 'one exchange serves the store validation and every read');
  assert.equal(mine[0]!.refused, undefined, 'the token verified against the JWKS');
  assert.match(mine[0]!.audience, new RegExp(`^identitynamespace:${PROJECT}\\.svc\\.id\\.goog:https://container\\.googleapis\\.com/v1/projects/${PROJECT}/locations/europe-west1/clusters/relay$`));
  assert.deepEqual(fake.identity.impersonations, [{ email: google, caller: `system:serviceaccount:${ns}:reader`, allowed: true }]);
  const principals = new Set(fake.secretManager.calls.filter((c) => c.name.includes(`${ns}-db`)).map((c) => c.principal));
  assert.deepEqual([...principals], [google], 'Secret Manager saw only the impersonated Google service account');
  assert.equal(fake.secretManager.count('AccessSecretVersion', (n) => n.endsWith(`${ns}-db/versions/latest`)), 1, 'two properties of one secret: one call');

  // Without the annotation the federated token is used directly: access granted to the Kubernetes principal.
  await gkeServiceAccount(ns, 'direct');
  const direct = secrets.next('principal-access');
  fake.secretManager.createSecret(PROJECT, `${ns}-direct`, { value: direct });
  fake.secretManager.grant(`principal://iam.googleapis.com/projects/${PROJECT_NUMBER}/locations/global/workloadIdentityPools/${PROJECT}.svc.id.goog/subject/ns/${ns}/sa/direct`, Role.accessor, PROJECT, `${ns}-direct`);
  await createObject(kube, Plural.SecretStore, store('direct', { auth: wi('direct') }), ns);
  await createObject(kube, Plural.ExternalSecret, es('direct', { secretStoreRef: { name: 'direct' }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}-direct` } }] }), ns);
  await waitSecretData(kube, ns, 'direct', { v: direct });
  assert.ok(!fake.identity.impersonations.some((i) => i.caller === `system:serviceaccount:${ns}:direct`), 'no generateAccessToken without the annotation');
});

test('Workload Identity Federation end to end: the TokenRequest token (audience the provider URL) exchanged at STS, then gcpServiceAccountEmail', async () => {
  const google = gsa(`wif-${randomBytes(2).toString('hex')}`);
  const ns = await namespaces.create(kube);
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'federated' } } });
  fake.identity.createServiceAccount(google);
  fake.identity.bindWorkloadIdentityUser(google, fake.identity.federationMember(PROJECT, 'relay-pool', ns, 'federated'));
  const value = secrets.next('wif');
  fake.secretManager.createSecret(PROJECT, `${ns}-wif`, { value });
  fake.secretManager.grant(`serviceAccount:${google}`, Role.accessor, PROJECT, `${ns}-wif`);
  const federation = { workloadIdentityFederation: { serviceAccountRef: { name: 'federated' }, audience: wifAudience, gcpServiceAccountEmail: google } };
  await createObject(kube, Plural.SecretStore, store('gcp', { auth: federation }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'gcp', status: 'True' });
  await createObject(kube, Plural.ExternalSecret, es('wif', { secretStoreRef: { name: 'gcp' }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}-wif` } }] }), ns);
  await waitSecretData(kube, ns, 'wif', { v: value });
  assert.deepEqual(
    fake.identity.exchanges.map((e) => [e.audience, e.subject, e.refused]),
    [[wifAudience, `system:serviceaccount:${ns}:federated`, undefined]],
  );
  assert.deepEqual(fake.identity.impersonations.map((i) => i.email), [google]);
});

test('Workload Identity Federation with credConfig: an external_account JSON in a ConfigMap, the subject token from its credential_source.url', async () => {
  const google = gsa(`credcfg-${randomBytes(2).toString('hex')}`);
  const ns = await namespaces.create(kube);
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'federated' } } });
  fake.identity.createServiceAccount(google);
  fake.identity.bindWorkloadIdentityUser(google, fake.identity.federationMember(PROJECT, 'relay-pool', ns, 'federated'));
  const value = secrets.next('cred-config');
  fake.secretManager.createSecret(PROJECT, `${ns}-cfg`, { value });
  fake.secretManager.grant(`serviceAccount:${google}`, Role.accessor, PROJECT, `${ns}-cfg`);
  // A token service beside the cluster (what credential_source.url points at): a TokenRequest token per request.
  const served: string[] = [];
  const tokenService = http.createServer((request, response) => {
    void kube.core
      .createNamespacedServiceAccountToken({ name: 'federated', namespace: ns, body: { spec: { audiences: [`https:${wifAudience}`], expirationSeconds: 600 } } })
      .then((result) => {
        served.push(request.headers['x-purpose'] as string);
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id_token: result.status!.token }));
      });
  });
  await new Promise<void>((resolve) => tokenService.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(tokenService.address() as AddressInfo).port}/token`;
  try {
    const credConfig = {
      type: 'external_account',
      audience: wifAudience,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: `${fake.endpoints.sts}/v1/token`,
      service_account_impersonation_url: `${fake.endpoints.iamCredentials}/v1/projects/-/serviceAccounts/${google}:generateAccessToken`,
      credential_source: { url, headers: { 'x-purpose': 'relay' }, format: { type: 'json', subject_token_field_name: 'id_token' } },
    };
    await kube.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'gcp-wif' }, data: { 'credentials.json': JSON.stringify(credConfig) } } });
    await createObject(kube, Plural.SecretStore, store('gcp', { auth: { workloadIdentityFederation: { credConfig: { name: 'gcp-wif', key: 'credentials.json' }, externalTokenEndpoint: url } } }), ns);
    await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'gcp', status: 'True' });
    await createObject(kube, Plural.ExternalSecret, es('cfg', { secretStoreRef: { name: 'gcp' }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}-cfg` } }] }), ns);
    await waitSecretData(kube, ns, 'cfg', { v: value });
    assert.deepEqual(served, ['relay'], 'one subject token fetched (with the configured header) for the store and the read');
    assert.deepEqual(fake.identity.impersonations.map((i) => [i.email, i.allowed]), [[google, true]]);

    // A credential source the operator must not use is refused on the store, naming the key.
    await kube.core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'gcp-file' }, data: { 'c.json': JSON.stringify({ ...credConfig, credential_source: { file: '/var/run/secrets/kubernetes.io/serviceaccount/token' } }) } },
    });
    await createObject(kube, Plural.SecretStore, store('file', { auth: { workloadIdentityFederation: { credConfig: { name: 'gcp-file', key: 'c.json' } } } }), ns);
    const refused = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'file', status: 'False' });
    assert.match(refused.message, new RegExp(`key c\.json of ConfigMap ${ns}/gcp-file: credential_source\.file is not supported`));
  } finally {
    tokenService.close();
  }
});

test('refusals: a wrong audience, an unbound ServiceAccount and a Google service account without access each give Ready=False with Google’s message and no Secret', async () => {
  const google = gsa(`refused-${randomBytes(2).toString('hex')}`);
  const ns = await namespaces.create(kube);
  await gkeServiceAccount(ns, 'bound', google);
  await gkeServiceAccount(ns, 'unbound', google, false);
  fake.secretManager.createSecret(PROJECT, `${ns}-guarded`, { value: secrets.next('guarded') });
  const read = [{ secretKey: 'v', remoteRef: { key: `${ns}-guarded` } }];

  // The token's audience is not the one the pool trusts (a WIF store with the wrong audience on its token).
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'federated' } } });
  await createObject(kube, Plural.SecretStore, store('wrong-audience', {
    auth: { workloadIdentityFederation: { serviceAccountRef: { name: 'federated', audiences: ['https://kubernetes.default.svc'] }, audience: wifAudience } },
  }), ns);
  const audience = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'wrong-audience', status: 'False' });
  assert.match(audience.message, /Google STS refused ServiceAccount .*\/federated: invalid_grant: The audience in ID Token \[https:\/\/kubernetes\.default\.svc\] does not match the expected audience\./);
  await createObject(kube, Plural.ExternalSecret, es('wrong-audience', { secretStoreRef: { name: 'wrong-audience' }, data: read }), ns);
  const audienceEs = await waitReady(kube, { namespace: ns, name: 'wrong-audience', status: 'False' });
  assert.match(audienceEs.message, /does not match the expected audience/);

  // The ServiceAccount carries the annotation but holds no roles/iam.workloadIdentityUser on the Google service account.
  await createObject(kube, Plural.SecretStore, store('unbound', { auth: wi('unbound') }), ns);
  const unbound = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'unbound', status: 'False' });
  assert.match(unbound.message, /Permission 'iam\.serviceAccounts\.getAccessToken' denied on resource \(or it may not exist\)\./);
  assert.match(unbound.message, /^Google IAM Credentials generateAccessToken refused ServiceAccount .*\/unbound: PERMISSION_DENIED: /);
  assert.match(unbound.message, /grant ServiceAccount .*\/unbound roles\/iam\.workloadIdentityUser on refused-/);
  await createObject(kube, Plural.ExternalSecret, es('unbound', { secretStoreRef: { name: 'unbound' }, data: read }), ns);
  await waitReady(kube, { namespace: ns, name: 'unbound', status: 'False', message: /getAccessToken/ });

  // Bound, but the Google service account has no role on the secret.
  await createObject(kube, Plural.SecretStore, store('no-access', { auth: wi('bound') }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'no-access', status: 'True' });
  await createObject(kube, Plural.ExternalSecret, es('no-access', { secretStoreRef: { name: 'no-access' }, data: read }), ns);
  const denied = await waitReady(kube, { namespace: ns, name: 'no-access', status: 'False', message: /denied/ });
  assert.match(denied.message, new RegExp(`Permission 'secretmanager\\.versions\\.access' denied for resource 'projects/${PROJECT}/secrets/${ns}-guarded/versions/latest' \\(or it may not exist\\)\\.`));
  assert.match(denied.message, new RegExp(`Google service account ${google.replace(/[.]/g, '\\.')}`));
  assert.match(denied.message, /roles\/secretmanager\.secretAccessor/);

  for (const name of ['wrong-audience', 'unbound', 'no-access']) assert.equal(await readSecret(kube, ns, name), undefined, `no Secret ${name} was written`);
  const notes = (await eventNotes(kube, ns)).join('\n');
  assert.match(notes, /secretmanager\.versions\.access/);
});

test('errors: NOT_FOUND is SecretMissing; UNAVAILABLE is retried by the client; RESOURCE_EXHAUSTED ends throttled; a secret mid-rotation keeps the last good Secret', async () => {
  const google = gsa(`errors-${randomBytes(2).toString('hex')}`);
  const ns = await readerNamespace(google);
  const kept = secrets.next('kept');
  fake.secretManager.createSecret(PROJECT, `${ns}-kept`, { value: kept });
  await createObject(kube, Plural.SecretStore, store('gcp', { auth: wi('reader') }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'gcp', status: 'True' });

  await createObject(kube, Plural.ExternalSecret, es('missing', { secretStoreRef: { name: 'gcp' }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}-nothing` } }] }), ns);
  const missing = await waitReady(kube, { namespace: ns, name: 'missing', status: 'False' });
  assert.equal(missing.reason, 'SecretMissing');
  assert.match(missing.message, new RegExp(`${ns}-nothing`));

  const client = await directClient(ns, { auth: wi('reader') });
  fake.secretManager.clear();
  fake.secretManager.inject({ method: 'AccessSecretVersion', code: grpc.status.UNAVAILABLE, message: 'The service is currently unavailable.', times: 2 });
  assert.equal(text(await client.getSecret({ key: `${ns}-kept` }, signal())), kept);
  assert.equal(fake.secretManager.count('AccessSecretVersion'), 3, 'two UNAVAILABLE answers retried, the third attempt succeeded');
  fake.secretManager.inject({ method: 'AccessSecretVersion', code: grpc.status.RESOURCE_EXHAUSTED, message: "Quota exceeded for quota metric 'Access requests' and limit 'Access requests per minute per project'." });
  await assert.rejects(client.getSecret({ key: `${ns}-kept` }, signal()), (err: unknown) => {
    assert.ok(err instanceof ThrottledError);
    assert.match(err.message, /Quota exceeded/);
    return true;
  });
  fake.secretManager.clear();
  await client.close();

  // A refresh that fails leaves the last good Secret as it was.
  await createObject(kube, Plural.ExternalSecret, es('kept', { secretStoreRef: { name: 'gcp' }, refreshInterval: '2s', data: [{ secretKey: 'v', remoteRef: { key: `${ns}-kept` } }] }), ns);
  await waitSecretData(kube, ns, 'kept', { v: kept });
  fake.secretManager.setVersionState(PROJECT, `${ns}-kept`, 1, 'DISABLED');
  const disabled = await waitReady(kube, { namespace: ns, name: 'kept', status: 'False', message: /DISABLED state/ });
  assert.match(disabled.message, /LatestOrFetch/);
  await waitSecretData(kube, ns, 'kept', { v: kept });
});

test('a secret deleted in Secret Manager: NOT_FOUND, so deletionPolicy Delete removes the Secret and Retain keeps it', async () => {
  const ns = await readerNamespace(gsa(`deleted-${randomBytes(2).toString('hex')}`));
  const value = secrets.next('doomed');
  fake.secretManager.createSecret(PROJECT, `${ns}-doomed`, { value });
  await createObject(kube, Plural.SecretStore, store('gcp', { auth: wi('reader') }), ns);
  const read = [{ secretKey: 'v', remoteRef: { key: `${ns}-doomed` } }];
  await createObject(kube, Plural.ExternalSecret, es('deleted', { secretStoreRef: { name: 'gcp' }, refreshInterval: '2s', target: { creationPolicy: 'Owner', deletionPolicy: 'Delete' }, data: read }), ns);
  await createObject(kube, Plural.ExternalSecret, es('retained', { secretStoreRef: { name: 'gcp' }, refreshInterval: '2s', target: { deletionPolicy: 'Retain' }, data: read }), ns);
  await waitSecretData(kube, ns, 'deleted', { v: value });
  await waitSecretData(kube, ns, 'retained', { v: value });
  fake.secretManager.deleteSecret(PROJECT, `${ns}-doomed`);
  await waitFor('the Secret of deletionPolicy Delete removed', async () => (await readSecret(kube, ns, 'deleted')) === undefined, 20_000);
  await waitReady(kube, { namespace: ns, name: 'retained', status: 'False', reason: 'SecretMissing' });
  await waitSecretData(kube, ns, 'retained', { v: value });
});

test('referent auth: a ClusterSecretStore acts as the ServiceAccount of each ExternalSecret’s namespace', async () => {
  const suffix = randomBytes(2).toString('hex');
  const teamA = await namespaces.create(kube);
  const teamB = await namespaces.create(kube);
  const teamC = await namespaces.create(kube);
  await gkeServiceAccount(teamA, 'reader', gsa(`team-a-${suffix}`));
  await gkeServiceAccount(teamB, 'reader', gsa(`team-b-${suffix}`));
  const a = secrets.next('team-a');
  fake.secretManager.createSecret(PROJECT, `team-a-${suffix}`, { value: a });
  fake.secretManager.createSecret(PROJECT, `team-b-${suffix}`, { value: secrets.next('team-b') });
  fake.secretManager.grant(`serviceAccount:${gsa(`team-a-${suffix}`)}`, Role.accessor, PROJECT, `team-a-${suffix}`);
  fake.secretManager.grant(`serviceAccount:${gsa(`team-b-${suffix}`)}`, Role.accessor, PROJECT, `team-b-${suffix}`);

  const cssName = `gcp-referent-${suffix}`;
  await createObject(kube, Plural.ClusterSecretStore, store(cssName, { auth: wi('reader') }, 'ClusterSecretStore'));
  await waitReady(kube, { plural: Plural.ClusterSecretStore, name: cssName, status: 'Unknown' });
  const ref = { name: cssName, kind: 'ClusterSecretStore' };
  await createObject(kube, Plural.ExternalSecret, es('mine', { secretStoreRef: ref, data: [{ secretKey: 'v', remoteRef: { key: `team-a-${suffix}` } }] }), teamA);
  await waitSecretData(kube, teamA, 'mine', { v: a });
  // Team B's identity may not read team A's secret.
  await createObject(kube, Plural.ExternalSecret, es('theirs', { secretStoreRef: ref, data: [{ secretKey: 'v', remoteRef: { key: `team-a-${suffix}` } }] }), teamB);
  const denied = await waitReady(kube, { namespace: teamB, name: 'theirs', status: 'False', message: /denied/ });
  assert.match(denied.message, new RegExp(`team-b-${suffix}@`));
  // A namespace without the ServiceAccount is refused.
  await createObject(kube, Plural.ExternalSecret, es('none', { secretStoreRef: ref, data: [{ secretKey: 'v', remoteRef: { key: `team-a-${suffix}` } }] }), teamC);
  await waitReady(kube, { namespace: teamC, name: 'none', status: 'False', message: new RegExp(`ServiceAccount ${teamC}/reader .*does not exist`) });
  assert.equal(await readSecret(kube, teamB, 'theirs'), undefined);
  assert.equal(await readSecret(kube, teamC, 'none'), undefined);
  const subjects = new Set(fake.identity.exchanges.filter((e) => e.refused === undefined).map((e) => e.subject));
  assert.deepEqual([...subjects].sort(), [`system:serviceaccount:${teamA}:reader`, `system:serviceaccount:${teamB}:reader`].sort());
});

test('rotation: AddSecretVersion reaches the Secret within refreshInterval + 5 s', async () => {
  const ns = await readerNamespace(gsa(`rotation-${randomBytes(2).toString('hex')}`));
  const before = secrets.next('before');
  fake.secretManager.createSecret(PROJECT, `${ns}-rotating`, { value: before });
  await createObject(kube, Plural.SecretStore, store('gcp', { auth: wi('reader') }), ns);
  const refreshMs = 3000;
  await createObject(kube, Plural.ExternalSecret, es('rotating', { secretStoreRef: { name: 'gcp' }, refreshInterval: '3s', data: [{ secretKey: 'v', remoteRef: { key: `${ns}-rotating` } }] }), ns);
  await waitSecretData(kube, ns, 'rotating', { v: before });
  const after = secrets.next('after');
  const rotated = Date.now();
  fake.secretManager.addVersion(PROJECT, `${ns}-rotating`, after);
  // The issue's bound: refreshInterval + 5 s (the refresh-wave hold of shared results is 5 s of it).
  await waitSecretData(kube, ns, 'rotating', { v: after }, refreshMs + 5000);
  console.log(`# rotation reached the Secret ${Date.now() - rotated} ms after AddSecretVersion (refreshInterval ${refreshMs} ms, hold ${defaultHoldResultsMs} ms)`);
});

test('a service-account key from a Secret (the weakest option): self-signed JWTs the fake verifies against the key it issued', async () => {
  const google = gsa(`keyfile-${randomBytes(2).toString('hex')}`);
  const ns = await namespaces.create(kube);
  fake.identity.createServiceAccount(google);
  const key = fake.identity.createServiceAccountKey(google);
  secrets.add(key.private_key.split('\n')[5]!);
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'gcp-key' }, stringData: { 'key.json': JSON.stringify(key) } } });
  const value = secrets.next('keyfile');
  fake.secretManager.createSecret(PROJECT, `${ns}-keyed`, { value });
  fake.secretManager.grant(`serviceAccount:${google}`, Role.accessor, PROJECT, `${ns}-keyed`);
  await createObject(kube, Plural.SecretStore, store('gcp', { auth: { secretRef: { secretAccessKeySecretRef: { name: 'gcp-key', key: 'key.json' } } } }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'gcp', status: 'True' });
  await createObject(kube, Plural.ExternalSecret, es('keyed', { secretStoreRef: { name: 'gcp' }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}-keyed` } }] }), ns);
  await waitSecretData(kube, ns, 'keyed', { v: value });
  assert.deepEqual([...new Set(fake.secretManager.calls.filter((c) => c.name.includes(ns)).map((c) => c.principal))], [google]);
  assert.equal(fake.identity.exchanges.length, 0, 'no token exchange for a key');
});

test('tokens: 20 reads through one store cost one token exchange (and one generateAccessToken)', async () => {
  const ns = await readerNamespace(gsa(`tokens-${randomBytes(2).toString('hex')}`));
  for (let i = 0; i < 20; i++) fake.secretManager.createSecret(PROJECT, `${ns}-t${i}`, { value: secrets.next(`t${i}`) });
  await createObject(kube, Plural.SecretStore, store('gcp', { auth: wi('reader') }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'gcp', status: 'True' });
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      createObject(kube, Plural.ExternalSecret, es(`t${i}`, { secretStoreRef: { name: 'gcp' }, refreshInterval: '1h', data: [{ secretKey: 'v', remoteRef: { key: `${ns}-t${i}` } }] }), ns),
    ),
  );
  await waitFor('20 ExternalSecrets synced', async () => {
    for (let i = 0; i < 20; i++) if (!(await readSecret(kube, ns, `t${i}`))) return false;
    return true;
  }, 60_000);
  assert.equal(fake.secretManager.count('AccessSecretVersion', (n) => n.includes(`${ns}-t`)), 20);
  const exchanges = fake.identity.exchanges.filter((e) => e.subject === `system:serviceaccount:${ns}:reader`).length;
  console.log(`# 20 reads → ${exchanges} STS exchange(s), ${fake.identity.impersonations.length} generateAccessToken call(s)`);
  assert.equal(exchanges, 1);
  assert.equal(fake.identity.impersonations.length, 1);
});

test('call sharing: 100 ExternalSecrets reading 10 distinct secrets cost 10 AccessSecretVersion calls per refresh wave', async () => {
  const ns = await readerNamespace(gsa(`wave-${randomBytes(2).toString('hex')}`));
  for (let i = 0; i < 10; i++) fake.secretManager.createSecret(PROJECT, `${ns}-wave-${i}`, { value: secrets.next(`wave-${i}`) });
  await createObject(kube, Plural.SecretStore, store('gcp', { auth: wi('reader') }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'gcp', status: 'True' });
  fake.secretManager.clear();
  const isWave = (name: string) => name.includes(`${ns}-wave-`);
  const refreshMs = 20_000;
  await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      createObject(kube, Plural.ExternalSecret, es(`wave-${i}`, {
        secretStoreRef: { name: 'gcp' },
        refreshInterval: '20s',
        data: [{ secretKey: 'v', remoteRef: { key: `${ns}-wave-${i % 10}` } }],
      }), ns),
    ),
  );
  const refreshTimes = () => refreshTimesIn(kube, ns);
  const firstWave = await waitFor('100 ExternalSecrets synced', async () => {
    const times = await refreshTimes();
    return times.length === 100 && times.every((t) => t > 0) ? times : undefined;
  }, 60_000);
  const firstCalls = fake.secretManager.count('AccessSecretVersion', isWave);
  console.log(`# refresh wave 1 (create): 100 ExternalSecrets, 10 secrets → ${firstCalls} AccessSecretVersion calls, spread ${Math.max(...firstWave) - Math.min(...firstWave)} ms`);
  assert.equal(firstCalls, 10);
  fake.secretManager.clear();
  const firstEnd = Math.max(...firstWave);
  await waitFor('the second refresh wave', async () => {
    const times = await refreshTimes();
    return times.length === 100 && times.every((t) => t > firstEnd) ? times : undefined;
  }, refreshMs + 30_000);
  const secondCalls = fake.secretManager.count('AccessSecretVersion', isWave);
  console.log(`# refresh wave 2 (periodic, 20 s): 100 ExternalSecrets → ${secondCalls} AccessSecretVersion calls`);
  assert.equal(secondCalls, 10);
});

test('API: the CRD refuses two auth methods and a federation without audience, with readable messages', async () => {
  const ns = await namespaces.create(kube);
  await assert.rejects(
    createObject(kube, Plural.SecretStore, store('two', { auth: { ...wi('reader'), secretRef: { secretAccessKeySecretRef: { name: 'k', key: 'k' } } } as never }), ns),
    /spec\.provider\.gcpsm\.auth must set only one of secretRef, workloadIdentity and workloadIdentityFederation/,
  );
  await assert.rejects(
    createObject(kube, Plural.SecretStore, store('no-audience', { auth: { workloadIdentityFederation: { serviceAccountRef: { name: 'x' } } } as never }), ns),
    /workloadIdentityFederation\.audience is required with serviceAccountRef/,
  );
  // awsSecurityCredentials is ESO's and accepted by the CRD; this version says plainly that it is not supported.
  await createObject(kube, Plural.SecretStore, store('aws-creds', {
    auth: { workloadIdentityFederation: { awsSecurityCredentials: { region: 'eu-west-1', awsCredentialsSecretRef: { name: 'aws' } }, audience: wifAudience } },
  }), ns);
  const unsupported = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'aws-creds', status: 'False' });
  assert.match(unsupported.message, /awsSecurityCredentials is not supported by secret-relay yet/);
  // A SecretStore pointing an endpoint at a host the operator does not trust, in clear text: both tenancy rules named.
  await createObject(kube, Plural.SecretStore, store('plain', {
    endpoints: { secretManager: 'http://secretmanager.example.com' },
    auth: { workloadIdentityFederation: { serviceAccountRef: { name: 'x' }, audience: wifAudience } },
  }), ns);
  const plain = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'plain', status: 'False', reason: 'EndpointNotAllowed' });
  assert.match(plain.message, /spec\.provider\.gcpsm\.endpoints\.secretManager names host secretmanager\.example\.com, which is not on the operator's --trusted-endpoint-hosts/);
  assert.match(plain.message, /InsecureEndpoint: spec\.provider\.gcpsm\.endpoints\.secretManager uses plain http/);
});

test('no secret value (nor any access token Google issued) appears in any log line, audit record, Event or status written during the suite', async () => {
  const tokens = fake.identity.issuedTokens();
  assert.ok(tokens.length >= 10, `access tokens were issued (${tokens.length})`);
  for (const token of tokens) secrets.add(token);
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], expectAudit: true, kube, namespaces: namespaces.names, values: secrets, atLeast: 60 });
});
