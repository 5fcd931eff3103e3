// VaultDynamicSecret against a real OpenBao dev server whose database secrets engine manages a real PostgreSQL:
// the issued credentials connect; the lease is renewed (OpenBao's lease lookup shows it); near the max TTL new
// credentials replace them in the Secret and the old lease is revoked (the old login fails); deleting the
// ExternalSecret revokes the lease (its login fails) before the finalizer lets it go; an operator restart keeps
// renewing the lease it finds on the status. TTLs are seconds long so that all of this happens within the test.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { startOpenBao, type OpenBao } from '../support/openbao.ts';
import { startPostgres, type Postgres } from '../support/postgres.ts';
import {
  adminKube,
  createObject,
  decodeData,
  deleteObject,
  getObject,
  patchObject,
  Plural,
  readyOf,
  readSecret,
  startTestOperator,
  waitFor,
  type TestOperator,
} from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { createVaultProvider } from '../../src/providers/vault/provider.ts';
import { LEASE_FINALIZER } from '../../src/controller/externalsecret/generators.ts';
import { LEASES_ANNOTATION } from '../../src/controller/externalsecret/lease-annotation.ts';
import { forward, startFaultProxy, type Fault, type FaultProxy } from '../support/fault-proxy.ts';

let cluster: LocalCluster;
let kube: TestKube;
let bao: OpenBao;
let pg: Postgres;
let op: TestOperator | undefined;
/** Every operator started, the stopped one too: the leak scan reads all their logs. */
const operators: TestOperator[] = [];
const secrets = new SecretValues();
const namespaces = new TestNamespaces('vdyn');

