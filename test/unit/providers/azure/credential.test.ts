// The store credential on a fake clock with stand-ins for @azure/identity's classes: ids from the ServiceAccount's
// annotations before authSecretRef, one exchange shared by concurrent callers, renewal shortly before expiry, a
// fresh TokenRequest token per exchange, a claims challenge forcing a new token, clear messages for missing ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStoreCredential } from '../../../../src/providers/azure/credential.ts';
import { planAzureAuth } from '../../../../src/providers/azure/plan.ts';
import type { AzureSdk } from '../../../../src/providers/azure/sdk.ts';
import { AzureKVProviderSchema } from '../../../../src/api/secret-store.ts';
import type { AzureKVProvider } from '../../../../src/api/types.generated.ts';
import { TerminalError } from '../../../../src/providers/provider.ts';
import { fakeClock, storeContext, utf8 } from '../helpers.ts';
import { unusedKubeAccess } from '../../../support/store-kube-access.ts';

const HOUR = 3600_000;

function fakeSdk(clock: { now(): number }) {
  const built: { kind: string; tenantId: string; clientId: string }[] = [];
  const exchanges: { assertion?: string; scopes: string[]; tenantId?: string | undefined }[] = [];
  class ClientAssertionCredential {
    readonly getAssertion: () => Promise<string>;
    constructor(tenantId: string, clientId: string, getAssertion: () => Promise<string>) {
      this.getAssertion = getAssertion;
      built.push({ kind: 'assertion', tenantId, clientId });
    }
    async getToken(scopes: string[], options: { tenantId?: string }) {
      exchanges.push({ assertion: await this.getAssertion(), scopes, tenantId: options.tenantId });
      return { token: `kv-token-${exchanges.length}`, expiresOnTimestamp: clock.now() + HOUR };
    }
  }
  class ClientSecretCredential {
    constructor(tenantId: string, clientId: string) {
      built.push({ kind: 'secret', tenantId, clientId });
    }
    async getToken(scopes: string[]) {
      exchanges.push({ scopes });
      return { token: `kv-token-${exchanges.length}`, expiresOnTimestamp: clock.now() + HOUR };
    }
  }
  const sdk = { identity: { ClientAssertionCredential, ClientSecretCredential }, fingerprint: (m: string) => String(m.length) } as unknown as AzureSdk;
  return { sdk, built, exchanges };
}

const parse = (spec: unknown) => AzureKVProviderSchema.parse(spec) as AzureKVProvider;
const scope = ['https://vault.azure.net/.default'];

