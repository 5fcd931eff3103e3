// The azurekv provider against the Key Vault and Entra ID fakes (test/fakes/azure) and the real control plane:
// workload identity with tokens minted by the real apiserver and verified against its JWKS, service principals
// with a secret and a certificate, referent auth, every read path, throttling, call sharing, rotation.
// Every secret value used is remembered and searched for in logs, audit, Events and status at the end.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { after, before, beforeEach, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { fetchJwks } from '../support/sts-web-identity-check.ts';
import { adminKube, createObject, Plural, readSecret, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData, refreshTimesIn } from '../support/integration.ts';
import { cachedJwks, createClientCertificate, FEDERATED_AUDIENCE, startAzureFakes, type AzureFakes, type FakeApplication, type FakeVault } from '../fakes/azure/index.ts';
import { directStoreContext } from '../support/direct-store.ts';
import type { TestKube } from '../support/kube.ts';
import { createKubeClient, type KubeClient } from '../../src/k8s/kube-client.ts';
import { createStoreKubeAccess } from '../../src/k8s/store-access.ts';
import { createAzureProvider } from '../../src/providers/azure/provider.ts';
import type { StoreCredential } from '../../src/providers/azure/credential.ts';
import { createFakeProvider } from '../../src/providers/fake/provider.ts';
import { NoSecretError, TerminalError, ThrottledError, type SecretsClient } from '../../src/providers/provider.ts';
import { defaultHoldResultsMs } from '../../src/providers/shared-calls.ts';

/** --service-account-issuer of the test control plane (test/support/cluster.ts). */
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const TENANT = randomUUID();

let cluster: LocalCluster;
let kube: TestKube;
/** The operator's own client, for the src code these tests call directly (createStoreKubeAccess). */
let operatorKube: KubeClient;
let fakes: AzureFakes;
let vault: FakeVault;
let op: TestOperator;
const credentials = new Map<string, StoreCredential>();
const secrets = new SecretValues();
const namespaces = new TestNamespaces('azure');
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const signal = () => AbortSignal.timeout(30_000);

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  operatorKube = createKubeClient({ kubeconfigPath: cluster.kubeconfigPath });
  fakes = await startAzureFakes({ jwks: cachedJwks(() => fetchJwks(cluster.kubeconfigPath)) });
  vault = await fakes.addVault('relay-test', TENANT);
  op = await startTestOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    args: ['--leader-elect=false', '--concurrency=4', '--refresh-time-period=0' /* the refresh-wave test reads each refresh from status.refreshTime */, '--trusted-endpoint-hosts=127.0.0.1' /* the fakes' vault and Entra ID */],
    providers: [createAzureProvider({ trustedCaPem: fakes.tls.caPem, onCredential: (store, credential) => credentials.set(store, credential) }), createFakeProvider()],
  });
});

after(async () => {
  await stopTestOperator(op, 'azure');
  await fakes?.stop();
  await operatorKube?.close();
  await cluster?.stop();
});

beforeEach(() => {
  vault.clear();
  fakes.entra.clear();
});

/** An application (or user-assigned managed identity) with Key Vault access, federated with ServiceAccount NS/NAME. */
function federatedApp(ns: string, name: string, options: { audiences?: string[]; grant?: boolean } = {}): FakeApplication {
  const app = fakes.entra.addApplication({ tenantId: TENANT, clientId: randomUUID() });
  app.federated.push({ issuer: ISSUER, subject: `system:serviceaccount:${ns}:${name}`, audiences: options.audiences ?? [FEDERATED_AUDIENCE] });
  if (options.grant !== false) vault.grant(app.objectId);
  return app;
}

async function serviceAccount(ns: string, name: string, app?: FakeApplication): Promise<void> {
  await kube.core.createNamespacedServiceAccount({
    namespace: ns,
    body: { metadata: { name, ...(app ? { annotations: { 'azure.workload.identity/client-id': app.clientId, 'azure.workload.identity/tenant-id': app.tenantId } } : {}) } },
  });
}

function azurekv(extra: Record<string, unknown>) {
  return { vaultUrl: vault.url, customCloudConfig: { activeDirectoryEndpoint: fakes.entra.authorityHost }, ...extra };
}

