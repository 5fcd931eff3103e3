// Change feeds against real parts: moto's EventBridge routes events (in the shapes AWS documents) through a real rule
// to a real SQS queue, which the operator long-polls with the store's own IRSA identity; the rotation must reach the
// Secret with refreshInterval 1h. Every secret value used is searched for in logs, Events, status and metrics.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { after, before, test } from 'node:test';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { startStsWebIdentityCheck, type StsWebIdentityCheck } from '../support/sts-web-identity-check.ts';
import { adminKube, createObject, eventNotes, getObject, Plural, readSecret, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { createAwsProvider } from '../../src/providers/aws/provider.ts';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const seed = { accessKeyId: 'AKIASEEDSEEDSEED', secretAccessKey: 'seed' };

let cluster: LocalCluster;
let kube: TestKube;
let moto: Moto;
let check: StsWebIdentityCheck;
let op: TestOperator;
let sm: SecretsManagerClient;
let sqs: SQSClient;
let events: EventBridgeClient;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('feeds');

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  moto = await startMoto();
  check = await startStsWebIdentityCheck({ upstream: moto.endpoint, kubeconfigPath: cluster.kubeconfigPath, issuer: ISSUER });
  sm = new SecretsManagerClient({ region: REGION, endpoint: moto.endpoint, credentials: seed });
  sqs = new SQSClient({ region: REGION, endpoint: moto.endpoint, credentials: seed });
  events = new EventBridgeClient({ region: REGION, endpoint: moto.endpoint, credentials: seed });
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false', '--concurrency=4'], providers: [createAwsProvider()] });
});

after(async () => {
  await stopTestOperator(op, 'change-feeds');
  sm?.destroy();
  sqs?.destroy();
  events?.destroy();
  await check?.stop();
  await moto?.stop();
  await cluster?.stop();
});

/** A queue and an EventBridge rule sending Secrets Manager's CloudTrail events to it, as docs/change-feeds.md sets them up. */
async function queueWithRule(name: string): Promise<string> {
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!['QueueArn']!;
  await events.send(
    new PutRuleCommand({
      Name: `${name}-rule`,
      EventPattern: JSON.stringify({ source: ['aws.secretsmanager'], 'detail-type': ['AWS API Call via CloudTrail', 'AWS Service Event via CloudTrail'] }),
    }),
  );
  await events.send(new PutTargetsCommand({ Rule: `${name}-rule`, Targets: [{ Id: 'queue', Arn: arn }] }));
  return queueUrl;
}

/** The event CloudTrail gives EventBridge for a Secrets Manager API call (detail abridged to what AWS always sends). */
function cloudTrailEvent(eventName: string, secretId: string) {
  return {
    Source: 'aws.secretsmanager',
    DetailType: 'AWS API Call via CloudTrail',
    Detail: JSON.stringify({
      eventVersion: '1.08',
      userIdentity: { type: 'AssumedRole', accountId: ACCOUNT },
      eventTime: new Date().toISOString(),
      eventSource: 'secretsmanager.amazonaws.com',
      eventName,
      awsRegion: REGION,
      requestParameters: { secretId },
      responseElements: null,
      eventID: randomUUID(),
      eventType: 'AwsApiCall',
    }),
  };
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${op.operator.metricsPort}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((w) => line.includes(w))) sum += Number(line.split(' ').pop());
  }
  return sum;
}

