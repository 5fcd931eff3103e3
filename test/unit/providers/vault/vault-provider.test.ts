// The vault provider's pure decisions and its behaviour over a fake transport: auth plans, token renewal timing,
// paths, error mapping, spec validation, a session that logs in again after a 403.
import { declaredTenancy } from '../../../../src/providers/kit/tenancy.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { login, planVaultAuth, tokenAction, createTokenSession, type VaultToken } from '../../../../src/providers/vault/auth.ts';
import { createVaultApi, vaultError, VaultPermissionError } from '../../../../src/providers/vault/api.ts';
import { kvPath, splitKey } from '../../../../src/providers/vault/kv.ts';
import { createVaultProvider, validateVaultSpec } from '../../../../src/providers/vault/provider.ts';
import { createHttpTransport, encodePath, type VaultRequest, type VaultResponse } from '../../../../src/providers/vault/transport.ts';
import { createServer, type AddressInfo } from 'node:net';
import { AccessDeniedError, NoSecretError, TerminalError, ThrottledError } from '../../../../src/providers/provider.ts';
import type { VaultProvider } from '../../../../src/api/types.generated.ts';
import { fakeClock, storeContext } from '../helpers.ts';

const where = { storeKind: 'SecretStore' as const, storeNamespace: 'team-a', namespace: 'team-a' };
const cluster = { storeKind: 'ClusterSecretStore' as const, storeNamespace: undefined, namespace: 'apps' };
const ref = (name: string, key: string, namespace?: string) => ({ name, key, ...(namespace ? { namespace } : {}) });

test('auth plans: each method, referent namespaces, identity without secrets', () => {
  const k8s = planVaultAuth({ kubernetes: { mountPath: 'kubernetes', role: 'app', serviceAccountRef: { name: 'sa' } } }, where);
  assert.deepEqual(k8s.plan, { kind: 'kubernetes', path: 'kubernetes', role: 'app', jwt: { from: 'serviceAccount', namespace: 'team-a', name: 'sa', audiences: ['vault'], expirationSeconds: 600 } });
  assert.equal(k8s.referent, false);
  assert.equal(k8s.identity, 'kubernetes role app as ServiceAccount team-a/sa');

  const referent = planVaultAuth({ kubernetes: { mountPath: 'k', role: 'app', serviceAccountRef: { name: 'sa' } } }, cluster);
  assert.equal(referent.referent, true, 'a ClusterSecretStore naming no namespace authenticates per ExternalSecret namespace');
  assert.equal((referent.plan as { jwt: { namespace: string } }).jwt.namespace, 'apps');
  const pinned = planVaultAuth({ kubernetes: { mountPath: 'k', role: 'app', serviceAccountRef: { name: 'sa', namespace: 'ops' } } }, cluster);
  assert.equal(pinned.referent, false);

  const jwt = planVaultAuth({ jwt: { path: 'jwt', role: 'r', kubernetesServiceAccountToken: { serviceAccountRef: { name: 'sa' } } } }, where);
  assert.deepEqual((jwt.plan as unknown as { jwt: { audiences: string[] } }).jwt.audiences, ['vault'], 'jwt defaults to the vault audience');

  const approle = planVaultAuth({ appRole: { path: 'approle', roleId: 'rid', secretRef: ref('s', 'id') } }, where);
  assert.deepEqual(approle.plan, { kind: 'appRole', path: 'approle', roleId: 'rid', secretId: { namespace: 'team-a', name: 's', key: 'id' } });
  const userpass = planVaultAuth({ userPass: { path: 'userpass', username: 'bob', secretRef: ref('s', 'pw') } }, where);
  assert.equal(userpass.identity, 'userpass user bob');
  const token = planVaultAuth({ tokenSecretRef: ref('t', 'token', 'ops') }, cluster);
  assert.equal(token.referent, false);
  assert.equal(token.identity, 'token from Secret ops/t');
  const own = planVaultAuth({ kubernetes: { mountPath: 'kubernetes', role: 'r' } }, where);
  // Never the mounted token (whose audience is the apiserver's): a minted one for the operator's ServiceAccount, audience vault.
  assert.deepEqual((own.plan as { jwt: unknown }).jwt, { from: 'operatorServiceAccount', audiences: ['vault'] });
});

