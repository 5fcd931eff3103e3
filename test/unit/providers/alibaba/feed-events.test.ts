// Which keys a KMS event (as EventBridge writes it to a Simple Message Queue queue) names, and where a store's queue
// URL may point.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changeFromQueueMessage, decodeQueueMessage } from '../../../../src/providers/alibaba/feed-events.ts';
import { parseQueueUrl } from '../../../../src/providers/alibaba/mns-feed.ts';
import { isMnsServiceUrl } from '../../../../src/api/providers/alibaba.ts';
import { DEFAULT_TENANCY_POLICY, declaredTenancy, tenancyViolations } from '../../../../src/providers/kit/tenancy.ts';
import { actionTrailEvent, rotationEvent } from '../../../fakes/alibaba/eventbridge.ts';

const store = { regionId: 'cn-hangzhou' };
const at = Date.parse('2026-12-06T05:00:00Z');
const event = (eventName: string, secretName = 'db', options: Partial<Parameters<typeof actionTrailEvent>[1]> = {}) =>
  actionTrailEvent({ eventName, secretName, requestId: 'R1', at }, { region: 'cn-hangzhou', ...options });
const json = (v: unknown) => JSON.stringify(v);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

test('an ActionTrail PutSecretValue (raw or base64, as the MNS target writes it) names the secret; its event id is the notification id', () => {
  const e = event('PutSecretValue');
  const expected = { id: e['id'], keys: ['db'], occurredAt: at, event: 'PutSecretValue' };
  assert.deepEqual(changeFromQueueMessage(json(e), store), expected);
  assert.deepEqual(changeFromQueueMessage(b64(e), store), expected);
  assert.equal(decodeQueueMessage(b64({ a: 1 })), '{"a":1}');
});

test('every secret-changing call counts; reads, failed calls, other services and other regions do not', () => {
  for (const name of ['CreateSecret', 'PutSecretValue', 'UpdateSecretVersionStage', 'UpdateSecret', 'RotateSecret', 'DeleteSecret', 'RestoreSecret']) {
    assert.deepEqual(changeFromQueueMessage(json(event(name)), store)?.keys, ['db'], name);
  }
  assert.equal(changeFromQueueMessage(json(event('GetSecretValue')), store), undefined, 'a read');
  const failed = event('PutSecretValue');
  (failed['data'] as Record<string, unknown>)['errorCode'] = 'Forbidden.NoPermission';
  assert.equal(changeFromQueueMessage(json(failed), store), undefined, 'a refused call changed nothing');
  assert.equal(changeFromQueueMessage(json(event('PutSecretValue', 'db', { region: 'ap-southeast-1' })), store), undefined, 'another region');
  assert.equal(changeFromQueueMessage(json(event('DeleteDisk', 'db', { type: 'ecs:ActionTrail:ApiCall', serviceName: 'Ecs', eventSource: 'ecs.aliyuncs.com' })), store), undefined, 'another service');
  assert.deepEqual(changeFromQueueMessage(json(event('PutSecretValue', 'db', { serviceName: 'kms', eventSource: 'kms-vpc.cn-hangzhou.aliyuncs.com' })), store)?.keys, ['db'], 'console and VPC spellings');
});

test('a secret named by its ARN is that secret when the ARN is of the store’s region; hostile names name nothing', () => {
  assert.deepEqual(changeFromQueueMessage(json(event('PutSecretValue', 'acs:kms:cn-hangzhou:1234567890123456:secret/db')), store)?.keys, ['db']);
  assert.equal(changeFromQueueMessage(json(event('PutSecretValue', 'acs:kms:cn-beijing:1234567890123456:secret/db')), store), undefined);
  // Names are only compared with what ExternalSecrets read (a name nobody reads is counted ignored by the host).
  for (const bad of ['a b', 'x'.repeat(193), '', 'a\u0000b', 'ü']) assert.equal(changeFromQueueMessage(json(event('PutSecretValue', bad)), store), undefined, bad);
});