test('workload identity: annotations win over authSecretRef; one exchange for concurrent callers, renewed before expiry with a fresh token', async () => {
  const clock = fakeClock();
  const { sdk, built, exchanges } = fakeSdk(clock);
  let minted = 0;
  const ctx = storeContext({
    clock,
    kube: { ...unusedKubeAccess,
      readSecretKey: async (ref) => utf8(ref.key === 'client' ? 'client-from-secret' : 'tenant-from-secret'),
      createServiceAccountToken: async (ref) => {
        assert.deepEqual(ref.audiences, ['api://AzureADTokenExchange']);
        return { token: `sa-token-${++minted}`, expiresAt: clock.now() + 600_000 };
      },
      readServiceAccountAnnotations: async () => ({ 'azure.workload.identity/client-id': 'client-annotated' }),
    },
  });
  const spec = parse({ vaultUrl: 'https://v.vault.azure.net', authType: 'WorkloadIdentity', serviceAccountRef: { name: 'reader' }, authSecretRef: { clientId: { name: 's', key: 'client' }, tenantId: { name: 's', key: 'tenant' } } });
  const credential = createStoreCredential({ sdk, ctx, plan: planAzureAuth(spec, ctx) });
  const signal = new AbortController().signal;
  const tokens = await Promise.all(Array.from({ length: 20 }, () => credential.getToken(scope, { abortSignal: signal, tenantId: 'tenant-from-secret' })));
  assert.ok(tokens.every((t) => t?.token === 'kv-token-1'), 'twenty callers, one token');
  assert.equal(credential.exchanges(), 1);
  assert.deepEqual(built, [{ kind: 'assertion', tenantId: 'tenant-from-secret', clientId: 'client-annotated' }], 'client ID from the annotation, tenant from authSecretRef');
  assert.equal(credential.identity(), 'client ID client-annotated in tenant tenant-from-secret (workload identity of ServiceAccount team-a/reader)');

  clock.advance(HOUR - 6 * 60_000);
  assert.equal((await credential.getToken(scope, { abortSignal: signal, tenantId: 'tenant-from-secret' }))?.token, 'kv-token-1', 'still used 6 min before expiry');
  clock.advance(2 * 60_000);
  assert.equal((await credential.getToken(scope, { abortSignal: signal, tenantId: 'tenant-from-secret' }))?.token, 'kv-token-2', 'renewed within 5 min of expiry');
  assert.deepEqual(exchanges.map((e) => e.assertion), ['sa-token-1', 'sa-token-2'], 'a fresh TokenRequest token per exchange');
  assert.equal(built.length, 1, 'the SDK credential is reused while the ids stay the same');

  await credential.getToken(scope, { abortSignal: signal, tenantId: 'tenant-from-secret', claims: '{"access_token":{}}' });
  assert.equal(credential.exchanges(), 3, 'a claims challenge forces a new token');
});

test('workload identity without a client ID or tenant names the annotation to add', async () => {
  const clock = fakeClock();
  const { sdk } = fakeSdk(clock);
  const ctx = storeContext({ clock, kube: { ...unusedKubeAccess, ...storeContext().kube, readServiceAccountAnnotations: async () => ({}) } });
  const spec = parse({ vaultUrl: 'https://v.vault.azure.net', authType: 'WorkloadIdentity', serviceAccountRef: { name: 'reader' } });
  const credential = createStoreCredential({ sdk, ctx, plan: planAzureAuth(spec, ctx) });
  await assert.rejects(credential.getToken(scope, {}), (e: unknown) => e instanceof TerminalError && /ServiceAccount team-a\/reader has no azure\.workload\.identity\/client-id annotation/.test(e.message));
  const withClient = storeContext({ clock, kube: { ...unusedKubeAccess, ...storeContext().kube, readServiceAccountAnnotations: async () => ({ 'azure.workload.identity/client-id': 'c' }) } });
  const second = createStoreCredential({ sdk, ctx: withClient, plan: planAzureAuth(spec, withClient) });
  await assert.rejects(second.getToken(scope, {}), /has no azure\.workload\.identity\/tenant-id annotation/);
});

test('service principal: a rotated client secret in the Secret builds a new SDK credential at the next token', async () => {
  const clock = fakeClock();
  const { sdk, built } = fakeSdk(clock);
  let secret = 'first-secret';
  const ctx = storeContext({ clock, kube: { ...unusedKubeAccess, ...storeContext().kube, readSecretKey: async (ref) => utf8(ref.key === 'id' ? 'sp-client' : secret) } });
  const spec = parse({ vaultUrl: 'https://v.vault.azure.net', tenantId: 't', authSecretRef: { clientId: { name: 'sp', key: 'id' }, clientSecret: { name: 'sp', key: 'secret' } } });
  const credential = createStoreCredential({ sdk, ctx, plan: planAzureAuth(spec, ctx) });
  await credential.getToken(scope, {});
  secret = 'rotated-secret-value';
  clock.advance(HOUR);
  await credential.getToken(scope, {});
  assert.deepEqual(built.map((b) => b.kind), ['secret', 'secret'], 'a new credential for the rotated secret');
  assert.equal(credential.identity(), 'service principal sp-client in tenant t (client secret from Secret team-a/sp)');
});
