// authType ManagedIdentity against a fake instance metadata service (test/fakes/azure/imds.ts). @azure/identity
// reaches IMDS only at 169.254.169.254 or at $AZURE_POD_IDENTITY_AUTHORITY_HOST, so the provider runs in a child
// process given that variable (never set in this process): the system-assigned identity, a user-assigned one by
// client ID and by resource ID, and one the node does not have.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot } from '../support/cluster.ts';
import { startAzureFakes, type AzureFakes, type FakeVault } from '../fakes/azure/index.ts';
import { startFakeImds, type FakeImds } from '../fakes/azure/imds.ts';

let fakes: AzureFakes;
let vault: FakeVault;
let imds: FakeImds;
const TENANT = randomUUID();
const resourceId = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/reader';
let userClientId: string;

before(async () => {
  fakes = await startAzureFakes({ jwks: async () => [] });
  vault = await fakes.addVault('mi', TENANT);
  const system = fakes.entra.addApplication({ tenantId: TENANT, clientId: randomUUID() });
  const user = fakes.entra.addApplication({ tenantId: TENANT, clientId: randomUUID() });
  userClientId = user.clientId;
  vault.grant(system.objectId);
  vault.grant(user.objectId);
  imds = await startFakeImds({ entra: fakes.entra, systemAssigned: system, userAssigned: [{ app: user, resourceId }] });
  vault.setSecret('mi-value', 'read-with-a-managed-identity');
});

after(async () => {
  await imds?.stop();
  await fakes?.stop();
});

function runClient(identityId?: string): Promise<{ value?: string; error?: string; identity?: string }> {
  const request = { vaultUrl: vault.url, authorityHost: fakes.entra.authorityHost, caPem: fakes.tls.caPem, key: 'mi-value', ...(identityId ? { identityId } : {}) };
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'test/fakes/azure/managed-identity-client.ts'), JSON.stringify(request)],
      { timeout: 90_000, env: { PATH: process.env.PATH ?? '', AZURE_POD_IDENTITY_AUTHORITY_HOST: imds.url } },
      (error, stdout, stderr) => {
        if (error && !stdout) return reject(new Error(`managed identity client failed: ${stderr || error.message}`));
        resolve(JSON.parse(stdout) as { value?: string; error?: string });
      },
    );
  });
}

test('ManagedIdentity: system-assigned, user-assigned by client ID and by resource ID; an identity the node lacks is refused', async () => {
  const system = await runClient();
  assert.equal(system.value, 'read-with-a-managed-identity', system.error);
  assert.equal((await runClient(userClientId)).value, 'read-with-a-managed-identity');
  assert.equal((await runClient(resourceId)).value, 'read-with-a-managed-identity');
  const missing = await runClient(randomUUID());
  assert.match(missing.error ?? '', /^Entra ID refused a token for vault https:\/\/127\.0\.0\.1:\d+ to managed identity [0-9a-f-]+: .*Identity not found.*; check that identity [0-9a-f-]+ is assigned to the operator's pod or node$/);
  assert.deepEqual(imds.requests.filter((r) => r.status === 200).map((r) => r.resource), ['https://vault.azure.net', 'https://vault.azure.net', 'https://vault.azure.net']);
  assert.deepEqual(imds.requests.map((r) => r.identity).slice(0, 3), ['system', userClientId, resourceId]);
});
