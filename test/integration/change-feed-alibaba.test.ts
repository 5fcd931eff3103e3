// The alibaba change feed against the real control plane and the Alibaba fakes: the KMS fake records each write as
// ActionTrail would, the EventBridge part sends the CloudEvents envelope to the Simple Message Queue (MNS) fake as an
// MNS target does (raw JSON or base64), and the operator long-polls the queue with the store's own RRSA session (the
// store's ServiceAccount token exchanged with the STS fake; its STS token on every request). A rotation must reach
// the Secret with refreshInterval 1h. Every secret value used is searched for at the end.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, createObject, eventNotes, Plural, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { changeFeedStatus, hourlyExternalSecret, listenUntrusted, measureRotations, UNTRUSTED_HOST, waitFeedConnected } from '../support/change-feed.ts';
import { operatorMetric, operatorMetricsText } from '../support/metrics.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import { startAlibabaFake, type AlibabaFake, type Allow } from '../fakes/alibaba/server.ts';
import { startMnsFake, type MnsFake } from '../fakes/alibaba/mns.ts';
import { actionTrailEvent, queueMessageBody, ruleToQueue } from '../fakes/alibaba/eventbridge.ts';
import type { TestKube } from '../support/kube.ts';
import { createAlibabaProvider } from '../../src/providers/alibaba/provider.ts';

const REGION = 'cn-hangzhou';
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const OIDC_PROVIDER = 'acs:ram::1234567890123456:oidc-provider/ack-rrsa-feed';
const SOURCE = 'alibaba-mns';

let cluster: LocalCluster;
let kube: TestKube;
let kms: AlibabaFake;
let mns: MnsFake;
let op: TestOperator;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('alifeed');

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  kms = await startAlibabaFake({ kubeconfigPath: cluster.kubeconfigPath });
  kms.addOidcProvider({ arn: OIDC_PROVIDER, issuer: ISSUER });
  mns = await startMnsFake({ credential: (id) => kms.credential(id) });
  op = await startTestOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    args: ['--leader-elect=false', '--concurrency=4', '--trusted-endpoint-hosts=127.0.0.1' /* the fakes' KMS, STS and queue */],
    providers: [createAlibabaProvider()],
  });
});

after(async () => {
  await stopTestOperator(op, 'change-feed-alibaba');
  await mns?.stop();
  await kms?.stop();
  await cluster?.stop();
});

const metric = (name: string, labels: Record<string, string>) => operatorMetric(op, name, labels);
const roleOf = (ns: string) => `acs:ram::1234567890123456:role/feed-${ns}`;

/** A role for ServiceAccount ns/reader allowed `allow` (default: everything), and that ServiceAccount. */
async function reader(ns: string, allow: Allow = () => true): Promise<string> {
  const arn = roleOf(ns);
  kms.addRole({ arn, oidcProviderArn: OIDC_PROVIDER, subjects: [`system:serviceaccount:${ns}:reader`], allow });
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader' } } });
  return arn;
}

async function feedStore(ns: string, queueURL: string): Promise<void> {
  await createObject(kube, Plural.SecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name: 'kms' },
    spec: {
      provider: {
        alibaba: {
          regionID: REGION,
          endpoint: kms.kmsEndpoint,
          auth: { rrsa: { oidcProviderArn: OIDC_PROVIDER, roleArn: roleOf(ns), serviceAccountRef: { name: 'reader' }, stsEndpoint: kms.stsEndpoint } },
          changeFeed: { queue: { queueURL } },
        },
      },
    },
  }, ns);
}

const externalSecret = (ns: string, name: string, key: string) => hourlyExternalSecret(kube, ns, 'kms', name, key);
const feedStatus = (ns: string) => changeFeedStatus(kube, ns, 'kms', SOURCE);
const queueName = (ns: string) => `changes-${ns}`.slice(0, 120);

