// Run as a child process by test/integration/azure-managed-identity.test.ts with AZURE_POD_IDENTITY_AUTHORITY_HOST
// pointing at the IMDS fake (the only way @azure/identity lets IMDS be moved; the variable lives in this child
// only): builds the azurekv provider's client with authType ManagedIdentity and reads one secret.
// argv: JSON {vaultUrl, caPem, identityId?, key}; prints JSON {value} or {error, name}.
import { createAzureProvider } from '../../../src/providers/azure/provider.ts';
import { systemClock } from '../../../src/util/clock.ts';
import { unusedKubeAccess } from '../../support/store-kube-access.ts';

const request = JSON.parse(process.argv[2] ?? '{}') as { vaultUrl: string; authorityHost: string; caPem: string; identityId?: string; key: string };
const provider = createAzureProvider({ trustedCaPem: request.caPem });
// customCloudConfig: the fake vault's host is not under vault.azure.net (the challenge-resource check is off).
const spec = { authType: 'ManagedIdentity', vaultUrl: request.vaultUrl, environmentType: 'PublicCloud', customCloudConfig: { activeDirectoryEndpoint: request.authorityHost }, ...(request.identityId ? { identityId: request.identityId } : {}) };
const refuse = async (): Promise<never> => {
  throw new Error('not used by ManagedIdentity');
};
try {
  const client = await provider.newClient(spec as never, {
    storeKind: 'SecretStore',
    storeName: 'mi',
    storeNamespace: 'mi',
    namespace: 'mi',
    clock: systemClock,
    kube: { ...unusedKubeAccess, readSecretKey: refuse, createServiceAccountToken: refuse },
  });
  const value = new TextDecoder().decode(await client.getSecret({ key: request.key }, AbortSignal.timeout(30_000)));
  process.stdout.write(JSON.stringify({ value, identity: client.identity }));
} catch (error) {
  process.stdout.write(JSON.stringify({ error: (error as Error).message, name: (error as Error).name }));
}
