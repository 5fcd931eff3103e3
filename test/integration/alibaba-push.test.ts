// PushSecret writes to Alibaba Cloud KMS Secrets Manager, against the fake KMS/STS (test/fakes/alibaba/server.ts,
// checked with Alibaba's Python SDK in alibaba-python.test.ts) with RRSA tokens minted by the real apiserver: a pushed
// secret carries our mark in its tags and the metadata's tags and description; a new version only when the value
// changed; a secret someone else made is never written or deleted without the opt-in; DeleteSecret (recovery window)
// for ours, restored when the same PushSecret pushes there again; a role that may only read is refused by name.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { TestNamespaces } from '../support/integration.ts';
import { startAlibabaFake, type AlibabaFake, type Allow } from '../fakes/alibaba/server.ts';
import { directStoreContext, pushAs, useClusterForDirectClients } from '../support/direct-store.ts';
import type { TestKube } from '../support/kube.ts';
import type { KubeClient } from '../../src/k8s/kube-client.ts';
import { createAlibabaProvider } from '../../src/providers/alibaba/provider.ts';
import type { AlibabaProvider } from '../../src/api/types.generated.ts';
import { AccessDeniedError, type SecretsClient } from '../../src/providers/provider.ts';
import { RemoteNotOwnedError } from '../../src/providers/push.ts';

const REGION = 'cn-hangzhou';
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const OIDC_PROVIDER = 'acs:ram::1234567890123456:oidc-provider/ack-rrsa-push';
let cluster: LocalCluster;
let kube: TestKube;
let operatorKube: KubeClient;
let fake: AlibabaFake;
const namespaces = new TestNamespaces('alipush');
const signal = () => AbortSignal.timeout(30_000);
const bytes = (text: string) => new TextEncoder().encode(text);
let roles = 0;

before(async () => {
  ({ cluster, kube, operatorKube } = await useClusterForDirectClients());
  fake = await startAlibabaFake({ kubeconfigPath: cluster.kubeconfigPath });
  fake.addOidcProvider({ arn: OIDC_PROVIDER, issuer: ISSUER });
});

after(async () => {
  await fake?.stop();
  await operatorKube?.close();
  await cluster?.stop();
});

/** A client acting as an RRSA ServiceAccount whose role the RAM policy `allow` governs. */
async function client(allow: Allow): Promise<SecretsClient> {
  const ns = await namespaces.create(kube);
  const roleArn = `acs:ram::1234567890123456:role/pusher-${++roles}`;
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'pusher' } } });
  fake.addRole({ arn: roleArn, oidcProviderArn: OIDC_PROVIDER, subjects: [`system:serviceaccount:${ns}:pusher`], allow });
  const spec = {
    regionID: REGION,
    endpoint: fake.kmsEndpoint,
    auth: { rrsa: { oidcProviderArn: OIDC_PROVIDER, roleArn, serviceAccountRef: { name: 'pusher' }, stsEndpoint: fake.stsEndpoint } },
  } as unknown as AlibabaProvider;
  return createAlibabaProvider().newClient(spec, directStoreContext(operatorKube, ns));
}

