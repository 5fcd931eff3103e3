// PushSecret against the real control plane, moto (AWS Secrets Manager) and OpenBao (KV v2): a Secret pushed
// appears remotely with our mark and its metadata; a change is pushed once; a refresh that found nothing new writes
// nothing remotely; a remote secret someone else created is never overwritten or deleted without the adopt opt-in;
// deletionPolicy Delete removes only what we created; a changed remoteKey cleans up the old one; KV v2 writes use
// check-and-set. Every value used is searched for in logs, audit records, Events and statuses at the end.
import assert from 'node:assert/strict';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { after, before, test } from 'node:test';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { startOpenBao, type OpenBao } from '../support/openbao.ts';
import { adminKube, createObject, deleteObject, getObject, mergePatchSecret, patchObject, Plural, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { DescribeParametersCommand, GetParameterCommand, ListTagsForResourceCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

/** ESO's Parameter Store example policies (docs/snippets/aws-pm-push-secret-with-metadata.yaml). */
const EXPIRY_POLICIES = [
  { type: 'Expiration', version: '1.0', attributes: { timestamp: '2030-12-02T21:34:33.000Z' } },
  { type: 'ExpirationNotification', version: '1.0', attributes: { before: '2', unit: 'Days' } },
];
import { createAwsProvider } from '../../src/providers/aws/provider.ts';
import { createVaultProvider } from '../../src/providers/vault/provider.ts';
import { createKvWriter, CasMismatchError } from '../../src/providers/vault/push.ts';
import { createVaultSession } from '../../src/providers/vault/session.ts';
import { createVaultApi } from '../../src/providers/vault/api.ts';
import { createHttpTransport, type VaultTransport } from '../../src/providers/vault/transport.ts';
import type { TokenSession } from '../../src/providers/vault/auth.ts';
import { createFakeProvider } from '../../src/providers/fake/provider.ts';
import { createAlibabaProvider } from '../../src/providers/alibaba/provider.ts';
import { startAlibabaFake, type AlibabaFake } from '../fakes/alibaba/server.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { convertFiles } from '../../src/migrate/convert.ts';

const REGION = 'us-east-1';
const k8sMergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const seedCredentials = { accessKeyId: 'AKIASEEDSEEDSEED', secretAccessKey: 'seed' };

let cluster: LocalCluster;
let kube: TestKube;
let moto: Moto;
let bao: OpenBao;
let op: TestOperator;
let alibaba: AlibabaFake;
/** Operators stopped by the restart test: their logs and audit records are scanned too. */
const stopped: TestOperator[] = [];
let sm: SecretsManagerClient;
let ssm: SSMClient;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('push');

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  moto = await startMoto();
  bao = await startOpenBao();
  await bao.api('POST', 'sys/mounts/kv1', { type: 'kv', options: { version: '1' } });
  sm = new SecretsManagerClient({ region: REGION, endpoint: moto.endpoint, credentials: seedCredentials });
  ssm = new SSMClient({ region: REGION, endpoint: moto.endpoint, credentials: seedCredentials });
  alibaba = await startAlibabaFake({ kubeconfigPath: cluster.kubeconfigPath });
  op = await startTestOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    args: ['--leader-elect=false', '--concurrency=4', '--refresh-time-period=0' /* each ExternalSecret refresh shows in status.refreshTime */],
    providers: [createAwsProvider(), createVaultProvider(), createFakeProvider(), createAlibabaProvider()],
  });
});

after(async () => {
  await stopTestOperator(op, 'push-secret');
  sm?.destroy();
  ssm?.destroy();
  await bao?.stop();
  await moto?.stop();
  await alibaba?.stop();
  await cluster?.stop();
});

/** A namespace with an aws SecretStore (static keys, moto) and a vault SecretStore (token, OpenBao KV v2). */
async function namespaceWithStores(): Promise<string> {
  const ns = await namespaces.create(kube);
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'creds' }, stringData: { id: 'AKIASTATICSTATIC', key: secrets.next('aws-key'), token: 'root' } } });
  await createObject(kube, Plural.SecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name: 'aws', labels: { push: 'yes' } },
    spec: { provider: { aws: { service: 'SecretsManager', region: REGION, endpoint: moto.endpoint, auth: { secretRef: { accessKeyIDSecretRef: { name: 'creds', key: 'id' }, secretAccessKeySecretRef: { name: 'creds', key: 'key' } } } } } },
  }, ns);
  await createObject(kube, Plural.SecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name: 'bao' },
    spec: { provider: { vault: { server: bao.address, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'creds', key: 'token' } } } } },
  }, ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'aws', status: 'True' });
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'bao', status: 'True' });
  return ns;
}

function pushSecret(name: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}) {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'PushSecret', metadata: { name, annotations }, spec: { refreshInterval: '1s', ...spec } };
}

