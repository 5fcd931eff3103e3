// The aws provider against moto (Secrets Manager, Parameter Store, STS) and the real control plane.
// moto does not check web-identity tokens, so every AWS request goes through test/support/sts-web-identity-check.ts,
// which verifies them against the apiserver's JWKS, counts requests, and injects faults.
// Every secret value used is remembered and searched for in logs, audit, Events and status at the end.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, test } from 'node:test';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  type Tag,
} from '@aws-sdk/client-secrets-manager';
import { AddTagsToResourceCommand, LabelParameterVersionCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import type { Moto } from '../support/moto.ts';
import type { StsWebIdentityCheck } from '../support/sts-web-identity-check.ts';
import { AWS_REGION, directAwsClient, motoSeedCredentials, startMotoBehindCheck } from '../support/aws.ts';
import { SERVICE_ACCOUNT_ISSUER } from '../support/cluster.ts';
import {
  adminKube,
  createObject,
  eventNotes,
  Plural,
  readSecret,
  startTestOperator,
  waitFor,
  type TestOperator,
} from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData, refreshTimesIn } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { createAwsProvider } from '../../src/providers/aws/provider.ts';
import type { AwsProvider } from '../../src/api/types.generated.ts';
import { createFakeProvider } from '../../src/providers/fake/provider.ts';
import { jsonObjectEntries } from '../../src/providers/decoding.ts';
import { NoSecretError, TerminalError, ThrottledError, type SecretsClient } from '../../src/providers/provider.ts';
import { defaultHoldResultsMs } from '../../src/providers/shared-calls.ts';

/** moto keys data by account: roles in its default account see what the seeding credentials wrote. */
const ACCOUNT = '123456789012';
const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

let cluster: LocalCluster;
let kube: TestKube;
let moto: Moto;
let check: StsWebIdentityCheck;
let op: TestOperator;
let sm: SecretsManagerClient;
let ssm: SSMClient;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('aws');
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const signal = () => AbortSignal.timeout(30_000);

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  ({ moto, check } = await startMotoBehindCheck(cluster.kubeconfigPath));
  sm = new SecretsManagerClient({ region: AWS_REGION, endpoint: moto.endpoint, credentials: motoSeedCredentials });
  ssm = new SSMClient({ region: AWS_REGION, endpoint: moto.endpoint, credentials: motoSeedCredentials });
  op = await startTestOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    args: ['--leader-elect=false', '--concurrency=4', '--refresh-time-period=0' /* the refresh-wave test reads each refresh from status.refreshTime */],
    providers: [createAwsProvider(), createFakeProvider()],
  });
});

after(async () => {
  await stopTestOperator(op, 'aws');
  sm?.destroy();
  ssm?.destroy();
  await check?.stop();
  await moto?.stop();
  await cluster?.stop();
});

beforeEach(() => check.clear());

async function createSecret(name: string, value: string | Uint8Array, tags: Tag[] = []): Promise<string> {
  const out = await sm.send(
    new CreateSecretCommand({ Name: name, ...(typeof value === 'string' ? { SecretString: value } : { SecretBinary: value }), ...(tags.length ? { Tags: tags } : {}) }),
  );
  return out.VersionId!;
}

/** Static keys in a Secret of `ns`, and the auth block that uses them. */
async function staticKeys(ns: string): Promise<AwsProvider['auth']> {
  await kube.core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'aws-keys' }, stringData: { id: 'AKIASTATICSTATIC', key: secrets.next('aws-secret-key') } },
  });
  return { secretRef: { accessKeyIDSecretRef: { name: 'aws-keys', key: 'id' }, secretAccessKeySecretRef: { name: 'aws-keys', key: 'key' } } };
}

/** A provider client straight from the provider (no operator), with static keys, for the read-path tests. */
function directClient(spec: Partial<AwsProvider> = {}): Promise<SecretsClient> {
  return directAwsClient({ service: 'SecretsManager', endpoint: check.endpoint, ...spec });
}