/** Role TTLs: renewals every few seconds, the max TTL reached within the test. */
const DEFAULT_TTL = 6;
const MAX_TTL = 20;

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  [bao, pg] = await Promise.all([startOpenBao(), startPostgres()]);
  secrets.add(pg.superuserPassword);
  await bao.api('POST', 'sys/mounts/database', { type: 'database' });
  await bao.api('POST', 'database/config/pg', {
    plugin_name: 'postgresql-database-plugin',
    connection_url: `postgresql://{{username}}:{{password}}@${pg.host}:${pg.port}/postgres?sslmode=disable`,
    username: pg.superuser,
    password: pg.superuserPassword,
    allowed_roles: '*',
  });
  for (const [role, maxTtl] of [['app', MAX_TTL], ['long', 3600]] as const) {
    await bao.api('POST', `database/roles/${role}`, {
      db_name: 'pg',
      creation_statements: [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`],
      default_ttl: DEFAULT_TTL,
      max_ttl: maxTtl,
    });
  }
  await bao.api('PUT', 'sys/policies/acl/dynamic', {
    policy: [
      'path "database/creds/*" { capabilities = ["read"] }',
      'path "sys/leases/renew" { capabilities = ["update"] }',
      'path "sys/leases/revoke" { capabilities = ["update"] }',
    ].join('\n'),
  });
  op = await startOperator();
});

after(async () => {
  await stopTestOperator(op, 'vault-dynamic');
  await bao?.stop();
  await pg?.stop();
  await cluster?.stop();
});

async function startOperator(): Promise<TestOperator> {
  const started = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false', '--concurrency=2'], providers: [createVaultProvider()] });
  operators.push(started);
  return started;
}

/** A namespace with a vault SecretStore (token auth, the "dynamic" policy), at `server` (OpenBao itself by default). */
async function setup(server = bao.address): Promise<string> {
  const ns = await namespaces.create(kube);
  const created = await bao.api('POST', 'auth/token/create', { policies: ['dynamic'], ttl: '1h' });
  const token = (created!['auth'] as { client_token: string }).client_token;
  secrets.add(token);
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'vault-token' }, stringData: { token } } });
  await createObject(
    kube,
    Plural.SecretStore,
    {
      apiVersion: 'secret-relay.dev/v1alpha1',
      kind: 'SecretStore',
      metadata: { name: 'vault' },
      spec: { provider: { vault: { server, auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } },
    },
    ns,
  );
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'vault', status: 'True' });
  return ns;
}

async function createGenerator(ns: string, name: string, role: string, extra: Record<string, unknown> = {}) {
  await createObject(
    kube,
    Plural.VaultDynamicSecret,
    {
      apiVersion: 'secret-relay.dev/v1alpha1',
      kind: 'VaultDynamicSecret',
      metadata: { name },
      spec: { storeRef: { name: 'vault' }, path: `database/creds/${role}`, renewAtPercent: 50, rotateBeforeMaxTTL: '3s', ...extra },
    },
    ns,
  );
}

async function createExternalSecret(ns: string, name: string, generator: string) {
  await createObject(
    kube,
    Plural.ExternalSecret,
    {
      apiVersion: 'secret-relay.dev/v1alpha1',
      kind: 'ExternalSecret',
      metadata: { name },
      spec: {
        secretStoreRef: { name: 'vault' },
        refreshInterval: '1h',
        dataFrom: [{ sourceRef: { generatorRef: { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'VaultDynamicSecret', name: generator } } }],
      },
    },
    ns,
  );
}

interface Creds {
  username: string;
  password: string;
}

async function credentials(ns: string, name: string): Promise<Creds | undefined> {
  const data = decodeData(await readSecret(kube, ns, name));
  if (!data?.['username'] || !data['password']) return undefined;
  secrets.add(data['password']);
  return { username: data['username'], password: data['password'] };
}

async function leasesOf(ns: string, name: string): Promise<{ leaseId: string; renewTime?: string; maxExpireTime?: string }[]> {
  const es = await getObject(kube, Plural.ExternalSecret, name, ns);
  return ((es?.['status'] as { leases?: { leaseId: string }[] } | undefined)?.leases ?? []) as never;
}

async function canConnect(creds: Creds): Promise<boolean> {
  try {
    return (await pg.query('select current_user', creds.username, creds.password)) === creds.username;
  } catch {
    return false;
  }
}

async function leaseLookup(leaseId: string): Promise<{ status: number; lastRenewal?: string | null }> {
  const result = await bao.raw('PUT', 'sys/leases/lookup', { lease_id: leaseId });
  return { status: result.status, lastRenewal: (result.body?.['data'] as { last_renewal?: string | null } | undefined)?.last_renewal };
}

test('database credentials: issued into the Secret, renewed, replaced before the max TTL (old lease revoked), revoked when the ExternalSecret is deleted', async () => {
  const ns = await setup();
  await createGenerator(ns, 'db', 'app');
  await createExternalSecret(ns, 'db', 'db');

  const first = await waitFor('credentials in the Secret', () => credentials(ns, 'db'));
  assert.ok(await canConnect(first), 'the issued credentials log in to PostgreSQL');
  const [lease] = await waitFor('the lease on the status', async () => ((await leasesOf(ns, 'db')).length === 1 ? leasesOf(ns, 'db') : undefined));
  assert.match(lease!.leaseId, /^database\/creds\/app\//);
  const es = await getObject(kube, Plural.ExternalSecret, 'db', ns);
  assert.ok((es?.['metadata'] as { finalizers?: string[] }).finalizers?.includes(LEASE_FINALIZER));

  // Renewed at half its 6 s TTL: OpenBao's lookup shows a renewal.
  await waitFor('OpenBao to show a renewal of the lease', async () => (await leaseLookup(lease!.leaseId)).lastRenewal, 15_000);
  assert.ok(await canConnect(first), 'still valid after renewals');

  // The max TTL (20 s) caps a renewal; 3 s before it ends, new credentials replace the old in the Secret.
  const second = await waitFor('new credentials in the Secret', async () => {
    const now = await credentials(ns, 'db');
    return now && now.username !== first.username ? now : undefined;
  }, 40_000);
  assert.ok(await canConnect(second), 'the new credentials log in');
  await waitFor('the replaced lease to be revoked', async () => (await leaseLookup(lease!.leaseId)).status !== 200, 10_000);
  assert.equal(await canConnect(first), false, 'the old credentials no longer log in');
  const [secondLease] = await leasesOf(ns, 'db');
  assert.notEqual(secondLease!.leaseId, lease!.leaseId);

  await deleteObject(kube, Plural.ExternalSecret, 'db', ns);
  await waitFor('the ExternalSecret to be gone (finalizer removed)', async () => (await getObject(kube, Plural.ExternalSecret, 'db', ns)) === undefined, 20_000);
  assert.notEqual((await leaseLookup(secondLease!.leaseId)).status, 200, 'its lease was revoked');
  assert.equal(await canConnect(second), false, 'the last credentials no longer log in');
});

test('an operator restart keeps renewing the lease recorded on the status; a missing generator is a clear condition', async () => {
  const ns = await setup();
  await createGenerator(ns, 'long', 'long');
  await createExternalSecret(ns, 'db', 'long');
  const creds = await waitFor('credentials in the Secret', () => credentials(ns, 'db'));
  const [lease] = await waitFor('the lease on the status', async () => ((await leasesOf(ns, 'db')).length === 1 ? leasesOf(ns, 'db') : undefined));

  await stopTestOperator(op, 'vault-dynamic-first');
  op = undefined;
  const stoppedAt = Date.now();
  // Past the whole 6 s TTL unless the new operator renews it.
  op = await startOperator();
  await waitFor('a renewal by the new operator', async () => {
    const renewed = (await leasesOf(ns, 'db'))[0]?.renewTime;
    return renewed !== undefined && Date.parse(renewed) >= stoppedAt - 1000;
  }, 15_000);
  await new Promise((resolve) => setTimeout(resolve, DEFAULT_TTL * 1000 + 1000));
  assert.ok(await canConnect(creds), 'the credentials outlived their first TTL: the lease kept being renewed');
  assert.equal((await credentials(ns, 'db'))?.username, creds.username, 'the same credentials (no new issue)');
  assert.equal((await leaseLookup(lease!.leaseId)).status, 200);

  await createExternalSecret(ns, 'orphan', 'does-not-exist');
  await waitReady(kube, { namespace: ns, name: 'orphan', status: 'False', message: /VaultDynamicSecret .*does-not-exist does not exist/ });

  await deleteObject(kube, Plural.ExternalSecret, 'db', ns);
  await waitFor('the ExternalSecret to be gone', async () => (await getObject(kube, Plural.ExternalSecret, 'db', ns)) === undefined, 20_000);
  assert.notEqual((await leaseLookup(lease!.leaseId)).status, 200);
  assert.equal(await canConnect(creds), false);
});

/**
 * A plain HTTP forwarder in front of OpenBao whose revocations can be refused (503, as a sealed or standby Vault
 * answers); it logs every revocation it saw: the lease and the status it answered with.
 */
async function startBaoProxy() {
  const revocations: { leaseId: string; status: number }[] = [];
  const upstream = new URL(bao.address);
  let refuseRevocations = false;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const revocation = (req.url ?? '').includes('/sys/leases/revoke');
      const leaseId = revocation ? String((JSON.parse(body.toString('utf8') || '{}') as { lease_id?: string }).lease_id) : '';
      if (revocation && refuseRevocations) {
        revocations.push({ leaseId, status: 503 });
        res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: ['injected: Vault is sealed'] }));
        return;
      }
      const upstreamReq = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (upstreamRes) => {
          if (revocation) revocations.push({ leaseId, status: upstreamRes.statusCode ?? 0 });
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
        },
      );
      upstreamReq.on('error', () => res.destroy());
      upstreamReq.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    revocations,
    refuse: (on: boolean) => void (refuseRevocations = on),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('a failure at each step after the Secret is written (the leases status patch, the revocation of the replaced lease) keeps the new credentials valid; the old lease is revoked exactly once afterwards', async () => {
  const baoProxy = await startBaoProxy();
  // This test's operator talks to the apiserver through the fault proxy (one operator at a time: no leader election here).
  const { kubeProxy, proxied } = await startOperatorBehindProxy('faults');
  try {
    const ns = await setup(baoProxy.url);
    // A TTL long enough that the replaced lease cannot simply expire while its revocation is refused.
    await bao.api('POST', 'database/roles/steady', {
      db_name: 'pg',
      creation_statements: [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`],
      default_ttl: 120,
      max_ttl: 3600,
    });
    await createGenerator(ns, 'steady', 'steady');
    await createExternalSecret(ns, 'db', 'steady');
    const first = await waitFor('credentials in the Secret', () => credentials(ns, 'db'));
    const [oldLease] = await waitFor('the lease on the status', async () => ((await leasesOf(ns, 'db')).length === 1 ? leasesOf(ns, 'db') : undefined));

    // Faults: OpenBao refuses revocations; the second status patch after the Secret is written (the leases'
    // commit, after the sync's own status patch) fails with a 500 the client does not retry.
    baoProxy.refuse(true);
    const injected = failStatusPatchesAfterSecretWrite(kubeProxy, ns, (n) => n === 2);
    // A spec change syncs again: new credentials, the old lease retired.
    await patchObject(kube, Plural.ExternalSecret, 'db', { spec: { refreshInterval: '59m' } }, ns);

    const second = await waitFor('new credentials in the Secret', async () => {
      const now = await credentials(ns, 'db');
      return now && now.username !== first.username ? now : undefined;
    }, 30_000);
    await waitFor('the leases status patch to have failed once', () => injected() === 1, 30_000);
    const retired = await waitFor('the old lease recorded as to revoke after a failed revocation', async () => {
      const es = await getObject(kube, Plural.ExternalSecret, 'db', ns);
      const pending = (es?.['status'] as { retiredLeases?: { leaseId: string; revokeAttempts: number }[] } | undefined)?.retiredLeases ?? [];
      return pending.find((l) => l.leaseId === oldLease!.leaseId && l.revokeAttempts >= 1);
    }, 30_000);
    assert.ok(retired);
    assert.ok(await canConnect(second), 'the credentials the Secret holds log in while the old lease cannot be revoked');
    assert.equal((await leaseLookup(oldLease!.leaseId)).status, 200, 'the old lease is still there (its revocation failed)');
    assert.ok(baoProxy.revocations.some((r) => r.leaseId === oldLease!.leaseId && r.status === 503));
    assert.ok(!baoProxy.revocations.some((r) => r.leaseId !== oldLease!.leaseId), 'the new lease was never revoked');

    // OpenBao heals: the next attempt (10 s after the first failure) revokes the old lease.
    baoProxy.refuse(false);
    await waitFor('the old lease to be revoked', async () => (await leaseLookup(oldLease!.leaseId)).status !== 200, 40_000);
    await waitFor('nothing left to revoke', async () => {
      const es = await getObject(kube, Plural.ExternalSecret, 'db', ns);
      return ((es?.['status'] as { retiredLeases?: unknown[] } | undefined)?.retiredLeases ?? []).length === 0;
    }, 20_000);
    await waitFor('Ready=True', async () => readyOf(await getObject(kube, Plural.ExternalSecret, 'db', ns))?.status === 'True', 20_000);
    assert.ok(await canConnect(second), 'the Secret\'s credentials still log in');
    assert.equal(await canConnect(first), false, 'the replaced credentials no longer log in');
    assert.equal((await credentials(ns, 'db'))?.username, second.username, 'the Secret still holds the second credentials');
    const [current] = await leasesOf(ns, 'db');
    assert.notEqual(current!.leaseId, oldLease!.leaseId);
    assert.equal((await leaseLookup(current!.leaseId)).status, 200, 'the lease of the Secret\'s credentials is alive');
    assert.deepEqual(
      baoProxy.revocations.filter((r) => r.status !== 503).map((r) => [r.leaseId, r.status]),
      [[oldLease!.leaseId, 204]],
      'the old lease revoked exactly once, nothing else revoked',
    );

    await deleteObject(kube, Plural.ExternalSecret, 'db', ns);
    await waitFor('the ExternalSecret to be gone', async () => (await getObject(kube, Plural.ExternalSecret, 'db', ns)) === undefined, 20_000);
    assert.equal(await canConnect(second), false, 'revoked with the ExternalSecret');
  } finally {
    await stopTestOperator(op, 'vault-dynamic-faults');
    op = undefined;
    op = await startOperator();
    await kubeProxy.close();
    await baoProxy.close();
  }
});

