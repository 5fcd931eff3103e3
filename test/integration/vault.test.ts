// The vault provider against a real OpenBao dev server and the real control plane: KV v1/v2 reads (versions,
// properties, metadata, find by name/path/tags), every auth method (token, AppRole, Kubernetes via the apiserver's
// TokenReview, JWT with ServiceAccount tokens, userpass), token renewal, re-login, and revocation when a store goes.
// Every secret value used is remembered and searched for in logs, audit, Events and status at the end.
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { enableOpenBaoKubernetesAuth } from '../support/openbao-kubernetes-auth.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { startOpenBao, type OpenBao } from '../support/openbao.ts';
import {
  adminKube,
  createObject,
  deleteObject,
  Plural,
  startTestOperator,
  waitFor,
  type TestOperator,
} from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { createKubeClient, type KubeClient } from '../../src/k8s/kube-client.ts';
import { createStoreKubeAccess } from '../../src/k8s/store-access.ts';
import { connectVault, createVaultProvider } from '../../src/providers/vault/provider.ts';
import type { VaultProvider } from '../../src/api/types.generated.ts';
import { createFakeProvider } from '../../src/providers/fake/provider.ts';
import { jsonObjectEntries } from '../../src/providers/decoding.ts';
import { NoSecretError, TerminalError, type SecretsClient, type StoreContext } from '../../src/providers/provider.ts';
import { systemClock, type Clock } from '../../src/util/clock.ts';

/** --service-account-issuer of the test control plane (test/support/cluster.ts). */
const ISSUER = 'https://kubernetes.default.svc.cluster.local';

let cluster: LocalCluster;
let kube: TestKube;
/** The operator's own client, for the src code these tests call directly (createStoreKubeAccess). */
let operatorKube: KubeClient;
let bao: OpenBao;
let op: TestOperator;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('vault');
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const signal = () => AbortSignal.timeout(30_000);

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  operatorKube = createKubeClient({ kubeconfigPath: cluster.kubeconfigPath });
  bao = await startOpenBao();
  // KV v1 beside the dev server's KV v2 at secret/.
  await bao.api('POST', 'sys/mounts/kv1', { type: 'kv', options: { version: '1' } });
  await bao.api('PUT', 'sys/policies/acl/read-all', { policy: 'path "secret/*" { capabilities = ["read", "list"] }\npath "kv1/*" { capabilities = ["read", "list"] }' });
  await bao.api('PUT', 'sys/policies/acl/read-app', { policy: 'path "secret/data/app/*" { capabilities = ["read"] }' });
  // Kubernetes auth: OpenBao calls the apiserver's TokenReview with a reviewer ServiceAccount bound to system:auth-delegator.
  await enableOpenBaoKubernetesAuth(bao, kube, cluster);
  // JWT auth: ServiceAccount tokens verified with the cluster's signing key (what an OIDC discovery would serve).
  await bao.api('POST', 'sys/auth/jwt', { type: 'jwt' });
  await bao.api('POST', 'auth/jwt/config', { jwt_validation_pubkeys: [servicePublicKeyPem()], bound_issuer: ISSUER });
  await bao.api('POST', 'sys/auth/approle', { type: 'approle' });
  await bao.api('POST', 'sys/auth/userpass', { type: 'userpass' });
  op = await startTestOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    args: ['--leader-elect=false', '--concurrency=4'],
    providers: [createVaultProvider({ operatorServiceAccount: { namespace: 'secret-relay-system', name: 'secret-relay' } }), createFakeProvider()],
  });
});

after(async () => {
  await stopTestOperator(op, 'vault');
  await bao?.stop();
  await operatorKube?.close();
  await cluster?.stop();
});

function ignoreConflict(err: unknown): void {
  if ((err as { code?: number }).code !== 409) throw err;
}

/** The public half of the cluster's ServiceAccount signing key, as PEM. */
function servicePublicKeyPem(): string {
  return createPublicKey(readFileSync(join(cluster.stateDir, 'pki/sa.key'))).export({ type: 'spki', format: 'pem' }).toString();
}

async function kvPut(path: string, data: Record<string, unknown>, customMetadata?: Record<string, string>): Promise<void> {
  await bao.api('POST', `secret/data/${path}`, { data });
  if (customMetadata) await bao.api('POST', `secret/metadata/${path}`, { custom_metadata: customMetadata });
}

async function makeSecret(ns: string, name: string, data: Record<string, string>): Promise<void> {
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name }, stringData: data } });
}