async function remote(id: string): Promise<string | undefined> {
  try {
    return (await sm.send(new GetSecretValueCommand({ SecretId: id }))).SecretString;
  } catch (err) {
    if ((err as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw err;
  }
}
const versions = async (id: string) => (await sm.send(new ListSecretVersionIdsCommand({ SecretId: id, IncludeDeprecated: true }))).Versions?.length ?? 0;
const tagsOf = async (id: string) => Object.fromEntries(((await sm.send(new DescribeSecretCommand({ SecretId: id }))).Tags ?? []).map((t) => [t.Key, t.Value]));
const deletedDate = async (id: string) => (await sm.send(new DescribeSecretCommand({ SecretId: id }))).DeletedDate;

/** Waits until status.refreshTime moves past `since` `times` times (each refresh of the PushSecret). */
async function refreshes(ns: string, name: string, times: number): Promise<void> {
  let seen = (await getObject(kube, Plural.PushSecret, name, ns))?.['status'] as { refreshTime?: string } | undefined;
  for (let i = 0; i < times; i++) {
    const before = seen?.refreshTime;
    seen = await waitFor(`PushSecret ${ns}/${name} refreshed again`, async () => {
      const status = (await getObject(kube, Plural.PushSecret, name, ns))?.['status'] as { refreshTime?: string } | undefined;
      return status?.refreshTime !== undefined && status.refreshTime !== before ? status : undefined;
    });
  }
}

test('a Secret is pushed to Secrets Manager with our mark and its metadata; a change is pushed once; an unchanged refresh writes nothing', async () => {
  const ns = await namespaceWithStores();
  const password = secrets.next('pw');
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'db' }, stringData: { password, user: 'app' } } });
  const key = `${ns}/db`;
  await createObject(kube, Plural.PushSecret, pushSecret('db', {
    secretStoreRefs: [{ labelSelector: { matchLabels: { push: 'yes' } } }],
    selector: { secret: { name: 'db' } },
    data: [
      { match: { secretKey: 'password', remoteRef: { remoteKey: `${key}/password` } }, metadata: { apiVersion: 'kubernetes.external-secrets.io/v1alpha1', kind: 'PushSecretMetadata', spec: { tags: { team: 'a' }, description: 'db password' } } },
      { match: { secretKey: 'user', remoteRef: { remoteKey: `${key}/config`, property: 'user' } } },
    ],
  }), ns);
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'db', status: 'True', reason: 'Synced' });
  assert.equal(await remote(`${key}/password`), password);
  assert.deepEqual(JSON.parse((await remote(`${key}/config`))!), { user: 'app' });
  const tags = await tagsOf(`${key}/password`);
  assert.equal(tags['managed-by'], 'secret-relay');
  assert.equal(tags['secret-relay.dev/push-secret'], `${ns}/db`);
  assert.equal(tags['team'], 'a');
  const described = await sm.send(new DescribeSecretCommand({ SecretId: `${key}/password` }));
  assert.equal(described.Description, 'db password');

  // Refreshes that find nothing new write nothing remotely.
  const before = await versions(`${key}/password`);
  await refreshes(ns, 'db', 3);
  assert.equal(await versions(`${key}/password`), before, 'no new version from unchanged refreshes');
  const writes = op.audit.lines.filter((l) => l.includes('"provider.write"') && l.includes(`${key}/password`));
  assert.equal(writes.length, 1, 'one provider.write audit record for the creation');

  // A change of the Secret is pushed, once.
  const changed = secrets.next('pw');
  await mergePatchSecret(kube, ns, 'db', { stringData: { password: changed } });
  await waitFor('the new password pushed', async () => (await remote(`${key}/password`)) === changed);
  await refreshes(ns, 'db', 2);
  assert.equal(await versions(`${key}/password`), before + 1, 'the change made exactly one new version');
  const record = JSON.parse(op.audit.lines.filter((l) => l.includes('"provider.write"') && l.includes(`${key}/password`)).at(-1)!) as Record<string, unknown>;
  assert.deepEqual(record['pushSecret'], { namespace: ns, name: 'db' });
  assert.equal(record['result'], 'success');
  assert.equal(record['provider'], 'aws');
});

test('a remote secret someone else created is never overwritten or deleted; the adopt annotation takes it over', async () => {
  const ns = await namespaceWithStores();
  const theirs = secrets.next('theirs');
  const id = `${ns}/shared`;
  await sm.send(new CreateSecretCommand({ Name: id, SecretString: theirs }));
  const ours = secrets.next('ours');
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'src' }, stringData: { v: ours } } });
  await createObject(kube, Plural.PushSecret, pushSecret('clobber', { secretStoreRefs: [{ name: 'aws' }], deletionPolicy: 'Delete', selector: { secret: { name: 'src' } }, data: [{ match: { secretKey: 'v', remoteRef: { remoteKey: id } } }] }), ns);
  const ready = await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'clobber', status: 'False', reason: 'RemoteExistsNotOwned' });
  assert.match(ready.message, new RegExp(`${id}.*not created by secret-relay.*secret-relay.dev/adopt`));
  assert.equal(await remote(id), theirs, 'their value is untouched');
  await waitFor('a denied provider.write audit record', () => op.audit.lines.some((l) => l.includes('"provider.write"') && l.includes(id) && l.includes('"denied"')));

  // Deleting the PushSecret under deletionPolicy Delete leaves their secret alone.
  await deleteObject(kube, Plural.PushSecret, 'clobber', ns);
  await waitFor('the PushSecret gone', async () => (await getObject(kube, Plural.PushSecret, 'clobber', ns)) === undefined);
  assert.equal(await remote(id), theirs);
  assert.equal(await deletedDate(id), undefined, 'not scheduled for deletion');

  // With the opt-in it is taken over: our value and our mark.
  await createObject(kube, Plural.PushSecret, pushSecret('adopter', { secretStoreRefs: [{ name: 'aws' }], deletionPolicy: 'Delete', selector: { secret: { name: 'src' } }, data: [{ match: { secretKey: 'v', remoteRef: { remoteKey: id } } }] }, { 'secret-relay.dev/adopt': 'true' }), ns);
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'adopter', status: 'True' });
  assert.equal(await remote(id), ours);
  assert.equal((await tagsOf(id))['secret-relay.dev/push-secret'], `${ns}/adopter`);
});