test("kubernetes auth as the operator: a TokenRequest token for the operator's ServiceAccount with audience vault, never a file", async () => {
  const minted: unknown[] = [];
  const kube = {
    createServiceAccountToken: async (ref: unknown) => {
      minted.push(ref);
      return { token: 'minted-jwt', expiresAt: 0 };
    },
  };
  const logins: unknown[] = [];
  const api = { login: async (path: string, user: string, body: unknown) => (logins.push({ path, body }), { client_token: 'tok', renewable: false, lease_duration: 60 }) };
  const own = planVaultAuth({ kubernetes: { mountPath: 'kubernetes', role: 'r' } }, where).plan;
  const deps = { api: api as never, ctx: { kube: kube as never }, clock: { now: () => 0 } };
  await assert.rejects(login(own, deps, AbortSignal.timeout(1000)), /does not know; start it with --service-account-name/);
  await login(own, { ...deps, operatorServiceAccount: { namespace: 'secret-relay-system', name: 'secret-relay' } }, AbortSignal.timeout(1000));
  assert.deepEqual(minted, [{ namespace: 'secret-relay-system', name: 'secret-relay', audiences: ['vault'], expirationSeconds: 600 }]);
  assert.deepEqual(logins, [{ path: 'kubernetes', body: { role: 'r', jwt: 'minted-jwt' } }]);
});

test('token timing: use until two thirds of the TTL, then renew; log in again near expiry; never renew a user token', () => {
  const owned: VaultToken = { token: 't', owned: true, renewable: true, since: 0, expiresAt: 60_000, ttlSeconds: 60 };
  assert.equal(tokenAction(undefined, 0), 'login');
  assert.equal(tokenAction(owned, 39_999), 'use');
  assert.equal(tokenAction(owned, 40_000), 'renew');
  assert.equal(tokenAction(owned, 55_000), 'login', 'within the expiry margin: a new login, not a renewal');
  assert.equal(tokenAction({ ...owned, renewable: false }, 50_000), 'use', 'not renewable: used until the margin');
  assert.equal(tokenAction({ ...owned, owned: false, expiresAt: undefined }, 10 ** 12), 'use', 'a token without expiry');
});

test('paths: mount prefix, v2 data/metadata insertion, encoding', () => {
  assert.equal(kvPath({ mount: 'secret', version: 'v2' }, 'app/db', 'data'), 'secret/data/app/db');
  assert.equal(kvPath({ mount: 'secret', version: 'v2' }, 'secret/app/db', 'metadata'), 'secret/metadata/app/db');
  assert.equal(kvPath({ mount: 'kv', version: 'v1' }, '/app/db/', 'data'), 'kv/app/db');
  assert.equal(kvPath({ mount: undefined, version: 'v2' }, 'team/kv/app', 'data'), 'team/data/kv/app');
  assert.equal(kvPath({ mount: 'secret', version: 'v2' }, 'a b/c#d', 'data'), 'secret/data/a%20b/c%23d');
  assert.throws(() => splitKey({ mount: undefined, version: 'v2' }, 'app'), /must start with the KV mount/);
  assert.equal(encodePath('//x//y/'), 'x/y');
});

test('errors: 404 not found, 403 permission (terminal), 429 throttled, 5xx retried; Vault messages kept', () => {
  const body = { errors: ['permission denied'] };
  assert.ok(vaultError('read x', { status: 404, body: { errors: [] } }) instanceof NoSecretError);
  const denied = vaultError('read x', { status: 403, body });
  assert.ok(denied instanceof VaultPermissionError && denied instanceof AccessDeniedError && denied instanceof TerminalError);
  assert.match(denied.message, /Vault read x: permission denied .*grant the Vault policy/);
  assert.ok(vaultError('read x', { status: 429, body }) instanceof ThrottledError);
  const sealed = vaultError('read x', { status: 503, body: { errors: ['Vault is sealed'] } });
  assert.ok(!(sealed instanceof TerminalError));
  assert.match(sealed.message, /sealed/);
  assert.ok(vaultError('read x', { status: 400, body }) instanceof TerminalError);
});

