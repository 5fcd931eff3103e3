// The alibaba provider against the fake KMS and STS (test/fakes/alibaba/server.ts) and the real control plane: the
// official SDKs sign every KMS request (checked in full by the fake), RRSA tokens are minted by the real apiserver and
// verified against its JWKS. Every secret value used is remembered and searched for in logs, audit, Events and status.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, createObject, eventNotes, Plural, readSecret, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData, refreshTimesIn } from '../support/integration.ts';
import { startAlibabaFake, type AlibabaFake, type Allow } from '../fakes/alibaba/server.ts';
import type { TestKube } from '../support/kube.ts';
import { createKubeClient, type KubeClient } from '../../src/k8s/kube-client.ts';
import { createStoreKubeAccess } from '../../src/k8s/store-access.ts';
import { createAlibabaProvider } from '../../src/providers/alibaba/provider.ts';
import type { AlibabaProvider } from '../../src/api/types.generated.ts';
import { NoSecretError, TerminalError, ThrottledError, type Provider, type SecretsClient, type StoreContext } from '../../src/providers/provider.ts';
import { systemClock } from '../../src/util/clock.ts';
import { defaultHoldResultsMs } from '../../src/providers/shared-calls.ts';
import { unusedKubeAccess } from '../support/store-kube-access.ts';

const REGION = 'cn-hangzhou';
const UID = '1234567890123456';
/** --service-account-issuer of the test control plane (test/support/cluster.ts). */
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const OIDC_PROVIDER = `acs:ram::${UID}:oidc-provider/ack-rrsa-test`;
const roleArn = (name: string) => `acs:ram::${UID}:role/${name}`;
const subjectOf = (ns: string, name: string) => `system:serviceaccount:${ns}:${name}`;

let cluster: LocalCluster;
let kube: TestKube;
/** The operator's own client, for the src code these tests call directly (createStoreKubeAccess). */
let operatorKube: KubeClient;
let fake: AlibabaFake;
let op: TestOperator;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('alibaba');
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const signal = () => AbortSignal.timeout(30_000);

/**
 * The alibaba provider as the operator runs it, except that stores named tampered-* get TokenRequest tokens with one
 * byte of their signature changed: the only way to hand the fake STS a forged token through the real operator.
 */
function tamperingAlibabaProvider(): Provider<AlibabaProvider> {
  const real = createAlibabaProvider();
  return {
    ...real,
    newClient(spec, ctx) {
      if (!ctx.storeName.startsWith('tampered-')) return real.newClient(spec, ctx);
      const kubeAccess = {
        ...ctx.kube,
        async createServiceAccountToken(ref: Parameters<StoreContext['kube']['createServiceAccountToken']>[0], s: AbortSignal) {
          const minted = await ctx.kube.createServiceAccountToken(ref, s);
          const [header, payload, signature] = minted.token.split('.');
          const bytes = Buffer.from(signature!, 'base64url');
          bytes[0] = bytes[0]! ^ 0x01;
          return { ...minted, token: `${header}.${payload}.${bytes.toString('base64url')}` };
        },
      };
      return real.newClient(spec, { ...ctx, kube: kubeAccess });
    },
  };
}

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  operatorKube = createKubeClient({ kubeconfigPath: cluster.kubeconfigPath });
  fake = await startAlibabaFake({ kubeconfigPath: cluster.kubeconfigPath });
  op = await startTestOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    args: ['--leader-elect=false', '--concurrency=4', '--refresh-time-period=0' /* the refresh-wave test reads each refresh from status.refreshTime */, '--trusted-endpoint-hosts=127.0.0.1' /* the fakes' endpoints */],
    providers: [tamperingAlibabaProvider()],
  });
});

after(async () => {
  await stopTestOperator(op, 'alibaba');
  await fake?.stop();
  await operatorKube?.close();
  await cluster?.stop();
});

