// The VaultDynamicSecret generator over a fake Vault transport: what it calls, what it returns, its leases, its
// connections (one per generator object, replaced when the object changes, the old token revoked — and a failed
// revocation reported, not swallowed), and its errors.
import { assertTenancy, DEFAULT_TENANCY_POLICY } from '../../../../src/providers/kit/tenancy.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVaultDynamicSecretGenerator, type StoreForGenerator } from '../../../../src/providers/vault/dynamic.ts';
import type { VaultRequest, VaultResponse } from '../../../../src/providers/vault/transport.ts';
import type { RevocationReport } from '../../../../src/providers/generator.ts';
import { NoSecretError, TerminalError, type StoreKubeAccess } from '../../../../src/providers/provider.ts';
import { fakeClock } from '../helpers.ts';

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);
const signal = () => AbortSignal.timeout(2000);
const ref = { namespace: 'team-a', kind: 'VaultDynamicSecret' as const, name: 'db' };

/** A fake Vault: approle logins hand out numbered tokens; database/creds/app issues leased credentials. */
function fakeVault() {
  const requests: VaultRequest[] = [];
  let logins = 0;
  let issued = 0;
  const state = { failRevokeSelf: false, leases: new Set<string>() };
  const transport = async (request: VaultRequest): Promise<VaultResponse> => {
    requests.push(request);
    if (request.path === 'auth/approle/login') {
      logins++;
      return { status: 200, body: { auth: { client_token: `token-${logins}`, lease_duration: 3600, renewable: true } } };
    }
    if (request.path === 'auth/token/revoke-self') {
      if (state.failRevokeSelf) return { status: 500, body: { errors: ['internal error'] } };
      return { status: 204, body: undefined };
    }
    if (request.path === 'database/creds/app') {
      issued++;
      const leaseId = `database/creds/app/lease-${issued}`;
      state.leases.add(leaseId);
      return { status: 200, body: { lease_id: leaseId, renewable: true, lease_duration: 600, data: { username: `v-app-${issued}`, password: `pw-${issued}`, ttl: 600 } } };
    }
    if (request.path === 'pki/issue/web') {
      return { status: 200, body: { data: { certificate: 'CERT', serial_number: '01' } } };
    }
    if (request.path === 'auth/token/create') {
      return { status: 200, body: { auth: { client_token: 'child', accessor: 'acc', lease_duration: 60, renewable: false, policies: null } } };
    }
    if (request.path === 'empty/creds') return { status: 200, body: { data: {} } };
    const leaseId = (request.body as { lease_id?: string } | undefined)?.lease_id;
    if (request.path === 'sys/leases/renew') {
      if (!leaseId || !state.leases.has(leaseId)) return { status: 400, body: { errors: ['lease not found'] } };
      return { status: 200, body: { lease_id: leaseId, renewable: true, lease_duration: 300 } };
    }
    if (request.path === 'sys/leases/revoke') {
      state.leases.delete(leaseId ?? '');
      return { status: 204, body: undefined };
    }
    return { status: 404, body: { errors: [] } };
  };
  return { transport, requests, state, logins: () => logins };
}

const kube: StoreKubeAccess = {
  readSecretKey: async () => new TextEncoder().encode('secret-id'),
  readConfigMapKey: async () => '',
  readServiceAccountAnnotations: async () => ({}),
  createServiceAccountToken: async () => ({ token: 'jwt', expiresAt: 0 }),
};

const provider = { server: 'https://vault.example', auth: { appRole: { path: 'approle', roleId: 'r', secretRef: { name: 's', key: 'id' } } } };

function generatorObject(spec: Record<string, unknown>, generation = 1) {
  return {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'VaultDynamicSecret',
    metadata: { name: 'db', namespace: 'team-a', uid: 'vds-1', generation },
    spec: { provider, path: 'database/creds/app', ...spec },
  };
}

function setup(initial: Record<string, unknown> = {}, stores: Record<string, StoreForGenerator> = {}) {
  const vault = fakeVault();
  const objects = new Map<string, unknown>([['team-a/db', generatorObject(initial)]]);
  const accessed: Array<string | undefined> = [];
  const generator = createVaultDynamicSecretGenerator({
    clock: fakeClock(0),
    assertTenancy: (declaration, storeKind) => assertTenancy(declaration, storeKind, { ...DEFAULT_TENANCY_POLICY, allowInsecureHttp: true }),
    readGenerator: async (namespace, name) => objects.get(`${namespace}/${name}`),
    resolveStore: (_namespace, storeRef) => {
      const store = stores[storeRef.name];
      return store ? { ok: true, store } : { ok: false, message: `SecretStore team-a/${storeRef.name} does not exist` };
    },
    kubeAccess: (onlyNamespace) => {
      accessed.push(onlyNamespace);
      return kube;
    },
    options: { transport: vault.transport },
  });
  return { vault, objects, generator, accessed };
}