/** The lease IDs the Secret records for its credentials (its secret-relay.dev/leases annotation). */
async function leasesOnSecret(ns: string, name: string): Promise<string[]> {
  const secret = await readSecret(kube, ns, name);
  const annotation = secret?.metadata?.annotations?.[LEASES_ANNOTATION];
  return annotation ? (JSON.parse(annotation) as { leases: { leaseId: string }[] }).leases.map((l) => l.leaseId) : [];
}

/** A new namespace whose ExternalSecret db (generator `long`) has synced credentials and its one lease on the status. */
async function syncedWithOneLease() {
  const ns = await setup();
  await createGenerator(ns, 'long', 'long');
  await createExternalSecret(ns, 'db', 'long');
  const first = await waitFor('credentials in the Secret', () => credentials(ns, 'db'));
  const [oldLease] = await waitFor('the lease on the status', async () => ((await leasesOf(ns, 'db')).length === 1 ? leasesOf(ns, 'db') : undefined));
  return { ns, first, oldLease };
}

/**
 * From the next write of Secret ns/db on, answers the ExternalSecret ns/db status patches for whose number (counting
 * from 1, the sync's own first) `fail` holds with a 500 the client does not retry. Returns how many it failed so far.
 */
function failStatusPatchesAfterSecretWrite(kubeProxy: FaultProxy, ns: string, fail: (patchNumber: number) => boolean): () => number {
  let secretWritten = false;
  let statusPatchesSince = 0;
  let injected = 0;
  kubeProxy.setRule((req): Fault => {
    if (req.method !== 'GET' && req.url.startsWith(`/api/v1/namespaces/${ns}/secrets/db`)) secretWritten = true;
    if (secretWritten && req.method === 'PATCH' && req.url.startsWith(`/apis/secret-relay.dev/v1alpha1/namespaces/${ns}/externalsecrets/db/status`)) {
      statusPatchesSince++;
      if (fail(statusPatchesSince)) {
        injected++;
        return { kind: 'status', code: 500, reason: 'injected: etcd timeout' };
      }
    }
    return forward;
  });
  return () => injected;
}