beforeEach(() => {
  fake.reset();
  fake.addOidcProvider({ arn: OIDC_PROVIDER, issuer: ISSUER });
});

/** A static AccessKey in the fake and in a Secret of `ns`; returns the auth block using it. */
async function staticKeys(ns: string, allow?: Allow, name = 'alibaba-keys'): Promise<AlibabaProvider['auth']> {
  const id = `LTAI${randomBytes(8).toString('hex')}`;
  const secret = secrets.next('access-key-secret');
  fake.addAccessKey({ id, secret, ...(allow ? { allow } : {}) });
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name }, stringData: { id, secret } } });
  return { secretRef: { accessKeyIDSecretRef: { name, key: 'id' }, accessKeySecretSecretRef: { name, key: 'secret' } } };
}

/** A provider client straight from the provider (no operator), with a static key, for the read-path tests. */
async function directClient(allow?: Allow): Promise<SecretsClient> {
  const id = `LTAI${randomBytes(8).toString('hex')}`;
  const secret = secrets.next('direct-secret');
  fake.addAccessKey({ id, secret, ...(allow ? { allow } : {}) });
  const ctx: StoreContext = {
    storeKind: 'SecretStore',
    storeName: 'direct',
    storeNamespace: 'direct',
    namespace: 'direct',
    clock: systemClock,
    kube: { ...unusedKubeAccess,
      readSecretKey: async (ref) => new TextEncoder().encode(ref.key === 'id' ? id : secret),
      createServiceAccountToken: async () => {
        throw new Error('not used');
      },
    },
  };
  return createAlibabaProvider().newClient(
    { regionID: REGION, endpoint: fake.kmsEndpoint, auth: { secretRef: { accessKeyIDSecretRef: { name: 'k', key: 'id' }, accessKeySecretSecretRef: { name: 'k', key: 'secret' } } } },
    ctx,
  );
}

function rrsa(serviceAccount: { name: string; namespace?: string }, role: string, extra: Record<string, unknown> = {}): AlibabaProvider['auth'] {
  return { rrsa: { oidcProviderArn: OIDC_PROVIDER, roleArn: role, serviceAccountRef: serviceAccount, stsEndpoint: fake.stsEndpoint, ...extra } };
}

function store(name: string, alibaba: Partial<AlibabaProvider>, kind: 'SecretStore' | 'ClusterSecretStore' = 'SecretStore') {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind, metadata: { name }, spec: { provider: { alibaba: { regionID: REGION, endpoint: fake.kmsEndpoint, ...alibaba } } } };
}

function es(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name }, spec };
}

async function serviceAccount(ns: string, name: string): Promise<void> {
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
}

