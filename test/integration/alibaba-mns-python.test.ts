// The Simple Message Queue (MNS) fake is faithful on the wire and in its delivery semantics: Alibaba's official Python
// MNS SDK (aliyun-mns-sdk, installed into .cache/venv-alibaba by test/setup/install-alibaba-client.sh; the operator
// uses the Node client @alicloud/mns) drives it unchanged with STS credentials from an RRSA exchange — queues,
// send/receive (base64 and raw), visibility timeout and redelivery, change visibility, batches, long polling — gets
// the service's refusals, and reads the ActionTrail events the EventBridge part of the fakes forwards.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { SERVICE_ACCOUNT_ISSUER } from '../support/cluster.ts';
import { assertAlibabaPythonInstalled, runAlibabaPythonCheck } from '../support/alibaba-python.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube } from '../support/operator.ts';
import { TestNamespaces } from '../support/integration.ts';
import { startAlibabaFake, type AlibabaFake } from '../fakes/alibaba/server.ts';
import { startMnsFake, type MnsFake } from '../fakes/alibaba/mns.ts';
import { ruleToQueue } from '../fakes/alibaba/eventbridge.ts';
import type { TestKube } from '../support/kube.ts';
import { loadAlibabaSdk } from '../../src/providers/alibaba/sdk.ts';

const REGION = 'cn-hangzhou';
const OIDC_PROVIDER = 'acs:ram::1234567890123456:oidc-provider/ack-rrsa-mns';
const ROLE = 'acs:ram::1234567890123456:role/mns-python';
const SHORT_ROLE = 'acs:ram::1234567890123456:role/mns-expiring';

let cluster: LocalCluster;
let kube: TestKube;
let kms: AlibabaFake;
let mns: MnsFake;
const namespaces = new TestNamespaces('alibaba-mns');

before(async () => {
  assertAlibabaPythonInstalled();
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  kms = await startAlibabaFake({ kubeconfigPath: cluster.kubeconfigPath });
  mns = await startMnsFake({ credential: (id) => kms.credential(id) });
});

after(async () => {
  await mns?.stop();
  await kms?.stop();
  await cluster?.stop();
});

test('Alibaba’s Python MNS SDK works against the queue fake unchanged with an RRSA session: redelivery, visibility, batches, refusals, EventBridge’s ActionTrail events', async () => {
  const ns = await namespaces.create(kube);
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'python' } } });
  const token = async () =>
    (await kube.core.createNamespacedServiceAccountToken({ namespace: ns, name: 'python', body: { spec: { audiences: ['sts.aliyuncs.com'], expirationSeconds: 600 } } })).status!.token!;
  kms.addOidcProvider({ arn: OIDC_PROVIDER, issuer: SERVICE_ACCOUNT_ISSUER });
  const subjects = [`system:serviceaccount:${ns}:python`];
  kms.addRole({ arn: ROLE, oidcProviderArn: OIDC_PROVIDER, subjects, allow: (action) => action.startsWith('mns:') });
  kms.addRole({ arn: SHORT_ROLE, oidcProviderArn: OIDC_PROVIDER, subjects, allow: () => true, sessionsExpireAfterMs: 0 });
  kms.addAccessKey({ id: 'LTAIdeniedmns', secret: 'denied-secret', allow: (action) => !action.startsWith('mns:') });
  const sdk = await loadAlibabaSdk();
  const sts = { protocol: 'http' as const, host: new URL(kms.stsEndpoint).host };
  const assume = async (roleArn: string) => {
    const c = await sdk.assumeRoleWithOIDC(sts, REGION, { oidcProviderArn: OIDC_PROVIDER, roleArn, roleSessionName: 'python-mns', oidcToken: await token(), durationSeconds: 3600 });
    return { id: c.accessKeyId, secret: c.accessKeySecret, token: c.securityToken };
  };

  mns.createQueue('py-events');
  const rule = ruleToQueue(kms, mns, 'py-events', { region: REGION });
  kms.putSecret('py-db', { data: 'never-in-an-event-1' });
  kms.putSecret('py-db', { data: 'never-in-an-event-2' });
  kms.scheduleDeletion('py-db');
  const deadline = Date.now() + 10_000;
  while (mns.depth('py-events') < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  rule.stop();
  assert.ok(!rule.delivered.join('').includes('never-in-an-event'), 'an ActionTrail event never carries the value');

  const out = await runAlibabaPythonCheck('python_mns_check.py', { endpoint: mns.endpoint, sts: await assume(ROLE), expired: await assume(SHORT_ROLE), denied: { id: 'LTAIdeniedmns', secret: 'denied-secret' }, eventsQueue: 'py-events' });
  assert.equal(out['created'], `${mns.endpoint}/queues/py-queue`);
  assert.equal(out['again'], 'QueueAlreadyExist');
  assert.equal(out['visibility'], 2);
  assert.deepEqual(out['received'], ['hello from python', true, 1]);
  assert.equal(out['while_invisible'], 'MessageNotExist', 'a received message is invisible until its visibility timeout');
  assert.deepEqual(out['redelivered'], [true, 2, true, true], 'an undeleted message comes back with a new receipt handle');
  assert.equal(out['old_handle'], 'MessageNotExist', 'the previous receipt handle no longer deletes');
  assert.equal(out['garbage_handle'], 'ReceiptHandleError');
  assert.equal(out['after_delete'], 'MessageNotExist');
  assert.equal(out['changed_handle_differs'], true);
  assert.deepEqual(out['after_change'], ['two', 2]);
  assert.deepEqual(out['batch'], ['b1', 'b2', 'b3']);
  assert.equal(out['batch_empty'], 'MessageNotExist');
  assert.equal(out['bad_wait'], 'InvalidArgument');
  assert.equal(out['missing_queue'], 'QueueNotExist');
  assert.equal(out['wrong_secret'], 'SignatureDoesNotMatch');
  assert.equal(out['no_token'], 'InvalidSecurityToken', 'STS credentials without their security-token header are refused');
  assert.equal(out['expired_token'], 'SecurityTokenExpired');
  assert.equal(out['denied'], 'AccessDenied');
  assert.equal(out['unknown_key'], 'InvalidAccessKeyId');
  assert.deepEqual(out['events'], [
    ['kms:ActionTrail:ApiCall', 'CreateSecret', 'py-db', 'Kms'],
    ['kms:ActionTrail:ApiCall', 'DeleteSecret', 'py-db', 'Kms'],
    ['kms:ActionTrail:ApiCall', 'PutSecretValue', 'py-db', 'Kms'],
  ]);
  assert.equal(out['deleted'], 'QueueNotExist');
  assert.ok(mns.requests.some((r) => r.principal === ROLE && r.action === 'mns:ReceiveMessage' && r.refused === undefined), 'the role’s session was authenticated');
});