for (const base64 of [false, true]) {
  test(`alibaba (${base64 ? 'base64' : 'raw JSON'} messages): a new version reaches the Secret through EventBridge → Simple Message Queue with refreshInterval 1h, read with the store’s RRSA identity; duplicated, reordered and irrelevant events are harmless`, async () => {
    const ns = await namespaces.create(kube);
    const role = await reader(ns);
    const queue = queueName(ns);
    mns.createQueue(queue);
    const rule = ruleToQueue(kms, mns, queue, { region: REGION, base64 });
    const name = `feed-${ns}`.slice(0, 60);
    try {
      let value = secrets.next('v0');
      kms.putSecret(name, { data: value });
      kms.putSecret(`${name}-unread`, { data: secrets.next('unread') });
      await feedStore(ns, mns.queueUrl(queue));
      await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'kms', status: 'True' });
      await externalSecret(ns, 'app-a', name);
      await externalSecret(ns, 'app-b', name);
      await waitSecretData(kube, ns, 'app-a', { password: value });
      await waitSecretData(kube, ns, 'app-b', { password: value });
      const connected = await waitFeedConnected(() => feedStatus(ns));
      assert.ok(connected.lastHeardTime, 'lastHeardTime is set');
      assert.ok(mns.requests.some((r) => r.action === 'mns:ReceiveMessage' && r.principal === role && r.refused === undefined), 'the queue was read with the store’s own role session');
      await waitFor('the queue is drained of the setup events', () => mns.depth(queue) === 0);

      const reads = () => kms.count('kms:GetSecretValue', name);
      value = await measureRotations({ kube, ns, secrets, label: `alibaba ${base64 ? 'base64' : 'raw'}`, rotate: (next) => kms.putSecret(name, { data: next }), reads });

      // Duplicated, reordered and irrelevant messages: the newest event again and an older one after it (a
      // redelivery, out of order), another region's event, another service's, a failed call, a read, garbage.
      value = secrets.next('final');
      kms.putSecret(name, { data: value });
      await waitSecretData(kube, ns, 'app-a', { password: value }, 15_000);
      await waitFor('the final event was delivered and handled', () => rule.delivered.length >= 11 && mns.depth(queue) === 0);
      const newest = rule.delivered[rule.delivered.length - 1]!;
      const older = rule.delivered[rule.delivered.length - 3]!;
      const matchedBefore = await metric('secret_relay_change_notifications_total', { source: SOURCE, result: 'matched' });
      const ignoredBefore = await metric('secret_relay_change_notifications_total', { source: SOURCE, result: 'ignored' });
      const call = { eventName: 'PutSecretValue', secretName: name, requestId: randomUUID(), at: Date.now() };
      const otherRegion = actionTrailEvent(call, { region: 'ap-southeast-1' });
      const otherService = actionTrailEvent(call, { region: REGION, type: 'ecs:ActionTrail:ApiCall', source: 'acs.ecs', serviceName: 'Ecs', eventSource: 'ecs.aliyuncs.com' });
      const failed = actionTrailEvent(call, { region: REGION });
      (failed['data'] as Record<string, unknown>)['errorCode'] = 'Forbidden.NoPermission';
      const read = actionTrailEvent({ ...call, eventName: 'GetSecretValue' }, { region: REGION });
      const readsBefore = reads();
      for (const body of [newest, older, newest]) mns.send(queue, body);
      for (const event of [otherRegion, otherService, failed, read]) mns.send(queue, queueMessageBody(event, base64));
      mns.send(queue, 'not an event at all');
      mns.send(queue, queueMessageBody({ id: randomUUID(), type: 'kms:ActionTrail:ApiCall', data: { serviceName: 'Kms', eventName: 'PutSecretValue', acsRegion: REGION, requestParameters: { SecretName: '../../x' } } }, base64));
      await waitFor('the queue is drained of the replayed and irrelevant messages', () => mns.depth(queue) === 0, 20_000);
      await waitFor('the irrelevant messages were counted', async () => (await metric('secret_relay_change_notifications_total', { source: SOURCE, result: 'ignored' })) - ignoredBefore >= 6);
      assert.equal(await metric('secret_relay_change_notifications_total', { source: SOURCE, result: 'matched' }), matchedBefore, 'the replayed events were recognised as duplicates');
      assert.ok(reads() - readsBefore <= 0, `the replays cost no re-read (${reads() - readsBefore})`);
      await waitSecretData(kube, ns, 'app-a', { password: value });
      await waitSecretData(kube, ns, 'app-b', { password: value });
      assert.ok((await metric('secret_relay_change_to_secret_seconds_count', { source: SOURCE })) >= 2, 'the delay to the Secret is measured');

      // Deleting the secret reaches the ExternalSecrets too (they re-read and find it gone; the last good Secret stays).
      const before = reads();
      kms.scheduleDeletion(name);
      await waitFor('DeleteSecret makes the readers re-read', () => kms.requests.filter((r) => r.action === 'kms:GetSecretValue' && r.secretName === name).length > before, 15_000);
      await waitSecretData(kube, ns, 'app-a', { password: value });
    } finally {
      rule.stop();
    }
  });
}