test('reads: ACSCurrent by default, ACSPrevious, a custom stage and VersionIds; text and binary; metadata; missing → NoSecretError', async () => {
  const v1 = secrets.next('v1');
  const v2 = secrets.next('v2');
  const blue = secrets.next('blue');
  fake.putSecret('app-db', { data: JSON.stringify({ user: 'app', password: v1 }), versionId: 'first', tags: { team: 'a', env: 'prod' }, description: 'the app database' });
  fake.putSecret('app-db', { data: JSON.stringify({ user: 'app', password: v2 }) });
  fake.putSecret('app-db', { data: JSON.stringify({ user: 'app', password: blue }), stages: ['blue'] });
  const binary = new Uint8Array([0, 1, 2, 254, 255, ...randomBytes(16)]);
  fake.putSecret('app-cert', { data: binary });

  const client = await directClient();
  const password = async (version?: string) => JSON.parse(text(await client.getSecret({ key: 'app-db', ...(version ? { version } : {}) }, signal()))).password;
  assert.equal(await password(), v2, 'no version: ACSCurrent');
  assert.equal(await password('ACSCurrent'), v2);
  assert.equal(await password('ACSPrevious'), v1);
  assert.equal(await password('stage/blue'), blue, 'a custom stage');
  assert.equal(await password('first'), v1, 'a bare version is a VersionId, as in ESO');
  assert.equal(await password('versionId/first'), v1, 'an explicit VersionId');
  assert.deepEqual(await client.getSecret({ key: 'app-cert' }, signal()), binary, 'SecretDataType binary comes back byte for byte');
  const metadata = JSON.parse(text(await client.getSecret({ key: 'app-db', metadataPolicy: 'Fetch' }, signal())));
  assert.deepEqual(metadata, { description: 'the app database', tags: { team: 'a', env: 'prod' } }, 'metadataPolicy Fetch: tags and description');
  assert.equal(fake.count('kms:DescribeSecret'), 1);
  await assert.rejects(client.getSecret({ key: 'app-db', version: 'stage/no-such-stage' }, signal()), (error: Error) => error instanceof NoSecretError && /Forbidden\.ResourceNotFound/.test(error.message));
  await assert.rejects(client.getSecret({ key: 'no-such-secret' }, signal()), NoSecretError);
  fake.scheduleDeletion('app-cert');
  await assert.rejects(client.getSecret({ key: 'app-cert' }, signal()), NoSecretError, 'a secret scheduled for deletion reads as gone');
  // DescribeSecret still describes it (with PlannedDeleteTime): its metadata reads as gone too.
  await assert.rejects(client.getSecret({ key: 'app-cert', metadataPolicy: 'Fetch' }, signal()), NoSecretError, 'metadataPolicy Fetch of a secret scheduled for deletion');
  // Should KMS refuse the value read of such a secret as in its deletion window (not confirmed either way), it reads
  // as gone as well.
  fake.inject({ action: 'kms:GetSecretValue', code: 'Rejected.ResourceInDeleteWindow', status: 409, times: 1 });
  await assert.rejects(client.getSecret({ key: 'app-cert' }, signal()), NoSecretError, 'Rejected.ResourceInDeleteWindow on a read');
  // Every request the SDK sent passed the fake's full signature, nonce and timestamp checks.
  assert.ok(fake.requests.every((r) => r.refused === undefined || r.refused === 'Forbidden.ResourceNotFound' || r.refused === 'Rejected.ResourceInDeleteWindow'), JSON.stringify(fake.requests.filter((r) => r.refused)));
  await client.close();
});

test('find: name regexp, tags (ListSecrets Filters) and a name prefix, across pages of 100; then GetSecretValue per match', async () => {
  const values = new Map<string, string>();
  for (let i = 0; i < 130; i++) {
    const name = `find-${String(i).padStart(3, '0')}`;
    const value = secrets.next('find');
    values.set(name, value);
    fake.putSecret(name, { data: value, tags: { team: i % 2 === 0 ? 'a' : 'b' } });
  }
  fake.putSecret('elsewhere', { data: secrets.next('other'), tags: { team: 'a' } });
  fake.putSecret('find-deleted', { data: secrets.next('deleted'), tags: { team: 'a' } });
  fake.scheduleDeletion('find-deleted');
  const client = await directClient();

  fake.clearRequests();
  const byName = await client.getAllSecrets({ name: { regexp: '^find-0[0-9]{2}$' } }, signal());
  assert.equal(Object.keys(byName).length, 100);
  assert.equal(text(byName['find-042']!), values.get('find-042'));
  assert.equal(fake.count('kms:ListSecrets'), 2, '132 secrets: two pages of 100');
  assert.equal(fake.count('kms:GetSecretValue'), 100, 'one read per match');

  fake.clearRequests();
  const byTag = await client.getAllSecrets({ tags: { team: 'a' } }, signal());
  assert.deepEqual(Object.keys(byTag).sort(), [...[...values.keys()].filter((_, i) => i % 2 === 0), 'elsewhere'].sort(), 'tag filter; a secret scheduled for deletion is left out');
  assert.equal(fake.count('kms:ListSecrets'), 1, 'the TagKey/TagValue filters narrowed the listing to one page');
  const both = await client.getAllSecrets({ path: 'find-1', tags: { team: 'b' }, name: { regexp: '[13579]$' } }, signal());
  assert.deepEqual(Object.keys(both).sort(), [...values.keys()].filter((n, i) => n.startsWith('find-1') && i % 2 === 1).sort());
  await assert.rejects(client.getAllSecrets({ name: { regexp: '(' } }, signal()), /not a valid Go regular expression/);
  await client.close();
});