test('KMS’s managed-rotation event (kms:CloudMonitor:Secret[RotateSecret:Success]) names the secret; a failed rotation, another region and garbage do not', () => {
  const rotated = rotationEvent('rds-secret', { region: 'cn-hangzhou', at });
  assert.deepEqual(changeFromQueueMessage(json(rotated), store), { id: rotated['id'], keys: ['rds-secret'], occurredAt: at, event: 'kms:CloudMonitor:Secret[RotateSecret:Success]' });
  assert.deepEqual(changeFromQueueMessage(b64(rotated), store)?.keys, ['rds-secret'], 'IsBase64Encode');
  // CloudMonitor's own eventTime (20180816T135935.689+0800) is not ISO 8601: the envelope's time is used.
  const cloudMonitorTime = { ...rotated, data: { ...(rotated['data'] as object), eventTime: '20261206T130000.000+0800' } };
  assert.equal(changeFromQueueMessage(json(cloudMonitorTime), store)?.occurredAt, at);
  // Without content.secretName, the secret's ARN (resourceId; KMS's sample has a leading space) names it.
  const byArn = { ...rotated, data: { ...(rotated['data'] as object), content: {}, resourceId: ' acs:kms:cn-hangzhou:1234567890123456:secret/by-arn' } };
  assert.deepEqual(changeFromQueueMessage(json(byArn), store)?.keys, ['by-arn']);
  assert.equal(changeFromQueueMessage(json(rotationEvent('rds-secret', { region: 'cn-hangzhou', failed: true })), store), undefined, 'a failed rotation changed nothing');
  assert.equal(changeFromQueueMessage(json(rotationEvent('rds-secret', { region: 'cn-beijing' })), store), undefined, 'another region');
  // The type was guessed as kms:Secret:RotateSecret before EventBridge's list was checked: not a KMS event type.
  assert.equal(changeFromQueueMessage(json({ id: 'k1', source: 'acs.kms', type: 'kms:Secret:RotateSecret', aliyunregionid: 'cn-hangzhou', data: { SecretName: 'rds-secret' } }), store), undefined);
  for (const garbage of ['not json', '[]', 'null', json({ id: 'x' }), json({ id: 'x', type: 't', data: [] }), b64('text')]) assert.equal(changeFromQueueMessage(garbage, store), undefined, garbage);
});

test('queue URLs: endpoint and name; Alibaba’s own hosts need no trust, any other host is an endpoint override a SecretStore may not name', () => {
  assert.deepEqual(parseQueueUrl('https://1234567890123456.mns.cn-hangzhou.aliyuncs.com/queues/secret-changes'), {
    endpoint: 'https://1234567890123456.mns.cn-hangzhou.aliyuncs.com',
    name: 'secret-changes',
    accountId: '1234567890123456',
  });
  for (const host of ['1234567890123456.mns.cn-hangzhou.aliyuncs.com', '1.mns.cn-hangzhou-internal.aliyuncs.com', '1.mns.cn-hangzhou-internal-vpc.aliyuncs.com']) {
    assert.equal(isMnsServiceUrl(`https://${host}/queues/q`), true, host);
  }
  for (const host of ['mns.cn-hangzhou.aliyuncs.com', '1.mns.cn-hangzhou.aliyuncs.com.evil.example', 'evil.example', '1.mns.cn-hangzhou.aliyuncs.co']) {
    assert.equal(isMnsServiceUrl(`https://${host}/queues/q`), false, host);
  }
  const spec = (queueURL: string) => ({
    regionID: 'cn-hangzhou',
    auth: { rrsa: { oidcProviderArn: 'acs:ram::1:oidc-provider/p', roleArn: 'acs:ram::1:role/r', serviceAccountRef: { name: 'reader' } } },
    changeFeed: { queue: { queueURL } },
  });
  const violations = (queueURL: string, kind: 'SecretStore' | 'ClusterSecretStore' = 'SecretStore') => tenancyViolations(declaredTenancy('alibaba', spec(queueURL)), kind, DEFAULT_TENANCY_POLICY).map((v) => v.rule);
  assert.deepEqual(violations('https://1234567890123456.mns.cn-hangzhou.aliyuncs.com/queues/q'), []);
  assert.deepEqual(violations('https://attacker.example/queues/q'), ['EndpointNotAllowed'], 'the store’s STS token would go to the tenant’s host');
  assert.deepEqual(violations('http://1234567890123456.mns.cn-hangzhou.aliyuncs.com/queues/q'), ['InsecureEndpoint'], 'the STS token in clear text');
  assert.deepEqual(violations('https://attacker.example/queues/q', 'ClusterSecretStore'), [], 'an admin’s ClusterSecretStore may');
});