async function serviceAccount(ns: string, name: string): Promise<void> {
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
}

/** A vault SecretStore in `ns`. */
function store(name: string, vault: Record<string, unknown>, kind: 'SecretStore' | 'ClusterSecretStore' = 'SecretStore') {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind, metadata: { name }, spec: { provider: { vault: { server: bao.address, path: 'secret', version: 'v2', ...vault } } } };
}

function es(name: string, storeName: string, spec: Record<string, unknown>, kind = 'SecretStore') {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name }, spec: { secretStoreRef: { name: storeName, kind }, refreshInterval: '1h', ...spec } };
}

/** A token for direct clients: root-created, with the read-all policy. */
async function childToken(policies = ['read-all'], ttl = '1h'): Promise<string> {
  const created = await bao.api('POST', 'auth/token/create', { policies, ttl, no_default_policy: false });
  const token = (created!['auth'] as { client_token: string }).client_token;
  secrets.add(token);
  return token;
}

/** A StoreContext whose Secret reads come from `secrets` and whose tokens come from the real apiserver. */
function directContext(ns: string, secrets: Record<string, string> = {}, clock: Clock = systemClock): StoreContext {
  const real = createStoreKubeAccess(operatorKube, { onlyNamespace: ns, storeDescription: `SecretStore ${ns}/direct` });
  return {
    storeKind: 'SecretStore',
    storeName: 'direct',
    storeNamespace: ns,
    namespace: ns,
    clock,
    kube: {
      readSecretKey: async (ref) => {
        const value = secrets[`${ref.name}/${ref.key}`];
        if (value === undefined) return real.readSecretKey(ref, signal());
        return new TextEncoder().encode(value);
      },
      createServiceAccountToken: (ref, s) => real.createServiceAccountToken(ref, s),
      readServiceAccountAnnotations: (ref, s) => real.readServiceAccountAnnotations(ref, s),
      readConfigMapKey: (ref, s) => real.readConfigMapKey(ref, s),
    },
  };
}

async function directClient(spec: Partial<VaultProvider>, secrets: Record<string, string>, ns = 'direct'): Promise<SecretsClient> {
  return createVaultProvider().newClient(
    { server: bao.address, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'vault', key: 'token' } }, ...spec } as VaultProvider,
    directContext(ns, secrets),
  );
}

test('KV v2: whole secret as JSON, versions, metadata, not found; KV v1', async () => {
  const v1 = secrets.next('v1');
  const v2 = secrets.next('v2');
  await kvPut('app/db', { user: 'app', password: v1 });
  await kvPut('app/db', { user: 'app', password: v2, nested: { port: 5432 } }, { team: 'payments', tier: 'gold' });
  await bao.api('POST', 'kv1/app/db', { password: v1 });
  const token = await childToken();

  const client = await directClient({}, { 'vault/token': token });
  assert.deepEqual(JSON.parse(text(await client.getSecret({ key: 'app/db' }, signal()))), { user: 'app', password: v2, nested: { port: 5432 } });
  assert.equal(JSON.parse(text(await client.getSecret({ key: 'app/db', version: '1' }, signal()))).password, v1, 'version 1');
  assert.equal(JSON.parse(text(await client.getSecret({ key: 'secret/app/db' }, signal()))).password, v2, 'a key naming the mount is not prefixed twice');
  assert.deepEqual(JSON.parse(text(await client.getSecret({ key: 'app/db', metadataPolicy: 'Fetch' }, signal()))), { team: 'payments', tier: 'gold' });
  // What dataFrom[].extract does with the whole value (the controller splits it).
  const map = jsonObjectEntries(await client.getSecret({ key: 'app/db' }, signal()), 'app/db');
  assert.deepEqual(Object.fromEntries(Object.entries(map).map(([k, v]) => [k, text(v)])), { user: 'app', password: v2, nested: '{"port":5432}' });
  await assert.rejects(client.getSecret({ key: 'app/missing' }, signal()), NoSecretError);
  await assert.rejects(client.getSecret({ key: 'app/db', version: '9' }, signal()), NoSecretError);
  await assert.rejects(client.getSecret({ key: 'app/db', version: 'latest' }, signal()), TerminalError);
  assert.equal(await client.validate(signal()), 'Ready');
  await client.close();

  const kv1 = await directClient({ path: 'kv1', version: 'v1' }, { 'vault/token': token });
  assert.deepEqual(JSON.parse(text(await kv1.getSecret({ key: 'app/db' }, signal()))), { password: v1 });
  await assert.rejects(kv1.getSecret({ key: 'app/db', version: '1' }, signal()), /KV v1 keeps no versions/);
  await assert.rejects(kv1.getSecret({ key: 'app/db', metadataPolicy: 'Fetch' }, signal()), /only KV v2/);
  await kv1.close();

  // No mount in the store: the key carries it.
  const bare = await directClient({ path: undefined }, { 'vault/token': token });
  assert.equal(JSON.parse(text(await bare.getSecret({ key: 'secret/app/db' }, signal()))).password, v2);
  await assert.rejects(bare.getSecret({ key: 'db' }, signal()), /must start with the KV mount/);
  await bare.close();
});