test('errors: NoPermission names the secret, region and identity; Throttling → ThrottledError; a wrong AccessKey secret is refused', async () => {
  fake.putSecret('locked', { data: secrets.next('locked') });
  fake.putSecret('open', { data: secrets.next('open') });
  const client = await directClient((action, name) => action !== 'kms:GetSecretValue' || name !== 'locked');
  await assert.rejects(client.getSecret({ key: 'locked' }, signal()), (error: Error) => {
    assert.ok(error instanceof TerminalError);
    assert.match(error.message, /^Alibaba Cloud denied kms:GetSecretValue on "locked" in region cn-hangzhou to static AccessKey from Secret direct\/k \(Forbidden\.NoPermission, HTTP 403, RequestId [0-9A-F-]+\)/);
    return true;
  });
  fake.inject({ action: 'kms:GetSecretValue', status: 400, code: 'Throttling.User', message: 'Request was denied due to user flow control.', times: 1 });
  await assert.rejects(client.getSecret({ key: 'open' }, signal()), (error: Error) => error instanceof ThrottledError && /throttled kms:GetSecretValue on "open"/.test(error.message));
  assert.ok((await client.getSecret({ key: 'open' }, signal())).length > 0, 'the next read goes through');

  // The same key id with another secret: the signature does not match.
  const id = 'LTAIwrongsecret00';
  fake.addAccessKey({ id, secret: 'the-real-one' });
  const ctx: StoreContext = {
    storeKind: 'SecretStore', storeName: 'wrong', storeNamespace: 'direct', namespace: 'direct', clock: systemClock,
    kube: { ...unusedKubeAccess, readSecretKey: async (ref) => new TextEncoder().encode(ref.key === 'id' ? id : 'not-the-secret'), createServiceAccountToken: async () => { throw new Error('not used'); } },
  };
  const wrong = await createAlibabaProvider().newClient({ regionID: REGION, endpoint: fake.kmsEndpoint, auth: { secretRef: { accessKeyIDSecretRef: { name: 'k', key: 'id' }, accessKeySecretSecretRef: { name: 'k', key: 'secret' } } } }, ctx);
  await assert.rejects(wrong.validate(signal()), (error: Error) => error instanceof TerminalError && /SignatureDoesNotMatch/.test(error.message) && /check the AccessKey pair/.test(error.message));
  assert.ok(fake.requests.some((r) => r.refused === 'SignatureDoesNotMatch'));
});

test('RRSA end to end: a TokenRequest token per store, verified by STS against the apiserver JWKS; property, dataFrom and find', async () => {
  const ns = await namespaces.create(kube);
  const role = roleArn('rrsa-reader');
  await serviceAccount(ns, 'reader');
  fake.addRole({ arn: role, oidcProviderArn: OIDC_PROVIDER, subjects: [subjectOf(ns, 'reader')], allow: () => true });
  const password = secrets.next('rrsa-password');
  const apiKey = secrets.next('rrsa-api');
  fake.putSecret('rrsa-db', { data: JSON.stringify({ db: { password }, user: 'app' }) });
  fake.putSecret('rrsa-api', { data: apiKey, tags: { app: 'rrsa' } });

  await createObject(kube, Plural.SecretStore, store('alibaba', { auth: rrsa({ name: 'reader' }, role) }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'alibaba', status: 'True' });
  await createObject(kube, Plural.ExternalSecret, es('db', {
    secretStoreRef: { name: 'alibaba' },
    refreshInterval: '1h',
    data: [{ secretKey: 'password', remoteRef: { key: 'rrsa-db', property: 'db.password' } }],
    dataFrom: [{ extract: { key: 'rrsa-db' } }, { find: { tags: { app: 'rrsa' } } }],
  }), ns);
  await waitSecretData(kube, ns, 'db', { password, db: JSON.stringify({ password }), user: 'app', 'rrsa-api': apiKey });

  const exchanges = fake.requests.filter((r) => r.action === 'sts:AssumeRoleWithOIDC');
  assert.equal(exchanges.length, 1, 'one AssumeRoleWithOIDC serves the store validation and the ExternalSecret');
  assert.equal(exchanges[0]!.refused, undefined);
  assert.ok(fake.requests.filter((r) => r.action.startsWith('kms:')).every((r) => r.principal === role && r.refused === undefined), 'every KMS read was signed with the role session and its SecurityToken');
});

