// Faults that heal without a human, against the real control plane and the provider fakes: a token endpoint that
// throttles and a token the service stops accepting are retried at once with backoff, not as refusals; the everyday order "apply
// the ExternalSecret, then grant the role" (a role assignment or binding that takes effect N seconds later, as cloud
// IAM does; Azure, GCP and Alibaba) ends with the Secret written although no object was touched; and an Azure store whose identity may read
// only some secrets (per-secret role assignments, an access policy without `list`) is not Ready=False.
// Every secret value used is searched for in logs, audit, Events and status at the end.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { fetchJwks } from '../support/sts-web-identity-check.ts';
import { adminKube, createObject, getObject, Plural, readSecret, startTestOperator, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import { cachedJwks, FEDERATED_AUDIENCE, READ_PERMISSIONS, startAzureFakes, type AzureFakes, type FakeApplication, type FakeVault } from '../fakes/azure/index.ts';
import { Role, startGcpFake, type GcpFake } from '../fakes/gcp/index.ts';
import type { TestKube } from '../support/kube.ts';
import { createAzureProvider } from '../../src/providers/azure/provider.ts';
import { createGcpProvider } from '../../src/providers/gcp/provider.ts';
import { createAlibabaProvider } from '../../src/providers/alibaba/provider.ts';
import { effectiveIn, startAlibabaFake, type AlibabaFake } from '../fakes/alibaba/server.ts';

/** --service-account-issuer of the test control plane (test/support/cluster.ts). */
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const TENANT = randomUUID();
const PROJECT = 'relay-heal';
const PROJECT_NUMBER = '559102837465';
const CLUSTER = { clusterProjectID: PROJECT, clusterLocation: 'europe-west1', clusterName: 'relay' };
/**
 * How long after the ExternalSecret is applied the grant takes effect: well after the first reconcile (so the refusal
 * is seen first, even on a busy machine) and before the first recheck (22.5–30 s after it), so the test costs no more.
 */
const GRANT_DELAY_MS = 15_000;
/** The first recheck comes at most RECHECK_BACKOFF.baseMs (30 s) after the denial; the rest is margin. */
const HEAL_TIMEOUT_MS = 75_000;

let cluster: LocalCluster;
let kube: TestKube;
let azure: AzureFakes;
let vault: FakeVault;
let gcp: GcpFake;
let alibaba: AlibabaFake;
let op: TestOperator;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('heal');

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  azure = await startAzureFakes({ jwks: cachedJwks(() => fetchJwks(cluster.kubeconfigPath)) });
  vault = await azure.addVault('relay-heal', TENANT);
  gcp = await startGcpFake({ kubeconfigPath: cluster.kubeconfigPath, issuer: ISSUER });
  gcp.identity.addProject(PROJECT, PROJECT_NUMBER);
  gcp.identity.addGkeCluster({ projectID: PROJECT, location: CLUSTER.clusterLocation, name: CLUSTER.clusterName });
  alibaba = await startAlibabaFake({ kubeconfigPath: cluster.kubeconfigPath });
  op = await startTestOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    args: ['--leader-elect=false', '--concurrency=4', '--trusted-endpoint-hosts=127.0.0.1' /* the fakes' endpoints */],
    providers: [createAzureProvider({ trustedCaPem: azure.tls.caPem }), createGcpProvider(), createAlibabaProvider()],
  });
});

after(async () => {
  await stopTestOperator(op, 'heal');
  await alibaba?.stop();
  await gcp?.stop();
  await azure?.stop();
  await kube?.close();
  await cluster?.stop();
});

function es(name: string, storeName: string, key: string) {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name }, spec: { secretStoreRef: { name: storeName }, refreshInterval: '1h', data: [{ secretKey: 'value', remoteRef: { key } }] } };
}

/** An Entra application federated with ServiceAccount NS/NAME (annotated), with no Key Vault access yet. */
async function azureWorkload(ns: string, name: string): Promise<FakeApplication> {
  const app = azure.entra.addApplication({ tenantId: TENANT, clientId: randomUUID() });
  app.federated.push({ issuer: ISSUER, subject: `system:serviceaccount:${ns}:${name}`, audiences: [FEDERATED_AUDIENCE] });
  await kube.core.createNamespacedServiceAccount({
    namespace: ns,
    body: { metadata: { name, annotations: { 'azure.workload.identity/client-id': app.clientId, 'azure.workload.identity/tenant-id': TENANT } } },
  });
  return app;
}

