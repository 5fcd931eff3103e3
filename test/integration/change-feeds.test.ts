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
import type { Moto } from '../support/moto.ts';
import type { StsWebIdentityCheck } from '../support/sts-web-identity-check.ts';
import { AWS_REGION, motoSeedCredentials, startMotoBehindCheck } from '../support/aws.ts';
import { adminKube, createObject, eventNotes, getObject, patchObject, Plural, readSecret, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { operatorMetric } from '../support/metrics.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { createAwsProvider } from '../../src/providers/aws/provider.ts';
import { createTestTls, type TestTls } from '../fakes/azure/tls.ts';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as https from 'node:https';

const ACCOUNT = '123456789012';

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
let tls: TestTls;

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  ({ moto, check } = await startMotoBehindCheck(cluster.kubeconfigPath));
  sm = new SecretsManagerClient({ region: AWS_REGION, endpoint: moto.endpoint, credentials: motoSeedCredentials });
  sqs = new SQSClient({ region: AWS_REGION, endpoint: moto.endpoint, credentials: motoSeedCredentials });
  events = new EventBridgeClient({ region: AWS_REGION, endpoint: moto.endpoint, credentials: motoSeedCredentials });
  tls = createTestTls();
  const dir = mkdtempSync(join(tmpdir(), 'webhook-tls-'));
  writeFileSync(join(dir, 'tls.crt'), tls.certPem);
  writeFileSync(join(dir, 'tls.key'), tls.keyPem);
  op = await startTestOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    args: ['--leader-elect=false', '--concurrency=4', '--change-webhook-port=0', '--change-webhook-host=127.0.0.1', `--change-webhook-tls-cert-file=${join(dir, 'tls.crt')}`, `--change-webhook-tls-key-file=${join(dir, 'tls.key')}`],
    providers: [createAwsProvider()],
  });
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
      awsRegion: AWS_REGION,
      requestParameters: { secretId },
      responseElements: null,
      eventID: randomUUID(),
      eventType: 'AwsApiCall',
    }),
  };
}

const metric = (name: string, labels: Record<string, string>) => operatorMetric(op, name, labels);

/** ServiceAccount ns/reader, acting as IAM role `role` (IRSA). */
async function reader(ns: string, role = `arn:aws:iam::${ACCOUNT}:role/r`): Promise<void> {
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader', annotations: { 'eks.amazonaws.com/role-arn': role } } } });
}

/** SecretStore "aws" of `ns`: Secrets Manager as ServiceAccount reader, with an SQS change feed on `queueURL`. */
async function feedStore(ns: string, queueURL: string): Promise<void> {
  await createObject(kube, Plural.SecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name: 'aws' },
    spec: { provider: { aws: { service: 'SecretsManager', region: AWS_REGION, endpoint: check.endpoint, auth: { jwt: { serviceAccountRef: { name: 'reader' } } }, changeFeed: { sqs: { queueURL } } } } },
  }, ns);
}

test('aws: a rotation reaches the Secret through EventBridge → SQS in seconds with refreshInterval 1h, read with the store’s IRSA identity', async () => {
  const ns = await namespaces.create(kube);
  const role = `arn:aws:iam::${ACCOUNT}:role/feed-reader`;
  await reader(ns, role);
  const queueUrl = await queueWithRule(`changes-${ns}`);
  const first = secrets.next('first');
  const arn = (await sm.send(new CreateSecretCommand({ Name: 'feed/db', SecretString: JSON.stringify({ password: first }) }))).ARN!;
  await sm.send(new CreateSecretCommand({ Name: 'feed/unread', SecretString: secrets.next('unread') }));

  await feedStore(ns, queueUrl);
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

/** A namespace whose SecretStore "aws" (IRSA ServiceAccount `reader`) has an sqs change feed on a queue that does not exist. */
async function storeWithMissingQueue(queueName: string): Promise<string> {
  const ns = await namespaces.create(kube);
  await reader(ns);
  await feedStore(ns, `${moto.endpoint}/${ACCOUNT}/${queueName}`);
  return ns;
}

test('aws: a feed that cannot reach its queue leaves the store Ready=True, says so in status and a Warning Event', async () => {
  const ns = await storeWithMissingQueue('no-such-queue');
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

test('aws: a feed removed from the store spec stops and its status.changeFeeds entry goes', async () => {
  const ns = await storeWithMissingQueue('no-such-queue-either');
  const feedsOf = async () => ((await getObject(kube, Plural.SecretStore, 'aws', ns))?.['status'] as { changeFeeds?: { source: string }[] } | undefined)?.changeFeeds ?? [];
  await waitFor('the store reports its aws-sqs feed', async () => (await feedsOf()).some((f) => f.source === 'aws-sqs'));
  await patchObject(kube, Plural.SecretStore, 'aws', { spec: { provider: { aws: { changeFeed: null } } } }, ns);
  await waitFor('status.changeFeeds no longer lists the removed feed', async () => !(await feedsOf()).some((f) => f.source === 'aws-sqs'));
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'aws', status: 'True' });
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
    await reader(ns);
    await feedStore(ns, `http://127.0.0.2:${port}/${ACCOUNT}/mine`);
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

/** POSTs to the operator's webhook over HTTPS (trusting the test CA only for this request). */
function post(body: string | Buffer, headers: Record<string, string>, method = 'POST', path = '/v1/notifications'): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: op.operator.changeWebhookPort, method, path, ca: tls.caPem, headers: { 'content-type': 'application/cloudevents+json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function signed(key: string, event: unknown, at = Math.floor(Date.now() / 1000)): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(event);
  const signature = createHmac('sha256', key).update(`${at}.${body}`).digest('hex');
  return { body, headers: { 'x-secret-relay-timestamp': String(at), 'x-secret-relay-signature': `sha256=${signature}` } };
}

function changed(store: Record<string, string>, keys: string[], id = randomUUID()) {
  return { specversion: '1.0', id, source: 'ci/pipeline', type: 'dev.secret-relay.secret.changed', time: new Date().toISOString(), data: { store, keys } };
}

async function webhookStore(ns: string, keyValue: string): Promise<void> {
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'webhook-key' }, stringData: { key: keyValue } } });
  await createObject(kube, Plural.SecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name: 'aws' },
    spec: {
      provider: { aws: { service: 'SecretsManager', region: AWS_REGION, endpoint: check.endpoint, auth: { secretRef: { accessKeyIDSecretRef: { name: 'webhook-key', key: 'key' }, secretAccessKeySecretRef: { name: 'webhook-key', key: 'key' } } } } },
      changeWebhook: { secretRef: { name: 'webhook-key', key: 'key' } },
    },
  }, ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'aws', status: 'True' });
}

