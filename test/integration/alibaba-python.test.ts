// The fake KMS/STS is faithful to Alibaba's wire format: Alibaba's official Python SDK (a second client the operator
// does not use; test/setup/install-alibaba-client.sh) works against it unchanged — V3 (ACS3-HMAC-SHA256, its default)
// and V1 signatures, ListSecrets Filters, AssumeRoleWithOIDC with a token minted by the real apiserver, and the write
// APIs PushSecret uses (python_kms_write_check.py) — and gets the same refusals.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { SERVICE_ACCOUNT_ISSUER } from '../support/cluster.ts';
import { assertAlibabaPythonInstalled, runAlibabaPythonCheck } from '../support/alibaba-python.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube } from '../support/operator.ts';
import { TestNamespaces } from '../support/integration.ts';
import { startAlibabaFake, type AlibabaFake } from '../fakes/alibaba/server.ts';
import type { TestKube } from '../support/kube.ts';

const OIDC_PROVIDER = 'acs:ram::1234567890123456:oidc-provider/ack-rrsa-python';
const ROLE = 'acs:ram::1234567890123456:role/python-reader';
const UNTRUSTED_ROLE = 'acs:ram::1234567890123456:role/someone-else';

let cluster: LocalCluster;
let kube: TestKube;
let fake: AlibabaFake;
const namespaces = new TestNamespaces('alibaba-python');

before(async () => {
  assertAlibabaPythonInstalled();
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  fake = await startAlibabaFake({ kubeconfigPath: cluster.kubeconfigPath });
});

after(async () => {
  await fake?.stop();
  await cluster?.stop();
});

test('Alibaba’s Python SDK reads, lists, assumes a role with an apiserver token and is refused like the real service', async () => {
  const ns = await namespaces.create(kube);
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'python' } } });
  const minted = await kube.core.createNamespacedServiceAccountToken({ namespace: ns, name: 'python', body: { spec: { audiences: ['sts.aliyuncs.com'], expirationSeconds: 600 } } });
  fake.addOidcProvider({ arn: OIDC_PROVIDER, issuer: SERVICE_ACCOUNT_ISSUER });
  fake.addRole({ arn: ROLE, oidcProviderArn: OIDC_PROVIDER, subjects: [`system:serviceaccount:${ns}:python`], allow: () => true });
  fake.addRole({ arn: UNTRUSTED_ROLE, oidcProviderArn: OIDC_PROVIDER, subjects: ['system:serviceaccount:other:other'], allow: () => true });
  fake.addAccessKey({ id: 'LTAIpythonpython', secret: 'python-secret' });
  fake.putSecret('py-secret', { data: 'first', tags: { team: 'py' } });
  fake.putSecret('py-secret', { data: 'second' });
  fake.putSecret('py-other', { data: 'x', tags: { team: 'other' } });

  const result = await runAlibabaPythonCheck('python_client.py', {
    region: 'cn-hangzhou',
    kmsHost: new URL(fake.kmsEndpoint).host,
    stsHost: new URL(fake.stsEndpoint).host,
    accessKey: { id: 'LTAIpythonpython', secret: 'python-secret' },
    secretName: 'py-secret',
    tagKey: 'team',
    tagValue: 'py',
    oidcProviderArn: OIDC_PROVIDER,
    roleArn: ROLE,
    untrustedRoleArn: UNTRUSTED_ROLE,
    oidcToken: minted.status!.token,
  });
  assert.deepEqual(result['v3'], { data: 'second', stages: ['ACSCurrent'] }, 'ACS3-HMAC-SHA256 (the Python SDK’s default) verified');
  assert.equal(result['v3Previous'], 'first');
  assert.equal(result['v1'], 'second', 'HMAC-SHA1 V1 verified');
  assert.deepEqual(result['listed'], ['py-secret'], 'ListSecrets Filters');
  assert.equal(result['wrongSecret'], 'SignatureDoesNotMatch');
  assert.equal(result['missing'], 'Forbidden.ResourceNotFound');
  assert.match(String(result['assumedRoleArn']), /role\/python-reader\/python-sdk$/);
  assert.equal(result['withSession'], 'second', 'the STS session (with its SecurityToken) signs KMS reads');
  assert.equal(result['untrusted'], 'AuthenticationFail.NoPermission');
  assert.ok(fake.requests.some((r) => r.action === 'sts:AssumeRoleWithOIDC' && r.refused === undefined));
});

test('Alibaba’s Python SDK writes (CreateSecret, PutSecretValue, tags, DeleteSecret, RestoreSecret) and is refused like the real service', async () => {
  fake.addAccessKey({ id: 'LTAIpywriterwrite', secret: 'python-writer' });
  fake.addAccessKey({ id: 'LTAIpyreaderonly0', secret: 'python-reader', allow: (action) => action === 'kms:GetSecretValue' });
  // A value larger than a URL-sized query, with characters form encoding must keep.
  const second = `second & = + ${'x'.repeat(20_000)}`;
  const result = await runAlibabaPythonCheck(
    'python_kms_write_check.py',
    {
      region: 'cn-hangzhou',
      kmsHost: new URL(fake.kmsEndpoint).host,
      accessKey: { id: 'LTAIpywriterwrite', secret: 'python-writer' },
      readOnlyKey: { id: 'LTAIpyreaderonly0', secret: 'python-reader' },
      secretName: 'py-written',
      first: 'first value',
      second,
    },
  );
  assert.deepEqual(result['created'], { name: 'py-written', versionId: 'v1' });
  assert.equal(result['createTaken'], 'Rejected.ResourceExist');
  assert.deepEqual(result['put'], { versionId: 'v2', stages: ['ACSCurrent'] });
  assert.equal(result['putSameVersion'], 'Rejected.ResourceExist');
  assert.equal(result['current'], second, 'SecretData sent in a form body arrives whole');
  assert.equal(result['previous'], 'first value');
  assert.deepEqual(result['described'], { tags: { env: 'prod' }, description: 'changed' });
  assert.equal(result['reservedTag'], 'InvalidParameter');
  assert.match(String(result['plannedDeleteTime']), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  assert.equal(result['readDeleted'], 'Forbidden.ResourceNotFound');
  assert.equal(result['createInWindow'], 'Rejected.ResourceInDeleteWindow');
  assert.equal(result['putInWindow'], 'Rejected.ResourceInDeleteWindow');
  assert.equal(result['describedInWindow'], result['plannedDeleteTime'], 'DescribeSecret describes a secret in its deletion window, with PlannedDeleteTime');
  assert.equal(result['deleteInWindow'], 'Rejected.ResourceInDeleteWindow');
  assert.equal(result['restored'], second);
  assert.equal(result['badWindow'], 'InvalidParameter');
  assert.equal(result['readForced'], 'Forbidden.ResourceNotFound');
  assert.equal(result['putMissing'], 'Forbidden.ResourceNotFound');
  assert.equal(result['denied'], 'Forbidden.NoPermission');
  assert.equal(fake.inspect('denied'), undefined);
});