test('caProvider type ConfigMap: the CA kept in a ConfigMap verifies an OpenBao served over TLS; the namespace rule holds', async () => {
  const tlsBao = await startOpenBao({ tls: true });
  try {
    const password = secrets.next('tls');
    await tlsBao.api('POST', 'secret/data/app/tls', { data: { password } });
    const ns = await namespaces.create(kube);
    await kube.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'vault-ca' }, data: { 'ca.crt': tlsBao.caPem! } } });
    const spec = (caProvider?: VaultProvider['caProvider']) =>
      ({ server: tlsBao.address, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'vault', key: 'token' } }, ...(caProvider ? { caProvider } : {}) }) as VaultProvider;
    const ctx = directContext(ns, { 'vault/token': tlsBao.rootToken });

    const verified = await createVaultProvider().newClient(spec({ type: 'ConfigMap', name: 'vault-ca', key: 'ca.crt' }), ctx);
    assert.equal(JSON.parse(text(await verified.getSecret({ key: 'app/tls' }, signal()))).password, password);
    assert.equal(await verified.validate(signal()), 'Ready');
    await verified.close();

    // Without the CA the server's certificate is not trusted: the read fails, naming the server.
    const untrusted = await createVaultProvider().newClient(spec(), ctx);
    await assert.rejects(untrusted.getSecret({ key: 'app/tls' }, signal()), /cannot reach https:\/\/127\.0\.0\.1:\d+ .*(certificate|self-signed)/i);
    await untrusted.close();

    // A SecretStore reaches only its own namespace; a missing key is named.
    await assert.rejects(
      createVaultProvider().newClient(spec({ type: 'ConfigMap', name: 'vault-ca', key: 'ca.crt', namespace: 'default' }), ctx),
      (err: unknown) => err instanceof TerminalError && /may not use ConfigMap vault-ca in namespace default/.test(err.message),
    );
    await assert.rejects(createVaultProvider().newClient(spec({ type: 'ConfigMap', name: 'vault-ca', key: 'nope' }), ctx), /ConfigMap .*\/vault-ca .* has no key nope/);
    await assert.rejects(createVaultProvider().newClient(spec({ type: 'ConfigMap', name: 'absent', key: 'ca.crt' }), ctx), /ConfigMap .*\/absent .* does not exist/);
  } finally {
    await tlsBao.stop();
  }
});

test('find: recursive list by path and name regexp, tags from custom_metadata', async () => {
  const a = secrets.next('a');
  const b = secrets.next('b');
  const c = secrets.next('c');
  await kvPut('find/team-a/db', { password: a }, { env: 'prod' });
  await kvPut('find/team-a/deep/cache', { password: b }, { env: 'dev' });
  await kvPut('find/team-b/db', { password: c }, { env: 'prod' });
  const client = await directClient({}, { 'vault/token': await childToken() });
  const keys = async (find: Parameters<SecretsClient['getAllSecrets']>[0]) => Object.keys(await client.getAllSecrets(find, signal())).sort();
  assert.deepEqual(await keys({ path: 'find' }), ['find/team-a/db', 'find/team-a/deep/cache', 'find/team-b/db']);
  assert.deepEqual(await keys({ path: 'find/team-a' }), ['find/team-a/db', 'find/team-a/deep/cache']);
  assert.deepEqual(await keys({ path: 'find', name: { regexp: '/db$' } }), ['find/team-a/db', 'find/team-b/db']);
  assert.deepEqual(await keys({ path: 'find', tags: { env: 'prod' } }), ['find/team-a/db', 'find/team-b/db']);
  assert.deepEqual(await keys({ path: 'find/nothing-here' }), []);
  const found = await client.getAllSecrets({ path: 'find/team-a', name: { regexp: 'cache' } }, signal());
  assert.deepEqual(JSON.parse(text(found['find/team-a/deep/cache']!)), { password: b });
  await client.close();
});