test('aws: a rotation reaches the Secret through EventBridge → SQS in seconds with refreshInterval 1h, read with the store’s IRSA identity', async () => {
  const ns = await namespaces.create(kube);
  const role = `arn:aws:iam::${ACCOUNT}:role/feed-reader`;
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader', annotations: { 'eks.amazonaws.com/role-arn': role } } } });
  const queueUrl = await queueWithRule(`changes-${ns}`);
  const first = secrets.next('first');
  const arn = (await sm.send(new CreateSecretCommand({ Name: 'feed/db', SecretString: JSON.stringify({ password: first }) }))).ARN!;
  await sm.send(new CreateSecretCommand({ Name: 'feed/unread', SecretString: secrets.next('unread') }));

  await createObject(kube, Plural.SecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name: 'aws' },
    spec: { provider: { aws: { service: 'SecretsManager', region: REGION, endpoint: check.endpoint, auth: { jwt: { serviceAccountRef: { name: 'reader' } } }, changeFeed: { sqs: { queueURL: queueUrl } } } } },
  }, ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'aws', status: 'True' });
  for (const name of ['app-a', 'app-b']) {
    await createObject(kube, Plural.ExternalSecret, {
      apiVersion: 'secret-relay.dev/v1alpha1',
      kind: 'ExternalSecret',
      metadata: { name },
      spec: { secretStoreRef: { name: 'aws' }, refreshInterval: '1h', data: [{ secretKey: 'password', remoteRef: { key: 'feed/db', property: 'password' } }] },
    }, ns);
  }
  await waitSecretData(kube, ns, 'app-a', { password: first });
  await waitSecretData(kube, ns, 'app-b', { password: first });
  const connected = await waitFor('the store says its feed is connected', async () => {
    const store = await getObject(kube, Plural.SecretStore, 'aws', ns);
    const feeds = (store?.['status'] as { changeFeeds?: { source: string; connected: boolean; lastHeardTime?: string }[] } | undefined)?.changeFeeds;
    return feeds?.find((f) => f.connected && f.source === 'aws-sqs');
  });
  assert.ok(connected.lastHeardTime, 'lastHeardTime is set');
  const feedExchanges = check.exchanges.filter((e) => e.subject === `system:serviceaccount:${ns}:reader` && e.roleArn === role && e.refused === undefined);
  assert.ok(feedExchanges.length >= 1, 'the store’s ServiceAccount token was exchanged for its role');
  await waitFor('the feed long-polls the queue', () => check.count('sqs:ReceiveMessage') > 0);

  // The rotation: a new value, then the events CloudTrail would send (by name, and a duplicate of one by ARN).
  const reads = () => check.count('secretsmanager:GetSecretValue', (s) => s === 'feed/db');
  const readsBefore = reads();
  const second = secrets.next('second');
  await sm.send(new PutSecretValueCommand({ SecretId: 'feed/db', SecretString: JSON.stringify({ password: second }) }));
  const started = Date.now();
  const put = await events.send(new PutEventsCommand({ Entries: [cloudTrailEvent('PutSecretValue', arn), cloudTrailEvent('UpdateSecretVersionStage', 'feed/db'), cloudTrailEvent('PutSecretValue', 'feed/unread')] }));
  assert.equal(put.FailedEntryCount, 0);
  await waitSecretData(kube, ns, 'app-a', { password: second }, 10_000);
  await waitSecretData(kube, ns, 'app-b', { password: second }, 10_000);
  const latencyMs = Date.now() - started;
  console.log(`rotation → both Secrets: ${latencyMs} ms`);
  assert.ok(reads() - readsBefore <= 2, `the burst was coalesced: ${reads() - readsBefore} reads of feed/db for two ExternalSecrets and two events`);
  assert.ok((await metric('secret_relay_change_notifications_total', { source: 'aws-sqs', result: 'matched' })) >= 2);
  await waitFor('the event for a key nobody reads is counted as ignored', async () => (await metric('secret_relay_change_notifications_total', { source: 'aws-sqs', result: 'ignored' })) >= 1);
  assert.ok((await metric('secret_relay_change_to_secret_seconds_count', { source: 'aws-sqs' })) >= 2, 'the delay to the Secret is measured');

  // Steady state: no provider reads between rotations (the refreshInterval is 1h).
  const idleReads = reads();
  const polls = check.count('sqs:ReceiveMessage');
  await waitFor('an idle long poll passes', () => check.count('sqs:ReceiveMessage') >= polls + 1, 60_000);
  assert.equal(reads(), idleReads, 'no provider read while nothing changed');
  assert.equal(await waitFor('queue drained', async () => {
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    const left = Number(attrs.Attributes!['ApproximateNumberOfMessages']) + Number(attrs.Attributes!['ApproximateNumberOfMessagesNotVisible']);
    return left === 0 ? 'empty' : undefined;
  }), 'empty', 'handled messages were deleted');
  assert.equal((await readSecret(kube, ns, 'app-a'))?.data?.['password'], Buffer.from(second).toString('base64'));
});

