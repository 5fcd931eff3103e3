// `npm run bench:change-feeds`: rotation to Secret with a change feed (EventBridge → SQS on moto, refreshInterval 1h)
// beside the same workload polled (refreshInterval 15s), and Alibaba's feed (the KMS fake's ActionTrail events
// through the EventBridge part to the Simple Message Queue fake, read with the store's RRSA session, refreshInterval
// 1h): 1,000 ExternalSecrets over 100 remote keys, one key rotated every few seconds. Prints rotation→Secret latency
// p50/p99 (seen through a watch on the Secrets), provider reads per minute, apiserver writes and operator CPU during
// the window. A measurement, never an assertion.
// Two more modes, not in the default run (each mode takes about 2 min; all five would pass 10): `gcp` (the Secret
// Manager fake publishing to its Pub/Sub fake, the store on GKE Workload Identity through the STS and IAM Credentials
// fakes, changeFeed.pubsub) and `azure` (the Key Vault fake's events through the Event Grid stand-in to a Storage
// queue on Azurite, the store on Azure Workload Identity through the Entra ID fake, changeFeed.storageQueue):
// `--modes=gcp,azure`. Measured 2026-12-06 on the shared 2-core machine: feed p50 158 / p99 288 ms, poll 8.7 / 18.5 s,
// alibaba 161 / 261 ms, gcp 147 / 269 ms, azure 512 / 681 ms; 20 provider reads/min for every feed (docs/change-feeds.md).
//
//   node test/bench/change-feeds.ts [--count=1000] [--keys=100] [--every=3s] [--window=60s] [--modes=feed,poll,alibaba]
//   node test/bench/change-feeds.ts --modes=gcp,azure
//
// The operator runs as its own process (node src/main.ts), one per mode, each watching its own namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { startCluster, repoRoot, type LocalCluster } from '../support/cluster.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { startAlibabaFake } from '../fakes/alibaba/server.ts';
import { startMnsFake } from '../fakes/alibaba/mns.ts';
import { ruleToQueue } from '../fakes/alibaba/eventbridge.ts';
import { PubSubRole, Role, startGcpFake } from '../fakes/gcp/index.ts';
import { cachedJwks, FEDERATED_AUDIENCE, startAzureFakes } from '../fakes/azure/index.ts';
import { subscribeQueue } from '../fakes/azure/event-grid.ts';
import { startAzurite } from '../support/azurite.ts';
import { fetchIssuer, fetchJwks } from '../support/sts-web-identity-check.ts';
import { adminKube, installCrds, ensureNamespace, API_GROUP, API_VERSION, Plural } from '../support/operator.ts';
import type { TestKube } from '../support/kube.ts';
import { parseDuration } from '../../src/util/duration.ts';

const args = new Map(process.argv.slice(2).map((a) => /^--([a-z]+)=(.*)$/.exec(a)).filter((m) => m !== null).map((m) => [m[1]!, m[2]!]));
const COUNT = Number(args.get('count') ?? 1000);
const KEYS = Number(args.get('keys') ?? 100);
const EVERY_MS = parseDuration(args.get('every') ?? '3s');
const WINDOW_MS = parseDuration(args.get('window') ?? '60s');
type Mode = 'feed' | 'poll' | 'alibaba' | 'gcp' | 'azure';
const MODES = (args.get('modes') ?? 'feed,poll,alibaba').split(',') as Mode[];
const REGION = 'us-east-1';
const log = (m: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const seed = { accessKeyId: 'AKIABENCHBENCHBE', secretAccessKey: 'bench' };

function procCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function scrape(port: number): Promise<{ reads: number; writes: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let reads = 0;
  let writes = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('secret_relay_provider_requests_total{') && line.includes('operation="getSecret"')) reads += Number(line.split(' ').pop());
    const m = /^secret_relay_kube_requests_total\{verb="(create|update|patch|delete)"\} (\S+)/.exec(line);
    if (m) writes += Number(m[2]);
  }
  return { reads, writes };
}