function store(name: string, aws: Partial<AwsProvider>, kind: 'SecretStore' | 'ClusterSecretStore' = 'SecretStore', extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind,
    metadata: { name },
    spec: { provider: { aws: { service: 'SecretsManager', region: AWS_REGION, endpoint: check.endpoint, ...aws } }, ...extra },
  };
}

function es(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name }, spec };
}

async function serviceAccount(ns: string, name: string, role?: string): Promise<void> {
  await kube.core.createNamespacedServiceAccount({
    namespace: ns,
    body: { metadata: { name, ...(role ? { annotations: { 'eks.amazonaws.com/role-arn': role } } : {}) } },
  });
}

test('Secrets Manager: string, binary and JSON values, VersionId and stages, prefix', async () => {
  await moto.reset();
  const v1 = secrets.next('v1');
  const v2 = secrets.next('v2');
  const blue = secrets.next('blue');
  const firstVersion = await createSecret('app/db', JSON.stringify({ user: 'app', password: v1 }));
  await sm.send(new PutSecretValueCommand({ SecretId: 'app/db', SecretString: JSON.stringify({ user: 'app', password: v2 }) }));
  await sm.send(new PutSecretValueCommand({ SecretId: 'app/db', SecretString: JSON.stringify({ user: 'app', password: blue }), VersionStages: ['blue'] }));
  const binary = new Uint8Array([0, 1, 2, 254, 255, ...randomBytes(16)]);
  await createSecret('app/cert', binary);

  const client = await directClient();
  const password = async (version?: string) => JSON.parse(text(await client.getSecret({ key: 'app/db', ...(version ? { version } : {}) }, signal()))).password;
  assert.equal(await password(), v2, 'no version: AWSCURRENT');
  assert.equal(await password('AWSCURRENT'), v2);
  assert.equal(await password('AWSPREVIOUS'), v1);
  assert.equal(await password('blue'), blue, 'a custom staging label');
  assert.equal(await password(firstVersion), v1, 'a VersionId');
  assert.equal(await password(`uuid/${firstVersion}`), v1, 'a VersionId in ESO’s uuid/ form');
  assert.deepEqual(await client.getSecret({ key: 'app/cert' }, signal()), binary, 'SecretBinary comes back byte for byte');
  // What dataFrom[].extract does with the whole value (the controller splits it).
  const map = jsonObjectEntries(await client.getSecret({ key: 'app/db' }, signal()), 'app/db');
  assert.deepEqual(Object.fromEntries(Object.entries(map).map(([k, v]) => [k, text(v)])), { user: 'app', password: v2 });
  await assert.rejects(client.getSecret({ key: 'app/db', version: 'no-such-stage' }, signal()), NoSecretError);

  const prefixed = await directClient({ prefix: 'app/' });
  assert.equal(JSON.parse(text(await prefixed.getSecret({ key: 'db' }, signal()))).password, v2, 'prefix is prepended to the key');
  await client.close();
  await prefixed.close();
});