test('refusals: wrong audience, untrusted subject, tampered signature, expired SecurityToken → a clear condition and nothing written', async () => {
  const ns = await namespaces.create(kube);
  await serviceAccount(ns, 'reader');
  await serviceAccount(ns, 'stranger');
  fake.putSecret('guarded', { data: secrets.next('guarded') });
  const trusted = roleArn('trusted');
  fake.addRole({ arn: trusted, oidcProviderArn: OIDC_PROVIDER, subjects: [subjectOf(ns, 'reader')], allow: () => true });
  const wrongAudienceProvider = `acs:ram::${UID}:oidc-provider/other-audience`;
  fake.addOidcProvider({ arn: wrongAudienceProvider, issuer: ISSUER, clientIds: ['not-sts'] });
  fake.addRole({ arn: roleArn('other-audience'), oidcProviderArn: wrongAudienceProvider, subjects: [subjectOf(ns, 'reader')], allow: () => true });

  const cases: { store: string; auth: AlibabaProvider['auth']; message: RegExp }[] = [
    { store: 'wrong-audience', auth: { rrsa: { oidcProviderArn: wrongAudienceProvider, roleArn: roleArn('other-audience'), serviceAccountRef: { name: 'reader' }, stsEndpoint: fake.stsEndpoint } }, message: /AuthenticationFail\.OIDCToken\.ClientIdNotMatch/ },
    { store: 'untrusted', auth: rrsa({ name: 'stranger' }, trusted), message: /AuthenticationFail\.NoPermission/ },
    { store: 'tampered-token', auth: rrsa({ name: 'reader' }, trusted), message: /AuthenticationFail\.OIDCToken\.Invalid/ },
  ];
  for (const c of cases) {
    await createObject(kube, Plural.SecretStore, store(c.store, { auth: c.auth }), ns);
    await createObject(kube, Plural.ExternalSecret, es(c.store, { secretStoreRef: { name: c.store }, data: [{ secretKey: 'v', remoteRef: { key: 'guarded' } }] }), ns);
  }
  for (const c of cases) {
    const storeReady = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: c.store, status: 'False', message: c.message });
    assert.match(storeReady.message, /^.*Alibaba Cloud denied sts:AssumeRoleWithOIDC on "acs:ram::\d+:role\/[\w-]+" in region cn-hangzhou to role .* \(ServiceAccount /);
    assert.match(storeReady.message, /trust policy/);
    assert.ok(!storeReady.message.includes('\n'), 'one line');
    const esReady = await waitReady(kube, { namespace: ns, name: c.store, status: 'False', message: c.message });
    assert.doesNotMatch(esReady.message, /eyJ/, 'no token in the message');
    assert.equal(await readSecret(kube, ns, c.store), undefined, `${c.store}: nothing written`);
  }
  assert.ok(fake.requests.some((r) => r.refused === 'AuthenticationFail.OIDCToken.Invalid'));

  // Sessions STS itself considers expired although their Expiration lies ahead (revoked, or a skewed clock): the
  // provider renews once, is refused again, and reports it instead of retrying forever.
  const revoked = roleArn('revoked');
  fake.addRole({ arn: revoked, oidcProviderArn: OIDC_PROVIDER, subjects: [subjectOf(ns, 'reader')], allow: () => true, sessionsExpireAfterMs: 0 });
  await createObject(kube, Plural.SecretStore, store('expired-token', { auth: rrsa({ name: 'reader' }, revoked) }), ns);
  await createObject(kube, Plural.ExternalSecret, es('expired-token', { secretStoreRef: { name: 'expired-token' }, data: [{ secretKey: 'v', remoteRef: { key: 'guarded' } }] }), ns);
  const expired = await waitReady(kube, { namespace: ns, name: 'expired-token', status: 'False', message: /InvalidSecurityToken\.Expired/ });
  assert.match(expired.message, /denied kms:(GetSecretValue on "guarded"|ListSecrets) in region cn-hangzhou to role acs:ram::\d+:role\/revoked/);
  const exchanges = fake.requests.filter((r) => r.action === 'sts:AssumeRoleWithOIDC' && r.principal === revoked).length;
  assert.ok(exchanges >= 2, `renewed after the first refusal (${exchanges} exchanges)`);
  assert.equal(await readSecret(kube, ns, 'expired-token'), undefined, 'nothing written');
  const notes = (await eventNotes(kube, ns)).join('\n');
  assert.match(notes, /InvalidSecurityToken\.Expired/);
});

