// The azurekv change feed against real parts: Azurite (Microsoft's Storage emulator) serves the queue over HTTPS with
// OAuth, the Key Vault fake publishes its Microsoft.KeyVault.* events and an Event Grid stand-in writes them to the
// queue as Event Grid does (base64, Event Grid or CloudEvents schema). The operator reads the queue with the store's
// workload identity (a Storage token from the Entra ID fake, exchanged for a real apiserver ServiceAccount token);
// a rotation must reach the Secret with refreshInterval 1h. Every secret value used is searched for at the end.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { QueueClient } from '@azure/storage-queue';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { fetchJwks } from '../support/sts-web-identity-check.ts';
import { adminKube, createObject, eventNotes, Plural, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { changeFeedStatus, hourlyExternalSecret, listenUntrusted, measureRotations, UNTRUSTED_HOST, waitFeedConnected } from '../support/change-feed.ts';
import { operatorMetric, operatorMetricsText } from '../support/metrics.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import { startAzurite, type Azurite } from '../support/azurite.ts';
import { cachedJwks, FEDERATED_AUDIENCE, startAzureFakes, type AzureFakes, type FakeApplication, type FakeVault } from '../fakes/azure/index.ts';
import { eventGridEvent, queueMessageText, subscribeQueue, type EventSchema } from '../fakes/azure/event-grid.ts';
import type { TestKube } from '../support/kube.ts';
import { createAzureProvider } from '../../src/providers/azure/provider.ts';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const TENANT = randomUUID();
const STORAGE_SCOPE = 'https://storage.azure.com/.default';

let cluster: LocalCluster;
let kube: TestKube;
let fakes: AzureFakes;
let vault: FakeVault;
let azurite: Azurite;
let op: TestOperator;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('azfeed');

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  fakes = await startAzureFakes({ jwks: cachedJwks(() => fetchJwks(cluster.kubeconfigPath)) });
  vault = await fakes.addVault('relay-feed', TENANT);
  azurite = await startAzurite(fakes.tls);
  op = await startTestOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    args: ['--leader-elect=false', '--concurrency=4', '--trusted-endpoint-hosts=127.0.0.1' /* the fakes' Entra ID and Azurite */],
    providers: [createAzureProvider({ trustedCaPem: fakes.tls.caPem })],
  });
});

after(async () => {
  await stopTestOperator(op, 'change-feed-azure');
  await azurite?.stop();
  await fakes?.stop();
  await cluster?.stop();
});

const metric = (name: string, labels: Record<string, string>) => operatorMetric(op, name, labels);

/** An application with read access to the vault, federated with ServiceAccount ns/reader, and that ServiceAccount. */
async function reader(ns: string): Promise<FakeApplication> {
  const app = fakes.entra.addApplication({ tenantId: TENANT, clientId: randomUUID() });
  app.federated.push({ issuer: ISSUER, subject: `system:serviceaccount:${ns}:reader`, audiences: [FEDERATED_AUDIENCE] });
  vault.grant(app.objectId);
  await kube.core.createNamespacedServiceAccount({
    namespace: ns,
    body: { metadata: { name: 'reader', annotations: { 'azure.workload.identity/client-id': app.clientId, 'azure.workload.identity/tenant-id': TENANT } } },
  });
  return app;
}

async function feedStore(ns: string, queueURL: string): Promise<void> {
  await createObject(kube, Plural.SecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name: 'kv' },
    spec: {
      provider: {
        azurekv: {
          vaultUrl: vault.url,
          customCloudConfig: { activeDirectoryEndpoint: fakes.entra.authorityHost },
          authType: 'WorkloadIdentity',
          serviceAccountRef: { name: 'reader' },
          changeFeed: { storageQueue: { queueURL } },
        },
      },
    },
  }, ns);
}

const externalSecret = (ns: string, name: string, key: string) => hourlyExternalSecret(kube, ns, 'kv', name, key);
const feedStatus = (ns: string) => changeFeedStatus(kube, ns, 'kv', 'azure-queue');

async function queueFor(ns: string): Promise<QueueClient> {
  const queue = azurite.service.getQueueClient(`changes-${ns}`.slice(0, 63));
  await queue.create();
  return queue;
}

const depth = async (queue: QueueClient) => (await queue.getProperties()).approximateMessagesCount ?? -1;

