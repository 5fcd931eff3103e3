// The gcpsm change feed against the gcp fakes: Secret Manager publishes each change to the Pub/Sub topics set on a
// secret (as its event notifications are documented), the Pub/Sub fake (test/fakes/gcp/pubsub.ts, built from the
// official client's protos and checked with Google's Python client) delivers them on a subscription, and the
// operator streaming-pulls it with the store's GKE workload identity. A new version must reach the Secret with
// refreshInterval 1h. Every secret value used is searched for at the end.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, createObject, eventNotes, Plural, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { changeFeedStatus, hourlyExternalSecret, listenUntrusted, measureRotations, UNTRUSTED_HOST, waitFeedConnected } from '../support/change-feed.ts';
import { operatorMetric, operatorMetricsText } from '../support/metrics.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import { PubSubRole, Role, startGcpFake, type GcpFake } from '../fakes/gcp/index.ts';
import type { TestKube } from '../support/kube.ts';
import { createGcpProvider } from '../../src/providers/gcp/provider.ts';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const PROJECT = 'relay-feeds';
const PROJECT_NUMBER = '482910375777';
const CLUSTER = { clusterProjectID: PROJECT, clusterLocation: 'europe-west1', clusterName: 'relay' };

let cluster: LocalCluster;
let kube: TestKube;
let fake: GcpFake;
let op: TestOperator;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('gcpfeed');

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  fake = await startGcpFake({ kubeconfigPath: cluster.kubeconfigPath, issuer: ISSUER });
  fake.identity.addProject(PROJECT, PROJECT_NUMBER);
  fake.identity.addGkeCluster({ projectID: PROJECT, location: CLUSTER.clusterLocation, name: CLUSTER.clusterName });
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false', '--concurrency=4', '--trusted-endpoint-hosts=127.0.0.1' /* the fakes */], providers: [createGcpProvider()] });
});

after(async () => {
  await stopTestOperator(op, 'change-feed-gcp');
  await fake?.stop();
  await cluster?.stop();
});

const metric = (name: string, labels: Record<string, string>) => operatorMetric(op, name, labels);

/** A namespace whose ServiceAccount `reader` is GKE-bound to a Google service account that may read secrets and consume `subscription`. */
async function readerNamespace(): Promise<{ ns: string; google: string; topic: string; subscription: string }> {
  const ns = await namespaces.create(kube);
  const google = `feed-${randomBytes(3).toString('hex')}@${PROJECT}.iam.gserviceaccount.com`;
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader', annotations: { 'iam.gke.io/gcp-service-account': google } } } });
  fake.identity.createServiceAccount(google);
  fake.identity.bindWorkloadIdentityUser(google, fake.identity.gkeMember(PROJECT, ns, 'reader'));
  fake.secretManager.grant(`serviceAccount:${google}`, Role.accessor, PROJECT);
  const topic = `projects/${PROJECT}/topics/changes-${ns}`;
  const subscription = `projects/${PROJECT}/subscriptions/relay-${ns}`;
  fake.pubsub.createTopic(topic);
  fake.pubsub.createSubscription(subscription, topic);
  fake.pubsub.grant(`serviceAccount:${google}`, PubSubRole.subscriber, subscription);
  return { ns, google, topic, subscription };
}

async function feedStore(ns: string, subscription: string): Promise<void> {
  await createObject(kube, Plural.SecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name: 'gsm' },
    spec: { provider: { gcpsm: { projectID: PROJECT, endpoints: fake.endpoints, auth: { workloadIdentity: { serviceAccountRef: { name: 'reader' }, ...CLUSTER } }, changeFeed: { pubsub: { subscription } } } } },
  }, ns);
}

const externalSecret = (ns: string, name: string, key: string) => hourlyExternalSecret(kube, ns, 'gsm', name, key);
const feedStatus = (ns: string) => changeFeedStatus(kube, ns, 'gsm', 'gcp-pubsub');


