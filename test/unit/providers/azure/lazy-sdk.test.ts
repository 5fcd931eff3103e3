// The Azure SDK is loaded when the first azurekv client is built, not when the operator starts: a child process
// records every module specifier resolved (module.registerHooks) while it imports and uses the provider.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../../../..');

const child = `
import { registerHooks } from 'node:module';
const seen = new Set();
registerHooks({ resolve(specifier, context, next) { if (specifier.startsWith('@azure/')) seen.add(specifier); return next(specifier, context); } });
const { createAzureProvider } = await import(${JSON.stringify(join(root, 'src/providers/azure/provider.ts'))});
const provider = createAzureProvider();
provider.validateStore({ vaultUrl: 'https://v.vault.azure.net', authType: 'ManagedIdentity' });
const before = seen.size;
const refuse = async () => { throw new Error('unused'); };
await provider.newClient({ vaultUrl: 'https://v.vault.azure.net', authType: 'ManagedIdentity', environmentType: 'PublicCloud' }, {
  storeKind: 'SecretStore', storeName: 's', storeNamespace: 'n', namespace: 'n', clock: { now: () => Date.now() },
  kube: { readSecretKey: refuse, createServiceAccountToken: refuse },
});
process.stdout.write(JSON.stringify({ before, after: [...seen] }));
`;

test('importing and validating with the azurekv provider loads no @azure module; building a client loads the SDK', () => {
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', child], { cwd: root, encoding: 'utf8' })) as { before: number; after: string[] };
  assert.equal(out.before, 0, 'no @azure module before the first client');
  for (const name of ['@azure/identity', '@azure/keyvault-secrets', '@azure/keyvault-certificates', '@azure/keyvault-keys']) {
    assert.ok(out.after.includes(name), `${name} loaded with the first client`);
  }
});
