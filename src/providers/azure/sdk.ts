// The Azure SDK modules, imported when the first azurekv client is built, so an operator with no azurekv store
// does not load them (see docs/providers/azure.md for what they cost).
import { createHash } from 'node:crypto';

export interface AzureSdk {
  readonly identity: typeof import('@azure/identity');
  readonly secrets: typeof import('@azure/keyvault-secrets');
  readonly certificates: typeof import('@azure/keyvault-certificates');
  readonly keys: typeof import('@azure/keyvault-keys');
  /** A short, non-reversible fingerprint of credential material (to notice a rotated secret; never logged). */
  fingerprint(material: string): string;
}

export async function loadAzureSdk(): Promise<AzureSdk> {
  const [identity, secrets, certificates, keys] = await Promise.all([
    import('@azure/identity'),
    import('@azure/keyvault-secrets'),
    import('@azure/keyvault-certificates'),
    import('@azure/keyvault-keys'),
  ]);
  return {
    identity,
    secrets,
    certificates,
    keys,
    fingerprint: (material) => createHash('sha256').update(material).digest('hex').slice(0, 16),
  };
}
