// The Azure fakes refuse what the services refuse, in the services' words: Entra ID checks a federated assertion
// (a real ServiceAccount token) for signature, issuer, subject, audience and expiry, and knows its tenants and
// clients; Key Vault answers a request without a token with the challenge, and refuses tokens for another tenant,
// another resource, expired ones, and unknown api-versions.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as https from 'node:https';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { fetchJwks } from '../support/sts-web-identity-check.ts';
import { adminKube } from '../support/operator.ts';
import { TestNamespaces } from '../support/integration.ts';
import { startFakeEntra, type FakeEntra } from '../fakes/azure/entra.ts';
import { startFakeVault, type FakeVault } from '../fakes/azure/key-vault.ts';
import { createTestTls, type TestTls } from '../fakes/azure/tls.ts';
import { cachedJwks, FEDERATED_AUDIENCE } from '../fakes/azure/index.ts';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const TENANT = randomUUID();
let cluster: LocalCluster;
let tls: TestTls;
let entra: FakeEntra;
let vault: FakeVault;
let clockOffset = 0;
let assertion: string;
let clientId: string;
const namespaces = new TestNamespaces('azure-fakes');

function call(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const request = https.request(url, { method: init.method ?? 'GET', ca: tls.caPem, headers: init.headers ?? {} }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, json: JSON.parse(text) as Record<string, unknown> }));
    });
    request.on('error', reject);
    request.end(init.body);
  });
}

const token = (tenant: string, form: Record<string, string>) =>
  call(`${entra.authorityHost}/${tenant}/oauth2/v2.0/token`, { method: 'POST', body: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
const federated = (overrides: Record<string, string> = {}) => ({
  grant_type: 'client_credentials',
  client_id: clientId,
  scope: 'https://vault.azure.net/.default',
  client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
  client_assertion: assertion,
  ...overrides,
});
const aadCode = (reply: { json: Record<string, unknown> }) => (reply.json['error_codes'] as number[] | undefined)?.[0];

before(async () => {
  cluster = await useCluster();
  tls = createTestTls();
  entra = await startFakeEntra({ tls, jwks: cachedJwks(() => fetchJwks(cluster.kubeconfigPath)), now: () => Date.now() + clockOffset });
  entra.addTenant(TENANT);
  vault = await startFakeVault({ tls, entra, name: 'checks', tenantId: TENANT });
  const kube = adminKube(cluster.kubeconfigPath);
  const ns = await namespaces.create(kube);
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'app' } } });
  const minted = await kube.core.createNamespacedServiceAccountToken({ namespace: ns, name: 'app', body: { spec: { audiences: [FEDERATED_AUDIENCE], expirationSeconds: 600 } } });
  assertion = minted.status!.token!;
  const app = entra.addApplication({ tenantId: TENANT, clientId: randomUUID() });
  clientId = app.clientId;
  app.federated.push({ issuer: ISSUER, subject: `system:serviceaccount:${ns}:app`, audiences: [FEDERATED_AUDIENCE] });
  vault.grant(app.objectId);
  vault.setSecret('checked', 'value');
});

after(async () => {
  await vault?.stop();
  await entra?.stop();
  await cluster?.stop();
});