test('a refused login says what to check for a login, not which policy to grant: one remedy per line', async () => {
  const api = createVaultApi(async () => ({ status: 403, body: { errors: ['permission denied'] } }));
  await assert.rejects(
    api.login('kubernetes', '', { role: 'team-a', jwt: 'x' }, AbortSignal.timeout(5_000)),
    (err: Error) => {
      assert.ok(err instanceof VaultPermissionError);
      assert.equal(
        err.message,
        "Vault login at auth/kubernetes/login: permission denied; check the role (its bound names, namespaces and audience), the credentials and the auth method's configuration (kubernetes: the reviewer JWT and CA Vault calls TokenReview with)",
      );
      return true;
    },
  );
  const badRole = createVaultApi(async () => ({ status: 400, body: { errors: ['invalid role name "team-b"'] } }));
  await assert.rejects(badRole.login('kubernetes', '', { role: 'team-b', jwt: 'x' }, AbortSignal.timeout(5_000)), /^\w*Error: Vault login at auth\/kubernetes\/login: invalid role name "team-b"; check the role \(.*TokenReview with\)$/);
});

test('an unreachable server is one line naming it, the field to check, and that it is retried', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const transport = createHttpTransport({ server: `http://127.0.0.1:${port}` });
  try {
    await assert.rejects(
      transport.send({ method: 'GET', path: 'sys/health', signal: AbortSignal.timeout(5_000) }),
      new RegExp(`^Error: Vault GET sys/health: cannot reach http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\); check spec\\.provider\\.vault\\.server and that Vault is up \\(retried with backoff\\)$`),
    );
  } finally {
    transport.close();
  }
});

test('spec validation: one auth method, URL, paths, caBundle; http warnings', () => {
  const base = { server: 'https://vault:8200', auth: { tokenSecretRef: ref('t', 'token') } };
  assert.deepEqual(validateVaultSpec(base), { warnings: [], errors: [] });
  assert.match(validateVaultSpec({ ...base, auth: {} }).errors.join(), /exactly one of tokenSecretRef, appRole, kubernetes, jwt, userPass/);
  assert.match(validateVaultSpec({ ...base, server: 'vault:8200' }).errors.join(), /http\(s\) URL/);
  assert.match(validateVaultSpec({ ...base, path: '/secret/' }).errors.join(), /without leading or trailing/);
  assert.match(validateVaultSpec({ ...base, caBundle: Buffer.from('nope').toString('base64') }).errors.join(), /PEM/);
  assert.match(validateVaultSpec({ ...base, auth: { appRole: { secretRef: ref('s', 'k') } } }).errors.join(), /exactly one of roleId and roleRef/);
  // Plain http off loopback is the kit's InsecureEndpoint rule: declared, not warned here (test/unit/providers/kit/tenancy.test.ts).
  assert.deepEqual(declaredTenancy('vault', { ...base, server: 'http://vault.example.com' }).servers, [{ field: 'spec.provider.vault.server', url: 'http://vault.example.com' }]);
  assert.deepEqual(validateVaultSpec({ ...base, server: 'http://127.0.0.1:8200' }).warnings, []);
});

/** A fake Vault: logins hand out numbered tokens; `refuse` tokens answer 403. */
function fakeVault() {
  const requests: VaultRequest[] = [];
  const refused = new Set<string>();
  let issued = 0;
  const transport = async (request: VaultRequest): Promise<VaultResponse> => {
    requests.push(request);
    if (request.path.endsWith('/login')) {
      issued++;
      return { status: 200, body: { auth: { client_token: `token-${issued}`, lease_duration: 60, renewable: true } } };
    }
    if (request.token && refused.has(request.token)) return { status: 403, body: { errors: ['permission denied'] } };
    if (request.path === 'auth/token/renew-self') return { status: 200, body: { auth: { client_token: request.token, lease_duration: 60, renewable: true } } };
    if (request.path === 'auth/token/revoke-self') return { status: 204, body: undefined };
    if (request.path === 'secret/data/app') return { status: 200, body: { data: { data: { password: 'p' }, metadata: { version: 1 } } } };
    return { status: 404, body: { errors: [] } };
  };
  return { transport, requests, refused, issued: () => issued };
}

