// Which keys a Key Vault event (as Event Grid writes it to a Storage queue) names, in both schemas and casings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changeFromQueueMessage, decodeQueueMessage } from '../../../../src/providers/azure/change-events.ts';
import { isStorageQueueServiceUrl } from '../../../../src/api/providers/azurekv.ts';

const store = { vaultUrl: 'https://my-vault.vault.azure.net' };
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

const eventGrid = (eventType: string, data: Record<string, unknown>) => ({
  id: 'e1',
  topic: '/subscriptions/s/resourceGroups/r/providers/Microsoft.KeyVault/vaults/my-vault',
  subject: 'db',
  eventType,
  eventTime: '2026-12-06T05:00:00.000Z',
  data,
  dataVersion: '1',
  metadataVersion: '1',
});

test('Event Grid schema (base64, as delivered): a new secret version names the secret both ways', () => {
  const message = b64(eventGrid('Microsoft.KeyVault.SecretNewVersionCreated', { Id: 'https://my-vault.vault.azure.net/secrets/db/0123', vaultName: 'my-vault', objectType: 'Secret', objectName: 'db', version: '0123' }));
  assert.deepEqual(changeFromQueueMessage(message, store), { id: 'e1', keys: ['db', 'secret/db'], occurredAt: Date.parse('2026-12-06T05:00:00.000Z'), event: 'Microsoft.KeyVault.SecretNewVersionCreated' });
});

test('CloudEvents schema, PascalCase data, plain JSON text; certificates and keys', () => {
  const cloud = (type: string, objectType: string) =>
    JSON.stringify({ id: 'c1', source: '/subscriptions/s', specversion: '1.0', type, subject: 'tls', time: '2026-12-06T05:00:00Z', data: { Id: `https://my-vault.vault.azure.net/${objectType.toLowerCase()}s/tls/1`, VaultName: 'my-vault', ObjectType: objectType, ObjectName: 'tls', Version: '1' } });
  assert.deepEqual(changeFromQueueMessage(cloud('Microsoft.KeyVault.CertificateNewVersionCreated', 'Certificate'), store)?.keys, ['cert/tls', 'tls', 'secret/tls']);
  assert.deepEqual(changeFromQueueMessage(cloud('Microsoft.KeyVault.KeyNewVersionCreated', 'Key'), store)?.keys, ['key/tls']);
  assert.deepEqual(changeFromQueueMessage(cloud('Microsoft.KeyVault.SecretNearExpiry', 'Secret'), store)?.keys, ['tls', 'secret/tls']);
  assert.deepEqual(changeFromQueueMessage(cloud('Microsoft.KeyVault.SecretExpired', 'Secret'), store)?.keys, ['tls', 'secret/tls']);
});

test('irrelevant or hostile messages name nothing: another vault, another event, bad names, garbage', () => {
  const other = b64(eventGrid('Microsoft.KeyVault.SecretNewVersionCreated', { Id: 'https://other.vault.azure.net/secrets/db/1', vaultName: 'other', objectName: 'db' }));
  assert.equal(changeFromQueueMessage(other, store), undefined);
  const byNameOnly = b64(eventGrid('Microsoft.KeyVault.SecretNewVersionCreated', { vaultName: 'other', objectName: 'db' }));
  assert.equal(changeFromQueueMessage(byNameOnly, store), undefined);
  const sameByName = b64(eventGrid('Microsoft.KeyVault.SecretNewVersionCreated', { vaultName: 'MY-VAULT', objectName: 'db' }));
  assert.deepEqual(changeFromQueueMessage(sameByName, store)?.keys, ['db', 'secret/db']);
  assert.equal(changeFromQueueMessage(b64(eventGrid('Microsoft.KeyVault.VaultAccessPolicyChanged', { vaultName: 'my-vault', objectName: 'db' })), store), undefined);
  assert.equal(changeFromQueueMessage(b64(eventGrid('Microsoft.Storage.BlobCreated', { objectName: 'db' })), store), undefined);
  assert.equal(changeFromQueueMessage(b64(eventGrid('Microsoft.KeyVault.SecretNewVersionCreated', { Id: 'https://my-vault.vault.azure.net/secrets/x/1', objectName: '../x' })), store), undefined);
  assert.equal(changeFromQueueMessage('not json', store), undefined);
  assert.equal(changeFromQueueMessage(b64([1, 2]), store), undefined);
  assert.equal(changeFromQueueMessage(b64({ eventType: 'Microsoft.KeyVault.SecretNewVersionCreated', data: { objectName: 'db' } }), store), undefined, 'no id');
  assert.equal(decodeQueueMessage('{"a":1}'), '{"a":1}');
});

test('a queue on Azure Storage’s own hosts is not an endpoint override; anything else is', () => {
  assert.equal(isStorageQueueServiceUrl('https://acct.queue.core.windows.net/q'), true);
  assert.equal(isStorageQueueServiceUrl('https://acct.queue.core.chinacloudapi.cn/q'), true);
  assert.equal(isStorageQueueServiceUrl('https://acct.queue.core.windows.net.evil.example/q'), false);
  assert.equal(isStorageQueueServiceUrl('http://acct.queue.core.windows.net/q'), false);
  assert.equal(isStorageQueueServiceUrl('https://127.0.0.1:10001/devstoreaccount1/q'), false);
});