test('aws: a feed that cannot reach its queue leaves the store Ready=True, says so in status and a Warning Event', async () => {
  const ns = await namespaces.create(kube);
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader', annotations: { 'eks.amazonaws.com/role-arn': `arn:aws:iam::${ACCOUNT}:role/r` } } } });
  await createObject(kube, Plural.SecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name: 'aws' },
    spec: { provider: { aws: { service: 'SecretsManager', region: REGION, endpoint: check.endpoint, auth: { jwt: { serviceAccountRef: { name: 'reader' } } }, changeFeed: { sqs: { queueURL: `${moto.endpoint}/${ACCOUNT}/no-such-queue` } } } } },
  }, ns);
  const down = await waitFor('the store says its feed is not connected', async () => {
    const store = await getObject(kube, Plural.SecretStore, 'aws', ns);
    const feeds = (store?.['status'] as { changeFeeds?: { connected: boolean; message?: string }[] } | undefined)?.changeFeeds;
    return feeds?.find((f) => !f.connected && f.message);
  });
  assert.match(down.message!, /aws-sqs change feed of SecretStore .* is not connected/);
  assert.match(down.message!, /refreshInterval/);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'aws', status: 'True' });
  await waitFor('a Warning Event ChangeFeedDisconnected', async () => (await eventNotes(kube, ns)).some((n) => n.includes('change feed of SecretStore')));
});

test('tenant attack: a SecretStore naming a queue on a host the operator does not trust is refused before any request (its identity is never pointed there)', async () => {
  const ns = await namespaces.create(kube);
  // A queue of the tenant's own on a loopback address the operator does not trust (--trusted-endpoint-hosts=127.0.0.1,localhost).
  const hits: string[] = [];
  const trap = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.end();
  });
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.2', resolve));
  const port = (trap.address() as { port: number }).port;
  try {
    await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader', annotations: { 'eks.amazonaws.com/role-arn': `arn:aws:iam::${ACCOUNT}:role/r` } } } });
    await createObject(kube, Plural.SecretStore, {
      apiVersion: 'secret-relay.dev/v1alpha1',
      kind: 'SecretStore',
      metadata: { name: 'aws' },
      spec: { provider: { aws: { service: 'SecretsManager', region: REGION, endpoint: check.endpoint, auth: { jwt: { serviceAccountRef: { name: 'reader' } } }, changeFeed: { sqs: { queueURL: `http://127.0.0.2:${port}/${ACCOUNT}/mine` } } } } },
    }, ns);
    const ready = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'aws', status: 'False' });
    assert.equal(ready.reason, 'EndpointNotAllowed');
    assert.match(ready.message ?? '', /changeFeed\.sqs\.queueURL names host 127\.0\.0\.2/);
    const down = await waitFor('the feed reports the refusal', async () => {
      const store = await getObject(kube, Plural.SecretStore, 'aws', ns);
      return (store?.['status'] as { changeFeeds?: { connected: boolean; message?: string }[] } | undefined)?.changeFeeds?.find((f) => !f.connected && f.message?.includes('EndpointNotAllowed'));
    });
    assert.ok(down);
    assert.deepEqual(hits, [], 'no request reached the tenant’s host');
  } finally {
    trap.close();
  }
});

test('nothing of a value leaks into logs, Events, status or metrics', async () => {
  const text = await (await fetch(`http://127.0.0.1:${op.operator.metricsPort}/metrics`)).text();
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets, extra: { metrics: text } });
});