for (const schema of ['EventGridSchema', 'CloudEventSchemaV1_0'] as EventSchema[]) {
  test(`azure (${schema}): a new version reaches the Secret through Event Grid → Storage queue (Azurite) with refreshInterval 1h, read with the store’s workload identity`, async () => {
    const ns = await namespaces.create(kube);
    const app = await reader(ns);
    const queue = await queueFor(ns);
    const grid = subscribeQueue(vault, queue, schema);
    const name = `feed-${ns}`.slice(0, 60);
    try {
      let value = secrets.next('v0');
      vault.setSecret(name, value);
      vault.setSecret(`${name}-unread`, secrets.next('unread'));
      await feedStore(ns, queue.url);
      await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'kv', status: 'True' });
      await externalSecret(ns, 'app-a', name);
      await externalSecret(ns, 'app-b', `secret/${name}`);
      await waitSecretData(kube, ns, 'app-a', { password: value });
      await waitSecretData(kube, ns, 'app-b', { password: value });
      const connected = await waitFeedConnected(() => feedStatus(ns));
      assert.ok(connected.lastHeardTime, 'lastHeardTime is set');
      assert.ok(
        fakes.entra.exchanges.some((e) => e.clientId === app.clientId && e.grant === 'federated' && e.scope === STORAGE_SCOPE && e.refused === undefined),
        'the store’s ServiceAccount token was exchanged for a Storage token of its own identity',
      );
      await grid.settled();
      await waitFor('the queue is drained of the setup events', async () => (await depth(queue)) === 0);

      const reads = () => vault.count(`/secrets/${name}`);
      value = await measureRotations({ kube, ns, secrets, label: `azure ${schema}`, rotate: (next) => vault.setSecret(name, next), reads });

      // Duplicated, reordered and irrelevant messages: an old event again (a redelivery), the newest event twice and
      // in reverse order, another vault's event, a vault access policy event, a key event, garbage.
      const current = vault.setSecret(name, (value = secrets.next('final')));
      await waitSecretData(kube, ns, 'app-a', { password: value }, 15_000);
      await grid.settled();
      const newest = grid.delivered[grid.delivered.length - 1]!;
      const older = grid.delivered[grid.delivered.length - 3]!;
      const matchedBefore = await metric('secret_relay_change_notifications_total', { source: 'azure-queue', result: 'matched' });
      const ignoredBefore = await metric('secret_relay_change_notifications_total', { source: 'azure-queue', result: 'ignored' });
      const otherVault = eventGridEvent({ type: 'SecretNewVersionCreated', vaultName: 'elsewhere', vaultUrl: 'https://elsewhere.vault.azure.net', objectType: 'Secret', objectName: name, version: current }, schema);
      const policy = { ...eventGridEvent({ type: 'VaultAccessPolicyChanged', vaultName: vault.name, vaultUrl: vault.url, objectType: 'Secret', objectName: name, version: current }, schema) };
      const readsBefore = reads();
      for (const body of [newest, older, newest, otherVault, policy]) await queue.sendMessage(queueMessageText(body));
      await queue.sendMessage('not base64 JSON at all');
      await queue.sendMessage(queueMessageText({ id: randomUUID(), eventType: 'Microsoft.KeyVault.SecretNewVersionCreated', data: { Id: `${vault.url}/secrets/../../x/1`, objectName: '../x' } }));
      await waitFor('the queue is drained of the replayed and irrelevant messages', async () => (await depth(queue)) === 0, 20_000);
      await waitFor('the irrelevant messages were counted', async () => (await metric('secret_relay_change_notifications_total', { source: 'azure-queue', result: 'ignored' })) - ignoredBefore >= 4);
      assert.ok((await metric('secret_relay_change_notifications_total', { source: 'azure-queue', result: 'matched' })) - matchedBefore <= 2, 'the replayed events were recognised as duplicates');
      assert.ok(reads() - readsBefore <= 2, `the replays cost at most one re-read per ExternalSecret (${reads() - readsBefore})`);
      await waitSecretData(kube, ns, 'app-a', { password: value });
      await waitSecretData(kube, ns, 'app-b', { password: value });
      assert.ok((await metric('secret_relay_change_to_secret_seconds_count', { source: 'azure-queue' })) >= 2, 'the delay to the Secret is measured');

      if (schema === 'CloudEventSchemaV1_0') {
        // The service's own schedule: SecretExpired makes the ExternalSecrets re-read (and the reader refuse it).
        const before = reads();
        vault.expiring(name, 'SecretExpired');
        await waitFor('SecretExpired makes the readers re-read', () => reads() > before, 15_000);
      }
    } finally {
      grid.stop();
    }
  });
}

test('azure: a lost queue falls back to polling — the store stays Ready=True, says so in status.changeFeeds and a Warning Event — and the feed heals when the queue is back', async () => {
  const ns = await namespaces.create(kube);
  await reader(ns);
  const queue = await queueFor(ns);
  await feedStore(ns, queue.url);
  await waitFor('connected', async () => (await feedStatus(ns))?.connected);
  await queue.delete();
  const down = await waitFor('the store says its feed is not connected', async () => {
    const status = await feedStatus(ns);
    return status && !status.connected && status.message ? status : undefined;
  });
  assert.match(down.message!, /azure-queue change feed of SecretStore .* is not connected/);
  assert.match(down.message!, /404 QueueNotFound/);
  assert.match(down.message!, /refreshInterval/);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'kv', status: 'True' });
  await waitFor('a Warning Event ChangeFeedDisconnected', async () => (await eventNotes(kube, ns)).some((n) => n.includes('change feed of SecretStore')));
  await queue.create();
  await waitFor('the feed reconnects by itself', async () => (await feedStatus(ns))?.connected, 60_000);
});

test('tenant attack: a SecretStore naming a queue on a host the operator does not trust is refused before any request (its Storage token is never sent there)', async () => {
  const ns = await namespaces.create(kube);
  await reader(ns);
  const trap = await listenUntrusted();
  try {
    const exchangesBefore = fakes.entra.exchanges.filter((e) => e.scope === STORAGE_SCOPE).length;
    await feedStore(ns, `https://${UNTRUSTED_HOST}:${trap.port}/devstoreaccount1/mine`);
    const ready = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'kv', status: 'False' });
    assert.equal(ready.reason, 'EndpointNotAllowed');
    assert.match(ready.message ?? '', /changeFeed\.storageQueue\.queueURL names host 127\.0\.0\.2/);
    await waitFor('the feed reports the refusal', async () => (await feedStatus(ns))?.message?.includes('EndpointNotAllowed'));
    assert.deepEqual(trap.connections, [], 'nothing connected to the tenant’s host');
    assert.equal(fakes.entra.exchanges.filter((e) => e.scope === STORAGE_SCOPE).length, exchangesBefore, 'no Storage token was even asked for');
  } finally {
    trap.close();
  }
});

test('nothing of a value leaks into logs, Events, status or metrics', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets, extra: { metrics: await operatorMetricsText(op) } });
});