test('session over a fake transport: newClient logs in and readers reuse its token, renew-self, re-login after a 403, revoke on close', async () => {
  const vault = fakeVault();
  const clock = fakeClock(0);
  const ctx = storeContext({
    clock,
    kube: {
      readSecretKey: async () => new TextEncoder().encode('secret-id'),
      createServiceAccountToken: async () => ({ token: 'jwt', expiresAt: 600_000 }),
      readServiceAccountAnnotations: async () => ({}),
      readConfigMapKey: async () => {
        throw new Error('not used by these tests');
      },
    },
  });
  const client = await createVaultProvider({ transport: vault.transport }).newClient(
    { server: 'https://vault', path: 'secret', version: 'v2', auth: { appRole: { path: 'approle', roleId: 'r', secretRef: ref('s', 'id') } } } as VaultProvider,
    ctx,
  );
  await Promise.all([client.getSecret({ key: 'app' }, AbortSignal.timeout(1000)), client.getSecret({ key: 'app' }, AbortSignal.timeout(1000))]);
  assert.equal(vault.issued(), 1, 'newClient logged in once; readers reuse the token');
  const login = vault.requests.find((r) => r.path === 'auth/approle/login')!;
  assert.deepEqual(login.body, { role_id: 'r', secret_id: 'secret-id' });

  clock.advance(41_000);
  await client.getSecret({ key: 'app' }, AbortSignal.timeout(1000));
  assert.ok(vault.requests.some((r) => r.path === 'auth/token/renew-self' && r.token === 'token-1'));
  assert.equal(vault.issued(), 1);

  vault.refused.add('token-1');
  assert.deepEqual(JSON.parse(new TextDecoder().decode(await client.getSecret({ key: 'app' }, AbortSignal.timeout(1000)))), { password: 'p' });
  assert.equal(vault.issued(), 2, 'a 403 led to one new login and the read went through');

  vault.refused.add('token-2');
  vault.refused.add('token-3');
  await assert.rejects(client.getSecret({ key: 'app' }, AbortSignal.timeout(1000)), VaultPermissionError, 'refused twice: the policy answer reaches the caller');

  vault.refused.clear();
  clock.advance(1000);
  await client.getSecret({ key: 'app' }, AbortSignal.timeout(1000));
  await client.close();
  assert.equal(vault.requests.at(-1)!.path, 'auth/token/revoke-self');
  assert.equal(vault.requests.at(-1)!.token, 'token-3', 'the current token is revoked');
});

test('a token from a Secret is used as it is: no renewal, no revocation', async () => {
  const vault = fakeVault();
  const clock = fakeClock(0);
  const api = createVaultApi(vault.transport);
  const session = createTokenSession(
    { kind: 'token', token: { namespace: 'a', name: 't', key: 'k' } },
    {
      api,
      clock,
      ctx: {
        kube: {
          readSecretKey: async () => new TextEncoder().encode('user-token\n'),
          createServiceAccountToken: async () => ({ token: '', expiresAt: 0 }),
          readServiceAccountAnnotations: async () => ({}),
          readConfigMapKey: async () => {
            throw new Error('not used by these tests');
          },
        },
      },
    },
  );
  assert.equal(await session.token(AbortSignal.timeout(1000)), 'user-token');
  clock.advance(10 ** 9);
  assert.equal(await session.token(AbortSignal.timeout(1000)), 'user-token');
  await session.close(AbortSignal.timeout(1000));
  assert.equal(vault.requests.length, 0);
});

/** A fake Vault whose logins wait for `release()`; counts logins and renewals, records revoked tokens. */
function gatedVault() {
  let issued = 0;
  let renewals = 0;
  const revoked: string[] = [];
  const gates: Array<() => void> = [];
  let hold = false;
  const transport = async (request: VaultRequest): Promise<VaultResponse> => {
    if (request.path.endsWith('/login')) {
      issued++;
      const token = `token-${issued}`;
      if (hold) await new Promise<void>((resolve) => gates.push(resolve));
      return { status: 200, body: { auth: { client_token: token, lease_duration: 60, renewable: true } } };
    }
    if (request.path === 'auth/token/renew-self') {
      renewals++;
      if (hold) await new Promise<void>((resolve) => gates.push(resolve));
      return { status: 200, body: { auth: { client_token: request.token, lease_duration: 60, renewable: true } } };
    }
    if (request.path === 'auth/token/revoke-self') {
      revoked.push(request.token!);
      return { status: 204, body: undefined };
    }
    if (request.path === 'secret/data/app') return { status: 200, body: { data: { data: { password: 'p' }, metadata: { version: 1 } } } };
    return { status: 404, body: { errors: [] } };
  };
  return {
    transport,
    revoked,
    logins: () => issued,
    renewals: () => renewals,
    hold: (on: boolean) => void (hold = on),
    release: () => gates.splice(0).forEach((open) => open()),
    waiting: () => gates.length,
  };
}