test('find by path, tags and name regexp: ListSecrets with filters, then BatchGetSecretValue 20 a call', async () => {
  await moto.reset();
  const values = new Map<string, string>();
  for (let i = 0; i < 45; i++) {
    const name = `find/s-${String(i).padStart(2, '0')}`;
    const value = secrets.next('find');
    values.set(name, value);
    await createSecret(name, value, [{ Key: 'team', Value: i % 2 === 0 ? 'a' : 'b' }]);
  }
  await createSecret('elsewhere/x', secrets.next('other'), [{ Key: 'team', Value: 'a' }]);
  const client = await directClient();

  check.clear();
  const byPath = await client.getAllSecrets({ path: 'find/' }, signal());
  assert.equal(Object.keys(byPath).length, 45);
  assert.equal(text(byPath['find/s-07']!), values.get('find/s-07'));
  assert.equal(check.count('secretsmanager:BatchGetSecretValue'), 3, '45 secrets: 3 batch reads of at most 20');
  assert.equal(check.count('secretsmanager:GetSecretValue'), 0, 'no read per secret');
  console.log(`# find 45 secrets by path: ${check.count('secretsmanager:ListSecrets')} ListSecrets + ${check.count('secretsmanager:BatchGetSecretValue')} BatchGetSecretValue`);

  const byTag = await client.getAllSecrets({ tags: { team: 'a' } }, signal());
  assert.deepEqual(Object.keys(byTag).sort(), [...[...values.keys()].filter((_, i) => i % 2 === 0), 'elsewhere/x'].sort());
  const byName = await client.getAllSecrets({ name: { regexp: 's-1[0-9]$' } }, signal());
  assert.deepEqual(Object.keys(byName).sort(), Array.from({ length: 10 }, (_, i) => `find/s-1${i}`));
  const both = await client.getAllSecrets({ path: 'find/', tags: { team: 'b' }, name: { regexp: '-0' } }, signal());
  assert.deepEqual(Object.keys(both).sort(), ['find/s-01', 'find/s-03', 'find/s-05', 'find/s-07', 'find/s-09']);
  await client.close();
});

test('Parameter Store: decryption, versions and labels, GetParametersByPath for find.path, tags', async () => {
  await moto.reset();
  const v1 = secrets.next('p1');
  const v2 = secrets.next('p2');
  await ssm.send(new PutParameterCommand({ Name: '/app/db/password', Value: v1, Type: 'SecureString' }));
  await ssm.send(new PutParameterCommand({ Name: '/app/db/password', Value: v2, Type: 'SecureString', Overwrite: true }));
  await ssm.send(new LabelParameterVersionCommand({ Name: '/app/db/password', ParameterVersion: 1, Labels: ['stable'] }));
  const user = secrets.next('user');
  await ssm.send(new PutParameterCommand({ Name: '/app/db/user', Value: user, Type: 'String' }));
  await ssm.send(new PutParameterCommand({ Name: '/other/x', Value: secrets.next('x'), Type: 'String' }));
  await ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: '/other/x', Tags: [{ Key: 'team', Value: 'a' }] }));
  await ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: '/app/db/user', Tags: [{ Key: 'team', Value: 'a' }] }));

  const client = await directClient({ service: 'ParameterStore' });
  const read = async (key: string, version?: string) => text(await client.getSecret({ key, ...(version ? { version } : {}) }, signal()));
  assert.equal(await read('/app/db/password'), v2, 'SecureString decrypted, latest version');
  assert.equal(await read('/app/db/password', '1'), v1, 'a version number');
  assert.equal(await read('/app/db/password', 'stable'), v1, 'a label');
  assert.equal(await read('/app/db/password:stable'), v1, 'a label written in the key');
  await assert.rejects(client.getSecret({ key: '/app/db/nope' }, signal()), NoSecretError);

  check.clear();
  const byPath = await client.getAllSecrets({ path: '/app/' }, signal());
  assert.deepEqual(Object.fromEntries(Object.entries(byPath).map(([k, v]) => [k, text(v)])), { '/app/db/password': v2, '/app/db/user': user });
  assert.ok(check.count('ssm:GetParametersByPath') >= 1);
  assert.equal(check.count('ssm:GetParameter'), 0);
  const byTag = await client.getAllSecrets({ tags: { team: 'a' } }, signal());
  assert.deepEqual(Object.keys(byTag).sort(), ['/app/db/user', '/other/x']);
  await client.close();
});