test('an expired SecurityToken is renewed once and the read goes through; 20 reads cost one AssumeRoleWithOIDC', async () => {
  const ns = await namespaces.create(kube);
  await serviceAccount(ns, 'reader');
  const role = roleArn('renewing');
  fake.addRole({ arn: role, oidcProviderArn: OIDC_PROVIDER, subjects: [subjectOf(ns, 'reader')], allow: () => true });
  const value = secrets.next('renewed');
  fake.putSecret('renewed', { data: value });
  const ctx: StoreContext = {
    storeKind: 'SecretStore', storeName: 'direct-rrsa', storeNamespace: ns, namespace: ns, clock: systemClock,
    kube: createStoreKubeAccess(operatorKube, { onlyNamespace: ns, storeDescription: `SecretStore ${ns}/direct-rrsa` }),
  };
  const client = await createAlibabaProvider().newClient({ regionID: REGION, endpoint: fake.kmsEndpoint, auth: rrsa({ name: 'reader' }, role) }, ctx);
  const reads = await Promise.all(Array.from({ length: 20 }, () => client.getSecret({ key: 'renewed' }, signal())));
  assert.ok(reads.every((bytes) => text(bytes) === value));
  assert.equal(fake.count('sts:AssumeRoleWithOIDC'), 1, '20 reads, one exchange');
  assert.equal(fake.count('kms:GetSecretValue'), 20);
  assert.equal(client.identity, `role ${role} (ServiceAccount ${ns}/reader)`);

  fake.expireSessions();
  assert.equal(text(await client.getSecret({ key: 'renewed' }, signal())), value, 'renewed and read');
  assert.equal(fake.count('sts:AssumeRoleWithOIDC'), 2, 'one renewal');
  assert.ok(fake.requests.some((r) => r.refused === 'InvalidSecurityToken.Expired'));
  await client.close();
});

