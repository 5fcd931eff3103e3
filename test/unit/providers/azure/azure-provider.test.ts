// The azurekv provider's pure parts: store validation (the zod twin of the CRD's CEL rules), auth planning
// (clouds, referent auth, partitions), object keys, attributes, PEM/JWK shaping and error mapping. Reads against
// the Key Vault and Entra ID fakes are in test/integration/azure.test.ts.
import { azureEndpoints, challengeScopeProblem } from '../../../../src/providers/azure/plan.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAzureProvider, validateAzureSpec } from '../../../../src/providers/azure/provider.ts';
import { AZURE_CLOUDS, managedIdentitySelector, parseObjectKey, planAzureAuth, WORKLOAD_IDENTITY_AUDIENCE } from '../../../../src/providers/azure/plan.ts';
import { entraReason, KeyVaultRefusal, mapAzureError, mapTokenError, missingPermission } from '../../../../src/providers/azure/errors.ts';
import { checkAttributes, derToPem, publicJwk } from '../../../../src/providers/azure/reader.ts';
import { NoSecretError, TerminalError, ThrottledError } from '../../../../src/providers/provider.ts';
import { AzureKVProviderSchema } from '../../../../src/api/secret-store.ts';
import type { AzureKVProvider } from '../../../../src/api/types.generated.ts';

const vaultUrl = 'https://my-vault.vault.azure.net';
const parse = (spec: unknown) => AzureKVProviderSchema.parse(spec) as AzureKVProvider;
const wi = (namespace?: string) => parse({ vaultUrl, authType: 'WorkloadIdentity', serviceAccountRef: { name: 'reader', ...(namespace ? { namespace } : {}) } });
const sp = parse({ vaultUrl, tenantId: 't', authSecretRef: { clientId: { name: 'sp', key: 'id' }, clientSecret: { name: 'sp', key: 'secret' } } });

test('store validation: ServicePrincipal is the default (as ESO) and needs its credentials; each rule names what to set', () => {
  assert.deepEqual(validateAzureSpec({ vaultUrl, authType: 'ManagedIdentity' }), { warnings: [], errors: [] });
  assert.deepEqual(validateAzureSpec(sp), { warnings: [], errors: [] });
  const cases: [unknown, RegExp][] = [
    [{ vaultUrl }, /authType ServicePrincipal needs authSecretRef\.clientId and authSecretRef\.clientSecret or clientCertificate/],
    [{ vaultUrl: 'http://my-vault', authType: 'ManagedIdentity' }, /vaultUrl must be an https URL/],
    [{ authType: 'ManagedIdentity' }, /spec\.provider\.azurekv\.vaultUrl/],
    [{ vaultUrl, authType: 'WorkloadIdentity' }, /authType WorkloadIdentity needs serviceAccountRef/],
    [{ vaultUrl, authType: 'Magic' }, /spec\.provider\.azurekv\.authType/],
    [{ vaultUrl, authSecretRef: { clientId: { name: 'a', key: 'b' }, clientSecret: { name: 'a', key: 'c' } } }, /needs tenantId or authSecretRef\.tenantId/],
    [{ vaultUrl, tenantId: 't', authSecretRef: { clientId: { name: 'a', key: 'b' }, clientSecret: { name: 'a', key: 'c' }, clientCertificate: { name: 'a', key: 'd' } } }, /at most one of clientSecret and clientCertificate/],
    [{ vaultUrl, authType: 'ManagedIdentity', environmentType: 'AzureStackCloud' }, /AzureStackCloud needs customCloudConfig/],
    [{ vaultUrl, authType: 'ManagedIdentity', customCloudConfig: { activeDirectoryEndpoint: 'login.example' } }, /activeDirectoryEndpoint must be an https URL/],
  ];
  for (const [spec, message] of cases) {
    const { errors } = validateAzureSpec(spec);
    assert.ok(errors.some((e) => message.test(e)), `${JSON.stringify(spec)} → ${errors.join(' | ')}`);
  }
  assert.match(validateAzureSpec({ vaultUrl, authType: 'ManagedIdentity', serviceAccountRef: { name: 'x' } }).warnings.join(), /serviceAccountRef is used only with authType WorkloadIdentity/);
  // Every ESO v2.9.0 field is accepted.
  const eso = { vaultUrl, authType: 'ManagedIdentity', identityId: 'id', tenantId: 't', environmentType: 'AzureStackCloud', useAzureSDK: true, customCloudConfig: { activeDirectoryEndpoint: 'https://login.stack.local', keyVaultEndpoint: 'https://vault.stack.local', keyVaultDNSSuffix: '.vault.stack.local', resourceManagerEndpoint: 'https://management.stack.local' } };
  assert.deepEqual(validateAzureSpec({ ...eso, vaultUrl: 'https://my-vault.vault.stack.local' }).errors, []);
  // A vault outside the custom cloud's DNS suffix is refused: the cloud's Key Vault token must not go elsewhere.
  assert.match(validateAzureSpec(eso).errors.join(), /vaultUrl https:\/\/my-vault\.vault\.azure\.net is not under customCloudConfig\.keyVaultDNSSuffix \.vault\.stack\.local/);
});