test('errors: not found → NoSecretError; access denied → TerminalError naming role and action; throttling → retried, then ThrottledError', async () => {
  await moto.reset();
  await createSecret('guarded', secrets.next('guarded'));
  const reader = roleArn('guarded-reader');
  const client = await directClient({ role: reader });
  await assert.rejects(client.getSecret({ key: 'missing' }, signal()), NoSecretError);

  check.inject({ action: 'secretsmanager:GetSecretValue', subject: 'guarded', status: 400, code: 'AccessDeniedException', message: 'not authorized' });
  await assert.rejects(client.getSecret({ key: 'guarded' }, signal()), (error: unknown) => {
    assert.ok(error instanceof TerminalError);
    assert.match(error.message, new RegExp(`denied secretsmanager:GetSecretValue on "guarded" to role ${reader.replace(/[/.]/g, '\\$&')}`));
    return true;
  });
  check.clear();

  check.inject({ action: 'secretsmanager:GetSecretValue', subject: 'guarded', status: 400, code: 'ThrottlingException', message: 'Rate exceeded' });
  const started = Date.now();
  await assert.rejects(client.getSecret({ key: 'guarded' }, signal()), ThrottledError);
  assert.equal(check.count('secretsmanager:GetSecretValue'), 3, 'the SDK tried 3 times (backoff with jitter) before giving up');
  console.log(`# throttled: 3 attempts over ${Date.now() - started} ms`);
  check.clear();

  check.inject({ action: 'secretsmanager:GetSecretValue', subject: 'guarded', status: 429, code: 'TooManyRequestsException', times: 1 });
  assert.ok(text(await client.getSecret({ key: 'guarded' }, signal())).startsWith('guarded-'), 'one 429 is absorbed by a retry');
  assert.equal(check.count('secretsmanager:GetSecretValue'), 2);
  await client.close();
});

test('role chaining: additionalRoles then role (with externalID and session tags), assumed once and reused across reads', async () => {
  await moto.reset();
  await createSecret('chained', secrets.next('chained'));
  check.clear();
  const client = await directClient({
    additionalRoles: [roleArn('hop-1')],
    role: roleArn('final'),
    externalID: 'ext-123',
    sessionTags: [{ key: 'team', value: 'a' }],
  });
  assert.equal(client.identity, `role ${roleArn('final')}`);
  for (let i = 0; i < 20; i++) await client.getSecret({ key: 'chained' }, signal());
  assert.equal(await client.validate(signal()), 'Ready');
  assert.equal(check.count('sts:AssumeRole'), 2, 'one AssumeRole per role of the chain, not per read');
  assert.equal(check.count('sts:GetCallerIdentity'), 1, 'validate() is one cheap authenticated call');
  await client.close();
});

test('IRSA end to end: a fresh TokenRequest token for the ServiceAccount, verified against the apiserver JWKS; property paths', async () => {
  await moto.reset();
  const ns = await namespaces.create(kube);
  const role = roleArn('irsa-reader');
  await serviceAccount(ns, 'reader', role);
  const password = secrets.next('irsa-password');
  const cert = secrets.next('irsa-cert');
  await createSecret('irsa/db', JSON.stringify({ db: { password }, 'tls.crt': cert }));
  await createObject(kube, Plural.SecretStore, store('aws', { auth: { jwt: { serviceAccountRef: { name: 'reader' } } } }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'aws', status: 'True' });
  await createObject(kube, Plural.ExternalSecret, es('db', {
    secretStoreRef: { name: 'aws' },
    refreshInterval: '1h',
    data: [
      { secretKey: 'password', remoteRef: { key: 'irsa/db', property: 'db.password' } },
      { secretKey: 'cert', remoteRef: { key: 'irsa/db', property: 'tls\\.crt' } },
    ],
  }), ns);
  await waitSecretData(kube, ns, 'db', { password, cert });

  const mine = check.exchanges.filter((exchange) => exchange.subject === `system:serviceaccount:${ns}:reader`);
  assert.equal(mine.length, 1, 'one web-identity exchange serves the store validation and the ExternalSecret');
  const [exchange] = mine;
  assert.equal(exchange!.refused, undefined, 'the token verified against the JWKS');
  assert.equal(exchange!.roleArn, role, 'the role from the eks.amazonaws.com/role-arn annotation');
  assert.deepEqual(exchange!.audiences, ['sts.amazonaws.com']);
  assert.equal(exchange!.issuer, SERVICE_ACCOUNT_ISSUER);
  assert.ok(Date.now() - exchange!.issuedAt! < 120_000, 'a freshly minted token');
  assert.ok(exchange!.expiresAt! - exchange!.issuedAt! <= 3600_000, 'a short-lived token');
  assert.match(exchange!.roleSessionName, new RegExp(`^secret-relay\\.${ns}\\.aws$`));

  // A token for the wrong audience is refused by the check, as AWS's OIDC provider would: the store says so.
  await createObject(kube, Plural.SecretStore, store('wrong-audience', { auth: { jwt: { serviceAccountRef: { name: 'reader', audiences: ['not-sts'] } } } }), ns);
  const refused = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'wrong-audience', status: 'False' });
  assert.match(refused.message, /sts:AssumeRoleWithWebIdentity/);
  assert.match(refused.message, /InvalidIdentityToken/);
  assert.ok(check.exchanges.some((e) => e.subject === `system:serviceaccount:${ns}:reader` && /audience/.test(e.refused ?? '')));
});

