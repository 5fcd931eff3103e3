// The fakes are faithful: Microsoft's Python SDK (azure-keyvault-secrets + azure-identity, installed by
// test/setup/install-azure-client.sh into .cache/venv-azure), which the operator does not use, works against them
// unchanged — the challenge, a federated assertion minted by the real apiserver, a client secret, paging, versions,
// and the service's errors (404 SecretNotFound, 403 naming the action, AADSTS700213).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot, type LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { fetchJwks } from '../support/sts-web-identity-check.ts';
import { adminKube } from '../support/operator.ts';
import { TestNamespaces } from '../support/integration.ts';
import { cachedJwks, FEDERATED_AUDIENCE, startAzureFakes, type AzureFakes } from '../fakes/azure/index.ts';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const PYTHON = join(repoRoot, '.cache/venv-azure/bin/python');

let cluster: LocalCluster;
let fakes: AzureFakes;
let dir: string;
const namespaces = new TestNamespaces('azure-py');

before(async () => {
  assert.ok(existsSync(PYTHON), `the Python Key Vault client is missing: run bash test/setup/install-azure-client.sh`);
  cluster = await useCluster();
  fakes = await startAzureFakes({ jwks: cachedJwks(() => fetchJwks(cluster.kubeconfigPath)) });
  dir = mkdtempSync(join(tmpdir(), 'azure-py-'));
});

after(async () => {
  await fakes?.stop();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the Python SDK reads through the fakes unchanged: federated and secret credentials, paging, versions, errors', async () => {
  const kube = adminKube(cluster.kubeconfigPath);
  const ns = await namespaces.create(kube);
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'py' } } });
  const tenantId = randomUUID();
  const vault = await fakes.addVault('python', tenantId);
  const app = fakes.entra.addApplication({ tenantId, clientId: randomUUID() });
  app.federated.push({ issuer: ISSUER, subject: `system:serviceaccount:${ns}:py`, audiences: [FEDERATED_AUDIENCE] });
  vault.grant(app.objectId);
  const denied = fakes.entra.addApplication({ tenantId, clientId: randomUUID() });
  denied.secrets.push('denied-secret-value');
  const unfederated = fakes.entra.addApplication({ tenantId, clientId: randomUUID() });

  const firstVersion = vault.setSecret('py-db', 'first', { tags: { team: 'a' } });
  vault.setSecret('py-db', 'second', { tags: { team: 'a' } });
  for (let i = 0; i < 30; i++) vault.setSecret(`py-${String(i).padStart(2, '0')}`, `v${i}`);
  const token = await kube.core.createNamespacedServiceAccountToken({ namespace: ns, name: 'py', body: { spec: { audiences: [FEDERATED_AUDIENCE], expirationSeconds: 600 } } });
  const caPath = join(dir, 'ca.pem');
  writeFileSync(caPath, fakes.tls.caPem);
  const request = {
    vaultUrl: vault.url,
    authorityHost: fakes.entra.authorityHost,
    tenantId,
    clientId: app.clientId,
    caPath,
    assertion: token.status!.token,
    secretName: 'py-db',
    firstVersion,
    deniedClientId: denied.clientId,
    deniedClientSecret: 'denied-secret-value',
    unfederatedClientId: unfederated.clientId,
  };
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(PYTHON, [join(repoRoot, 'test/fakes/azure/python_client.py')], { timeout: 120_000, env: { PATH: process.env.PATH ?? '' } }, (error, out, err) =>
      error ? reject(new Error(`python client failed: ${err || error.message}`)) : resolve(out),
    );
    child.stdin!.end(JSON.stringify(request));
  });
  const report = JSON.parse(stdout) as Record<string, unknown>;
  assert.equal(report['value'], 'second');
  assert.equal(report['oldValue'], 'first');
  assert.deepEqual(report['tags'], { team: 'a' });
  assert.equal((report['names'] as string[]).length, 31, 'all 31 secrets through two pages (nextLink)');
  assert.equal(report['versions'], 2);
  assert.equal(report['missing'], 'SecretNotFound');
  const refusal = report['denied'] as { status: number; code: string; message: string };
  assert.equal(refusal.status, 403);
  assert.equal(refusal.code, 'Forbidden');
  assert.match(refusal.message, /Action: 'Microsoft\.KeyVault\/vaults\/secrets\/getSecret\/action'/);
  assert.match(String(report['unfederated']), /AADSTS700211|AADSTS700213/);
  const exchanges = fakes.entra.exchanges.map((e) => [e.clientId, e.grant, e.refused === undefined]);
  assert.deepEqual(exchanges.slice(0, 1), [[app.clientId, 'federated', true]], 'one federated exchange served all the reads');
  assert.ok(exchanges.some(([clientId, grant, ok]) => clientId === denied.clientId && grant === 'secret' && ok), 'the secret credential got a token (and Key Vault refused it)');
  const challenges = vault.requests.filter((r) => !r.authorized && r.status === 401).length;
  assert.ok(challenges >= 1, 'the SDK met the challenge 401 first');
  console.log(`# python client: ${vault.requests.length} Key Vault requests, ${fakes.entra.exchanges.length} token requests, ${challenges} challenges`);
});