test('gcp: a new version reaches the Secret through the secret’s Pub/Sub topic with refreshInterval 1h, streaming-pulled with the store’s workload identity', async () => {
  const { ns, google, topic, subscription } = await readerNamespace();
  const id = `db-${ns}`;
  let value = secrets.next('v0');
  fake.secretManager.createSecret(PROJECT, id, { value, topics: [topic] });
  await feedStore(ns, subscription);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'gsm', status: 'True' });
  await externalSecret(ns, 'app-a', id);
  await externalSecret(ns, 'app-b', `projects/${PROJECT}/secrets/${id}`);
  await waitSecretData(kube, ns, 'app-a', { password: value });
  await waitSecretData(kube, ns, 'app-b', { password: value });
  const connected = await waitFeedConnected(() => feedStatus(ns));
  assert.ok(connected.lastHeardTime);
  assert.ok(fake.pubsub.calls.some((c) => c.method === 'StreamingPull' && c.resource === subscription && c.principal?.includes(google)), 'the stream was opened as the store’s Google service account');
  await waitFor('the setup events were acknowledged', () => fake.pubsub.outstanding(subscription) === 0);

  const reads = () => fake.secretManager.count('AccessSecretVersion', (name) => name.includes(id));
  value = await measureRotations({ kube, ns, secrets, label: 'gcp pubsub', rotate: (next) => fake.secretManager.addVersion(PROJECT, id, next), reads });
  assert.ok((await metric('secret_relay_change_to_secret_seconds_count', { source: 'gcp-pubsub' })) >= 2);

  // Irrelevant and reordered messages: another secret nobody reads, SECRET_ROTATE, a stranger's message, an old
  // version's ENABLE arriving after the newest ADD. None may change the Secret or cost more than a re-read.
  const ignoredBefore = await metric('secret_relay_change_notifications_total', { source: 'gcp-pubsub', result: 'ignored' });
  fake.secretManager.createSecret(PROJECT, `other-${ns}`, { value: secrets.next('other'), topics: [topic] });
  fake.pubsub.publishAsService(topic, { data: Buffer.from('{}'), attributes: { eventType: 'SECRET_ROTATE', secretId: `projects/${PROJECT_NUMBER}/secrets/${id}`, dataFormat: 'JSON' } });
  fake.pubsub.publishAsService(topic, { data: Buffer.from('hello'), attributes: { note: 'not a Secret Manager event' } });
  fake.secretManager.setVersionState(PROJECT, id, 1, 'DISABLED');
  fake.secretManager.setVersionState(PROJECT, id, 1, 'ENABLED');
  await waitFor('everything was acknowledged', () => fake.pubsub.outstanding(subscription) === 0, 15_000);
  await waitFor('the irrelevant messages were counted', async () => (await metric('secret_relay_change_notifications_total', { source: 'gcp-pubsub', result: 'ignored' })) - ignoredBefore >= 3);
  await waitSecretData(kube, ns, 'app-a', { password: value });
  await waitSecretData(kube, ns, 'app-b', { password: value });
});

test('gcp: a lost subscription falls back to polling — Ready=True, status.changeFeeds and a Warning Event say so — and the feed heals when it is back', async () => {
  const { ns, subscription, topic, google } = await readerNamespace();
  await feedStore(ns, subscription);
  await waitFor('connected', async () => (await feedStatus(ns))?.connected);
  await waitFor('the stream is open', () => fake.pubsub.streams(subscription) === 1);
  fake.pubsub.deleteSubscription(subscription);
  const down = await waitFor('the store says its feed is not connected', async () => {
    const status = await feedStatus(ns);
    return status && !status.connected && status.message ? status : undefined;
  });
  assert.match(down.message!, /gcp-pubsub change feed of SecretStore .* is not connected/);
  assert.match(down.message!, /does not exist/);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'gsm', status: 'True' });
  await waitFor('a Warning Event ChangeFeedDisconnected', async () => (await eventNotes(kube, ns)).some((n) => n.includes('change feed of SecretStore')));
  fake.pubsub.createSubscription(subscription, topic);
  fake.pubsub.grant(`serviceAccount:${google}`, PubSubRole.subscriber, subscription);
  await waitFor('the feed reconnects by itself', async () => (await feedStatus(ns))?.connected, 60_000);
});

