// The Azure fakes together: one test CA, an Entra ID, and vaults trusting its tokens. Used by the integration
// tests and by `npm run testbed -- azure`.
import type { Jwk } from '../../support/sts-web-identity-check.ts';
import { startFakeEntra, type FakeEntra } from './entra.ts';
import { startFakeVault, type FakeVault } from './key-vault.ts';
import { createTestTls, type TestTls } from './tls.ts';

export { FEDERATED_AUDIENCE, type FakeApplication, type FakeEntra, type TokenExchange } from './entra.ts';
export { READ_PERMISSIONS, KEY_VAULT_RESOURCE, type FakeVault, type VaultPermission } from './key-vault.ts';
export { createClientCertificate } from './tls.ts';

export interface AzureFakes {
  readonly tls: TestTls;
  readonly entra: FakeEntra;
  /** A vault in `tenantId` (each its own HTTPS server). */
  addVault(name: string, tenantId: string): Promise<FakeVault>;
  stop(): Promise<void>;
}

export async function startAzureFakes(options: { jwks: () => Promise<readonly Jwk[]> }): Promise<AzureFakes> {
  const tls = createTestTls();
  const entra = await startFakeEntra({ tls, jwks: options.jwks });
  const vaults: FakeVault[] = [];
  return {
    tls,
    entra,
    async addVault(name, tenantId) {
      entra.addTenant(tenantId);
      const vault = await startFakeVault({ tls, entra, name, tenantId });
      vaults.push(vault);
      return vault;
    },
    async stop() {
      await Promise.all(vaults.map((vault) => vault.stop()));
      await entra.stop();
    },
  };
}

/** The JWKS of a cluster's ServiceAccount token signer, fetched once (the test clusters do not rotate it). */
export function cachedJwks(fetch: () => Promise<readonly Jwk[]>): () => Promise<readonly Jwk[]> {
  let keys: Promise<readonly Jwk[]> | undefined;
  return async () => {
    keys ??= fetch().catch((error: unknown) => {
      keys = undefined;
      throw error;
    });
    return keys;
  };
}
