// VaultDynamicSecret against a real OpenBao dev server whose database secrets engine manages a real PostgreSQL:
// the issued credentials connect; the lease is renewed (OpenBao's lease lookup shows it); near the max TTL new
// credentials replace them in the Secret and the old lease is revoked (the old login fails); deleting the
// ExternalSecret revokes the lease (its login fails) before the finalizer lets it go; an operator restart keeps
// renewing the lease it finds on the status. TTLs are seconds long so that all of this happens within the test.
import assert from 'node:assert/strict';
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
  Plural,
  readSecret,
  startTestOperator,
  waitFor,
  type TestOperator,
} from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { createVaultProvider } from '../../src/providers/vault/provider.ts';
import { LEASE_FINALIZER } from '../../src/controller/externalsecret/generators.ts';

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

/** A namespace with a vault SecretStore (token auth, the "dynamic" policy). */
async function setup(): Promise<string> {
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
      spec: { provider: { vault: { server: bao.address, auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } },
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

test('no credential leaked into logs, audit, Events or status', async () => {
  await assertNoLeaks({ logs: operators.map((o) => o.logs), audit: operators.map((o) => o.audit), kube, namespaces: namespaces.names, values: secrets, atLeast: 4 });
});