test('generate: GET the path with the generator token, the data as keys (non-strings as JSON), the lease', async () => {
  const { vault, generator, accessed } = setup();
  const generated = await generator.generate(ref, signal());
  assert.deepEqual(
    Object.fromEntries([...generated.data].map(([key, value]) => [key, text(value)])),
    { username: 'v-app-1', password: 'pw-1', ttl: '600' },
  );
  assert.deepEqual(generated.lease, { leaseId: 'database/creds/app/lease-1', renewable: true, leaseDurationSeconds: 600 });
  const call = vault.requests.find((r) => r.path === 'database/creds/app')!;
  assert.equal(call.method, 'GET');
  assert.equal(call.token, 'token-1');
  assert.deepEqual(accessed, ['team-a'], 'an inline provider reads only its own namespace');
  assert.deepEqual(await generator.settings(ref, signal()), { renewAtPercent: 50, rotateBeforeMs: 300_000 });
});

test('one connection (one login) per generator object, reused across calls', async () => {
  const { vault, generator } = setup();
  await generator.generate(ref, signal());
  await generator.generate(ref, signal());
  await generator.renew(ref, 'database/creds/app/lease-1', 600, signal());
  assert.equal(vault.logins(), 1);
});

test('POST with parameters as the body; resultType Auth takes the auth block and carries no lease', async () => {
  const { generator, objects, vault } = setup();
  objects.set('team-a/db', generatorObject({ path: 'pki/issue/web', method: 'POST', parameters: { common_name: 'web.example' } }));
  const cert = await generator.generate(ref, signal());
  assert.equal(text(cert.data.get('certificate')), 'CERT');
  assert.equal(cert.lease, undefined, 'no lease id: nothing to renew or revoke');
  assert.deepEqual(vault.requests.find((r) => r.path === 'pki/issue/web')!.body, { common_name: 'web.example' });

  objects.set('team-a/db', generatorObject({ path: 'auth/token/create', method: 'POST', resultType: 'Auth' }, 2));
  const token = await generator.generate(ref, signal());
  assert.equal(text(token.data.get('client_token')), 'child');
  assert.equal(token.data.has('policies'), false, 'null fields are left out');
  assert.equal(token.lease, undefined);
});

test('renew and revoke go to sys/leases with the generator token; a gone lease is refused as terminal', async () => {
  const { vault, generator } = setup();
  const { lease } = await generator.generate(ref, signal());
  assert.deepEqual(await generator.renew(ref, lease!.leaseId, 600, signal()), { leaseDurationSeconds: 300, renewable: true });
  await generator.revoke(ref, lease!.leaseId, signal());
  assert.equal(vault.state.leases.size, 0);
  const revoke = vault.requests.find((r) => r.path === 'sys/leases/revoke')!;
  assert.equal(revoke.token, 'token-1');
  await assert.rejects(generator.renew(ref, lease!.leaseId, 600, signal()), TerminalError);
});

test('errors: a missing object, an empty response, a store of another provider', async () => {
  const stores: Record<string, StoreForGenerator> = {
    aws: { kind: 'SecretStore', name: 'aws', uid: 's', generation: 1, providerName: 'aws', providerSpec: {} },
  };
  const { generator, objects } = setup({}, stores);
  await assert.rejects(generator.generate({ ...ref, name: 'nope' }, signal()), /VaultDynamicSecret team-a\/nope does not exist/);
  objects.set('team-a/db', generatorObject({ path: 'empty/creds' }));
  await assert.rejects(generator.generate(ref, signal()), /the response has no data; check the path, or set allowEmptyResponse/);
  objects.set('team-a/db', generatorObject({ path: 'empty/creds', allowEmptyResponse: true }, 2));
  assert.equal((await generator.generate(ref, signal())).data.size, 0);
  objects.set('team-a/db', { ...generatorObject({}, 3), spec: { path: 'database/creds/app', storeRef: { name: 'aws' } } });
  await assert.rejects(generator.generate(ref, signal()), /SecretStore aws is a aws store, not a vault one/);
  objects.set('team-a/db', { ...generatorObject({}, 4), spec: { path: 'database/creds/app', storeRef: { name: 'missing' } } });
  await assert.rejects(generator.generate(ref, signal()), /SecretStore team-a\/missing does not exist/);
  objects.set('team-a/db', { ...generatorObject({}, 5), spec: { path: 'database/creds/app', provider: { server: 'https://v' } } });
  await assert.rejects(generator.generate(ref, signal()), TerminalError);
  await assert.rejects(generator.generate(ref, signal()), (err: unknown) => !(err instanceof NoSecretError));
});