/** Stops the shared operator and starts one behind a new fault proxy in front of the apiserver. */
async function startOperatorBehindProxy(name: string) {
  const kubeProxy = await startFaultProxy(cluster.kubeconfigPath);
  const kubeconfig = join(mkdtempSync(join(tmpdir(), `vdyn-${name}-`)), 'kubeconfig');
  kubeProxy.writeKubeconfig(kubeconfig);
  await stopTestOperator(op, `vault-dynamic-before-${name}`);
  op = undefined;
  const proxied = await startTestOperator({ kubeconfigPath: kubeconfig, args: ['--leader-elect=false', '--concurrency=2'], providers: [createVaultProvider()] });
  operators.push(proxied);
  op = proxied;
  return { kubeProxy, proxied };
}

test("the leases' status patch fails after new credentials reach the Secret, and leadership changes before a retry: the new leader renews the new lease (the Secret's credentials outlive their TTL), revokes the old one", async () => {
  const { kubeProxy, proxied } = await startOperatorBehindProxy('lease-hole');
  try {
    const { ns, first, oldLease } = await syncedWithOneLease();

    // From the Secret's next write on, the sync's own status patch goes through and every later one (the leases')
    // fails: this leader never records the new lease.
    const injected = failStatusPatchesAfterSecretWrite(kubeProxy, ns, (n) => n >= 2);
    await patchObject(kube, Plural.ExternalSecret, 'db', { spec: { refreshInterval: '59m' } }, ns);
    const second = await waitFor('new credentials in the Secret', async () => {
      const now = await credentials(ns, 'db');
      return now && now.username !== first.username ? now : undefined;
    }, 30_000);
    await waitFor("the leases' status patch to have failed", () => injected() >= 1, 30_000);
    const [newLease] = await leasesOnSecret(ns, 'db');
    assert.ok(newLease && newLease !== oldLease!.leaseId, 'the Secret names the lease of its new credentials');
    assert.equal((await leasesOf(ns, 'db'))[0]?.leaseId, oldLease!.leaseId, 'the status still names the old lease');

    // Leadership changes: this operator stops; a fresh one (no memory of the new lease) leads.
    await stopTestOperator(proxied, 'vault-dynamic-lease-hole-old-leader');
    op = undefined;
    op = await startOperator();
    await waitFor('the new leader to record the lease of the Secret\'s credentials', async () => (await leasesOf(ns, 'db'))[0]?.leaseId === newLease, 20_000);
    await waitFor('the old lease to be revoked', async () => (await leaseLookup(oldLease!.leaseId)).status !== 200, 20_000);
    await waitFor('OpenBao to show a renewal of the new lease', async () => (await leaseLookup(newLease)).lastRenewal, 20_000);
    // Past the new credentials' whole first TTL: alive only if their lease kept being renewed.
    await new Promise((resolve) => setTimeout(resolve, DEFAULT_TTL * 1000 + 1000));
    assert.ok(await canConnect(second), "the Secret's credentials still log in after their first TTL");
    assert.equal(await canConnect(first), false, 'the replaced credentials no longer log in');
    assert.equal((await credentials(ns, 'db'))?.username, second.username, 'no new credentials were needed');
    await waitFor('Ready=True', async () => readyOf(await getObject(kube, Plural.ExternalSecret, 'db', ns))?.status === 'True', 20_000);

    await deleteObject(kube, Plural.ExternalSecret, 'db', ns);
    await waitFor('the ExternalSecret to be gone', async () => (await getObject(kube, Plural.ExternalSecret, 'db', ns)) === undefined, 20_000);
    assert.equal(await canConnect(second), false, 'revoked with the ExternalSecret');
  } finally {
    if (op === proxied) {
      await stopTestOperator(op, 'vault-dynamic-lease-hole');
      op = await startOperator();
    }
    await kubeProxy.close();
  }
});

