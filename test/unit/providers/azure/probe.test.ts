// Store validation of azurekv: one GET of a secret that does not exist, never a listing (a least-privilege identity
// has no list permission): 404 is Ready, Key Vault RBAC's 403 is Unknown (per-secret role assignments answer so for
// every other name), any other refusal is a denial.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVaultReader, PROBE_SECRET_NAME } from '../../../../src/providers/azure/reader.ts';
import { KeyVaultRefusal } from '../../../../src/providers/azure/errors.ts';
import { AccessDeniedError } from '../../../../src/providers/provider.ts';

const vaultUrl = 'https://relay.vault.azure.net';
const signal = new AbortController().signal;

function readerAnswering(answer: () => unknown) {
  const asked: string[] = [];
  const reader = createVaultReader({
    vaultUrl,
    secrets: {
      getSecret: async (name: string) => {
        asked.push(name);
        throw answer();
      },
      listPropertiesOfSecrets: () => assert.fail('store validation must not list the vault'),
    } as never,
    certificates: {} as never,
    keys: {} as never,
    identity: () => 'client ID c in tenant t',
    clock: { now: () => Date.now() },
  });
  return { reader, asked };
}

const restError = (statusCode: number, code: string, inner?: string) =>
  Object.assign(new Error(code), { name: 'RestError', statusCode, code, details: { error: { code, message: code, ...(inner ? { innererror: { code: inner } } : {}) } } });

test('404 for the probe secret: the token and the vault work, Ready', async () => {
  const { reader, asked } = readerAnswering(() => restError(404, 'SecretNotFound'));
  assert.equal(await reader.probe(signal), 'Ready');
  assert.deepEqual(asked, [PROBE_SECRET_NAME]);
});

test('403 ForbiddenByRbac: authenticated, access decided per secret — Unknown, not a refusal of the store', async () => {
  const forbidden = "Caller is not authorized to perform action on resource.\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\nAssignment: (not found)";
  const { reader } = readerAnswering(() => new KeyVaultRefusal(403, { error: { code: 'Forbidden', message: forbidden, innererror: { code: 'ForbiddenByRbac' } } }));
  assert.equal(await reader.probe(signal), 'Unknown');
});

test('an access policy without get (403 AccessDenied) and a refused token (401) are denials', async () => {
  const policy = readerAnswering(() => new KeyVaultRefusal(403, { error: { code: 'Forbidden', message: "The user, group or application 'appid=c' does not have secrets get permission on key vault 'relay'.", innererror: { code: 'AccessDenied' } } }));
  await assert.rejects(policy.reader.probe(signal), AccessDeniedError);
  const token = readerAnswering(() => new KeyVaultRefusal(401, { error: { code: 'Unauthorized', message: 'AKV10022: Invalid audience.' } }));
  await assert.rejects(token.reader.probe(signal), AccessDeniedError);
});