function azureStore(name: string, serviceAccount: string) {
  return {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name },
    spec: { provider: { azurekv: { vaultUrl: vault.url, customCloudConfig: { activeDirectoryEndpoint: azure.entra.authorityHost }, authType: 'WorkloadIdentity', serviceAccountRef: { name: serviceAccount } } } },
  };
}

/** A GKE Workload Identity store acting as ServiceAccount `reader` of its namespace. */
function gcpStore(name: string) {
  return {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name },
    spec: { provider: { gcpsm: { projectID: PROJECT, endpoints: gcp.endpoints, auth: { workloadIdentity: { serviceAccountRef: { name: 'reader' }, ...CLUSTER } } } } },
  };
}

/** The audit records of reads of `remoteKey`, by result. */
function readResults(remoteKey: string): string[] {
  return op.audit.lines
    .map((line) => JSON.parse(line) as { action?: string; remoteKey?: string; result?: string })
    .filter((r) => r.action === 'provider.read' && r.remoteKey === remoteKey)
    .map((r) => r.result ?? '');
}

// Transient faults first (their faults are global to the fakes: no refused store of a later test may consume them).
test('azure: Entra ID answering 429 is throttling, not a refusal — retried with backoff, the Secret is written within seconds', async () => {
  const ns = await namespaces.create(kube);
  const app = await azureWorkload(ns, 'flaky');
  vault.grant(app.objectId);
  const key = `flaky-${randomBytes(3).toString('hex')}`;
  const value = secrets.next('azure-flaky');
  vault.setSecret(key, value);
  // 429 with Retry-After: 1 to one getToken (@azure/identity sends it and retries it 3 times). A 5xx would do the same
  // but MSAL then holds every request of that credential for 60 s: healed a minute later, classified alike (unit tests).
  azure.entra.fail({ status: 429, times: 4 });
  const applied = Date.now();
  await createObject(kube, Plural.SecretStore, azureStore('azure', 'flaky'), ns);
  await createObject(kube, Plural.ExternalSecret, es('flaky', 'azure', key), ns);
  // The backoff of a transient failure (1 s doubling) usually writes it within ~10 s, sooner than the first recheck of
  // a terminal one (22.5–30 s); on a loaded machine it can take longer, so what is asserted is how the failures were
  // classified (below), with a deadline that only says the fault healed.
  await waitSecretData(kube, ns, 'flaky', { value }, 60_000);
  console.log(`# azure Entra ID 429 ×4: Secret written ${((Date.now() - applied) / 1000).toFixed(1)} s after the ExternalSecret was applied`);
  assert.match(op.logs.text(), /Entra ID throttled a token for vault/, 'reported as throttling of Entra ID');
  assert.doesNotMatch(op.logs.text(), /Entra ID refused [^"]*AADSTS50196/, 'never as a refusal');
});

test('gcp: UNAUTHENTICATED drops the token and is retried — the next attempt exchanges anew and the Secret is written within seconds', async () => {
  const ns = await namespaces.create(kube);
  const google = `flaky-${randomBytes(2).toString('hex')}@${PROJECT}.iam.gserviceaccount.com`;
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader', annotations: { 'iam.gke.io/gcp-service-account': google } } } });
  gcp.identity.createServiceAccount(google);
  gcp.identity.bindWorkloadIdentityUser(google, gcp.identity.gkeMember(PROJECT, ns, 'reader'));
  const id = `${ns}-db`;
  const value = secrets.next('gcp-flaky');
  gcp.secretManager.createSecret(PROJECT, id, { value });
  gcp.secretManager.grant(`serviceAccount:${google}`, Role.accessor, PROJECT, id);
  await createObject(kube, Plural.SecretStore, gcpStore('gcp'), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'gcp', status: 'True' });
  // A token Google stops accepting (revoked, expired early): the first read is answered UNAUTHENTICATED.
  gcp.secretManager.inject({ method: 'AccessSecretVersion', code: 16, message: 'Request had invalid authentication credentials. Expected OAuth 2 access token.', times: 1 });
  const applied = Date.now();
  await createObject(kube, Plural.ExternalSecret, es('flaky', 'gcp', id), ns);
  await waitSecretData(kube, ns, 'flaky', { value }, 60_000);
  console.log(`# gcp UNAUTHENTICATED once: Secret written ${((Date.now() - applied) / 1000).toFixed(1)} s after the ExternalSecret was applied`);
  const mine = gcp.identity.exchanges.filter((e) => e.subject === `system:serviceaccount:${ns}:reader`);
  assert.equal(mine.length, 2, 'the dropped token was exchanged anew');
});

test('azure: apply the ExternalSecret, then grant the role — a role assignment effective 15 s later heals without touching any object', async () => {
  const ns = await namespaces.create(kube);
  const app = await azureWorkload(ns, 'late');
  const key = `late-${randomBytes(3).toString('hex')}`;
  const value = secrets.next('azure-late');
  vault.setSecret(key, value);
  await createObject(kube, Plural.SecretStore, azureStore('azure', 'late'), ns);
  await createObject(kube, Plural.ExternalSecret, es('late', 'azure', key), ns);
  const applied = Date.now();
  vault.grant(app.objectId, READ_PERMISSIONS, { effectiveInMs: GRANT_DELAY_MS });

  // The ExternalSecret is refused first (the order a user runs things in), and says so.
  const refused = await waitReady(kube, { namespace: ns, name: 'late', status: 'False', message: /Key Vault denied|not authorized/ }, 30_000);
  assert.ok(Date.now() - applied < GRANT_DELAY_MS, 'refused before the grant took effect');
  console.log(`# azure late grant, refused first: ${refused.message}`);
  await waitSecretData(kube, ns, 'late', { value }, HEAL_TIMEOUT_MS);
  console.log(`# azure late grant: Secret written ${((Date.now() - applied) / 1000).toFixed(1)} s after the ExternalSecret was applied (grant effective at ${GRANT_DELAY_MS / 1000} s)`);
  await waitReady(kube, { namespace: ns, name: 'late', status: 'True' });
  const after = await getObject(kube, Plural.ExternalSecret, 'late', ns);
  assert.equal((after?.['metadata'] as { generation?: number }).generation, 1, 'nobody edited the ExternalSecret');
  assert.deepEqual([...new Set(readResults(key))].sort(), ['denied', 'success'], 'the refusal was audited as denied, then the read succeeded');
});

test('gcp: apply the ExternalSecret, then bind the identity — a Workload Identity binding and a role effective 15 s later heal the store and the ExternalSecret', async () => {
  const ns = await namespaces.create(kube);
  const google = `late-${randomBytes(2).toString('hex')}@${PROJECT}.iam.gserviceaccount.com`;
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader', annotations: { 'iam.gke.io/gcp-service-account': google } } } });
  gcp.identity.createServiceAccount(google);
  const id = `${ns}-db`;
  const value = secrets.next('gcp-late');
  gcp.secretManager.createSecret(PROJECT, id, { value });
  await createObject(kube, Plural.SecretStore, gcpStore('gcp'), ns);
  await createObject(kube, Plural.ExternalSecret, es('late', 'gcp', id), ns);
  const applied = Date.now();
  gcp.identity.bindWorkloadIdentityUser(google, gcp.identity.gkeMember(PROJECT, ns, 'reader'), { effectiveInMs: GRANT_DELAY_MS });
  gcp.secretManager.grant(`serviceAccount:${google}`, Role.accessor, PROJECT, id, undefined, { effectiveInMs: GRANT_DELAY_MS });

  // The binding is not effective yet: generateAccessToken is refused, the store is not ready, and so is the ExternalSecret.
  const store = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'gcp', status: 'False' }, 30_000);
  assert.match(store.message, /getAccessToken/);
  assert.ok(Date.now() - applied < GRANT_DELAY_MS, 'refused before the binding took effect');
  console.log(`# gcp late binding, store refused first: ${store.message}`);
  await waitSecretData(kube, ns, 'late', { value }, HEAL_TIMEOUT_MS);
  console.log(`# gcp late binding: Secret written ${((Date.now() - applied) / 1000).toFixed(1)} s after the ExternalSecret was applied (binding effective at ${GRANT_DELAY_MS / 1000} s)`);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'gcp', status: 'True' });
  await waitReady(kube, { namespace: ns, name: 'late', status: 'True' });
  assert.ok(gcp.identity.impersonations.some((i) => i.email === google && !i.allowed) && gcp.identity.impersonations.some((i) => i.email === google && i.allowed));
});