test('through the operator: token auth, property, metadataPolicy, dataFrom extract and find', async () => {
  const ns = await namespaces.create(kube);
  const password = secrets.next('pw');
  await kvPut(`app/${ns}`, { user: 'app', password, nested: { host: 'db.local' } }, { owner: 'team-a' });
  await kvPut(`app/${ns}-x/one`, { value: secrets.next('one') });
  await makeSecret(ns, 'vault-token', { token: await childToken() });
  await createObject(kube, Plural.SecretStore, store('vault', { auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'vault', status: 'True' });
  await createObject(
    kube,
    Plural.ExternalSecret,
    es('db', 'vault', {
      data: [
        { secretKey: 'password', remoteRef: { key: `app/${ns}`, property: 'password' } },
        { secretKey: 'host', remoteRef: { key: `app/${ns}`, property: 'nested.host' } },
        { secretKey: 'owner', remoteRef: { key: `app/${ns}`, property: 'owner', metadataPolicy: 'Fetch' } },
      ],
      dataFrom: [{ extract: { key: `app/${ns}` }, rewrite: [{ regexp: { source: '^', target: 'all-' } }] }],
    }),
    ns,
  );
  await waitSecretData(kube, ns, 'db', { password, host: 'db.local', owner: 'team-a', 'all-user': 'app', 'all-password': password, 'all-nested': '{"host":"db.local"}' });

  // A path the token's policy does not cover: a clear condition, not a crash.
  await createObject(kube, Plural.ExternalSecret, es('missing', 'vault', { data: [{ secretKey: 'x', remoteRef: { key: `app/${ns}-absent` } }] }), ns);
  await waitReady(kube, { namespace: ns, name: 'missing', status: 'False', message: /not found|no such secret/i });
});

test('kubernetes auth: a minted ServiceAccount token logs in through TokenReview; a ServiceAccount the role does not allow is refused', async () => {
  const ns = await namespaces.create(kube);
  const password = secrets.next('k8s');
  await kvPut(`app/k8s-${ns}`, { password });
  await serviceAccount(ns, 'app');
  await serviceAccount(ns, 'intruder');
  await bao.api('POST', `auth/kubernetes/role/${ns}`, {
    bound_service_account_names: ['app'],
    bound_service_account_namespaces: [ns],
    // secret-relay mints the ServiceAccount token with audience vault (never the apiserver's own).
    audience: 'vault',
    token_policies: ['read-app'],
    token_ttl: '10m',
  });
  await createObject(kube, Plural.SecretStore, store('vault', { auth: { kubernetes: { role: ns, serviceAccountRef: { name: 'app' } } } }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'vault', status: 'True' });
  await createObject(kube, Plural.ExternalSecret, es('db', 'vault', { data: [{ secretKey: 'password', remoteRef: { key: `app/k8s-${ns}`, property: 'password' } }] }), ns);
  await waitSecretData(kube, ns, 'db', { password });

  await createObject(kube, Plural.SecretStore, store('refused', { auth: { kubernetes: { role: ns, serviceAccountRef: { name: 'intruder' } } } }), ns);
  const refused = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'refused', status: 'False' });
  assert.match(refused.message, /login at auth\/kubernetes\/login/);
  assert.match(refused.message, /not authorized|permission denied|service account name not authorized/i);

  await createObject(kube, Plural.SecretStore, store('no-account', { auth: { kubernetes: { role: ns, serviceAccountRef: { name: 'ghost' } } } }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'no-account', status: 'False', message: /ServiceAccount .*ghost.* does not exist/ });
});