test('a ServiceAccount the namespace may not use is refused; ClusterSecretStore referent auth uses each ExternalSecret’s own', async () => {
  await moto.reset();
  const team = await namespaces.create(kube);
  const other = await namespaces.create(kube);
  await serviceAccount(other, 'reader', roleArn('other-team'));
  const value = secrets.next('referent');
  await createSecret('shared/config', value);

  // A SecretStore may only act as ServiceAccounts of its own namespace.
  await createObject(kube, Plural.SecretStore, store('borrowed', { auth: { jwt: { serviceAccountRef: { name: 'reader', namespace: other } } } }), team);
  const refused = await waitReady(kube, { plural: Plural.SecretStore, namespace: team, name: 'borrowed', status: 'False' });
  assert.match(refused.message, new RegExp(`may not use ServiceAccount reader in namespace ${other}`));
  await createObject(kube, Plural.ExternalSecret, es('borrowed', { secretStoreRef: { name: 'borrowed' }, data: [{ secretKey: 'v', remoteRef: { key: 'shared/config' } }] }), team);
  await waitReady(kube, { namespace: team, name: 'borrowed', status: 'False' });
  assert.equal(await readSecret(kube, team, 'borrowed'), undefined);
  assert.ok(!check.exchanges.some((e) => e.subject?.includes(`:${other}:`)), 'no token of the other namespace was ever minted');

  // Referent auth: the ServiceAccount's namespace is the ExternalSecret's; a namespace without it is refused.
  const cssName = `aws-referent-${randomBytes(3).toString('hex')}`;
  await createObject(kube, Plural.ClusterSecretStore, store(cssName, { auth: { jwt: { serviceAccountRef: { name: 'reader' } } } }, 'ClusterSecretStore'));
  const css = await waitReady(kube, { plural: Plural.ClusterSecretStore, name: cssName, status: 'Unknown' });
  assert.match(css.message, /cannot confirm/);
  await createObject(kube, Plural.ExternalSecret, es('via-cluster', { secretStoreRef: { name: cssName, kind: 'ClusterSecretStore' }, data: [{ secretKey: 'v', remoteRef: { key: 'shared/config' } }] }), other);
  await waitSecretData(kube, other, 'via-cluster', { v: value });
  // The role is resolved from the annotation at the first read: the audit records name it, not a placeholder.
  const audited = op.audit.lines
    .map((line) => JSON.parse(line) as { action: string; identity: string; externalSecret?: { namespace: string } })
    // A PushSecret's records (another suite's, still on the shared cluster) name no ExternalSecret.
    .filter((record) => record.externalSecret?.namespace === other);
  const expected = `role ${roleArn('other-team')} (ServiceAccount ${other}/reader)`;
  assert.deepEqual([...new Set(audited.filter((r) => r.action === 'provider.read').map((r) => r.identity))], [expected]);
  assert.deepEqual([...new Set(audited.filter((r) => r.action === 'secret.create').map((r) => r.identity))], [expected]);
  await createObject(kube, Plural.ExternalSecret, es('via-cluster', { secretStoreRef: { name: cssName, kind: 'ClusterSecretStore' }, data: [{ secretKey: 'v', remoteRef: { key: 'shared/config' } }] }), team);
  const missing = await waitReady(kube, { namespace: team, name: 'via-cluster', status: 'False', message: /ServiceAccount .*reader/ });
  assert.match(missing.message, new RegExp(`ServiceAccount ${team}/reader .*does not exist`));
  assert.equal(await readSecret(kube, team, 'via-cluster'), undefined);
  const subjects = new Set(check.exchanges.filter((e) => e.refused === undefined).map((e) => e.subject));
  assert.ok(subjects.has(`system:serviceaccount:${other}:reader`));
  assert.ok(![...subjects].some((s) => s?.includes(`:${team}:`)));
});