test('deletionPolicy Delete deletes what the PushSecret created, and a changed remoteKey cleans up the old one; None keeps it', async () => {
  const ns = await namespaceWithStores();
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'src' }, stringData: { v: secrets.next('v') } } });
  const first = `${ns}/first`;
  const second = `${ns}/second`;
  await createObject(kube, Plural.PushSecret, pushSecret('moving', { secretStoreRefs: [{ name: 'aws' }], deletionPolicy: 'Delete', selector: { secret: { name: 'src' } }, data: [{ match: { secretKey: 'v', remoteRef: { remoteKey: first } } }] }), ns);
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'moving', status: 'True' });
  assert.ok(await remote(first));
  await patchObject(kube, Plural.PushSecret, 'moving', { spec: { data: [{ match: { secretKey: 'v', remoteRef: { remoteKey: second } } }] } }, ns);
  await waitFor('the old remote key scheduled for deletion', async () => (await deletedDate(first)) !== undefined);
  assert.ok(await remote(second));
  await deleteObject(kube, Plural.PushSecret, 'moving', ns);
  await waitFor('the new remote key scheduled for deletion', async () => (await deletedDate(second)) !== undefined);
  await waitFor('the PushSecret gone (finalizer removed)', async () => (await getObject(kube, Plural.PushSecret, 'moving', ns)) === undefined);

  // deletionPolicy None (the default): the remote secret stays.
  const kept = `${ns}/kept`;
  await createObject(kube, Plural.PushSecret, pushSecret('keeper', { secretStoreRefs: [{ name: 'aws' }], selector: { secret: { name: 'src' } }, data: [{ match: { secretKey: 'v', remoteRef: { remoteKey: kept } } }] }), ns);
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'keeper', status: 'True' });
  await deleteObject(kube, Plural.PushSecret, 'keeper', ns);
  await waitFor('the PushSecret gone', async () => (await getObject(kube, Plural.PushSecret, 'keeper', ns)) === undefined);
  assert.ok(await remote(kept));
  assert.equal(await deletedDate(kept), undefined);
});

test("tenancy: a namespaced SecretStore that would push as the operator's own identity is refused, and nothing is written", async () => {
  const ns = await namespaces.create(kube);
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'src' }, stringData: { v: secrets.next('tenant') } } });
  await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name: 'ambient' }, spec: { provider: { aws: { service: 'SecretsManager', region: REGION, endpoint: moto.endpoint } } } }, ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'ambient', status: 'False', reason: 'OperatorIdentityNotAllowed' });
  await createObject(kube, Plural.PushSecret, pushSecret('as-operator', { secretStoreRefs: [{ name: 'ambient' }], selector: { secret: { name: 'src' } }, data: [{ match: { secretKey: 'v', remoteRef: { remoteKey: `${ns}/escalated` } } }] }), ns);
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'as-operator', status: 'False', reason: 'StoreNotReady', message: /OperatorIdentityNotAllowed|operator/ });
  assert.equal(await remote(`${ns}/escalated`), undefined, 'nothing pushed');
});

test('OpenBao KV v2: pushed with our custom_metadata; a foreign secret is refused; Delete removes only ours; KV v1 is refused by name', async () => {
  const ns = await namespaceWithStores();
  const token = secrets.next('token');
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'src' }, stringData: { token, whole: JSON.stringify({ a: '1' }) } } });
  await bao.api('POST', `secret/data/${ns}/foreign`, { data: { mine: 'not yours' } });
  await createObject(kube, Plural.PushSecret, pushSecret('bao', {
    secretStoreRefs: [{ name: 'bao' }],
    deletionPolicy: 'Delete',
    selector: { secret: { name: 'src' } },
    data: [
      { match: { secretKey: 'token', remoteRef: { remoteKey: `${ns}/app`, property: 'token' } } },
      { match: { secretKey: 'token', remoteRef: { remoteKey: `${ns}/foreign`, property: 'token' } } },
    ],
  }), ns);
  const ready = await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'bao', status: 'False', reason: 'RemoteExistsNotOwned' });
  assert.match(ready.message, /foreign/);
  const app = await bao.api('GET', `secret/data/${ns}/app`);
  assert.deepEqual((app!['data'] as { data: unknown }).data, { token });
  const meta = await bao.api('GET', `secret/metadata/${ns}/app`);
  assert.deepEqual((meta!['data'] as { custom_metadata: unknown }).custom_metadata, { 'managed-by': 'secret-relay', 'secret-relay.dev/push-secret': `${ns}/bao` });
  const foreign = await bao.api('GET', `secret/data/${ns}/foreign`);
  assert.deepEqual((foreign!['data'] as { data: unknown }).data, { mine: 'not yours' });

  await deleteObject(kube, Plural.PushSecret, 'bao', ns);
  await waitFor('the PushSecret gone', async () => (await getObject(kube, Plural.PushSecret, 'bao', ns)) === undefined);
  await assert.rejects(bao.api('GET', `secret/metadata/${ns}/app`), 'ours is deleted');
  assert.ok(await bao.api('GET', `secret/data/${ns}/foreign`), 'theirs is kept');

  // KV v1 keeps no metadata for the mark: refused with a message naming why.
  await createObject(kube, Plural.SecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name: 'kv1' },
    spec: { provider: { vault: { server: bao.address, path: 'kv1', version: 'v1', auth: { tokenSecretRef: { name: 'creds', key: 'token' } } } } },
  }, ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'kv1', status: 'True' });
  await createObject(kube, Plural.PushSecret, pushSecret('v1', { secretStoreRefs: [{ name: 'kv1' }], selector: { secret: { name: 'src' } }, data: [{ match: { secretKey: 'whole', remoteRef: { remoteKey: 'x' } } }] }), ns);
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'v1', status: 'False', reason: 'Errored', message: /KV v1 keeps no metadata/ });
});

