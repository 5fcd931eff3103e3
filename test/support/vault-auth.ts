// Shared by the vault auth-method suites (vault-auth-*.test.ts): what each syncs through the store under test.

/** An ExternalSecret reading property `password` of `key` through SecretStore `storeName`, refreshed hourly. */
export function passwordExternalSecret(name: string, storeName: string, key: string) {
  return {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name },
    spec: { secretStoreRef: { name: storeName, kind: 'SecretStore' }, refreshInterval: '1h', data: [{ secretKey: 'password', remoteRef: { key, property: 'password' } }] },
  };
}