function startOperator(kubeconfig: string, namespace: string, dir: string, env: Record<string, string>): { child: ChildProcess; port: () => Promise<number>; stop: () => Promise<void> } {
  const logPath = join(dir, `operator-${namespace}.log`);
  const out = openSync(logPath, 'a');
  const child = spawn(process.execPath, [join(repoRoot, 'src/main.ts'), `--kubeconfig=${kubeconfig}`, '--leader-elect=false', '--metrics-port=0', '--metrics-host=127.0.0.1', '--namespace=secret-relay-system', `--watch-namespaces=${namespace}`, '--trusted-endpoint-hosts=127.0.0.1', '--log-level=info', '--concurrency=4'], {
    cwd: repoRoot,
    stdio: ['ignore', out, out],
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
  });
  closeSync(out);
  return {
    child,
    async port() {
      for (let i = 0; i < 600; i++) {
        const m = /"metricsPort":(\d+)/.exec(readFileSync(logPath, 'utf8'));
        if (m) return Number(m[1]);
        await sleep(100);
      }
      throw new Error(`no metrics port; see ${logPath}`);
    },
    stop: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);

/** What a mode reads from: its remote keys, the store's provider spec, a rotation. */
interface Source {
  readonly storeSpec: Record<string, unknown>;
  /** More environment for the operator (the Azure fakes' test CA); none for the others. */
  readonly operatorEnv?: Record<string, string>;
  /** Writes a new version of `key`. */
  write(key: string, value: string): Promise<void>;
  /** Publishes the event the cloud would (AWS on moto: PutEvents as CloudTrail would); nothing where the fakes do it. */
  announce(key: string): Promise<void>;
  stop(): Promise<void>;
}

/** AWS on moto: Secrets Manager, and for the feed an EventBridge rule to an SQS queue (PutEvents as CloudTrail would). */
async function awsSource(mode: 'feed' | 'poll', ns: string, kube: TestKube, moto: Moto, keys: string[]): Promise<Source> {
  const sm = new SecretsManagerClient({ region: REGION, endpoint: moto.endpoint, credentials: seed });
  const sqs = new SQSClient({ region: REGION, endpoint: moto.endpoint, credentials: seed });
  const events = new EventBridgeClient({ region: REGION, endpoint: moto.endpoint, credentials: seed });
  for (const key of keys) await sm.send(new CreateSecretCommand({ Name: key, SecretString: randomBytes(8).toString('hex') }));
  let queueURL: string | undefined;
  if (mode === 'feed') {
    queueURL = (await sqs.send(new CreateQueueCommand({ QueueName: `bench-${mode}` }))).QueueUrl!;
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueURL, AttributeNames: ['QueueArn'] }))).Attributes!['QueueArn']!;
    await events.send(new PutRuleCommand({ Name: `bench-${mode}`, EventPattern: JSON.stringify({ source: ['aws.secretsmanager'] }) }));
    await events.send(new PutTargetsCommand({ Rule: `bench-${mode}`, Targets: [{ Id: 'q', Arn: arn }] }));
  }
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'aws' }, stringData: { id: 'AKIABENCHBENCHBE', key: 'bench' } } });
  return {
    storeSpec: { aws: {
      service: 'SecretsManager', region: REGION, endpoint: moto.endpoint,
      auth: { secretRef: { accessKeyIDSecretRef: { name: 'aws', key: 'id' }, secretAccessKeySecretRef: { name: 'aws', key: 'key' } } },
      ...(queueURL ? { changeFeed: { sqs: { queueURL } } } : {}),
    } },
    async write(key, value) {
      await sm.send(new PutSecretValueCommand({ SecretId: key, SecretString: value }));
    },
    async announce(key) {
      if (mode === 'feed') {
        await events.send(new PutEventsCommand({ Entries: [{ Source: 'aws.secretsmanager', DetailType: 'AWS API Call via CloudTrail', Detail: JSON.stringify({ eventSource: 'secretsmanager.amazonaws.com', eventName: 'PutSecretValue', awsRegion: REGION, requestParameters: { secretId: key }, eventID: randomUUID(), eventType: 'AwsApiCall' }) }] }));
      }
    },
    async stop() {
      sm.destroy();
      sqs.destroy();
      events.destroy();
    },
  };
}

/**
 * Alibaba on the fakes: KMS (its writes recorded as ActionTrail events), an EventBridge rule to a Simple Message
 * Queue queue, and STS exchanging the store's ServiceAccount token (RRSA) for the session that reads KMS and the queue.
 */