test('KV v2 check-and-set: a write racing another writer fails instead of overwriting it', async () => {
  const path = `cas/${Date.now()}`;
  await bao.api('POST', `secret/data/${path}`, { data: { v: '1' } });
  await bao.api('POST', `secret/metadata/${path}`, { custom_metadata: { 'managed-by': 'secret-relay', 'secret-relay.dev/push-secret': 'ns/ps' } });
  // The real transport, API and session, with another writer let in between our read and our write.
  const http = createHttpTransport({ server: bao.address });
  const racing: VaultTransport = async (request) => {
    if (request.method === 'POST' && request.path === `secret/data/${path}`) await bao.api('POST', `secret/data/${path}`, { data: { v: 'racer' } });
    return http.send(request);
  };
  const session = createVaultSession(createVaultApi(racing), { token: async () => 'root', invalidate: () => {} } as unknown as TokenSession);
  const writer = createKvWriter(session, { mount: 'secret', version: 'v2' });
  await assert.rejects(writer.pushSecret({ remoteKey: path, property: 'v', value: new TextEncoder().encode('ours'), owner: 'ns/ps', adopt: false, updatePolicy: 'Replace' }, AbortSignal.timeout(10_000)), (err: unknown) => err instanceof CasMismatchError);
  http.close();
  const now = await bao.api('GET', `secret/data/${path}`);
  assert.deepEqual((now!['data'] as { data: unknown }).data, { v: 'racer' }, 'the other writer\'s value stands');
});

async function secretData(ns: string, name: string): Promise<Record<string, string> | undefined> {
  const secret = await kube.core.readNamespacedSecret({ namespace: ns, name }).catch(() => undefined);
  return secret ? Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])) : undefined;
}

test('Parameter Store: a SecureString with our tags; a property merged; a foreign parameter refused; Delete removes only ours', async () => {
  const ns = await namespaceWithStores();
  await createObject(kube, Plural.SecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name: 'ssm' },
    spec: { provider: { aws: { service: 'ParameterStore', region: REGION, endpoint: moto.endpoint, auth: { secretRef: { accessKeyIDSecretRef: { name: 'creds', key: 'id' }, secretAccessKeySecretRef: { name: 'creds', key: 'key' } } } } } },
  }, ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'ssm', status: 'True' });
  const token = secrets.next('ssm');
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'src' }, stringData: { token } } });
  const theirs = secrets.next('theirs');
  await ssm.send(new PutParameterCommand({ Name: `/${ns}/theirs`, Value: theirs, Type: 'SecureString' }));
  await createObject(kube, Plural.PushSecret, pushSecret('params', {
    secretStoreRefs: [{ name: 'ssm' }],
    deletionPolicy: 'Delete',
    selector: { secret: { name: 'src' } },
    data: [
      { match: { secretKey: 'token', remoteRef: { remoteKey: `/${ns}/token` } }, metadata: { apiVersion: 'kubernetes.external-secrets.io/v1alpha1', kind: 'PushSecretMetadata', spec: { tags: { team: 'a' } } } },
      { match: { secretKey: 'token', remoteRef: { remoteKey: `/${ns}/config`, property: 'token' } } },
      { match: { secretKey: 'token', remoteRef: { remoteKey: `/${ns}/theirs` } } },
      // ESO's documented metadata shape: tier Advanced with expiration policies → PutParameter Tier and Policies.
      {
        match: { secretKey: 'token', remoteRef: { remoteKey: `/${ns}/expiring` } },
        metadata: { apiVersion: 'kubernetes.external-secrets.io/v1alpha1', kind: 'PushSecretMetadata', spec: { description: 'rotated weekly', tier: { type: 'Advanced', policies: EXPIRY_POLICIES } } },
      },
    ],
  }), ns);
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'params', status: 'False', reason: 'RemoteExistsNotOwned', message: /theirs/ });
  const parameter = (await ssm.send(new GetParameterCommand({ Name: `/${ns}/token`, WithDecryption: true }))).Parameter!;
  assert.equal(parameter.Value, token);
  assert.equal(parameter.Type, 'SecureString');
  const tags = Object.fromEntries(((await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: `/${ns}/token` }))).TagList ?? []).map((t) => [t.Key, t.Value]));
  assert.deepEqual(tags, { team: 'a', 'managed-by': 'secret-relay', 'secret-relay.dev/push-secret': `${ns}/params` });
  assert.deepEqual(JSON.parse((await ssm.send(new GetParameterCommand({ Name: `/${ns}/config`, WithDecryption: true }))).Parameter!.Value!), { token });
  assert.equal((await ssm.send(new GetParameterCommand({ Name: `/${ns}/theirs`, WithDecryption: true }))).Parameter!.Value, theirs);
  const described = async () => (await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [`/${ns}/expiring`] }] }))).Parameters?.[0];
  const expiring = await waitFor('the advanced parameter', described);
  assert.equal(expiring.Tier, 'Advanced');
  assert.equal(expiring.Description, 'rotated weekly');
  assert.equal(expiring.Policies?.length, 2, 'both policies applied');
  // A changed policy alone (same value) is applied: the parameter is written again.
  await patchObject(kube, Plural.PushSecret, 'params', { spec: { data: [
    { match: { secretKey: 'token', remoteRef: { remoteKey: `/${ns}/token` } }, metadata: { apiVersion: 'kubernetes.external-secrets.io/v1alpha1', kind: 'PushSecretMetadata', spec: { tags: { team: 'a' } } } },
    { match: { secretKey: 'token', remoteRef: { remoteKey: `/${ns}/config`, property: 'token' } } },
    { match: { secretKey: 'token', remoteRef: { remoteKey: `/${ns}/theirs` } } },
    { match: { secretKey: 'token', remoteRef: { remoteKey: `/${ns}/expiring` } }, metadata: { apiVersion: 'kubernetes.external-secrets.io/v1alpha1', kind: 'PushSecretMetadata', spec: { description: 'rotated weekly', tier: { type: 'Advanced', policies: EXPIRY_POLICIES.slice(0, 1) } } } },
  ] } }, ns);
  await waitFor('one policy left', async () => ((await described())?.Policies?.length === 1 ? true : undefined));
  // Policies without an advanced tier are refused by name (ESO drops them silently).
  await patchObject(kube, Plural.PushSecret, 'params', { spec: { data: [
    { match: { secretKey: 'token', remoteRef: { remoteKey: `/${ns}/token` } }, metadata: { apiVersion: 'kubernetes.external-secrets.io/v1alpha1', kind: 'PushSecretMetadata', spec: { tags: { team: 'a' }, tier: { type: 'Standard', policies: EXPIRY_POLICIES } } } },
    { match: { secretKey: 'token', remoteRef: { remoteKey: `/${ns}/config`, property: 'token' } } },
    { match: { secretKey: 'token', remoteRef: { remoteKey: `/${ns}/expiring` } } },
  ] } }, ns);
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'params', status: 'False', message: /tier.policies need tier.type Advanced/ });

  await deleteObject(kube, Plural.PushSecret, 'params', ns);
  await waitFor('the PushSecret gone', async () => (await getObject(kube, Plural.PushSecret, 'params', ns)) === undefined);
  const gone = async (name: string) => ssm.send(new GetParameterCommand({ Name: name })).then(() => false, (err: { name?: string }) => err.name === 'ParameterNotFound');
  assert.ok(await gone(`/${ns}/token`));
  assert.ok(await gone(`/${ns}/config`));
  assert.ok(await gone(`/${ns}/expiring`));
  assert.equal((await ssm.send(new GetParameterCommand({ Name: `/${ns}/theirs`, WithDecryption: true }))).Parameter!.Value, theirs, 'theirs is kept');
});