function store(name: string, provider: Record<string, unknown>, kind: 'SecretStore' | 'ClusterSecretStore' = 'SecretStore') {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind, metadata: { name }, spec: { provider: { azurekv: azurekv(provider) } } };
}

function es(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name }, spec };
}

const workloadIdentity = (sa: string, namespace?: string) => ({ authType: 'WorkloadIdentity', serviceAccountRef: { name: sa, ...(namespace ? { namespace } : {}) } });

/** A service principal with a client secret, kept in Secret `sp` of ns. */
async function servicePrincipalSecret(ns: string): Promise<{ app: FakeApplication; provider: Record<string, unknown> }> {
  const app = fakes.entra.addApplication({ tenantId: TENANT, clientId: randomUUID() });
  const clientSecret = secrets.next('client-secret');
  app.secrets.push(clientSecret);
  vault.grant(app.objectId);
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'sp-creds' }, stringData: { id: app.clientId, secret: clientSecret } } });
  return {
    app,
    provider: { authType: 'ServicePrincipal', tenantId: TENANT, authSecretRef: { clientId: { name: 'sp-creds', key: 'id' }, clientSecret: { name: 'sp-creds', key: 'secret' } } },
  };
}

/** A provider client straight from the provider, as the operator builds it, with a service principal. */
async function directClient(ns: string): Promise<SecretsClient> {
  const { provider } = await servicePrincipalSecret(ns);
  return createAzureProvider({ trustedCaPem: fakes.tls.caPem }).newClient(azurekv(provider) as never, directStoreContext(operatorKube, ns));
}

test('read paths: secret (latest and by version), tags with metadataPolicy Fetch, cert/ as PEM, key/ as JWK, not found, bad keys', async () => {
  const ns = await namespaces.create(kube);
  const v1 = secrets.next('v1');
  const v2 = secrets.next('v2');
  const first = vault.setSecret('app-db', JSON.stringify({ user: 'app', password: v1 }), { tags: { team: 'a', env: 'test' } });
  vault.setSecret('app-db', JSON.stringify({ user: 'app', password: v2 }), { tags: { team: 'a', env: 'test' } });
  const leaf = createClientCertificate('leaf.example.com');
  vault.setCertificate('app-tls', { certPem: leaf.certPem, keyPem: leaf.pem.slice(leaf.certPem.length) });
  const key = vault.setKey('app-signing');
  const client = await directClient(ns);

  assert.equal(JSON.parse(text(await client.getSecret({ key: 'app-db' }, signal()))).password, v2, 'no version: the latest');
  assert.equal(JSON.parse(text(await client.getSecret({ key: 'secret/app-db' }, signal()))).password, v2, 'secret/ prefix');
  assert.equal(JSON.parse(text(await client.getSecret({ key: 'app-db', version: first }, signal()))).password, v1, 'a version');
  assert.deepEqual(JSON.parse(text(await client.getSecret({ key: 'app-db', metadataPolicy: 'Fetch' }, signal()))), { team: 'a', env: 'test' });
  const pem = text(await client.getSecret({ key: 'cert/app-tls' }, signal()));
  assert.match(pem, /^-----BEGIN CERTIFICATE-----\n/);
  assert.equal(new X509Certificate(pem).fingerprint256, new X509Certificate(leaf.certPem).fingerprint256, 'the certificate, byte for byte, as PEM');
  const jwk = JSON.parse(text(await client.getSecret({ key: `key/app-signing`, version: key.version }, signal())));
  assert.equal(jwk.kty, 'RSA');
  assert.equal(jwk.n, key.n);
  assert.equal(jwk.e, key.e);
  assert.equal(jwk.d, undefined, 'only the public key');
  await assert.rejects(client.getSecret({ key: 'no-such-secret' }, signal()), NoSecretError);
  await assert.rejects(client.getSecret({ key: 'app-db', version: 'ffffffffffffffffffffffffffffffff' }, signal()), NoSecretError);
  await assert.rejects(client.getSecret({ key: 'cert/nope' }, signal()), NoSecretError);
  await assert.rejects(client.getSecret({ key: 'blob/app-db' }, signal()), /unknown object type "blob"/);
  await assert.rejects(client.getSecret({ key: 'bad_name' }, signal()), /not a Key Vault object name/);
  assert.equal(vault.requests.filter((r) => !r.authorized).length, 3, 'one challenge round trip per SDK client (secrets, certificates, keys), then tokens');
  await client.close();
});