test('CreateSecret with our mark, tags and description; unchanged adds no version; property merged; binary kept binary; foreign refused until adopted; delete only ours, restored on a new push', async () => {
  const writer = await client(() => true);
  const push = pushAs(writer);
  const metadata = { apiVersion: 'kubernetes.external-secrets.io/v1alpha1', kind: 'PushSecretMetadata', spec: { tags: { team: 'a' }, description: 'the app database' } };
  assert.equal(await push('db-password', 's3cret', { metadata }), 'created');
  const created = fake.inspect('db-password')!;
  assert.deepEqual(created.tags, { team: 'a', 'managed-by': 'secret-relay', 'secret-relay.dev/push-secret': 'team/db' });
  assert.equal(created.description, 'the app database');
  assert.deepEqual([created.versions, created.current, created.currentType], [1, 's3cret', 'text']);
  assert.equal(await push('db-password', 's3cret', { metadata }), 'unchanged');
  assert.equal(fake.inspect('db-password')!.versions, 1, 'no new version for the same value');
  assert.equal(await push('db-password', 'rotated', { metadata: { ...metadata, spec: { tags: { team: 'b' }, description: 'moved' } } }), 'updated');
  assert.deepEqual([fake.inspect('db-password')!.versions, fake.inspect('db-password')!.current, fake.inspect('db-password')!.tags['team'], fake.inspect('db-password')!.description], [2, 'rotated', 'b', 'moved']);
  // The reader sees what was pushed (ACSCurrent moved to the new version).
  assert.equal(new TextDecoder().decode(await writer.getSecret({ key: 'db-password' }, signal())), 'rotated');
  assert.equal(new TextDecoder().decode(await writer.getSecret({ key: 'db-password', version: 'ACSPrevious' }, signal())), 's3cret');

  assert.equal(await push('db-config', 'u', { property: 'user' }), 'created');
  assert.equal(await push('db-config', 'h', { property: 'host' }), 'updated');
  assert.deepEqual(JSON.parse(fake.inspect('db-config')!.current!), { user: 'u', host: 'h' });

  const binary = new Uint8Array([0, 159, 146, 150, 255]);
  assert.equal(await push('keystore', binary), 'created');
  assert.equal(fake.inspect('keystore')!.currentType, 'binary');
  assert.deepEqual(await writer.getSecret({ key: 'keystore' }, signal()), binary);
  assert.equal(await push('keystore', binary), 'unchanged');

  fake.putSecret('theirs', { data: 'not yours', tags: { owner: 'other-team' } });
  await assert.rejects(push('theirs', 'mine'), (err: unknown) => err instanceof RemoteNotOwnedError && /"theirs" .* not created by secret-relay/.test((err as Error).message));
  assert.equal(fake.inspect('theirs')!.current, 'not yours');
  assert.equal(await writer.deleteSecret!({ remoteKey: 'theirs', owner: 'team/db' }, signal()), 'not-owned');
  assert.equal(fake.inspect('theirs')!.plannedDeleteTime, undefined);
  assert.equal(await push('theirs', 'mine', { adopt: true }), 'updated');
  assert.deepEqual(fake.inspect('theirs')!.tags, { owner: 'other-team', 'managed-by': 'secret-relay', 'secret-relay.dev/push-secret': 'team/db' });
  assert.equal(fake.inspect('theirs')!.current, 'mine');
  assert.equal(await push('theirs', 'again', { updatePolicy: 'IfNotExists' }), 'exists');
  await assert.rejects(push('theirs', 'x', { owner: 'team/web' }), /created by PushSecret team\/db/);

  await assert.rejects(push('bad-tag', 'v', { metadata: { spec: { tags: { 'acs:owner': 'me' } } } }), /key "acs:owner" is refused by KMS/);
  assert.equal(fake.inspect('bad-tag'), undefined);

  assert.equal(await writer.deleteSecret!({ remoteKey: 'db-config', property: 'host', owner: 'team/db' }, signal()), 'deleted');
  assert.deepEqual(JSON.parse(fake.inspect('db-config')!.current!), { user: 'u' });
  assert.equal(await writer.deleteSecret!({ remoteKey: 'db-password', owner: 'team/db' }, signal()), 'deleted');
  assert.ok(fake.inspect('db-password')!.plannedDeleteTime, 'scheduled for deletion (KMS recovery window)');
  assert.equal(await writer.deleteSecret!({ remoteKey: 'db-password', owner: 'team/db' }, signal()), 'absent');
  // Pushed again by the same PushSecret: restored and written.
  assert.equal(await push('db-password', 'back'), 'created');
  assert.deepEqual([fake.inspect('db-password')!.plannedDeleteTime, fake.inspect('db-password')!.current], [undefined, 'back']);
  // Someone else's secret in its deletion window is not restored.
  fake.putSecret('gone-theirs', { data: 'x' });
  fake.scheduleDeletion('gone-theirs');
  await assert.rejects(push('gone-theirs', 'mine'), /scheduled for deletion and was not created by secret-relay/);
  assert.ok(fake.inspect('gone-theirs')!.plannedDeleteTime);
});

test('a long PushSecret name: the owner tag holds its SHA-256 (KMS tag values are at most 128 characters), and ownership still holds', async () => {
  const writer = await client(() => true);
  const owner = `team/${'p'.repeat(200)}`;
  assert.equal(await writer.pushSecret!({ remoteKey: 'long-owner', value: bytes('v1'), owner, adopt: false, updatePolicy: 'Replace' }, signal()), 'created');
  assert.match(fake.inspect('long-owner')!.tags['secret-relay.dev/push-secret']!, /^sha256:[0-9a-f]{64}$/);
  assert.equal(await writer.pushSecret!({ remoteKey: 'long-owner', value: bytes('v2'), owner, adopt: false, updatePolicy: 'Replace' }, signal()), 'updated');
  assert.equal(await writer.deleteSecret!({ remoteKey: 'long-owner', owner: 'team/short' }, signal()), 'not-owned');
  assert.equal(await writer.deleteSecret!({ remoteKey: 'long-owner', owner }, signal()), 'deleted');
});

test('a role that may only read is refused by name (RAM policy), nothing created', async () => {
  const reader = await client((action) => action === 'kms:GetSecretValue' || action === 'kms:DescribeSecret');
  await assert.rejects(
    reader.pushSecret!({ remoteKey: 'no-write', value: bytes('v'), owner: 'team/db', adopt: false, updatePolicy: 'Replace' }, signal()),
    (err: unknown) => err instanceof AccessDeniedError && /denied kms:CreateSecret on "no-write" in region cn-hangzhou to .*pusher.*Forbidden\.NoPermission/.test((err as Error).message),
  );
  assert.equal(fake.inspect('no-write'), undefined);
});