test('template, dataTo and selector.secret.selector (ESO fields): rendered keys pushed; bulk keys renamed or bundled; Secrets chosen by label; clashes and template errors refused by name, nothing pushed', async () => {
  const ns = await namespaceWithStores();
  const pass = secrets.next('tmpl-pass');
  const host = secrets.next('db-host');
  const user = secrets.next('db-user');
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'creds' + '-src' }, stringData: { user: 'app', pass } } });
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'env' }, stringData: { DB_HOST: host, DB_USER: user, OTHER: 'o' } } });
  // spec.template: a rendered key, pushed as any other (liquid, as ExternalSecret templates).
  await createObject(kube, Plural.PushSecret, pushSecret('tmpl', {
    secretStoreRefs: [{ name: 'aws' }],
    selector: { secret: { name: 'creds-src' } },
    template: { data: { url: 'postgres://{{ user }}:{{ pass }}@db:5432/app' } },
    data: [{ match: { secretKey: 'url', remoteRef: { remoteKey: `${ns}/url` } } }, { match: { secretKey: 'user', remoteRef: { remoteKey: `${ns}/user` } } }],
  }), ns);
  // spec.dataTo: each DB_ key its own remote secret (renamed), and all of them one bundle.
  await createObject(kube, Plural.PushSecret, pushSecret('bulk', {
    secretStoreRefs: [{ name: 'aws' }],
    selector: { secret: { name: 'env' } },
    dataTo: [
      { storeRef: { name: 'aws' }, match: { regexp: '^DB_' }, rewrite: [{ regexp: { source: '^DB_(.*)$', target: `${ns}/db-$1` } }, { transform: { template: '{{ value | downcase }}' } }] },
      { storeRef: { labelSelector: { matchLabels: { push: 'yes' } } }, match: { regexp: '^DB_' }, remoteKey: `${ns}/db-bundle` },
    ],
  }), ns);
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'tmpl', status: 'True' });
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'bulk', status: 'True' });
  assert.equal(await remote(`${ns}/url`), `postgres://app:${pass}@db:5432/app`);
  assert.equal(await remote(`${ns}/user`), 'app', "the Secret's own keys stay beside the rendered ones (as ESO)");
  assert.equal(await remote(`${ns}/db-host`), host);
  assert.equal(await remote(`${ns}/db-user`), user);
  assert.deepEqual(JSON.parse((await remote(`${ns}/db-bundle`))!), { DB_HOST: host, DB_USER: user });
  assert.equal(await remote(`${ns}/db-other`), undefined, 'OTHER did not match');

  // selector.secret.selector: every Secret of the namespace with the label; their keys pushed per key.
  const a = secrets.next('sel-a');
  const b = secrets.next('sel-b');
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'sel-a', labels: { 'push-me': 'yes' } }, stringData: { [`alpha`]: a } } });
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'sel-b', labels: { 'push-me': 'yes' } }, stringData: { [`beta`]: b } } });
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'sel-c' }, stringData: { gamma: 'not selected' } } });
  await createObject(kube, Plural.PushSecret, pushSecret('labelled', {
    secretStoreRefs: [{ name: 'aws' }],
    selector: { secret: { selector: { matchLabels: { 'push-me': 'yes' } } } },
    dataTo: [{ storeRef: { name: 'aws' }, rewrite: [{ regexp: { source: '^', target: `${ns}/sel-` } }] }],
  }), ns);
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'labelled', status: 'True' });
  assert.equal(await remote(`${ns}/sel-alpha`), a);
  assert.equal(await remote(`${ns}/sel-beta`), b);
  assert.equal(await remote(`${ns}/sel-gamma`), undefined);
  // A third Secret with a key the first one has: two sources for one remote key, refused naming both.
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'sel-d', labels: { 'push-me': 'yes' } }, stringData: { alpha: 'clash' } } });
  await patchObject(kube, Plural.PushSecret, 'labelled', { metadata: { annotations: { 'secret-relay.dev/force-sync': '1' } } }, ns);
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'labelled', status: 'False', reason: 'InvalidSpec', message: /key "alpha" of Secret .*\/sel-d\) pushes to .*sel-alpha, as does .*key "alpha" of Secret .*\/sel-a/ });
  assert.equal(await remote(`${ns}/sel-alpha`), a, 'nothing pushed over it');

  // A template that cannot render: Ready=False naming it, nothing pushed.
  await createObject(kube, Plural.PushSecret, pushSecret('broken', {
    secretStoreRefs: [{ name: 'aws' }],
    selector: { secret: { name: 'creds-src' } },
    template: { data: { url: '{{ pass | no_such_filter }}' } },
    data: [{ match: { secretKey: 'url', remoteRef: { remoteKey: `${ns}/broken` } } }],
  }), ns);
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'broken', status: 'False', reason: 'InvalidSpec', message: /^spec\.template\.data\["url"\].*no_such_filter/ });
  assert.equal(await remote(`${ns}/broken`), undefined);
});