test('webhook: a signed CloudEvent refreshes the ExternalSecrets reading the named key (refreshInterval 1h); the response names the result only', async () => {
  const ns = await namespaces.create(kube);
  const key = secrets.next('webhook-hmac-key-of-at-least-32-bytes');
  await webhookStore(ns, key);
  const first = secrets.next('wh-first');
  await sm.send(new CreateSecretCommand({ Name: `wh/${ns}`, SecretString: first }));
  await createObject(kube, Plural.ExternalSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'app' },
    spec: { secretStoreRef: { name: 'aws' }, refreshInterval: '1h', data: [{ secretKey: 'v', remoteRef: { key: `wh/${ns}` } }] },
  }, ns);
  await waitSecretData(kube, ns, 'app', { v: first });
  const second = secrets.next('wh-second');
  await sm.send(new PutSecretValueCommand({ SecretId: `wh/${ns}`, SecretString: second }));
  const { body, headers } = signed(key, changed({ kind: 'SecretStore', namespace: ns, name: 'aws' }, [`wh/${ns}`]));
  const started = Date.now();
  const answer = await post(body, headers);
  assert.equal(answer.status, 202, answer.text);
  assert.deepEqual(JSON.parse(answer.text), { result: 'matched' });
  await waitSecretData(kube, ns, 'app', { v: second }, 10_000);
  console.log(`webhook → Secret: ${Date.now() - started} ms`);
  await waitFor('the store says when the webhook last heard', async () => {
    const store = await getObject(kube, Plural.SecretStore, 'aws', ns);
    return (store?.['status'] as { changeFeeds?: { source: string; lastHeardTime?: string }[] } | undefined)?.changeFeeds?.find((f) => f.source === 'webhook' && f.lastHeardTime);
  });
});

test('webhook: the rotation goes on to the Deployment that asked for rollouts', async () => {
  const ns = await namespaces.create(kube);
  const key = secrets.next('rollout-hmac-key-of-at-least-32-bytes');
  await webhookStore(ns, key);
  await sm.send(new CreateSecretCommand({ Name: `ro/${ns}`, SecretString: secrets.next('ro-first') }));
  await createObject(kube, Plural.ExternalSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'app' },
    spec: { secretStoreRef: { name: 'aws' }, refreshInterval: '1h', rollout: { policy: 'Auto', settleWindow: '1s' }, data: [{ secretKey: 'value', remoteRef: { key: `ro/${ns}` } }] },
  }, ns);
  await waitFor('the first sync', async () => (await readSecret(kube, ns, 'app'))?.data?.['value']);
  await kube.apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'api' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'api' } },
        template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1', env: [{ name: 'VALUE', valueFrom: { secretKeyRef: { name: 'app', key: 'value' } } }] }] } },
      },
    },
  });
  const versions = async () => (await kube.apps.readNamespacedDeployment({ namespace: ns, name: 'api' })).spec?.template.metadata?.annotations?.['secret-relay.dev/secret-versions'] ?? '';
  const before = await versions();
  const second = secrets.next('ro-second');
  await sm.send(new PutSecretValueCommand({ SecretId: `ro/${ns}`, SecretString: second }));
  const { body, headers } = signed(key, changed({ kind: 'SecretStore', namespace: ns, name: 'aws' }, [`ro/${ns}`]));
  assert.equal((await post(body, headers)).status, 202);
  await waitSecretData(kube, ns, 'app', { value: second }, 10_000);
  const rolled = await waitFor('the Deployment’s pod template names the new Secret version', async () => {
    const now = await versions();
    return now !== before && now.includes('app=') ? now : undefined;
  }, 15_000);
  assert.ok(!rolled.includes(second), 'names and HMACs only');
});

