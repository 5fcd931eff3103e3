// The vault change feed against the real OpenBao: the server streams its audit log through a socket audit device
// (declared in its configuration, the only way OpenBao accepts one) to the operator's --vault-audit-listen; a write,
// a metadata change and a delete of a KV secret reach the Secret with refreshInterval 1h, with no reads in between.
// The device connects through a stand-in for a Service in front of two replicas: first to one that does not lead,
// which must not keep the connection, so that OpenBao reconnects and its entries reach the leader.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { startOpenBao, type OpenBao } from '../support/openbao.ts';
import { freePort } from '../support/server-process.ts';
import { adminKube, createObject, getObject, Plural, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { createVaultProvider } from '../../src/providers/vault/provider.ts';
import { createAuditStream, type AuditStream } from '../../src/providers/vault/audit-stream.ts';
import { createLogger } from '../../src/log.ts';

let cluster: LocalCluster;
let kube: TestKube;
let bao: OpenBao;
let op: TestOperator;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('vault-feed');
let reads = 0;
let stream: AuditStream;
let follower: AuditStream;
let service: Server;
const ports = { leader: 0, follower: 0 };
/** Where the stand-in Service sends the next connection, and how many it sent to each replica. */
let routeTo: keyof typeof ports = 'follower';
const routed = { leader: 0, follower: 0 };

/** Like kube-proxy, each new connection goes to the chosen replica, and a reset reaches the client as a reset. */
function startService(): Promise<number> {
  service = createServer((client) => {
    const target = routeTo;
    routed[target]++;
    const upstream = connect(ports[target], '127.0.0.1');
    client.pipe(upstream);
    upstream.pipe(client);
    upstream.on('error', () => client.resetAndDestroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
  });
  return new Promise((resolve) => service.listen(0, '127.0.0.1', () => resolve((service.address() as { port: number }).port)));
}

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  ports.leader = await freePort();
  stream = createAuditStream({ host: '127.0.0.1', port: ports.leader, logger: createLogger({ level: 'silent' }) });
  await stream.listen();
  // The other replica: it listens (as every replica does) but runs no feed, as it does not lead.
  ports.follower = await freePort();
  follower = createAuditStream({ host: '127.0.0.1', port: ports.follower, logger: createLogger({ level: 'silent' }) });
  await follower.listen();
  const port = await startService();
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false'], providers: [createVaultProvider({}, { auditStream: stream })] });
  const dir = mkdtempSync(join(tmpdir(), 'bao-audit-'));
  const config = join(dir, 'audit.hcl');
  // A second (file) device keeps the server answering when the operator is down: a request fails only when every device fails.
  writeFileSync(config, `audit "socket" "secret-relay" {\n  options {\n    address = "127.0.0.1:${port}"\n    socket_type = "tcp"\n  }\n}\naudit "file" "local" {\n  options {\n    file_path = "${join(dir, 'audit.log')}"\n  }\n}\n`);
  bao = await startOpenBao({ configFiles: [config] });
});

after(async () => {
  await stopTestOperator(op, 'change-feeds-vault');
  await bao?.stop();
  stream?.close();
  follower?.close();
  service?.close();
  await cluster?.stop();
});

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${op.operator.metricsPort}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w))).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

test('openbao: a KV write reaches the Secret through the audit socket with refreshInterval 1h; a write nobody reads costs no read', async () => {
  const ns = await namespaces.create(kube);
  const first = secrets.next('bao-first');
  await bao.api('POST', 'secret/data/feed/app', { data: { password: first } });
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'vault-token' }, stringData: { token: bao.rootToken } } });
  await createObject(kube, Plural.SecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name: 'vault' },
    spec: { provider: { vault: { server: bao.address, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } }, changeFeed: { auditSocket: {} } } } },
  }, ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'vault', status: 'True' });
  await createObject(kube, Plural.ExternalSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'app' },
    spec: { secretStoreRef: { name: 'vault' }, refreshInterval: '1h', data: [{ secretKey: 'password', remoteRef: { key: 'feed/app', property: 'password' } }] },
  }, ns);
  await waitSecretData(kube, ns, 'app', { password: first });
  await waitFor('the store says its feed is connected', async () => {
    const store = await getObject(kube, Plural.SecretStore, 'vault', ns);
    return (store?.['status'] as { changeFeeds?: { source: string; connected: boolean }[] } | undefined)?.changeFeeds?.find((f) => f.connected && f.source === 'vault-events');
  });
  const readsOf = () => metric('secret_relay_provider_requests_total', { provider: 'vault', operation: 'getSecret' });

  // OpenBao started with its device on the replica that does not lead (which read its test entry), and reconnects
  // after that replica resets the connection; the Service then picks the leader, which keeps the connection.
  await waitFor('OpenBao reconnected after the replica that does not lead closed its connection', () => routed.follower >= 2);
  routeTo = 'leader';
  const ignored = () => metric('secret_relay_change_notifications_total', { source: 'vault-events', result: 'ignored' });
  await waitFor('entries reach the leader', async () => {
    await bao.api('POST', 'secret/data/feed/warm-up', { data: { x: secrets.next('warm-up') } });
    return (await ignored()) >= 1;
  });
  assert.ok(routed.leader >= 1);
  const ignoredBefore = await ignored();
  const idle = await readsOf();

  const second = secrets.next('bao-second');
  const started = Date.now();
  await bao.api('POST', 'secret/data/feed/app', { data: { password: second } });
  await waitSecretData(kube, ns, 'app', { password: second }, 10_000);
  console.log(`openbao write → Secret: ${Date.now() - started} ms`);
  assert.ok((await readsOf()) - idle <= 2, 'one fresh read (plus at most one for the response entry of a redelivery)');
  assert.ok((await metric('secret_relay_change_notifications_total', { source: 'vault-events', result: 'matched' })) >= 1);

  // A write to another mount path nobody reads: ignored, no read.
  const before = await readsOf();
  await bao.api('POST', 'secret/data/feed/other', { data: { x: secrets.next('other') } });
  await waitFor('the change of an unread key is counted as ignored', async () => (await ignored()) > ignoredBefore);
  assert.equal(await readsOf(), before, 'no read for a key nobody reads');
  reads = await readsOf();
});

test('nothing of a value leaks into logs, Events, status or metrics', async () => {
  assert.ok(reads > 0);
  const text = await (await fetch(`http://127.0.0.1:${op.operator.metricsPort}/metrics`)).text();
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets, extra: { metrics: text } });
});