async function alibabaSource(ns: string, cluster: LocalCluster, kube: TestKube, keys: string[]): Promise<Source> {
  const region = 'cn-hangzhou';
  const oidcProviderArn = 'acs:ram::1234567890123456:oidc-provider/ack-rrsa-bench';
  const roleArn = 'acs:ram::1234567890123456:role/bench-reader';
  const kms = await startAlibabaFake({ kubeconfigPath: cluster.kubeconfigPath });
  const mns = await startMnsFake({ credential: (id) => kms.credential(id) });
  kms.addOidcProvider({ arn: oidcProviderArn, issuer: 'https://kubernetes.default.svc.cluster.local' });
  kms.addRole({ arn: roleArn, oidcProviderArn, subjects: [`system:serviceaccount:${ns}:reader`], allow: () => true });
  for (const key of keys) kms.putSecret(key, { data: randomBytes(8).toString('hex') });
  mns.createQueue('bench-changes');
  const rule = ruleToQueue(kms, mns, 'bench-changes', { region });
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader' } } });
  return {
    storeSpec: { alibaba: {
      regionID: region, endpoint: kms.kmsEndpoint,
      auth: { rrsa: { oidcProviderArn, roleArn, serviceAccountRef: { name: 'reader' }, stsEndpoint: kms.stsEndpoint } },
      changeFeed: { queue: { queueURL: mns.queueUrl('bench-changes') } },
    } },
    async write(key, value) {
      kms.putSecret(key, { data: value });
    },
    async announce() {},
    async stop() {
      rule.stop();
      await mns.stop();
      await kms.stop();
    },
  };
}

/**
 * Google on the fakes: Secret Manager publishing each new version to the Pub/Sub topic set on the secret, a
 * subscription the store streaming-pulls, and GKE Workload Identity (STS and IAM Credentials fakes exchanging the
 * store's ServiceAccount token) for the reads and the subscription alike.
 */
async function gcpSource(ns: string, cluster: LocalCluster, kube: TestKube, keys: string[]): Promise<Source> {
  const project = 'bench-project';
  const gke = { clusterProjectID: project, clusterLocation: 'local', clusterName: 'bench' };
  const google = `bench-reader@${project}.iam.gserviceaccount.com`;
  const topic = `projects/${project}/topics/secret-changes`;
  const subscription = `projects/${project}/subscriptions/secret-relay`;
  const fake = await startGcpFake({ kubeconfigPath: cluster.kubeconfigPath, issuer: await fetchIssuer(cluster.kubeconfigPath) });
  fake.identity.addProject(project, '100200300499');
  fake.identity.addGkeCluster({ projectID: project, location: gke.clusterLocation, name: gke.clusterName });
  fake.identity.createServiceAccount(google);
  fake.identity.bindWorkloadIdentityUser(google, fake.identity.gkeMember(project, ns, 'reader'));
  fake.secretManager.grant(`serviceAccount:${google}`, Role.accessor, project);
  fake.pubsub.createTopic(topic);
  for (const key of keys) fake.secretManager.createSecret(project, key, { value: randomBytes(8).toString('hex'), topics: [topic] });
  // Subscribed after the secrets exist: the feed starts with no creation events to work through.
  fake.pubsub.createSubscription(subscription, topic, { ackDeadlineSeconds: 60 });
  fake.pubsub.grant(`serviceAccount:${google}`, PubSubRole.subscriber, subscription);
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader', annotations: { 'iam.gke.io/gcp-service-account': google } } } });
  return {
    storeSpec: { gcpsm: {
      projectID: project, endpoints: fake.endpoints,
      auth: { workloadIdentity: { serviceAccountRef: { name: 'reader' }, ...gke } },
      changeFeed: { pubsub: { subscription } },
    } },
    async write(key, value) {
      fake.secretManager.addVersion(project, key, value);
    },
    async announce() {},
    stop: () => fake.stop(),
  };
}

/**
 * Azure on the fakes and Azurite: Key Vault posting its events through the Event Grid stand-in to a Storage queue
 * (Azurite, HTTPS with the fakes' test CA), and Azure Workload Identity (the Entra ID fake federated with the store's
 * ServiceAccount) for the vault reads and the queue alike.
 */