test('Alibaba KMS: a Secret pushed through the operator carries our mark; a foreign secret is refused; Delete schedules the deletion of ours only', async () => {
  const ns = await namespaces.create(kube);
  const id = `LTAI${ns.replace(/[^a-z0-9]/g, '').slice(-12)}`;
  const keySecret = secrets.next('alibaba-key');
  alibaba.addAccessKey({ id, secret: keySecret });
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'ali-keys' }, stringData: { id, secret: keySecret } } });
  await createObject(kube, Plural.SecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name: 'ali' },
    spec: { provider: { alibaba: { regionID: 'cn-hangzhou', endpoint: alibaba.kmsEndpoint, auth: { secretRef: { accessKeyIDSecretRef: { name: 'ali-keys', key: 'id' }, accessKeySecretSecretRef: { name: 'ali-keys', key: 'secret' } } } } } },
  }, ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'ali', status: 'True' });
  const value = secrets.next('ali-pushed');
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'src' }, stringData: { token: value } } });
  alibaba.putSecret(`${ns}-theirs`, { data: 'kept', tags: { owner: 'them' } });
  await createObject(kube, Plural.PushSecret, pushSecret('ali', {
    secretStoreRefs: [{ name: 'ali' }],
    deletionPolicy: 'Delete',
    selector: { secret: { name: 'src' } },
    data: [
      { match: { secretKey: 'token', remoteRef: { remoteKey: `${ns}-token` } }, metadata: { apiVersion: 'kubernetes.external-secrets.io/v1alpha1', kind: 'PushSecretMetadata', spec: { tags: { team: 'a' } } } },
      { match: { secretKey: 'token', remoteRef: { remoteKey: `${ns}-theirs` } } },
    ],
  }), ns);
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'ali', status: 'False', reason: 'RemoteExistsNotOwned', message: /theirs/ });
  const pushed = alibaba.inspect(`${ns}-token`)!;
  assert.equal(pushed.current, value);
  assert.deepEqual(pushed.tags, { team: 'a', 'managed-by': 'secret-relay', 'secret-relay.dev/push-secret': `${ns}/ali` });
  assert.equal(alibaba.inspect(`${ns}-theirs`)!.current, 'kept');
  await deleteObject(kube, Plural.PushSecret, 'ali', ns);
  await waitFor('the PushSecret gone', async () => (await getObject(kube, Plural.PushSecret, 'ali', ns)) === undefined);
  assert.ok(alibaba.inspect(`${ns}-token`)!.plannedDeleteTime, 'ours scheduled for deletion');
  assert.equal(alibaba.inspect(`${ns}-theirs`)!.plannedDeleteTime, undefined, 'theirs kept');
});