test('static keys from a Secret; a wrong AccessKey secret gives a clear condition', async () => {
  const ns = await namespaces.create(kube);
  const value = secrets.next('static');
  fake.putSecret('static', { data: value });
  await createObject(kube, Plural.SecretStore, store('alibaba', { auth: await staticKeys(ns) }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'alibaba', status: 'True' });
  await createObject(kube, Plural.ExternalSecret, es('static', { secretStoreRef: { name: 'alibaba' }, data: [{ secretKey: 'v', remoteRef: { key: 'static' } }] }), ns);
  await waitSecretData(kube, ns, 'static', { v: value });

  // A least-privilege key (GetSecretValue only) still validates: KMS authenticates before it authorizes.
  await createObject(kube, Plural.SecretStore, store('least-privilege', { auth: await staticKeys(ns, (action) => action === 'kms:GetSecretValue', 'narrow-keys') }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'least-privilege', status: 'True' });
  assert.ok(fake.requests.some((r) => r.action === 'kms:ListSecrets' && r.refused === 'Forbidden.NoPermission'));

  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'bad-keys' }, stringData: { id: 'LTAInosuchkey0000', secret: 'whatever' } } });
  await createObject(kube, Plural.SecretStore, store('bad', { auth: { secretRef: { accessKeyIDSecretRef: { name: 'bad-keys', key: 'id' }, accessKeySecretSecretRef: { name: 'bad-keys', key: 'secret' } } } }), ns);
  const bad = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'bad', status: 'False', message: /InvalidAccessKeyId\.NotFound/ });
  assert.match(bad.message, new RegExp(`to static AccessKey from Secret ${ns}/bad-keys`));
});

test('referent auth: a ClusterSecretStore acts as each ExternalSecret namespace’s own ServiceAccount', async () => {
  const team = await namespaces.create(kube);
  const other = await namespaces.create(kube);
  await serviceAccount(team, 'reader');
  await serviceAccount(other, 'reader');
  const role = roleArn('team-only');
  fake.addRole({ arn: role, oidcProviderArn: OIDC_PROVIDER, subjects: [subjectOf(team, 'reader')], allow: () => true });
  const value = secrets.next('referent');
  fake.putSecret('shared-config', { data: value });
  const cssName = `alibaba-referent-${randomBytes(3).toString('hex')}`;
  await createObject(kube, Plural.ClusterSecretStore, store(cssName, { auth: rrsa({ name: 'reader' }, role) }, 'ClusterSecretStore'));
  await waitReady(kube, { plural: Plural.ClusterSecretStore, name: cssName, status: 'Unknown' });
  const ref = { secretStoreRef: { name: cssName, kind: 'ClusterSecretStore' }, data: [{ secretKey: 'v', remoteRef: { key: 'shared-config' } }] };
  await createObject(kube, Plural.ExternalSecret, es('via-cluster', ref), team);
  await createObject(kube, Plural.ExternalSecret, es('via-cluster', ref), other);
  await waitSecretData(kube, team, 'via-cluster', { v: value });
  const refused = await waitReady(kube, { namespace: other, name: 'via-cluster', status: 'False', message: /AuthenticationFail\.NoPermission/ });
  assert.match(refused.message, new RegExp(`ServiceAccount ${other}/reader`));
  assert.equal(await readSecret(kube, other, 'via-cluster'), undefined);
});

test('rotation: a new ACSCurrent version reaches the Secret within refreshInterval + 5 s', async () => {
  const ns = await namespaces.create(kube);
  const before = secrets.next('before');
  fake.putSecret('rotating', { data: before });
  await createObject(kube, Plural.SecretStore, store('alibaba', { auth: await staticKeys(ns) }), ns);
  const refreshMs = 3000;
  await createObject(kube, Plural.ExternalSecret, es('rotating', { secretStoreRef: { name: 'alibaba' }, refreshInterval: '3s', data: [{ secretKey: 'v', remoteRef: { key: 'rotating' } }] }), ns);
  await waitSecretData(kube, ns, 'rotating', { v: before });
  const after = secrets.next('after');
  const rotated = Date.now();
  fake.putSecret('rotating', { data: after });
  await waitSecretData(kube, ns, 'rotating', { v: after }, refreshMs + 5000);
  console.log(`# rotation reached the Secret ${Date.now() - rotated} ms after the new ACSCurrent version (refreshInterval ${refreshMs} ms, shared-call hold ${defaultHoldResultsMs} ms)`);
});