test('deleting the old Secret after a target rename fails: the new Secret\'s credentials stay valid and are not replaced, the ExternalSecret is not Ready until the old Secret is deleted, and it heals', async () => {
  const { kubeProxy } = await startOperatorBehindProxy('rename');
  try {
    const { ns, first, oldLease } = await syncedWithOneLease();

    // The first two deletions of the old Secret fail.
    const oldSecret = new RegExp(`^/api/v1/namespaces/${ns}/secrets/db(\\?|$)`);
    let refused = 0;
    kubeProxy.setRule((req): Fault => {
      if (req.method === 'DELETE' && oldSecret.test(req.url) && refused < 2) {
        refused++;
        return { kind: 'status', code: 500, reason: 'injected: etcd timeout' };
      }
      return forward;
    });
    await patchObject(kube, Plural.ExternalSecret, 'db', { spec: { target: { name: 'db-v2' } } }, ns);
    const second = await waitFor('credentials in the renamed Secret', () => credentials(ns, 'db-v2'), 30_000);
    assert.notEqual(second.username, first.username);
    const notReady = await waitFor('Ready=False naming the failed deletion', async () => {
      const ready = readyOf(await getObject(kube, Plural.ExternalSecret, 'db', ns));
      return ready?.status === 'False' && /Secret db \(the target before spec.target.name changed\) could not be deleted/.test(ready.message ?? '') ? ready : undefined;
    }, 30_000);
    assert.ok(notReady);
    assert.ok(await canConnect(second), 'the renamed Secret\'s credentials log in while the old Secret cannot be deleted');

    await waitFor('the old Secret to be deleted', async () => (await readSecret(kube, ns, 'db')) === undefined, 60_000);
    await waitFor('Ready=True', async () => readyOf(await getObject(kube, Plural.ExternalSecret, 'db', ns))?.status === 'True', 20_000);
    assert.equal(refused, 2);
    assert.equal((await credentials(ns, 'db-v2'))?.username, second.username, 'the same credentials: the failed deletions did not rotate them');
    assert.ok(await canConnect(second));
    const [held] = await leasesOnSecret(ns, 'db-v2');
    assert.equal((await leasesOf(ns, 'db'))[0]?.leaseId, held, 'the status records the lease of the credentials the Secret holds');
    assert.equal((await leaseLookup(held!)).status, 200);
    await waitFor('the replaced lease to be revoked', async () => (await leaseLookup(oldLease!.leaseId)).status !== 200, 20_000);
    assert.equal(await canConnect(first), false);

    await deleteObject(kube, Plural.ExternalSecret, 'db', ns);
    await waitFor('the ExternalSecret to be gone', async () => (await getObject(kube, Plural.ExternalSecret, 'db', ns)) === undefined, 20_000);
  } finally {
    await stopTestOperator(op, 'vault-dynamic-rename');
    op = await startOperator();
    await kubeProxy.close();
  }
});

test('no credential leaked into logs, audit, Events or status', async () => {
  await assertNoLeaks({ logs: operators.map((o) => o.logs), audit: operators.map((o) => o.audit), kube, namespaces: namespaces.names, values: secrets, atLeast: 4 });
});