async function azureSource(ns: string, cluster: LocalCluster, kube: TestKube, keys: string[], dir: string): Promise<Source> {
  const tenant = '72f988bf-0000-4000-8000-0000000be7c1';
  const clientId = '0b7d2c4e-0000-4000-8000-0000000be7c1';
  const issuer = await fetchIssuer(cluster.kubeconfigPath);
  const fakes = await startAzureFakes({ jwks: cachedJwks(() => fetchJwks(cluster.kubeconfigPath)) });
  const vault = await fakes.addVault('bench', tenant);
  const app = fakes.entra.addApplication({ tenantId: tenant, clientId });
  app.federated.push({ issuer, subject: `system:serviceaccount:${ns}:reader`, audiences: [FEDERATED_AUDIENCE] });
  vault.grant(app.objectId);
  for (const key of keys) vault.setSecret(key, randomBytes(8).toString('hex'));
  const azurite = await startAzurite(fakes.tls);
  const queue = azurite.service.getQueueClient('secret-changes');
  await queue.create();
  // Subscribed after the secrets exist, as gcpSource.
  const grid = subscribeQueue(vault, queue, 'EventGridSchema');
  const caPath = join(dir, 'azure-ca.pem');
  writeFileSync(caPath, fakes.tls.caPem);
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader', annotations: { 'azure.workload.identity/client-id': clientId, 'azure.workload.identity/tenant-id': tenant } } } });
  return {
    storeSpec: { azurekv: {
      vaultUrl: vault.url, authType: 'WorkloadIdentity', serviceAccountRef: { name: 'reader' },
      customCloudConfig: { activeDirectoryEndpoint: fakes.entra.authorityHost },
      changeFeed: { storageQueue: { queueURL: queue.url } },
    } },
    // The fakes serve HTTPS with a test CA; only this mode's operator trusts it.
    operatorEnv: { NODE_EXTRA_CA_CERTS: caPath },
    async write(key, value) {
      vault.setSecret(key, value);
    },
    async announce() {},
    async stop() {
      grid.stop();
      await azurite.stop();
      await fakes.stop();
    },
  };
}

async function modeSource(mode: Mode, ns: string, cluster: LocalCluster, kube: TestKube, moto: Moto, keys: string[], dir: string): Promise<Source> {
  switch (mode) {
    case 'alibaba': return alibabaSource(ns, cluster, kube, keys);
    case 'gcp': return gcpSource(ns, cluster, kube, keys);
    case 'azure': return azureSource(ns, cluster, kube, keys, dir);
    default: return awsSource(mode, ns, kube, moto, keys);
  }
}