test("the operator's own identity: a ClusterSecretStore logs in with a token minted for the operator's ServiceAccount (audience vault); a SecretStore may not", async () => {
  const ns = await namespaces.create(kube);
  const password = secrets.next('operator-identity');
  await kvPut(`app/own-${ns}`, { password });
  await kube.core.createNamespacedServiceAccount({ namespace: 'secret-relay-system', body: { metadata: { name: 'secret-relay' } } }).catch(ignoreConflict);
  await bao.api('POST', `auth/kubernetes/role/operator-${ns}`, {
    bound_service_account_names: ['secret-relay'],
    bound_service_account_namespaces: ['secret-relay-system'],
    // The mounted token (the apiserver's audience) would be refused: only a minted vault-audience token logs in.
    audience: 'vault',
    token_policies: ['read-app'],
    token_ttl: '10m',
  });
  const name = `operator-${ns}`;
  await createObject(kube, Plural.ClusterSecretStore, store(name, { auth: { kubernetes: { role: name } } }, 'ClusterSecretStore'));
  await waitReady(kube, { plural: Plural.ClusterSecretStore, name, status: 'True' });
  await createObject(kube, Plural.ExternalSecret, es('db', name, { data: [{ secretKey: 'password', remoteRef: { key: `app/own-${ns}`, property: 'password' } }] }, 'ClusterSecretStore'), ns);
  await waitSecretData(kube, ns, 'db', { password });
  assert.ok(op.audit.lines.some((l) => l.includes("as the operator's ServiceAccount")), 'the audit record names the operator as the identity');

  await createObject(kube, Plural.SecretStore, store('own', { auth: { kubernetes: { role: name } } }), ns);
  const refused = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'own', status: 'False', reason: 'OperatorIdentityNotAllowed' });
  assert.match(refused.message, /only ClusterSecretStores may use \(--operator-identity=cluster-stores\); give the store an identity of its own \(auth\.kubernetes\.serviceAccountRef\)/);
  await deleteObject(kube, Plural.ClusterSecretStore, name);
});

test('jwt auth with a minted ServiceAccount token; AppRole with roleRef; userpass', async () => {
  const ns = await namespaces.create(kube);
  const password = secrets.next('multi');
  await kvPut(`app/multi-${ns}`, { password });
  await serviceAccount(ns, 'app');
  await bao.api('POST', `auth/jwt/role/${ns}`, {
    role_type: 'jwt',
    bound_audiences: ['vault'],
    user_claim: 'sub',
    bound_subject: `system:serviceaccount:${ns}:app`,
    token_policies: ['read-app'],
    token_ttl: '10m',
  });
  await bao.api('POST', `auth/approle/role/${ns}`, { token_policies: ['read-app'], token_ttl: '10m' });
  const roleId = ((await bao.api('GET', `auth/approle/role/${ns}/role-id`))!['data'] as { role_id: string }).role_id;
  const secretId = ((await bao.api('POST', `auth/approle/role/${ns}/secret-id`, {}))!['data'] as { secret_id: string }).secret_id;
  const userPassword = secrets.next('userpass');
  await bao.api('POST', `auth/userpass/users/${ns}`, { password: userPassword, token_policies: ['read-app'], token_ttl: '10m' });
  await makeSecret(ns, 'creds', { roleId, secretId, password: userPassword });
  secrets.add(secretId);

  const stores = {
    jwt: { jwt: { role: ns, kubernetesServiceAccountToken: { serviceAccountRef: { name: 'app' } } } },
    approle: { appRole: { roleRef: { name: 'creds', key: 'roleId' }, secretRef: { name: 'creds', key: 'secretId' } } },
    userpass: { userPass: { username: ns, secretRef: { name: 'creds', key: 'password' } } },
  };
  for (const [name, auth] of Object.entries(stores)) {
    await createObject(kube, Plural.SecretStore, store(name, { auth }), ns);
    await createObject(kube, Plural.ExternalSecret, es(name, name, { data: [{ secretKey: 'password', remoteRef: { key: `app/multi-${ns}`, property: 'password' } }] }), ns);
  }
  for (const name of Object.keys(stores)) await waitSecretData(kube, ns, name, { password });

  // A JWT for another subject is refused by the role's bound_subject.
  await serviceAccount(ns, 'other');
  await createObject(kube, Plural.SecretStore, store('jwt-other', { auth: { jwt: { role: ns, kubernetesServiceAccountToken: { serviceAccountRef: { name: 'other' } } } } }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'jwt-other', status: 'False', message: /login at auth\/jwt\/login/ });
  // A wrong password: refused, and the message says which method.
  await makeSecret(ns, 'wrong', { password: secrets.next('wrong') });
  await createObject(kube, Plural.SecretStore, store('userpass-wrong', { auth: { userPass: { username: ns, secretRef: { name: 'wrong', key: 'password' } } } }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'userpass-wrong', status: 'False', message: /login at auth\/userpass\/login\/.*invalid/i });
});