test('challenge verification: a token only for the configured Key Vault resource, whatever resource the vault names', () => {
  const endpoints = azureEndpoints({ vaultUrl: 'https://v.vault.azure.net', authType: 'ManagedIdentity', environmentType: 'PublicCloud' } as never);
  assert.equal(challengeScopeProblem(endpoints, ['https://vault.azure.net/.default']), undefined);
  assert.match(challengeScopeProblem(endpoints, ['https://management.azure.com/.default']) ?? '', /asked for a token for https:\/\/management\.azure\.com\/\.default, but this store's Key Vault resource is https:\/\/vault\.azure\.net; no token was requested/);
  const custom = azureEndpoints({ vaultUrl: 'https://127.0.0.1:8443', authType: 'WorkloadIdentity', environmentType: 'PublicCloud', customCloudConfig: { activeDirectoryEndpoint: 'https://127.0.0.1:9443' } } as never);
  assert.equal(custom.keyVaultResource, 'https://vault.azure.net');
  assert.ok(challengeScopeProblem(custom, ['https://graph.microsoft.com/.default']));
  const stack = azureEndpoints({ vaultUrl: 'https://v.vault.stack.local', authType: 'WorkloadIdentity', environmentType: 'AzureStackCloud', customCloudConfig: { activeDirectoryEndpoint: 'https://login.stack.local', keyVaultEndpoint: 'https://vault.stack.local/' } } as never);
  assert.equal(challengeScopeProblem(stack, ['https://vault.stack.local/.default']), undefined);
  assert.ok(challengeScopeProblem(stack, ['https://vault.azure.net/.default']));
});

test('auth plan: clouds, workload identity audiences, referent auth and client partitions', () => {
  const where = { storeKind: 'SecretStore' as const, storeNamespace: 'team', namespace: 'team' };
  const plan = planAzureAuth(wi(), where);
  assert.equal(plan.endpoints.authorityHost, AZURE_CLOUDS.PublicCloud.authorityHost);
  assert.equal(plan.endpoints.custom, false);
  assert.equal(plan.referent, false);
  assert.deepEqual(plan.identity.kind === 'WorkloadIdentity' && plan.identity.audiences, [WORKLOAD_IDENTITY_AUDIENCE]);
  assert.equal(planAzureAuth(parse({ ...wi(), environmentType: 'ChinaCloud' }), where).endpoints.authorityHost, 'https://login.chinacloudapi.cn');
  const custom = planAzureAuth(parse({ ...wi(), customCloudConfig: { activeDirectoryEndpoint: 'https://login.local/' } }), where);
  assert.deepEqual([custom.endpoints.authorityHost, custom.endpoints.custom], ['https://login.local', true]);
  const extra = planAzureAuth(parse({ ...wi(), serviceAccountRef: { name: 'r', audiences: ['aud-2', WORKLOAD_IDENTITY_AUDIENCE] } }), where);
  assert.deepEqual(extra.identity.kind === 'WorkloadIdentity' && extra.identity.audiences, [WORKLOAD_IDENTITY_AUDIENCE, 'aud-2'], 'audiences are added to the Entra one, as ESO');

  const cluster = { storeKind: 'ClusterSecretStore' as const, storeNamespace: undefined, namespace: 'app-1' };
  const referent = planAzureAuth(wi(), cluster);
  assert.equal(referent.referent, true);
  assert.deepEqual(referent.identity.kind === 'WorkloadIdentity' && referent.identity.serviceAccount, { namespace: 'app-1', name: 'reader' });
  assert.equal(planAzureAuth(wi('ops'), cluster).referent, false);
  assert.equal(planAzureAuth(sp, cluster).referent, true, 'Secrets without a namespace are the ExternalSecret’s');
  const provider = createAzureProvider();
  assert.equal(provider.clientPartition!(wi(), cluster), 'app-1');
  assert.equal(provider.clientPartition!(wi('ops'), cluster), undefined);
  assert.equal(provider.clientPartition!(wi(), { storeKind: 'SecretStore', namespace: 'team' }), undefined);
  assert.deepEqual(managedIdentitySelector('/subscriptions/1/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x'), {
    resourceId: '/subscriptions/1/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x',
  });
  assert.deepEqual(managedIdentitySelector('1111-2222'), { clientId: '1111-2222' });
  assert.equal(managedIdentitySelector(undefined), undefined);
});

test('object keys as ESO addresses them', () => {
  assert.deepEqual(parseObjectKey('db'), { type: 'secret', name: 'db' });
  assert.deepEqual(parseObjectKey('secret/db'), { type: 'secret', name: 'db' });
  assert.deepEqual(parseObjectKey('cert/tls'), { type: 'cert', name: 'tls' });
  assert.deepEqual(parseObjectKey('key/signing'), { type: 'key', name: 'signing' });
  assert.match((parseObjectKey('blob/x') as { error: string }).error, /unknown object type "blob"/);
  assert.match((parseObjectKey('a_b') as { error: string }).error, /not a Key Vault object name/);
});

test('attributes: disabled and expired are terminal, not-yet-valid is retried; PEM and public JWK shaping', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  assert.doesNotThrow(() => checkAttributes({ enabled: true, notBefore: new Date(now - 1), expiresOn: new Date(now + 1) }, 'x', now));
  assert.throws(() => checkAttributes({ enabled: false }, 'secret x', now), (e: unknown) => e instanceof TerminalError && /secret x is disabled/.test(e.message));
  assert.throws(() => checkAttributes({ expiresOn: new Date(now) }, 'secret x', now), (e: unknown) => e instanceof TerminalError && /expired on 2026-06-01T00:00:00.000Z/.test(e.message));
  assert.throws(() => checkAttributes({ notBefore: new Date(now + 1000) }, 'secret x', now), (e: unknown) => !(e instanceof TerminalError) && /not valid before/.test((e as Error).message));
  const pem = derToPem(new Uint8Array(100).fill(7));
  assert.match(pem, /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/]{64}\n)+[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/);
  const jwk = publicJwk({ name: 'k', key: { kid: 'kid', kty: 'RSA', keyOps: ['sign'], n: new Uint8Array([1, 2, 255]), e: new Uint8Array([1, 0, 1]) }, properties: {} } as never);
  assert.deepEqual(jwk, { kid: 'kid', kty: 'RSA', key_ops: ['sign'], n: 'AQL_', e: 'AQAB' });
});