test('rotation: PutSecretValue in AWS reaches the Secret at the next refresh', async () => {
  await moto.reset();
  const ns = await namespaces.create(kube);
  const before = secrets.next('before');
  await createSecret('rotating', before);
  await createObject(kube, Plural.SecretStore, store('aws', { auth: await staticKeys(ns) }), ns);
  const refreshMs = 3000;
  await createObject(kube, Plural.ExternalSecret, es('rotating', { secretStoreRef: { name: 'aws' }, refreshInterval: '3s', data: [{ secretKey: 'v', remoteRef: { key: 'rotating' } }] }), ns);
  await waitSecretData(kube, ns, 'rotating', { v: before });
  const after = secrets.next('after');
  const rotated = Date.now();
  await sm.send(new PutSecretValueCommand({ SecretId: 'rotating', SecretString: after }));
  // One refresh interval, plus the refresh-wave hold of shared results, plus scheduling slack.
  await waitSecretData(kube, ns, 'rotating', { v: after }, refreshMs + defaultHoldResultsMs + 3000);
  console.log(`# rotation reached the Secret ${Date.now() - rotated} ms after PutSecretValue (refreshInterval ${refreshMs} ms)`);
});

test('conditions: a missing secret is SecretMissing; access denied names the role and action; throttling is counted', async () => {
  await moto.reset();
  const ns = await namespaces.create(kube);
  await createSecret('denied', secrets.next('denied'));
  await createSecret('throttled', secrets.next('throttled'));
  const role = roleArn('conditions-reader');
  await createObject(kube, Plural.SecretStore, store('aws', { auth: await staticKeys(ns), role }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'aws', status: 'True' });

  await createObject(kube, Plural.ExternalSecret, es('missing', { secretStoreRef: { name: 'aws' }, data: [{ secretKey: 'v', remoteRef: { key: 'no-such-secret' } }] }), ns);
  const missing = await waitReady(kube, { namespace: ns, name: 'missing', status: 'False' });
  assert.equal(missing.reason, 'SecretMissing');
  assert.match(missing.message, /no-such-secret/);

  check.inject({ action: 'secretsmanager:GetSecretValue', subject: 'denied', status: 400, code: 'AccessDeniedException' });
  await createObject(kube, Plural.ExternalSecret, es('denied', { secretStoreRef: { name: 'aws' }, data: [{ secretKey: 'v', remoteRef: { key: 'denied' } }] }), ns);
  const denied = await waitReady(kube, { namespace: ns, name: 'denied', status: 'False', message: /denied/ });
  assert.match(denied.message, new RegExp(`secretsmanager:GetSecretValue on "denied" to role ${role.replace(/[/.]/g, '\\$&')}`));
  // An auditor looks for refusals: the record says denied (and names the role), the request metric too.
  const refusals = op.audit.lines
    .map((line) => JSON.parse(line) as { action: string; result: string; remoteKey?: string; identity: string; externalSecret?: { namespace: string } })
    .filter((record) => record.externalSecret?.namespace === ns && record.remoteKey === 'denied');
  assert.ok(refusals.length > 0 && refusals.every((r) => r.action === 'provider.read' && r.result === 'denied' && r.identity === `role ${role}`), JSON.stringify(refusals));
  await waitFor('the denied request counter', async () =>
    /secret_relay_provider_requests_total\{provider="aws",operation="getSecret",result="denied"\} [1-9]/.test(await (await fetch(`http://127.0.0.1:${op.operator.metricsPort}/metrics`)).text()),
  );

  check.inject({ action: 'secretsmanager:GetSecretValue', subject: 'throttled', status: 400, code: 'ThrottlingException' });
  await createObject(kube, Plural.ExternalSecret, es('throttled', { secretStoreRef: { name: 'aws' }, data: [{ secretKey: 'v', remoteRef: { key: 'throttled' } }] }), ns);
  const throttled = await waitReady(kube, { namespace: ns, name: 'throttled', status: 'False', message: /throttled/ });
  assert.match(throttled.message, /AWS throttled secretsmanager:GetSecretValue on "throttled"/);
  await waitFor('the throttled counter', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${op.operator.metricsPort}/metrics`)).text();
    return /secret_relay_provider_throttled_total\{provider="aws"\} [1-9]/.test(metrics) &&
      /secret_relay_provider_requests_total\{provider="aws",operation="getSecret",result="throttled"\} [1-9]/.test(metrics);
  });
  const notes = (await eventNotes(kube, ns)).join('\n');
  assert.match(notes, /denied/);
});

test('call sharing: 100 ExternalSecrets reading 10 distinct AWS secrets cost 10 GetSecretValue calls per refresh wave', async () => {
  await moto.reset();
  const ns = await namespaces.create(kube);
  const values: string[] = [];
  for (let i = 0; i < 10; i++) {
    values.push(secrets.next(`wave-${i}`));
    await createSecret(`wave/secret-${i}`, values[i]!);
  }
  await createObject(kube, Plural.SecretStore, store('aws', { auth: await staticKeys(ns) }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'aws', status: 'True' });
  check.clear();
  const isWave = (name: string) => name.startsWith('wave/');
  const refreshMs = 20_000;
  const created = Date.now();
  await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      createObject(kube, Plural.ExternalSecret, es(`wave-${i}`, {
        secretStoreRef: { name: 'aws' },
        refreshInterval: '20s',
        data: [{ secretKey: 'v', remoteRef: { key: `wave/secret-${i % 10}` } }],
      }), ns),
    ),
  );
  const refreshTimes = () => refreshTimesIn(kube, ns);
  const firstWave = await waitFor('100 ExternalSecrets synced', async () => {
    const times = await refreshTimes();
    return times.length === 100 && times.every((t) => t > 0) ? times : undefined;
  }, 60_000);
  const firstCalls = check.count('secretsmanager:GetSecretValue', isWave);
  const firstSpan = Math.max(...firstWave) - Math.min(...firstWave);
  console.log(`# refresh wave 1 (create): 100 ExternalSecrets, 10 remote secrets → ${firstCalls} GetSecretValue calls; synced ${Date.now() - created} ms after creation, wave spread ${firstSpan} ms`);
  assert.equal(firstCalls, 10);

  check.clear();
  const firstEnd = Math.max(...firstWave);
  // refreshTime has second precision: wait until every one moved past the first wave.
  await waitFor('the second refresh wave', async () => {
    const times = await refreshTimes();
    return times.length === 100 && times.every((t) => t > firstEnd) ? times : undefined;
  }, refreshMs + 30_000);
  const secondCalls = check.count('secretsmanager:GetSecretValue', isWave);
  console.log(`# refresh wave 2 (periodic, 20 s): 100 ExternalSecrets → ${secondCalls} GetSecretValue calls`);
  assert.equal(secondCalls, 10);
});

test('no secret value appears in any log line, audit record, Event or status written during the suite', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], expectAudit: true, kube, namespaces: namespaces.names, values: secrets, atLeast: 51 });
});