test('alibaba: apply the ExternalSecret, then allow the key — a RAM policy effective 15 s later heals without touching any object', async () => {
  const ns = await namespaces.create(kube);
  const name = `${ns}-db`;
  const value = secrets.next('alibaba-late');
  alibaba.putSecret(name, { data: value });
  const id = `LTAI${randomBytes(8).toString('hex')}`;
  const keySecret = secrets.next('access-key-secret');
  const applied = Date.now();
  alibaba.addAccessKey({ id, secret: keySecret, allow: effectiveIn(GRANT_DELAY_MS, (action, secret) => action === 'kms:GetSecretValue' && secret === name) });
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'keys' }, stringData: { id, secret: keySecret } } });
  await createObject(kube, Plural.SecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name: 'alibaba' },
    spec: { provider: { alibaba: { regionID: 'cn-hangzhou', endpoint: alibaba.kmsEndpoint, auth: { secretRef: { accessKeyIDSecretRef: { name: 'keys', key: 'id' }, accessKeySecretSecretRef: { name: 'keys', key: 'secret' } } } } } },
  }, ns);
  await createObject(kube, Plural.ExternalSecret, es('late', 'alibaba', name), ns);

  const refused = await waitReady(kube, { namespace: ns, name: 'late', status: 'False', message: /Forbidden\.NoPermission/ }, 30_000);
  assert.ok(Date.now() - applied < GRANT_DELAY_MS, 'refused before the policy took effect');
  console.log(`# alibaba late policy, refused first: ${refused.message}`);
  await waitSecretData(kube, ns, 'late', { value }, HEAL_TIMEOUT_MS);
  console.log(`# alibaba late policy: Secret written ${((Date.now() - applied) / 1000).toFixed(1)} s after the ExternalSecret was applied (policy effective at ${GRANT_DELAY_MS / 1000} s)`);
  assert.deepEqual([...new Set(readResults(name))].sort(), ['denied', 'success'], 'the refusal was audited as denied, then the read succeeded');
});