test('webhook attacks: forged, another tenant’s key, stale, replayed, malformed, oversized — each a clear 4xx that echoes nothing and refreshes nothing', async () => {
  const victim = await namespaces.create(kube);
  const attacker = await namespaces.create(kube);
  const victimKey = secrets.next('victim-hmac-key-of-at-least-32-bytes');
  const attackerKey = secrets.next('attacker-hmac-key-of-at-least-32-bytes');
  await webhookStore(victim, victimKey);
  await webhookStore(attacker, attackerKey);
  const marker = secrets.next('echo-marker');
  const target = { kind: 'SecretStore', namespace: victim, name: 'aws' };
  const refusedBefore = await metric('secret_relay_change_notifications_total', { source: 'webhook', result: 'refused' });
  const matchedBefore = await metric('secret_relay_change_notifications_total', { source: 'webhook', result: 'matched' });

  const cases: [string, Promise<{ status: number; text: string }>, number][] = [];
  const forged = signed('not-the-key-not-the-key-not-the-key', changed(target, [marker]));
  cases.push(['forged signature', post(forged.body, forged.headers), 401]);
  const crossTenant = signed(attackerKey, changed(target, [marker]));
  cases.push(['signed with another tenant’s store key', post(crossTenant.body, crossTenant.headers), 401]);
  const unknown = signed(attackerKey, changed({ kind: 'SecretStore', namespace: victim, name: 'no-such-store' }, [marker]));
  cases.push(['an unknown store (answered like a bad signature)', post(unknown.body, unknown.headers), 401]);
  const stale = signed(victimKey, changed(target, [marker]), Math.floor(Date.now() / 1000) - 600);
  cases.push(['a timestamp 10 minutes old', post(stale.body, stale.headers), 401]);
  const tampered = signed(victimKey, changed(target, ['a']));
  cases.push(['a body changed after signing', post(tampered.body.replace('"a"', `"${marker}"`), tampered.headers), 401]);
  cases.push(['no signature', post(JSON.stringify(changed(target, [marker])), {}), 401]);
  const notJson = `{"${marker}`;
  const notJsonSigned = { 'x-secret-relay-timestamp': String(Math.floor(Date.now() / 1000)), 'x-secret-relay-signature': `sha256=${'0'.repeat(64)}` };
  cases.push(['not JSON', post(notJson, notJsonSigned), 400]);
  const wrongType = signed(victimKey, { ...changed(target, [marker]), type: marker });
  cases.push(['not our event type', post(wrongType.body, wrongType.headers), 400]);
  cases.push(['oversized', post(`{"x":"${marker}${'a'.repeat(70_000)}"}`, notJsonSigned), 413]);
  cases.push(['GET', post('', {}, 'GET'), 405]);
  cases.push(['another path', post('', {}, 'POST', `/${marker}`), 404]);
  cases.push(['text/plain', post(JSON.stringify(changed(target, [marker])), { ...notJsonSigned, 'content-type': 'text/plain' }), 415]);
  for (const [what, pending, status] of cases) {
    const answer = await pending;
    assert.equal(answer.status, status, `${what}: ${answer.text}`);
    assert.ok(!answer.text.includes(marker) && !answer.text.includes(victimKey) && !answer.text.includes(attackerKey), `${what}: nothing of the request is echoed`);
    assert.ok(JSON.parse(answer.text).error.length > 10, `${what}: says why`);
  }
  const unknownAnswer = await post(unknown.body, unknown.headers);
  const forgedAnswer = await post(forged.body, forged.headers);
  assert.equal(unknownAnswer.text, forgedAnswer.text, 'an unknown store cannot be told from a bad signature');

  // Replay: the genuine request is accepted once; the same bytes again are refused.
  const genuine = signed(victimKey, changed(target, ['nobody-reads-this']));
  assert.equal((await post(genuine.body, genuine.headers)).status, 202);
  const replay = await post(genuine.body, genuine.headers);
  assert.equal(replay.status, 409, replay.text);
  assert.ok((await metric('secret_relay_change_notifications_total', { source: 'webhook', result: 'refused' })) - refusedBefore >= cases.length + 1, 'refusals are counted');
  assert.equal(await metric('secret_relay_change_notifications_total', { source: 'webhook', result: 'matched' }), matchedBefore, 'no refused request queued a refresh');
});

test('nothing of a value leaks into logs, Events, status or metrics', async () => {
  const text = await (await fetch(`http://127.0.0.1:${op.operator.metricsPort}/metrics`)).text();
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets, extra: { metrics: text } });
});