test('attributes: a disabled, a not-yet-valid and an expired secret each give a clear error; find skips them', async () => {
  const ns = await namespaces.create(kube);
  const now = Math.floor(Date.now() / 1000);
  vault.setSecret('attr-disabled', secrets.next('disabled'), { enabled: false });
  vault.setSecret('attr-future', secrets.next('future'), { nbf: now + 3600 });
  vault.setSecret('attr-expired', secrets.next('expired'), { exp: now - 60 });
  const fine = secrets.next('fine');
  vault.setSecret('attr-fine', fine, { exp: now + 3600 });
  const client = await directClient(ns);
  await assert.rejects(client.getSecret({ key: 'attr-disabled' }, signal()), (e: unknown) => e instanceof TerminalError && /disabled \(SecretDisabled\)/.test(e.message));
  await assert.rejects(client.getSecret({ key: 'attr-future' }, signal()), /is not valid before .* \(its nbf\)/);
  await assert.rejects(client.getSecret({ key: 'attr-expired' }, signal()), (e: unknown) => e instanceof TerminalError && /expired on .* \(its exp\)/.test(e.message));
  const found = await client.getAllSecrets({ name: { regexp: '^attr-' } }, signal());
  assert.deepEqual(Object.fromEntries(Object.entries(found).map(([k, v]) => [k, text(v)])), { 'attr-fine': fine });
  await client.close();
});

test('find: name.regexp and tags over the paged listing (nextLink), one GET per match', async () => {
  const ns = await namespaces.create(kube);
  const values = new Map<string, string>();
  for (let i = 0; i < 60; i++) {
    const name = `find-${String(i).padStart(2, '0')}`;
    values.set(name, secrets.next('find'));
    vault.setSecret(name, values.get(name)!, { tags: { team: i % 2 === 0 ? 'a' : 'b' } });
  }
  const client = await directClient(ns);
  vault.clear();
  const byName = await client.getAllSecrets({ name: { regexp: '^find-1[0-9]$' } }, signal());
  assert.deepEqual(Object.keys(byName).sort(), Array.from({ length: 10 }, (_, i) => `find-1${i}`));
  assert.equal(text(byName['find-13']!), values.get('find-13'));
  const listPages = vault.requests.filter((r) => r.path === '/secrets' && r.status === 200).length;
  assert.ok(listPages >= 3, `the listing was paged with nextLink (${listPages} pages of at most 25)`);
  assert.equal(vault.requests.filter((r) => r.path.startsWith('/secrets/find-') && r.status === 200).length, 10, 'one GET per matching secret');
  const both = await client.getAllSecrets({ name: { regexp: '^find-0' }, tags: { team: 'b' } }, signal());
  assert.deepEqual(Object.keys(both).sort(), ['find-01', 'find-03', 'find-05', 'find-07', 'find-09']);
  console.log(`# find over ${listPages} list pages: ${vault.requests.length} Key Vault requests in all`);
  await client.close();
});

test('429 with Retry-After: the SDK waits as told and retries; still throttled after its retries → ThrottledError', async () => {
  const ns = await namespaces.create(kube);
  const value = secrets.next('throttled');
  vault.setSecret('throttled', value);
  const client = await directClient(ns);
  await client.getSecret({ key: 'throttled' }, signal());
  vault.clear();
  vault.throttle({ pathPrefix: '/secrets/throttled', retryAfterSeconds: 2, times: 1 });
  assert.equal(text(await client.getSecret({ key: 'throttled' }, signal())), value, 'one 429 is absorbed by a retry');
  const [refused, retried] = vault.requests.filter((r) => r.path.startsWith('/secrets/throttled'));
  assert.equal(refused!.status, 429);
  assert.equal(retried!.status, 200);
  assert.ok(retried!.at - refused!.at >= 1900, `the retry waited for Retry-After: 2 (${retried!.at - refused!.at} ms)`);
  console.log(`# 429 Retry-After 2 s: retried after ${retried!.at - refused!.at} ms`);

  vault.clear();
  vault.throttle({ pathPrefix: '/secrets/throttled', retryAfterSeconds: 1 });
  await assert.rejects(client.getSecret({ key: 'throttled' }, signal()), (e: unknown) => e instanceof ThrottledError && /Key Vault throttled get secret throttled/.test(e.message));
  const attempts = vault.requests.filter((r) => r.path.startsWith('/secrets/throttled'));
  assert.equal(attempts.length, 4, 'the first attempt and 3 retries');
  for (let i = 1; i < attempts.length; i++) assert.ok(attempts[i]!.at - attempts[i - 1]!.at >= 900, 'each retry after Retry-After');
  await client.close();
});