async function runMode(mode: Mode, cluster: LocalCluster, kube: TestKube, moto: Moto, dir: string): Promise<string> {
  const ns = `bench-${mode}`;
  await ensureNamespace(kube, ns);
  // Secret Manager's and Key Vault's secret names take no '/'.
  const name = (k: number) => (mode === 'gcp' || mode === 'azure' ? `${mode}-key-${k}` : `${mode}/key-${k}`);
  const keys = Array.from({ length: KEYS }, (_, k) => name(k));
  const source = await modeSource(mode, ns, cluster, kube, moto, keys, dir);
  await kube.custom.createNamespacedCustomObject({
    group: API_GROUP, version: API_VERSION, namespace: ns, plural: Plural.SecretStore,
    body: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'SecretStore', metadata: { name: 'store' }, spec: { provider: source.storeSpec } },
  });
  for (let i = 0; i < COUNT; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, COUNT - i) }, (_, j) => kube.custom.createNamespacedCustomObject({
      group: API_GROUP, version: API_VERSION, namespace: ns, plural: Plural.ExternalSecret,
      body: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'ExternalSecret', metadata: { name: `es-${i + j}` }, spec: { secretStoreRef: { name: 'store' }, refreshInterval: mode === 'poll' ? '15s' : '1h', data: [{ secretKey: 'v', remoteRef: { key: name((i + j) % KEYS) } }] } },
    })));
  }
  const operator = startOperator(cluster.kubeconfigPath, ns, dir, source.operatorEnv ?? {});
  const port = await operator.port();
  // Wait for every Secret, through a watch that also times the rotations.
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  const expected = new Map<string, { since: number; secrets: Set<string> }>(); // value → rotation
  const latencies: number[] = [];
  const present = new Set<string>();
  const watch = await new k8s.Watch(kc).watch(`/api/v1/namespaces/${ns}/secrets`, {}, (_type: string, obj: k8s.V1Secret) => {
    const secret = obj.metadata?.name ?? '';
    if (!secret.startsWith('es-')) return;
    present.add(secret);
    const value = Buffer.from(obj.data?.['v'] ?? '', 'base64').toString('utf8');
    const rotation = expected.get(value);
    if (rotation?.secrets.delete(secret)) latencies.push(Date.now() - rotation.since);
  }, () => {});
  const t0 = Date.now();
  while (present.size < COUNT) {
    if (Date.now() - t0 > 15 * 60_000) throw new Error(`only ${present.size} of ${COUNT} Secrets after 15 min`);
    await sleep(500);
  }
  log(`${mode}: ${COUNT} Secrets written in ${((Date.now() - t0) / 1000).toFixed(1)} s; settling 20 s`);
  await sleep(20_000);

  const before = await scrape(port);
  const cpu0 = procCpu(operator.child.pid!);
  const windowStart = Date.now();
  let rotations = 0;
  while (Date.now() - windowStart < WINDOW_MS) {
    const k = rotations % KEYS;
    const value = `${mode}-${rotations}-${randomBytes(6).toString('hex')}`;
    const readers = new Set(Array.from({ length: COUNT }, (_, i) => i).filter((i) => i % KEYS === k).map((i) => `es-${i}`));
    await source.write(name(k), value);
    expected.set(value, { since: Date.now(), secrets: readers });
    await source.announce(name(k));
    rotations++;
    await sleep(EVERY_MS);
  }
  // Rotations still in flight get up to 30 s more (the poll mode's worst case is 15 s + the 5 s reuse window); the
  // costs are counted over the window and this drain, so the polled mode's late writes are in.
  const drainUntil = Date.now() + 30_000;
  while ([...expected.values()].some((r) => r.secrets.size > 0) && Date.now() < drainUntil) await sleep(200);
  const windowMs = Date.now() - windowStart;
  const after = await scrape(port);
  const cpu = procCpu(operator.child.pid!) - cpu0;
  const missed = [...expected.values()].reduce((n, r) => n + r.secrets.size, 0);
  watch.abort();
  await operator.stop();
  await source.stop();
  latencies.sort((a, b) => a - b);
  const perMin = (n: number) => ((n * 60_000) / windowMs).toFixed(0);
  const label = {
    feed: 'change feed (AWS, SQS on moto), refreshInterval 1h',
    poll: 'polling (AWS on moto), refreshInterval 15s',
    alibaba: 'change feed (Alibaba, MNS fake, RRSA), refreshInterval 1h',
    gcp: 'change feed (Google, Pub/Sub fake, GKE Workload Identity), refreshInterval 1h',
    azure: 'change feed (Azure, Event Grid → Storage queue on Azurite, Workload Identity), refreshInterval 1h',
  }[mode];
  return `| ${label} | ${rotations} | ${latencies.length} (+${missed} not seen) | ${percentile(latencies, 50)} | ${percentile(latencies, 99)} | ${perMin(after.reads - before.reads)} | ${perMin(after.writes - before.writes)} | ${((cpu * 1000) / windowMs * 100).toFixed(1)} % |`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'secret-relay-bench-feeds-'));
  log(`count=${COUNT} keys=${KEYS} every=${EVERY_MS}ms window=${WINDOW_MS}ms modes=${MODES.join(',')}; work dir ${dir}`);
  const cluster = await startCluster({ log });
  const kube = adminKube(cluster.kubeconfigPath);
  const moto = await startMoto();
  try {
    await installCrds(kube);
    await ensureNamespace(kube, 'secret-relay-system');
    const rows: string[] = [];
    for (const mode of MODES) rows.push(await runMode(mode, cluster, kube, moto, dir));
    process.stdout.write(`\n${COUNT} ExternalSecrets over ${KEYS} keys, one key rotated every ${EVERY_MS / 1000} s for ${WINDOW_MS / 1000} s:\n\n`);
    process.stdout.write('| mode | rotations | Secrets seen updated | p50 ms | p99 ms | provider reads/min | apiserver writes/min | operator CPU |\n|---|---|---|---|---|---|---|---|\n');
    process.stdout.write(rows.join('\n') + '\n');
  } finally {
    await moto.stop();
    await kube.close?.();
    await cluster.stop();
  }
}

await main();