test('Entra ID fake: a valid federated assertion gets a token; what Entra refuses is refused with its AADSTS code', async () => {
  const ok = await token(TENANT, federated());
  assert.equal(ok.status, 200);
  assert.equal(ok.json['token_type'], 'Bearer');
  assert.equal(typeof ok.json['access_token'], 'string');
  const [head, body, signature] = assertion.split('.');
  const tampered = `${head}.${body}.${signature!.slice(0, -4)}${signature!.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
  const forged = `${head}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), iss: 'https://evil.example' })).toString('base64url')}.${signature}`;
  const cases: [string, Promise<{ status: number; json: Record<string, unknown> }>, number][] = [
    ['bad signature', token(TENANT, federated({ client_assertion: tampered })), 50013],
    ['another issuer', token(TENANT, federated({ client_assertion: forged })), 700211],
    ['unknown client', token(TENANT, federated({ client_id: randomUUID() })), 700016],
    ['unknown tenant', token(randomUUID(), federated()), 90002],
    ['not a JWT', token(TENANT, federated({ client_assertion: 'abc' })), 50027],
    ['wrong assertion type', token(TENANT, federated({ client_assertion_type: 'password' })), 50027],
    ['scope without /.default', token(TENANT, federated({ scope: 'https://vault.azure.net/secrets.read' })), 1002012],
    ['no credential', token(TENANT, { grant_type: 'client_credentials', client_id: clientId, scope: 'https://vault.azure.net/.default' }), 7000218],
  ];
  for (const [what, reply, code] of cases) {
    const { status, json } = await reply;
    assert.ok(status === 400 || status === 401, `${what}: HTTP ${status}`);
    assert.equal(aadCode({ json }), code, `${what}: ${String(json['error_description'])}`);
    assert.match(String(json['error_description']), new RegExp(`^AADSTS${code}: .* Trace ID: [0-9a-f-]+ Correlation ID: [0-9a-f-]+ Timestamp: `));
  }
  clockOffset = 3600_000;
  try {
    const expired = await token(TENANT, federated());
    assert.equal(aadCode(expired), 700024, 'an assertion past its exp');
  } finally {
    clockOffset = 0;
  }
});

test('Key Vault fake: the challenge first, then tokens checked for tenant, resource and expiry; Key Vault’s error shape', async () => {
  const url = `${vault.url}/secrets/checked/?api-version=7.6`;
  const bare = await call(url);
  assert.equal(bare.status, 401);
  assert.equal(bare.headers['www-authenticate'], `Bearer authorization="${entra.authorityHost}/${TENANT}", resource="https://vault.azure.net"`);
  assert.deepEqual(bare.json, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } });

  const good = String((await token(TENANT, federated())).json['access_token']);
  const ok = await call(url, { headers: { authorization: `Bearer ${good}` } });
  assert.equal(ok.status, 200);
  assert.equal(ok.json['value'], 'value');
  assert.match(String(ok.json['id']), new RegExp(`^${vault.url}/secrets/checked/[0-9a-f]{32}$`));

  const storage = String((await token(TENANT, federated({ scope: 'https://storage.azure.com/.default' }))).json['access_token']);
  const wrongResource = await call(url, { headers: { authorization: `Bearer ${storage}` } });
  assert.equal(wrongResource.status, 401);
  assert.match(String((wrongResource.json['error'] as { message: string }).message), /^AKV10022: Invalid audience/);

  const otherTenant = randomUUID();
  const stranger = entra.addApplication({ tenantId: otherTenant, clientId: randomUUID() });
  stranger.secrets.push('stranger-secret');
  const foreign = String((await token(otherTenant, { grant_type: 'client_credentials', client_id: stranger.clientId, client_secret: 'stranger-secret', scope: 'https://vault.azure.net/.default' })).json['access_token']);
  const wrongTenant = await call(url, { headers: { authorization: `Bearer ${foreign}` } });
  assert.equal(wrongTenant.status, 401);
  assert.match(String((wrongTenant.json['error'] as { message: string }).message), /^AKV10032: Invalid issuer/);

  clockOffset = 2 * 3600_000;
  try {
    const expired = await call(url, { headers: { authorization: `Bearer ${good}` } });
    assert.equal(expired.status, 401);
    assert.match(String((expired.json['error'] as { message: string }).message), /expired/);
  } finally {
    clockOffset = 0;
  }

  const badVersion = await call(`${vault.url}/secrets/checked/?api-version=1999-01-01`, { headers: { authorization: `Bearer ${good}` } });
  assert.equal(badVersion.status, 400);
  assert.equal((badVersion.json['error'] as { code: string }).code, 'BadParameter');
  const missing = await call(`${vault.url}/secrets/nope/?api-version=7.6`, { headers: { authorization: `Bearer ${good}` } });
  assert.equal(missing.status, 404);
  assert.equal((missing.json['error'] as { code: string }).code, 'SecretNotFound');
});