test('call sharing: 100 ExternalSecrets reading 10 distinct secrets cost 10 GetSecretValue calls per refresh wave', async () => {
  const ns = await namespaces.create(kube);
  const values: string[] = [];
  for (let i = 0; i < 10; i++) {
    values.push(secrets.next(`wave-${i}`));
    fake.putSecret(`wave-${i}`, { data: values[i]! });
  }
  await createObject(kube, Plural.SecretStore, store('alibaba', { auth: await staticKeys(ns) }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'alibaba', status: 'True' });
  fake.clearRequests();
  const isWave = () => fake.requests.filter((r) => r.action === 'kms:GetSecretValue' && r.secretName?.startsWith('wave-') && r.refused === undefined).length;
  const refreshMs = 20_000;
  const created = Date.now();
  await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      createObject(kube, Plural.ExternalSecret, es(`wave-${i}`, { secretStoreRef: { name: 'alibaba' }, refreshInterval: '20s', data: [{ secretKey: 'v', remoteRef: { key: `wave-${i % 10}` } }] }), ns),
    ),
  );
  const refreshTimes = () => refreshTimesIn(kube, ns);
  const firstWave = await waitFor('100 ExternalSecrets synced', async () => {
    const times = await refreshTimes();
    return times.length === 100 && times.every((t) => t > 0) ? times : undefined;
  }, 60_000);
  const firstCalls = isWave();
  console.log(`# refresh wave 1 (create): 100 ExternalSecrets, 10 remote secrets → ${firstCalls} GetSecretValue calls; synced ${Date.now() - created} ms after creation`);
  assert.equal(firstCalls, 10);

  fake.clearRequests();
  const firstEnd = Math.max(...firstWave);
  await waitFor('the second refresh wave', async () => {
    const times = await refreshTimes();
    return times.length === 100 && times.every((t) => t > firstEnd) ? times : undefined;
  }, refreshMs + 30_000);
  const secondCalls = isWave();
  console.log(`# refresh wave 2 (periodic, 20 s): 100 ExternalSecrets → ${secondCalls} GetSecretValue calls`);
  assert.equal(secondCalls, 10);
});

test('CRD validation: exactly one auth method, readable messages', async () => {
  const ns = await namespaces.create(kube);
  const attempt = (name: string, alibaba: Record<string, unknown>) =>
    createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name }, spec: { provider: { alibaba } } }, ns).then(
      () => '',
      (error: unknown) => String((error as { body?: unknown }).body ?? error),
    );
  assert.match(await attempt('no-auth-method', { regionID: REGION, auth: {} }), /spec\.provider\.alibaba\.auth must set exactly one of rrsa and secretRef/);
  assert.match(
    await attempt('both-tokens', { regionID: REGION, auth: { rrsa: { oidcProviderArn: OIDC_PROVIDER, roleArn: roleArn('x'), serviceAccountRef: { name: 'a' }, oidcTokenFilePath: '/var/run/token' } } }),
    /spec\.provider\.alibaba\.auth\.rrsa must set exactly one of serviceAccountRef/,
  );
  assert.match(await attempt('bad-region', { regionID: 'Hangzhou', auth: {} }), /regionID must be an Alibaba Cloud region ID/);
  assert.match(
    await attempt('bad-arn', { regionID: REGION, auth: { rrsa: { oidcProviderArn: 'arn:aws:iam::1:oidc-provider/x', roleArn: roleArn('x'), serviceAccountRef: { name: 'a' } } } }),
    /oidcProviderArn must be a RAM OIDC provider ARN/,
  );
  assert.equal(await attempt('accepted', { regionID: REGION, auth: { rrsa: { oidcProviderArn: OIDC_PROVIDER, roleArn: roleArn('x'), serviceAccountRef: { name: 'a' } } } }), '', 'a valid store is accepted');
});

test('no secret value appears in any log line, audit record, Event or status written during the suite', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], expectAudit: true, kube, namespaces: namespaces.names, values: secrets, atLeast: 150 });
});