test('token lifecycle: reused while valid, renewed past two thirds of its TTL, re-login when renewal fails or the token is revoked, revoked on close', async () => {
  const ns = await namespaces.create(kube);
  await bao.api('POST', `auth/approle/role/life-${ns}`, { token_policies: ['read-all'], token_ttl: '60s', token_max_ttl: '1h' });
  const roleId = ((await bao.api('GET', `auth/approle/role/life-${ns}/role-id`))!['data'] as { role_id: string }).role_id;
  const secretId = ((await bao.api('POST', `auth/approle/role/life-${ns}/secret-id`, {}))!['data'] as { secret_id: string }).secret_id;
  secrets.add(secretId);
  await kvPut('life/x', { v: secrets.next('life') });
  let offset = 0;
  const clock: Clock = { now: () => Date.now() + offset };
  const connection = await connectVault(
    { server: bao.address, path: 'secret', version: 'v2', auth: { appRole: { path: 'approle', roleId, secretRef: { name: 's', key: 'id' } } } } as VaultProvider,
    directContext(ns, { 's/id': secretId }, clock),
    { clock },
    signal(),
  );
  const { tokens } = connection.session;
  const first = await tokens.token(signal());
  assert.equal(await tokens.token(signal()), first, 'reused while fresh');
  assert.deepEqual(tokens.stats(), { logins: 1, renewals: 0, failedRenewals: 0, revocations: 0 });

  offset = 45_000; // past 2/3 of 60 s
  assert.equal(await tokens.token(signal()), first, 'renewal keeps the token');
  assert.equal(tokens.stats().renewals, 1);
  const lookup = (await bao.api('POST', 'auth/token/lookup', { token: first }))!['data'] as { ttl: number; last_renewal_time?: number };
  assert.ok(lookup.last_renewal_time, 'OpenBao records the renewal');

  // Revoked behind our back: the next renewal fails and a new login follows.
  await bao.api('POST', 'auth/token/revoke', { token: first });
  offset += 45_000;
  const second = await tokens.token(signal());
  assert.notEqual(second, first);
  assert.deepEqual({ ...tokens.stats(), revocations: 0 }, { logins: 2, renewals: 1, failedRenewals: 1, revocations: 0 });

  // Revoked while fresh: the read is refused (403), the session logs in again and the read succeeds.
  await bao.api('POST', 'auth/token/revoke', { token: second });
  const read = await connection.session.request({ method: 'GET', path: 'secret/data/life/x', signal: signal() }, 'read');
  assert.ok(read?.data);
  const third = connection.session.tokens.current()!.token;
  assert.notEqual(third, second);
  assert.equal(tokens.stats().logins, 3);

  await connection.close(signal());
  const gone = await bao.raw('POST', 'auth/token/lookup', { token: third });
  assert.equal(gone.status, 403, 'close() revoked the token');
});

test('deleting a store revokes its token; a token from a Secret is never revoked', async () => {
  const ns = await namespaces.create(kube);
  await bao.api('POST', `auth/approle/role/del-${ns}`, { token_policies: ['read-all'], token_ttl: '10m' });
  const roleId = ((await bao.api('GET', `auth/approle/role/del-${ns}/role-id`))!['data'] as { role_id: string }).role_id;
  const secretId = ((await bao.api('POST', `auth/approle/role/del-${ns}/secret-id`, {}))!['data'] as { secret_id: string }).secret_id;
  secrets.add(secretId);
  const userToken = await childToken();
  await makeSecret(ns, 'creds', { secretId, token: userToken });
  await createObject(kube, Plural.SecretStore, store('approle', { auth: { appRole: { roleId, secretRef: { name: 'creds', key: 'secretId' } } } }), ns);
  await createObject(kube, Plural.SecretStore, store('token', { auth: { tokenSecretRef: { name: 'creds', key: 'token' } } }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'approle', status: 'True' });
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'token', status: 'True' });

  const approleTokens = async () => {
    const list = (await bao.api('LIST', 'auth/token/accessors'))!['data'] as { keys: string[] };
    let count = 0;
    for (const accessor of list.keys) {
      const info = await bao.raw('POST', 'auth/token/lookup-accessor', { accessor });
      const meta = (info.body?.['data'] as { meta?: Record<string, string> } | undefined)?.meta;
      if (meta?.['role_name'] === `del-${ns}`) count++;
    }
    return count;
  };
  assert.equal(await approleTokens(), 1, 'one login for the store');
  await deleteObject(kube, Plural.SecretStore, 'approle', ns);
  await deleteObject(kube, Plural.SecretStore, 'token', ns);
  await waitFor('the AppRole token to be revoked after the store was deleted', async () => (await approleTokens()) === 0);
  const stillThere = await bao.raw('POST', 'auth/token/lookup', { token: userToken });
  assert.equal(stillThere.status, 200, "the user's own token stays valid");
});

test('no secret value appears in any log line, audit record, Event or status written during the suite', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets });
});