test('generators: a Password for an ExternalSecret (and a UUID for one without a store) and a UUID for a PushSecret are generated once, kept across refreshes and a restart, and generated anew on a rotate annotation', async () => {
  const ns = await namespaceWithStores();
  await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name: 'fake' }, spec: { provider: { fake: { data: [{ key: 'k', value: 'v' }] } } } }, ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'fake', status: 'True' });
  await createObject(kube, Plural.Password, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'Password', metadata: { name: 'pw' }, spec: { length: 32, digits: 5, symbols: 0 } }, ns);
  await createObject(kube, Plural.UUID, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'UUID', metadata: { name: 'id' }, spec: {} }, ns);
  await createObject(kube, Plural.ExternalSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'generated' },
    spec: { secretStoreRef: { name: 'fake' }, refreshInterval: '1s', dataFrom: [{ sourceRef: { generatorRef: { kind: 'Password', name: 'pw' } } }] },
  }, ns);
  // Generators alone need no store (as ESO).
  await createObject(kube, Plural.ExternalSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'storeless' },
    spec: { refreshInterval: '1h', dataFrom: [{ sourceRef: { generatorRef: { kind: 'UUID', name: 'id' } } }] },
  }, ns);
  await createObject(kube, Plural.PushSecret, pushSecret('gen', { secretStoreRefs: [{ name: 'aws' }], deletionPolicy: 'Delete', selector: { generatorRef: { kind: 'UUID', name: 'id' } }, data: [{ match: { secretKey: 'uuid', remoteRef: { remoteKey: `${ns}/uuid` } } }] }), ns);
  await waitReady(kube, { namespace: ns, name: 'generated', status: 'True' });
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'gen', status: 'True' });
  await waitReady(kube, { namespace: ns, name: 'storeless', status: 'True' });
  secrets.add((await secretData(ns, 'storeless'))!['uuid']!);
  assert.match((await secretData(ns, 'storeless'))!['uuid']!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const first = (await secretData(ns, 'generated'))!['password']!;
  secrets.add(first);
  assert.match(first, /^[A-Za-z0-9]{32}$/);
  const uuid = (await remote(`${ns}/uuid`))!;
  secrets.add(uuid);
  assert.equal((await secretData(ns, 'gen-generated'))!['uuid'], uuid, 'the UUID pushed is the one kept');
  const uuidVersions = await versions(`${ns}/uuid`);

  // Refreshes keep both.
  await refreshes(ns, 'gen', 2);
  const refreshTime = async () => ((await getObject(kube, Plural.ExternalSecret, 'generated', ns))?.['status'] as { refreshTime?: string } | undefined)?.refreshTime;
  const before = await refreshTime();
  await waitFor('the ExternalSecret refreshed', async () => (await refreshTime()) !== before);
  assert.equal((await secretData(ns, 'generated'))!['password'], first);
  assert.equal(await versions(`${ns}/uuid`), uuidVersions, 'no new UUID pushed');

  // A restart keeps both (they live in the Secrets, not in memory).
  stopped.push(op);
  await op.stop();
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false', '--concurrency=4', '--refresh-time-period=0' /* each ExternalSecret refresh shows in status.refreshTime */], providers: [createAwsProvider(), createVaultProvider(), createFakeProvider(), createAlibabaProvider()] });
  await refreshes(ns, 'gen', 2);
  const afterRestart = await refreshTime();
  await waitFor('the ExternalSecret refreshed after the restart', async () => (await refreshTime()) !== afterRestart);
  assert.equal((await secretData(ns, 'generated'))!['password'], first);
  assert.equal(await remote(`${ns}/uuid`), uuid);
  assert.equal(await versions(`${ns}/uuid`), uuidVersions);

  // A rotation is asked for with a new value of the secret-relay.dev/rotate annotation.
  await patchObject(kube, Plural.ExternalSecret, 'generated', { metadata: { annotations: { 'secret-relay.dev/rotate': '1' } } }, ns);
  await patchObject(kube, Plural.PushSecret, 'gen', { metadata: { annotations: { 'secret-relay.dev/rotate': '1' } } }, ns);
  const second = await waitFor('a new password', async () => {
    const value = (await secretData(ns, 'generated'))?.['password'];
    return value !== undefined && value !== first ? value : undefined;
  });
  secrets.add(second);
  const newUuid = await waitFor('a new UUID pushed', async () => {
    const value = await remote(`${ns}/uuid`);
    return value !== undefined && value !== uuid ? value : undefined;
  });
  secrets.add(newUuid);
  await refreshes(ns, 'gen', 2);
  assert.equal((await secretData(ns, 'generated'))!['password'], second, 'stable again after the rotation');
  assert.equal(await remote(`${ns}/uuid`), newUuid);
  assert.equal(await versions(`${ns}/uuid`), uuidVersions + 1, 'the rotation pushed once');
});

test('generator bounds as a tenant meets them: a huge Password length or RSA keySize is refused by the apiserver with a readable message; an ecdsa SSHKey is generated', async () => {
  const ns = await namespaces.create(kube);
  const refusal = async (plural: string, body: Record<string, unknown>) =>
    createObject(kube, plural, body, ns).then(
      () => assert.fail(`${plural} ${JSON.stringify(body)} was accepted`),
      (err: unknown) => String((err as { body?: unknown }).body ?? err),
    );
  const password = (spec: Record<string, unknown>) => ({ apiVersion: 'secret-relay.dev/v1alpha1', kind: 'Password', metadata: { name: 'huge' }, spec });
  const sshKey = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SSHKey', metadata: { name }, spec });
  assert.match(await refusal(Plural.Password, password({ length: 1_000_000_000, allowRepeat: true })), /spec.length: Invalid value: 1000000000: spec.length in body should be less than or equal to 1024/);
  assert.match(await refusal(Plural.SSHKey, sshKey('rsa8192', { keyType: 'rsa', keySize: 8192 })), /spec.keySize in body should be less than or equal to 4096/);
  assert.match(await refusal(Plural.SSHKey, sshKey('rsa1024', { keySize: 1024 })), /spec.keySize must be 2048, 3072 or 4096 for rsa keys/);
  assert.match(await refusal(Plural.SSHKey, sshKey('ec300', { keyType: 'ecdsa', keySize: 300 })), /spec.keySize must be 256, 384 or 521 for ecdsa keys/);

  await createObject(kube, Plural.SSHKey, sshKey('ec', { keyType: 'ecdsa', keySize: 384, comment: 'deploy@ci' }), ns);
  await createObject(kube, Plural.ExternalSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'ec-key' },
    spec: { refreshInterval: '1h', dataFrom: [{ sourceRef: { generatorRef: { kind: 'SSHKey', name: 'ec' } } }] },
  }, ns);
  await waitReady(kube, { namespace: ns, name: 'ec-key', status: 'True' });
  const data = (await secretData(ns, 'ec-key'))!;
  secrets.add(data['privateKey']!);
  assert.match(data['publicKey']!, /^ecdsa-sha2-nistp384 [A-Za-z0-9+/=]+ deploy@ci\n$/);
  assert.match(data['privateKey']!, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
});