test('gcp: a stream closed soon after it opened is reopened after a pause (1 s, 2 s …), not at once, and the store stays connected', async () => {
  const { ns, subscription, topic } = await readerNamespace();
  await feedStore(ns, subscription);
  await waitFor('connected', async () => (await feedStatus(ns))?.connected);
  const gaps: number[] = [];
  for (let i = 0; i < 3; i++) {
    await waitFor('the stream is open', () => fake.pubsub.streams(subscription) === 1, 30_000);
    // A message through the stream: it is open (and counted so) before it is cut.
    fake.pubsub.publishAsService(topic, { data: Buffer.from('{}'), attributes: { note: `not a Secret Manager event ${i}` } });
    await waitFor('the message was acknowledged', () => fake.pubsub.outstanding(subscription) === 0, 15_000);
    assert.equal(fake.pubsub.closeStreams(subscription), 1);
    const cut = Date.now();
    await waitFor('the stream is reopened', () => fake.pubsub.streams(subscription) === 1, 30_000);
    gaps.push(Date.now() - cut);
  }
  console.log(`stream closed → reopened after ${gaps.join(', ')} ms`);
  assert.ok(gaps[0]! >= 900 && gaps[1]! >= 1_800 && gaps[2]! >= 3_600, `reopened after ${gaps.join(', ')} ms`);
  assert.equal((await feedStatus(ns))?.connected, true, 'a stream Pub/Sub closes is no status change');
});

test('gcp: without roles/pubsub.subscriber the feed says what to grant; reads are unaffected', async () => {
  const { ns, topic } = await readerNamespace();
  const foreign = `projects/${PROJECT}/subscriptions/foreign-${ns}`;
  fake.pubsub.createSubscription(foreign, topic);
  await feedStore(ns, foreign);
  const down = await waitFor('the feed reports the refusal', async () => {
    const status = await feedStatus(ns);
    return status?.message ? status : undefined;
  });
  assert.match(down.message!, /roles\/pubsub\.subscriber/);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'gsm', status: 'True' });
});

test('gcp: an unreachable Pub/Sub endpoint goes to the backoff and the store says so (a stream that fails at once is not reopened at once)', async () => {
  const { ns, subscription } = await readerNamespace();
  const closed = await new Promise<number>((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
  await createObject(kube, Plural.SecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name: 'gsm' },
    spec: { provider: { gcpsm: { projectID: PROJECT, endpoints: { ...fake.endpoints, pubsub: `http://127.0.0.1:${closed}` }, auth: { workloadIdentity: { serviceAccountRef: { name: 'reader' }, ...CLUSTER } }, changeFeed: { pubsub: { subscription } } } } },
  }, ns);
  const down = await waitFor('the store says its feed is not connected', async () => {
    const status = await feedStatus(ns);
    return status && !status.connected && status.message ? status : undefined;
  });
  assert.match(down.message!, /streaming pull of .* failed/);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'gsm', status: 'True' });
});

test('tenant attack: a SecretStore naming a Pub/Sub endpoint on a host the operator does not trust is refused before any request (its identity is never pointed there)', async () => {
  const { ns, subscription } = await readerNamespace();
  // A Pub/Sub of the tenant's own on a loopback address the operator does not trust (--trusted-endpoint-hosts=127.0.0.1).
  // A TCP trap: gRPC would open a connection (and send its preface and the access token) before anything else.
  const trap = await listenUntrusted();
  try {
    await createObject(kube, Plural.SecretStore, {
      apiVersion: 'secret-relay.dev/v1alpha1',
      kind: 'SecretStore',
      metadata: { name: 'gsm' },
      spec: { provider: { gcpsm: { projectID: PROJECT, endpoints: { ...fake.endpoints, pubsub: `https://${UNTRUSTED_HOST}:${trap.port}` }, auth: { workloadIdentity: { serviceAccountRef: { name: 'reader' }, ...CLUSTER } }, changeFeed: { pubsub: { subscription } } } } },
    }, ns);
    const ready = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'gsm', status: 'False' });
    assert.equal(ready.reason, 'EndpointNotAllowed');
    assert.match(ready.message ?? '', /endpoints\.pubsub names host 127\.0\.0\.2/);
    const down = await waitFor('the feed reports the refusal', async () => {
      const status = await feedStatus(ns);
      return status && !status.connected && status.message?.includes('EndpointNotAllowed') ? status : undefined;
    });
    assert.ok(down);
    assert.deepEqual(trap.connections, [], 'no connection reached the tenant’s host');
  } finally {
    trap.close();
  }
});

test('nothing of a value leaks into logs, Events, status or metrics', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets, extra: { metrics: await operatorMetricsText(op) } });
});