test('workload identity end to end: a TokenRequest token verified against the apiserver JWKS; 20 reads and the store validation → one token exchange', async () => {
  const ns = await namespaces.create(kube);
  const app = federatedApp(ns, 'reader');
  await serviceAccount(ns, 'reader', app);
  const values: string[] = [];
  for (let i = 0; i < 20; i++) {
    values.push(secrets.next(`wi-${i}`));
    vault.setSecret(`wi-${i}`, JSON.stringify({ password: values[i] }));
  }
  await createObject(kube, Plural.SecretStore, store('azure', workloadIdentity('reader')), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'azure', status: 'True' });
  await createObject(kube, Plural.ExternalSecret, es('wi', {
    secretStoreRef: { name: 'azure' },
    refreshInterval: '1h',
    data: values.map((_, i) => ({ secretKey: `p${i}`, remoteRef: { key: `wi-${i}`, property: 'password' } })),
  }), ns);
  await waitSecretData(kube, ns, 'wi', Object.fromEntries(values.map((v, i) => [`p${i}`, v])));
  const mine = fakes.entra.exchanges.filter((e) => e.clientId === app.clientId);
  assert.equal(mine.length, 1, 'one exchange for the validation and 20 reads');
  assert.equal(mine[0]!.grant, 'federated');
  assert.equal(mine[0]!.refused, undefined, 'the assertion verified (signature, issuer, subject, audience, expiry)');
  assert.equal(mine[0]!.subject, `system:serviceaccount:${ns}:reader`);
  assert.equal(mine[0]!.scope, 'https://vault.azure.net/.default');
  assert.equal(credentials.get('azure')?.exchanges(), 1);
  assert.equal(vault.count('/secrets/wi-'), 20, 'one GET per distinct secret');
  console.log(`# workload identity: 1 token exchange for 1 validation + 20 reads (${vault.count('/secrets')} Key Vault GETs)`);
});

test('refusals: wrong audience, no federated credential → store and ExternalSecret Ready=False; no access to the vault → the ExternalSecret Ready=False (the store Unknown: RBAC may grant per secret); the service’s message, nothing written', async () => {
  const ns = await namespaces.create(kube);
  vault.setSecret('guarded', secrets.next('guarded'));
  const cases = [
    { sa: 'wrong-audience', app: federatedApp(ns, 'wrong-audience', { audiences: ['api://SomethingElse'] }), message: /AADSTS700212: No matching federated identity record found for presented assertion audience/ },
    { sa: 'unfederated', app: federatedApp(ns, 'someone-else'), message: new RegExp(`AADSTS700213: No matching federated identity record found for presented assertion subject 'system:serviceaccount:${ns}:unfederated'`) },
    { sa: 'no-access', app: federatedApp(ns, 'no-access', { grant: false }), message: /Key Vault denied .*403 Forbidden.*Caller is not authorized to perform action on resource.*grant Microsoft\.KeyVault\/vaults\/secrets\/getSecret\/action/, store: 'Unknown' as const },
  ];
  for (const c of cases) {
    await serviceAccount(ns, c.sa, c.app);
    await createObject(kube, Plural.SecretStore, store(c.sa, workloadIdentity(c.sa)), ns);
    await createObject(kube, Plural.ExternalSecret, es(c.sa, { secretStoreRef: { name: c.sa }, data: [{ secretKey: 'v', remoteRef: { key: 'guarded' } }] }), ns);
  }
  for (const c of cases) {
    const storeReady = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: c.sa, status: c.store ?? 'False' });
    if (!c.store) assert.match(storeReady.message, c.message, `store ${c.sa}`);
    assert.ok(!storeReady.message.includes('Trace ID'), 'one line: no trace ids');
    const esReady = await waitReady(kube, { namespace: ns, name: c.sa, status: 'False', message: c.message });
    assert.match(esReady.message, new RegExp(`client ID ${c.app.clientId}`), 'the message names the identity');
    assert.equal(await readSecret(kube, ns, c.sa), undefined, `nothing written for ${c.sa}`);
    console.log(`# ${c.sa}: ${esReady.message}`);
  }
});