test('alibaba: an expired STS session is renewed by the feed itself — the next rotation still arrives through the queue', async () => {
  const ns = await namespaces.create(kube);
  await reader(ns);
  const queue = queueName(ns);
  mns.createQueue(queue);
  const rule = ruleToQueue(kms, mns, queue, { region: REGION });
  const name = `renew-${ns}`.slice(0, 60);
  try {
    kms.putSecret(name, { data: secrets.next('r0') });
    await feedStore(ns, mns.queueUrl(queue));
    await externalSecret(ns, 'app', name);
    await waitFor('connected', async () => (await feedStatus(ns))?.connected);
    await waitFor('the setup events are handled', () => mns.depth(queue) === 0);
    kms.expireSessions();
    // The long poll in flight was authenticated before; the next request is refused SecurityTokenExpired, renews.
    const value = secrets.next('r1');
    kms.putSecret(name, { data: value });
    await waitSecretData(kube, ns, 'app', { password: value }, 45_000);
    assert.ok(mns.requests.some((r) => r.refused === 'SecurityTokenExpired' && r.queue === queue), 'the expired token was refused by the queue');
    assert.equal((await feedStatus(ns))?.connected, true, 'the feed never reported itself down');
  } finally {
    rule.stop();
  }
});

test('alibaba: a lost queue or a refused identity falls back to polling — the store stays Ready=True, says so in status.changeFeeds and a Warning Event — and the feed heals', async () => {
  const ns = await namespaces.create(kube);
  await reader(ns, (action) => action !== 'mns:DeleteMessage' || allowDelete);
  let allowDelete = true;
  const queue = queueName(ns);
  mns.createQueue(queue);
  await feedStore(ns, mns.queueUrl(queue));
  await waitFor('connected', async () => (await feedStatus(ns))?.connected);
  mns.deleteQueue(queue);
  const down = await waitFor('the store says its feed is not connected', async () => {
    const status = await feedStatus(ns);
    return status && !status.connected && status.message ? status : undefined;
  }, 60_000);
  assert.match(down.message!, /alibaba-mns change feed of SecretStore .* is not connected/);
  assert.match(down.message!, /404 QueueNotExist/);
  assert.match(down.message!, /check changeFeed\.queue\.queueURL/);
  assert.match(down.message!, /refreshInterval/);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'kms', status: 'True' });
  await waitFor('a Warning Event ChangeFeedDisconnected', async () => (await eventNotes(kube, ns)).some((n) => n.includes('change feed of SecretStore')));
  mns.createQueue(queue);
  await waitFor('the feed reconnects by itself', async () => (await feedStatus(ns))?.connected, 60_000);

  // A role that may receive but not delete: the feed says what to grant.
  allowDelete = false;
  mns.send(queue, 'an irrelevant message the feed must delete');
  const denied = await waitFor('the store says the feed is refused', async () => {
    const status = await feedStatus(ns);
    return status && !status.connected && status.message?.includes('AccessDenied') ? status : undefined;
  }, 60_000);
  assert.match(denied.message!, /403 AccessDenied/);
  assert.match(denied.message!, /allow mns:ReceiveMessage and mns:DeleteMessage on acs:mns:cn-hangzhou:custom-endpoint:\/queues\//);
  allowDelete = true;
  await waitFor('the feed heals once the grant is there', async () => (await feedStatus(ns))?.connected && mns.depth(queue) === 0, 90_000);
});

test('tenant attack: a SecretStore naming a queue on a host the operator does not trust is refused before any request (its STS session and signed requests are never sent there)', async () => {
  const ns = await namespaces.create(kube);
  const role = await reader(ns);
  const trap = await listenUntrusted();
  try {
    await feedStore(ns, `https://${UNTRUSTED_HOST}:${trap.port}/queues/mine`);
    const ready = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'kms', status: 'False' });
    assert.equal(ready.reason, 'EndpointNotAllowed');
    assert.match(ready.message ?? '', /changeFeed\.queue\.queueURL names host 127\.0\.0\.2/);
    await waitFor('the feed reports the refusal', async () => (await feedStatus(ns))?.message?.includes('EndpointNotAllowed'));
    assert.deepEqual(trap.connections, [], 'nothing connected to the tenant’s host');
    assert.equal(kms.requests.filter((r) => r.action === 'sts:AssumeRoleWithOIDC' && r.principal === role).length, 0, 'no STS session was even asked for');
  } finally {
    trap.close();
  }
});

test('nothing of a value leaks into logs, Events, status or metrics', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets, extra: { metrics: await operatorMetricsText(op) } });
});