test('azure: store validation needs no list permission — per-secret role assignments and an access policy without list do not make the store Ready=False', async () => {
  const ns = await namespaces.create(kube);
  const key = `scoped-${randomBytes(3).toString('hex')}`;
  const value = secrets.next('scoped');
  vault.setSecret(key, value);
  vault.setSecret(`${key}-other`, secrets.next('other'));

  // A role assignment at the scope of one secret: Key Vault refuses every other name, existing or not.
  const scoped = await azureWorkload(ns, 'scoped');
  vault.grant(scoped.objectId, ['secrets/get'], { secrets: [key] });
  // An access policy with get and no list: a name that does not exist is 404, not 403.
  const getOnly = await azureWorkload(ns, 'get-only');
  vault.grant(getOnly.objectId, ['secrets/get']);
  // No access at all: still a refusal, named on the ExternalSecret.
  const none = await azureWorkload(ns, 'none');
  void none;

  for (const sa of ['scoped', 'get-only', 'none']) {
    await createObject(kube, Plural.SecretStore, azureStore(sa, sa), ns);
    await createObject(kube, Plural.ExternalSecret, es(sa, sa, key), ns);
  }
  await waitSecretData(kube, ns, 'scoped', { value });
  await waitSecretData(kube, ns, 'get-only', { value });
  const getOnlyStore = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'get-only', status: 'True' });
  console.log(`# access policy without list: store Ready=True (${getOnlyStore.message})`);
  const scopedStore = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'scoped', status: 'Unknown' });
  console.log(`# per-secret role assignment: store Ready=Unknown (${scopedStore.message})`);
  const noneReady = await waitReady(kube, { namespace: ns, name: 'none', status: 'False', message: /Key Vault denied get secret/ });
  console.log(`# no access: ExternalSecret ${noneReady.message}`);
  assert.equal(await readSecret(kube, ns, 'none'), undefined);
  assert.equal(vault.requests.filter((r) => r.method === 'GET' && r.path.replace(/\/$/, '') === '/secrets').length, 0, 'no store validation listed the vault');
});

test('no secret value appears in any log line, audit record, Event or status written during the suite', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], expectAudit: true, kube, namespaces: namespaces.names, values: secrets, atLeast: 4 });
});