test('service principal with a client secret and with a certificate', async () => {
  const ns = await namespaces.create(kube);
  const value = secrets.next('sp');
  vault.setSecret('sp-value', value);
  const withSecret = await servicePrincipalSecret(ns);
  await createObject(kube, Plural.SecretStore, store('sp-secret', withSecret.provider), ns);

  const certApp = fakes.entra.addApplication({ tenantId: TENANT, clientId: randomUUID() });
  const cert = createClientCertificate('secret-relay-sp');
  fakes.entra.addCertificate(certApp, cert.certPem);
  vault.grant(certApp.objectId);
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'sp-cert-creds' }, stringData: { id: certApp.clientId, tenant: TENANT, 'cert.pem': cert.pem } } });
  await createObject(kube, Plural.SecretStore, store('sp-cert', {
    authType: 'ServicePrincipal',
    authSecretRef: { clientId: { name: 'sp-cert-creds', key: 'id' }, tenantId: { name: 'sp-cert-creds', key: 'tenant' }, clientCertificate: { name: 'sp-cert-creds', key: 'cert.pem' } },
  }), ns);
  for (const name of ['sp-secret', 'sp-cert']) {
    await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name, status: 'True' });
    await createObject(kube, Plural.ExternalSecret, es(name, { secretStoreRef: { name }, data: [{ secretKey: 'v', remoteRef: { key: 'sp-value' } }] }), ns);
    await waitSecretData(kube, ns, name, { v: value });
  }
  assert.deepEqual(fakes.entra.exchanges.filter((e) => e.refused === undefined).map((e) => e.grant).sort(), ['certificate', 'secret']);

  // A wrong client secret: Entra's reason, one line, on the store.
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'sp-wrong-creds' }, stringData: { id: withSecret.app.clientId, secret: secrets.next('wrong-secret') } } });
  await createObject(kube, Plural.SecretStore, store('sp-wrong', { authType: 'ServicePrincipal', tenantId: TENANT, authSecretRef: { clientId: { name: 'sp-wrong-creds', key: 'id' }, clientSecret: { name: 'sp-wrong-creds', key: 'secret' } } }), ns);
  const wrong = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'sp-wrong', status: 'False' });
  assert.match(wrong.message, /AADSTS7000215: Invalid client secret provided/);
});

test('referent auth: a ClusterSecretStore acts as each ExternalSecret namespace’s own ServiceAccount', async () => {
  const team = await namespaces.create(kube);
  const other = await namespaces.create(kube);
  const app = federatedApp(team, 'reader');
  await serviceAccount(team, 'reader', app);
  const value = secrets.next('referent');
  vault.setSecret('shared-config', value);
  const cssName = `azure-referent-${randomBytes(3).toString('hex')}`;
  await createObject(kube, Plural.ClusterSecretStore, store(cssName, workloadIdentity('reader'), 'ClusterSecretStore'));
  await waitReady(kube, { plural: Plural.ClusterSecretStore, name: cssName, status: 'Unknown' });
  const ref = { secretStoreRef: { name: cssName, kind: 'ClusterSecretStore' }, data: [{ secretKey: 'v', remoteRef: { key: 'shared-config' } }] };
  await createObject(kube, Plural.ExternalSecret, es('via-cluster', ref), team);
  await waitSecretData(kube, team, 'via-cluster', { v: value });
  await createObject(kube, Plural.ExternalSecret, es('via-cluster', ref), other);
  const missing = await waitReady(kube, { namespace: other, name: 'via-cluster', status: 'False', message: /reader/ });
  assert.match(missing.message, new RegExp(`ServiceAccount ${other}/reader`));
  assert.equal(await readSecret(kube, other, 'via-cluster'), undefined);
  const subjects = fakes.entra.exchanges.filter((e) => e.refused === undefined).map((e) => e.subject);
  assert.deepEqual(subjects, [`system:serviceaccount:${team}:reader`]);
});