const abortLike = Object.assign(new Error('aborted'), { name: 'AbortError' });

test('errors: 404 → NoSecretError; 403 names the missing action; disabled; 429 → ThrottledError; Entra reasons in one line', () => {
  const call = { action: 'get', vaultUrl, subject: 'secret db', identity: 'client ID c in tenant t' };
  const rest = (statusCode: number, code: string, message: string, inner?: string) =>
    Object.assign(new Error(message), { name: 'RestError', statusCode, code, details: { error: { code, message, ...(inner ? { innererror: { code: inner } } : {}) } } });
  assert.ok(mapAzureError(rest(404, 'SecretNotFound', 'A secret with (name/id) db was not found'), call) instanceof NoSecretError);
  const forbidden = "Caller is not authorized to perform action on resource.\r\nCaller: appid=c\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n";
  const denied = mapAzureError(new KeyVaultRefusal(403, { error: { code: 'Forbidden', message: forbidden } }), call);
  assert.ok(denied instanceof TerminalError);
  assert.equal(
    denied.message,
    `Key Vault denied get secret db in vault ${vaultUrl} to client ID c in tenant t (403 Forbidden): Caller is not authorized to perform action on resource.; grant Microsoft.KeyVault/vaults/secrets/getSecret/action (e.g. the Key Vault Secrets User role) to that identity`,
  );
  assert.equal(missingPermission('no action here'), undefined);
  // A PushSecret's write needs Key Vault Secrets Officer: Secrets User (reads only) would not help the user.
  const setForbidden = forbidden.replace('getSecret', 'setSecret');
  const setDenied = mapAzureError(new KeyVaultRefusal(403, { error: { code: 'Forbidden', message: setForbidden } }), { ...call, action: 'set' });
  assert.match(setDenied.message, /grant Microsoft\.KeyVault\/vaults\/secrets\/setSecret\/action \(e\.g\. the Key Vault Secrets Officer role\)/);
  assert.match(mapAzureError(rest(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled'), call).message, /disabled \(SecretDisabled\); enable it/);
  assert.ok(mapAzureError(rest(429, 'Throttled', 'too many'), call) instanceof ThrottledError);
  const aad = Object.assign(new Error('x'), {
    name: 'AuthenticationRequiredError',
    message: 'invalid_client: Error(s): 700213 - Timestamp: 2026 - Description: AADSTS700213: No matching federated identity record found. Trace ID: 1 Correlation ID: 2 Timestamp: 3',
  });
  const refused = mapAzureError(aad, call);
  assert.ok(refused instanceof TerminalError);
  assert.match(refused.message, /Entra ID refused a Key Vault token to client ID c in tenant t .*: AADSTS700213: No matching federated identity record found\.$/);
  const fromCredential = mapTokenError(aad, { identity: 'client ID c in tenant t', vaultUrl, hint: 'check the federated credential' });
  assert.ok(fromCredential instanceof TerminalError);
  assert.equal(fromCredential.message, `Entra ID refused a token for vault ${vaultUrl} to client ID c in tenant t: AADSTS700213: No matching federated identity record found.; check the federated credential`);
  assert.equal(mapTokenError(abortLike, { identity: 'x', vaultUrl, hint: 'y' }), abortLike, 'not an authentication error: unchanged');
  assert.doesNotMatch(refused.message, /Trace ID/);
  assert.equal(entraReason('plain failure'), 'plain failure');
  const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
  assert.equal(mapAzureError(abort, call), abort);
});