test('storeRef: the store’s server and auth; a SecretStore reads its namespace only, a ClusterSecretStore any', async () => {
  const stores: Record<string, StoreForGenerator> = {
    vault: { kind: 'SecretStore', name: 'vault', uid: 's-1', generation: 1, providerName: 'vault', providerSpec: provider },
    shared: { kind: 'ClusterSecretStore', name: 'shared', uid: 's-2', generation: 1, providerName: 'vault', providerSpec: { ...provider, generators: { allowedPathPrefixes: ['database/creds'] } } },
    closed: { kind: 'ClusterSecretStore', name: 'closed', uid: 's-3', generation: 1, providerName: 'vault', providerSpec: provider },
  };
  const { generator, objects, accessed, vault } = setup({}, stores);
  objects.set('team-a/db', { ...generatorObject({}), spec: { path: 'database/creds/app', storeRef: { name: 'vault' } } });
  await generator.generate(ref, signal());
  objects.set('team-a/db', { ...generatorObject({}, 2), spec: { path: 'database/creds/app', storeRef: { name: 'shared', kind: 'ClusterSecretStore' } } });
  await generator.generate(ref, signal());
  assert.deepEqual(accessed, ['team-a', undefined]);
  // Through an admin's ClusterSecretStore: only what it opted in to, never token minting, before any login.
  const logins = vault.logins();
  objects.set('team-a/db', { ...generatorObject({}, 3), spec: { path: 'auth/token/create', method: 'POST', storeRef: { name: 'shared', kind: 'ClusterSecretStore' } } });
  await assert.rejects(generator.generate(ref, signal()), /VaultDynamicSecret team-a\/db: ClusterSecretStore shared never serves auth\/token\/… to generators/);
  objects.set('team-a/db', { ...generatorObject({}, 4), spec: { path: 'database/creds/app', storeRef: { name: 'closed', kind: 'ClusterSecretStore' } } });
  await assert.rejects(generator.generate(ref, signal()), /ClusterSecretStore closed does not serve generators/);
  assert.equal(vault.logins(), logins, 'no login for a refused call');
});

test('a changed generator object replaces its connection: the old token is revoked and reported', async () => {
  const { vault, generator, objects } = setup();
  await generator.generate(ref, signal());
  objects.set('team-a/db', generatorObject({}, 2));
  const reports: RevocationReport[] = [];
  await generator.generate(ref, signal(), (report) => reports.push(report));
  await waitFor(() => reports.length > 0, 'the revocation report');
  assert.equal(vault.logins(), 2, 'a new login for the new generation');
  assert.ok(vault.requests.some((r) => r.path === 'auth/token/revoke-self' && r.token === 'token-1'));
  assert.equal(reports[0]!.subject, 'the Vault token of VaultDynamicSecret team-a/db (generation 1)');
  assert.equal(reports[0]!.error, undefined);
});

test('a failed revocation of the replaced connection’s token is reported, never swallowed', async () => {
  const { vault, generator, objects } = setup();
  await generator.generate(ref, signal());
  vault.state.failRevokeSelf = true;
  objects.set('team-a/db', generatorObject({}, 2));
  const reports: RevocationReport[] = [];
  await generator.generate(ref, signal(), (report) => reports.push(report));
  await waitFor(() => reports.length > 0, 'the revocation report');
  assert.match(reports[0]!.error ?? '', /Vault token revoke-self: internal error/);
  assert.match(reports[0]!.identity, /approle/);
});

test('close() revokes every connection’s token', async () => {
  const { vault, generator } = setup();
  await generator.generate(ref, signal());
  await generator.close();
  assert.equal(vault.requests.at(-1)!.path, 'auth/token/revoke-self');
});

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('renew and revoke only serve leases of the generator\'s own path: a lease ID written into status by a tenant cannot reach another team\'s lease', async () => {
  const { vault, generator } = setup();
  const generated = await generator.generate(ref, signal());
  await generator.renew(ref, generated.lease!.leaseId, 600, signal());
  const before = vault.requests.length;
  for (const foreign of ['database/creds/other-team/lease-9', 'database/creds/app-admin/lease-9', 'database/creds/app/../admin/lease-9', 'auth/token/create/x']) {
    await assert.rejects(generator.revoke(ref, foreign, signal()), /is not a lease of this generator's path database\/creds\/app/, foreign);
    await assert.rejects(generator.renew(ref, foreign, 600, signal()), /is not a lease of this generator's path/, foreign);
  }
  assert.equal(vault.requests.length, before, 'no request for a foreign lease');
  await generator.revoke(ref, generated.lease!.leaseId, signal());
});
