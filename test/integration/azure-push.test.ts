// PushSecret writes to Azure Key Vault, against the Key Vault and Entra ID fakes (test/fakes/azure) with a service
// principal: a pushed secret carries our mark in its tags and the metadata's contentType; a secret someone else
// made is never overwritten or deleted; delete is Key Vault's soft delete, and a name held by a deleted secret is
// refused as Key Vault refuses it (409, recover or purge first).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { fetchJwks } from '../support/sts-web-identity-check.ts';
import { TestNamespaces } from '../support/integration.ts';
import { cachedJwks, startAzureFakes, type AzureFakes, type FakeVault } from '../fakes/azure/index.ts';
import { directStoreContext, pushAs, useClusterForDirectClients } from '../support/direct-store.ts';
import type { TestKube } from '../support/kube.ts';
import type { KubeClient } from '../../src/k8s/kube-client.ts';
import { createAzureProvider } from '../../src/providers/azure/provider.ts';
import type { SecretsClient } from '../../src/providers/provider.ts';
import { RemoteNotOwnedError } from '../../src/providers/push.ts';

const TENANT = randomUUID();
let cluster: LocalCluster;
let kube: TestKube;
let operatorKube: KubeClient;
let fakes: AzureFakes;
let vault: FakeVault;
const namespaces = new TestNamespaces('azpush');
const signal = () => AbortSignal.timeout(30_000);
const bytes = (text: string) => new TextEncoder().encode(text);

before(async () => {
  ({ cluster, kube, operatorKube } = await useClusterForDirectClients());
  fakes = await startAzureFakes({ jwks: cachedJwks(() => fetchJwks(cluster.kubeconfigPath)) });
  vault = await fakes.addVault('relay-push', TENANT);
});

after(async () => {
  await fakes?.stop();
  await operatorKube?.close();
  await cluster?.stop();
});

/** A provider client as the operator builds it, for a service principal granted `permissions`. */
async function client(permissions: Parameters<FakeVault['grant']>[1]): Promise<SecretsClient> {
  const ns = await namespaces.create(kube);
  const app = fakes.entra.addApplication({ tenantId: TENANT, clientId: randomUUID() });
  app.secrets.push('sp-secret');
  vault.grant(app.objectId, permissions);
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'sp' }, stringData: { id: app.clientId, secret: 'sp-secret' } } });
  const spec = {
    vaultUrl: vault.url,
    customCloudConfig: { activeDirectoryEndpoint: fakes.entra.authorityHost },
    authType: 'ServicePrincipal',
    tenantId: TENANT,
    authSecretRef: { clientId: { name: 'sp', key: 'id' }, clientSecret: { name: 'sp', key: 'secret' } },
  };
  return createAzureProvider({ trustedCaPem: fakes.tls.caPem }).newClient(spec as never, directStoreContext(operatorKube, ns));
}

test('SetSecret with our mark, contentType and tags; unchanged makes no version; a property merged; foreign refused; soft delete; a deleted name refused', async () => {
  const writer = await client(['secrets/get', 'secrets/list', 'secrets/set', 'secrets/delete']);
  const push = pushAs(writer);
  const metadata = { apiVersion: 'kubernetes.external-secrets.io/v1alpha1', kind: 'PushSecretMetadata', spec: { contentType: 'text/plain', tags: { team: 'a' } } };
  assert.equal(await push('db-password', 's3cret', { metadata }), 'created');
  assert.deepEqual(vault.inspect('db-password'), { value: 's3cret', tags: { team: 'a', 'managed-by': 'secret-relay', 'secret-relay.dev/push-secret': 'team/db' }, contentType: 'text/plain', versions: 1 });
  assert.equal(await push('db-password', 's3cret', { metadata }), 'unchanged');
  assert.equal(vault.inspect('db-password')!.versions, 1, 'no new version for the same value');
  assert.equal(await push('db-password', 'rotated', { metadata }), 'updated');
  assert.equal(vault.inspect('db-password')!.value, 'rotated');
  assert.equal(await push('db-config', 'u', { property: 'user' }), 'created');
  assert.equal(await push('db-config', 'h', { property: 'host' }), 'updated');
  assert.deepEqual(JSON.parse(vault.inspect('db-config')!.value), { user: 'u', host: 'h' });

  vault.setSecret('theirs', 'not yours');
  await assert.rejects(push('theirs', 'mine'), (err: unknown) => err instanceof RemoteNotOwnedError && /theirs .* not created by secret-relay/.test((err as Error).message));
  assert.equal(vault.inspect('theirs')!.value, 'not yours');
  assert.equal(await writer.deleteSecret!({ remoteKey: 'theirs', owner: 'team/db' }, signal()), 'not-owned');
  assert.equal(vault.isDeleted('theirs'), false);
  assert.equal(await push('theirs', 'mine', { adopt: true }), 'updated', 'adopted on the opt-in');

  assert.equal(await writer.deleteSecret!({ remoteKey: 'db-config', property: 'host', owner: 'team/db' }, signal()), 'deleted');
  assert.deepEqual(JSON.parse(vault.inspect('db-config')!.value), { user: 'u' });
  assert.equal(await writer.deleteSecret!({ remoteKey: 'db-password', owner: 'team/db' }, signal()), 'deleted');
  assert.equal(vault.isDeleted('db-password'), true, 'soft-deleted');
  await assert.rejects(push('db-password', 'again'), /deleted but recoverable .* recovered or purged/);
  assert.equal(await writer.deleteSecret!({ remoteKey: 'db-password', owner: 'team/db' }, signal()), 'absent');
});

test('a service principal without the set permission is refused by name, nothing written', async () => {
  const reader = await client(['secrets/get', 'secrets/list']);
  await assert.rejects(
    reader.pushSecret!({ remoteKey: 'no-write', value: bytes('v'), owner: 'team/db', adopt: false, updatePolicy: 'Replace' }, signal()),
    /denied set secret no-write/,
  );
  assert.equal(vault.inspect('no-write'), undefined);
});