const appRoleSpec = { server: 'https://vault', path: 'secret', version: 'v2', auth: { appRole: { path: 'approle', roleId: 'r', secretRef: ref('s', 'id') } } } as VaultProvider;

function appRoleContext(clock: ReturnType<typeof fakeClock>) {
  return storeContext({
    clock,
    kube: {
      readSecretKey: async () => new TextEncoder().encode('secret-id'),
      createServiceAccountToken: async () => ({ token: 'jwt', expiresAt: 600_000 }),
      readServiceAccountAnnotations: async () => ({}),
      readConfigMapKey: async () => {
        throw new Error('not used by these tests');
      },
    },
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('single flight: concurrent first reads after the token expired make one login, after it is due for renewal one renew-self', { timeout: 5000 }, async () => {
  const vault = gatedVault();
  const clock = fakeClock(0);
  const client = await createVaultProvider({ transport: vault.transport }).newClient(appRoleSpec, appRoleContext(clock));
  assert.equal(vault.logins(), 1, 'newClient logged in');

  clock.advance(61_000); // token-1 has expired: the next reads need a new login
  vault.hold(true);
  const reads = Array.from({ length: 5 }, () => client.getSecret({ key: 'app' }, AbortSignal.timeout(2000)));
  await until(() => vault.waiting() > 0, 'a login is in flight');
  await new Promise((resolve) => setImmediate(resolve));
  vault.release();
  await Promise.all(reads);
  assert.equal(vault.logins(), 2, 'five concurrent readers shared one login');

  clock.advance(41_000); // past two thirds of token-2's TTL: due for renewal
  const renewing = Array.from({ length: 5 }, () => client.getSecret({ key: 'app' }, AbortSignal.timeout(2000)));
  await until(() => vault.waiting() > 0, 'a renewal is in flight');
  await new Promise((resolve) => setImmediate(resolve));
  vault.release();
  await Promise.all(renewing);
  assert.equal(vault.renewals(), 1, 'five concurrent readers shared one renewal');
  assert.equal(vault.logins(), 2);
  vault.hold(false);
  await client.close();
});

test('a waiter on the shared login stops at its own abort; the login goes on for the others', { timeout: 5000 }, async () => {
  const vault = gatedVault();
  const clock = fakeClock(0);
  const session = createTokenSession(
    { kind: 'appRole', path: 'approle', roleId: 'r', secretId: { namespace: 'a', name: 's', key: 'id' } },
    { api: createVaultApi(vault.transport), clock, ctx: appRoleContext(clock) },
  );
  vault.hold(true);
  const impatient = new AbortController();
  const first = session.token(impatient.signal);
  const patient = session.token(AbortSignal.timeout(2000));
  await until(() => vault.waiting() > 0, 'the login is in flight');
  impatient.abort(new Error('reconcile cancelled'));
  await assert.rejects(first, /reconcile cancelled/, 'the aborted waiter rejects at once, before the login ends');
  vault.release();
  assert.equal(await patient, 'token-1');
  assert.equal(vault.logins(), 1);
});

test('close() racing an in-flight login revokes the token that login returns', { timeout: 5000 }, async () => {
  const vault = gatedVault();
  const clock = fakeClock(0);
  const session = createTokenSession(
    { kind: 'appRole', path: 'approle', roleId: 'r', secretId: { namespace: 'a', name: 's', key: 'id' } },
    { api: createVaultApi(vault.transport), clock, ctx: appRoleContext(clock) },
  );
  vault.hold(true);
  const reading = session.token(AbortSignal.timeout(2000));
  await until(() => vault.waiting() > 0, 'the login is in flight');
  const closing = session.close(AbortSignal.timeout(2000));
  vault.release();
  await closing;
  await reading.catch(() => {});
  assert.deepEqual(vault.revoked, ['token-1'], 'the token issued after close() was revoked');
  await assert.rejects(session.token(AbortSignal.timeout(1000)), /closed/, 'a closed session hands out no tokens');
});