test('ClusterPushSecret: a PushSecret in each selected namespace, pushed; removed (and under Delete its remote secret) when the namespace stops matching', async () => {
  const ns = await namespaceWithStores();
  const value = secrets.next('cps');
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'shared-src' }, stringData: { v: value } } });
  const label = `cps-${ns}`;
  await kube.core.patchNamespace({ name: ns, body: { metadata: { labels: { [label]: 'yes' } } } }, k8sMergePatch);
  const name = `fan-${ns}`;
  await createObject(kube, Plural.ClusterPushSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ClusterPushSecret',
    metadata: { name },
    spec: {
      pushSecretName: 'fanned',
      namespaceSelectors: [{ matchLabels: { [label]: 'yes' } }],
      pushSecretSpec: { refreshInterval: '1h', secretStoreRefs: [{ name: 'aws' }], deletionPolicy: 'Delete', selector: { secret: { name: 'shared-src' } }, data: [{ match: { secretKey: 'v', remoteRef: { remoteKey: `${ns}/fanned` } } }] },
    },
  });
  await waitReady(kube, { plural: Plural.ClusterPushSecret, name, status: 'True', reason: 'Provisioned' });
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'fanned', status: 'True' });
  assert.equal(await remote(`${ns}/fanned`), value);
  await kube.core.patchNamespace({ name: ns, body: { metadata: { labels: { [label]: 'no' } } } }, k8sMergePatch);
  await waitFor('the PushSecret removed from the namespace', async () => (await getObject(kube, Plural.PushSecret, 'fanned', ns)) === undefined);
  await waitFor('its remote secret deleted (deletionPolicy Delete)', async () => (await deletedDate(`${ns}/fanned`)) !== undefined);
  await deleteObject(kube, Plural.ClusterPushSecret, name);
});

test('ClusterPushSecret: a changed pushSecretName writes the PushSecret under the new name and deletes the one under the old name', async () => {
  const ns = await namespaceWithStores();
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'renamed-src' }, stringData: { v: secrets.next('cps-rename') } } });
  const name = `rename-${ns}`;
  await createObject(kube, Plural.ClusterPushSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ClusterPushSecret',
    metadata: { name },
    spec: {
      pushSecretName: 'before',
      namespaces: [ns],
      pushSecretSpec: { refreshInterval: '1h', secretStoreRefs: [{ name: 'aws' }], selector: { secret: { name: 'renamed-src' } }, data: [{ match: { secretKey: 'v', remoteRef: { remoteKey: `${ns}/renamed-cps` } } }] },
    },
  });
  await waitReady(kube, { plural: Plural.ClusterPushSecret, name, status: 'True', reason: 'Provisioned' });
  assert.ok(await getObject(kube, Plural.PushSecret, 'before', ns));
  await patchObject(kube, Plural.ClusterPushSecret, name, { spec: { pushSecretName: 'after' } });
  await waitFor('the PushSecret under the new name', () => getObject(kube, Plural.PushSecret, 'after', ns));
  await waitFor('the PushSecret under the old name deleted', async () => (await getObject(kube, Plural.PushSecret, 'before', ns)) === undefined, 15_000);
  await deleteObject(kube, Plural.ClusterPushSecret, name);
});

test("ESO's PushSecret and generator documentation examples, converted by migrate, are accepted by the apiserver", async () => {
  const ns = await namespaces.create(kube);
  const dir = join(import.meta.dirname, '../fixtures/eso-push-docs');
  const inputs = readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') }));
  const plurals: Record<string, string> = { PushSecret: Plural.PushSecret, ClusterPushSecret: Plural.ClusterPushSecret, Password: Plural.Password, SSHKey: Plural.SSHKey, UUID: Plural.UUID, ExternalSecret: Plural.ExternalSecret };
  let applied = 0;
  for (const result of convertFiles(inputs, { adopt: true })) {
    if (!result.output) continue;
    for (const doc of parseAllDocuments(result.output).map((d) => d.toJS() as { apiVersion?: string; kind?: string; metadata?: { namespace?: string } })) {
      if (doc?.apiVersion !== 'secret-relay.dev/v1alpha1') continue;
      const plural = plurals[doc.kind ?? '']!;
      const body = { ...doc, metadata: { ...doc.metadata, namespace: undefined } };
      const common = { group: 'secret-relay.dev', version: 'v1alpha1', plural, body, dryRun: 'All', fieldValidation: 'Strict' };
      await (doc.kind === 'ClusterPushSecret' ? kube.custom.createClusterCustomObject(common) : kube.custom.createNamespacedCustomObject({ ...common, namespace: ns })).catch((err: unknown) => {
        throw new Error(`${result.file} ${doc.kind}: ${String((err as { body?: unknown }).body ?? err)}`);
      });
      applied++;
    }
  }
  assert.ok(applied >= 20, `${applied} converted objects applied`);
});

test('no secret value in logs, audit records, Events or statuses', async () => {
  const pushStatuses: string[] = [];
  for (const ns of namespaces.names) {
    const list = (await kube.custom.listNamespacedCustomObject({ group: 'secret-relay.dev', version: 'v1alpha1', namespace: ns, plural: Plural.PushSecret })) as { items: { status?: unknown }[] };
    pushStatuses.push(JSON.stringify(list.items.map((i) => i.status)));
  }
  await assertNoLeaks({ logs: [op.logs, ...stopped.map((o) => o.logs)], audit: [op.audit, ...stopped.map((o) => o.audit)], expectAudit: true, kube, namespaces: namespaces.names, values: secrets, atLeast: 5, extra: { 'PushSecret statuses': pushStatuses.join('\n') } });
});