test('rotation: a new secret version reaches the Secret within refreshInterval + 5 s', async () => {
  const ns = await namespaces.create(kube);
  const app = federatedApp(ns, 'reader');
  await serviceAccount(ns, 'reader', app);
  const before = secrets.next('before');
  vault.setSecret('rotating', before);
  await createObject(kube, Plural.SecretStore, store('azure', workloadIdentity('reader')), ns);
  await createObject(kube, Plural.ExternalSecret, es('rotating', { secretStoreRef: { name: 'azure' }, refreshInterval: '3s', data: [{ secretKey: 'v', remoteRef: { key: 'rotating' } }] }), ns);
  await waitSecretData(kube, ns, 'rotating', { v: before });
  const after = secrets.next('after');
  const rotated = Date.now();
  vault.setSecret('rotating', after);
  await waitSecretData(kube, ns, 'rotating', { v: after }, 3000 + 5000);
  console.log(`# rotation reached the Secret ${Date.now() - rotated} ms after the new version (refreshInterval 3 s, shared-result hold ${defaultHoldResultsMs} ms)`);
});

test('call sharing: 100 ExternalSecrets reading 10 Key Vault secrets cost 10 GETs per refresh wave', async () => {
  const ns = await namespaces.create(kube);
  const app = federatedApp(ns, 'reader');
  await serviceAccount(ns, 'reader', app);
  for (let i = 0; i < 10; i++) vault.setSecret(`wave-${i}`, secrets.next(`wave-${i}`));
  await createObject(kube, Plural.SecretStore, store('azure', workloadIdentity('reader')), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'azure', status: 'True' });
  vault.clear();
  const gets = () => vault.requests.filter((r) => r.path.startsWith('/secrets/wave-') && r.status === 200).length;
  await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      createObject(kube, Plural.ExternalSecret, es(`wave-${i}`, { secretStoreRef: { name: 'azure' }, refreshInterval: '20s', data: [{ secretKey: 'v', remoteRef: { key: `wave-${i % 10}` } }] }), ns),
    ),
  );
  const refreshTimes = () => refreshTimesIn(kube, ns);
  const firstWave = await waitFor('100 ExternalSecrets synced', async () => {
    const times = await refreshTimes();
    return times.length === 100 && times.every((t) => t > 0) ? times : undefined;
  }, 60_000);
  const first = gets();
  // This store's own: stores of earlier tests whose token was refused are rechecked meanwhile (and exchange again).
  const exchanges = () => fakes.entra.exchanges.filter((e) => e.clientId === app.clientId).length;
  const exchangesAfterFirst = exchanges();
  console.log(`# refresh wave 1: 100 ExternalSecrets, 10 Key Vault secrets → ${first} GETs`);
  assert.equal(first, 10);
  vault.clear();
  const firstEnd = Math.max(...firstWave);
  await waitFor('the second refresh wave', async () => {
    const times = await refreshTimes();
    return times.length === 100 && times.every((t) => t > firstEnd) ? times : undefined;
  }, 50_000);
  const second = gets();
  console.log(`# refresh wave 2 (periodic, 20 s): ${second} GETs`);
  assert.equal(second, 10);
  assert.equal(exchanges(), exchangesAfterFirst, 'no token exchange in the second wave: the token is cached');
});

test('the CRD refuses an incomplete azurekv store with a readable message (CEL)', async () => {
  const ns = await namespaces.create(kube);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ vaultUrl: vault.url }, /authType ServicePrincipal needs authSecretRef\.clientId and authSecretRef\.clientSecret or clientCertificate/],
    [{ vaultUrl: vault.url, authType: 'WorkloadIdentity' }, /authType WorkloadIdentity needs serviceAccountRef/],
    [{ vaultUrl: 'http://vault.local', authType: 'ManagedIdentity' }, /vaultUrl must be an https URL/],
  ];
  for (const [provider, message] of cases) {
    await assert.rejects(
      createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name: 'bad' }, spec: { provider: { azurekv: provider } } }, ns),
      (error: unknown) => message.test(String((error as { body?: unknown }).body ?? error)),
    );
  }
});

test('no secret value appears in any log line, audit record, Event or status written during the suite', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], expectAudit: true, kube, namespaces: namespaces.names, values: secrets, atLeast: 50 });
});
