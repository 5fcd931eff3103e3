// Every provider maps its service's answers onto the contract's classes the same way: a refusal of the store's
// identity is an AccessDeniedError (audit and provider_requests_total say `denied`, as aws and vault do), a fault of
// the service or the network is retryable (a plain Error, or ThrottledError for 429), never a TerminalError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyVaultRefusal, mapAzureError, mapTokenError as mapAzureTokenError } from '../../../src/providers/azure/errors.ts';
import { GrpcCode, mapGcpError, mapTokenError as mapGcpTokenError } from '../../../src/providers/gcp/errors.ts';
import { mapAlibabaError } from '../../../src/providers/alibaba/errors.ts';
import { AccessDeniedError, NoSecretError, TerminalError, ThrottledError } from '../../../src/providers/provider.ts';

const retryable = (error: unknown) => error instanceof Error && !(error instanceof TerminalError) && !(error instanceof ThrottledError) && !(error instanceof NoSecretError);

// What @azure/identity throws (seen against a local token endpoint): MSAL's ServerError (with the HTTP status) or
// ClientAuthError (network_error) wrapped in an AuthenticationRequiredError; an unreachable authority at discovery
// is a CredentialUnavailableError "endpoints_resolution_error".
const msal = (status: number | undefined, errorCode: string, description: string) =>
  Object.assign(new Error(`${errorCode}: ${description}`), {
    name: 'AuthenticationRequiredError',
    cause: Object.assign(new Error(`${errorCode}: ${description}`), { name: status === undefined ? 'ClientAuthError' : 'ServerError', errorCode, ...(status === undefined ? {} : { status }) }),
  });
const vaultUrl = 'https://relay.vault.azure.net';
const azureCall = { action: 'get', vaultUrl, subject: 'secret db', identity: 'client ID c in tenant t' };

test('azure: Entra ID 5xx, 429 and network failures are not refusals', () => {
  const unavailable = msal(503, 'server_error', 'Error(s): Not Available - Description: A server error occured.\nHttp status code: 503');
  const throttled = msal(429, 'temporarily_unavailable', 'Error(s): 50196 - Description: AADSTS50196: The server terminated an operation because it encountered a client request loop.');
  const network = msal(undefined, 'network_error', 'See https://aka.ms/msal.js.errors#network_error for details');
  const discovery = Object.assign(new Error('endpoints_resolution_error: See https://aka.ms/msal.js.errors#endpoints_resolution_error for details'), { name: 'CredentialUnavailableError' });
  // MSAL then holds further requests for 60 s (no Retry-After), replaying the answer without its status: errorCode is
  // the AADSTS number instead of an OAuth error.
  const replayed = Object.assign(new Error('90033: AADSTS90033: A transient error has occurred. Please try again.'), {
    name: 'AuthenticationRequiredError',
    cause: Object.assign(new Error('90033: AADSTS90033: A transient error has occurred. Please try again.'), { name: 'ServerError', errorCode: '90033' }),
  });
  for (const map of [(e: unknown) => mapAzureError(e, azureCall), (e: unknown) => mapAzureTokenError(e, { identity: 'client ID c in tenant t', vaultUrl, hint: 'check it' })]) {
    assert.ok(retryable(map(unavailable)), 'a 503 of Entra ID is retried with backoff');
    assert.ok(retryable(map(replayed)), "MSAL's replay of a 503 is retried with backoff, not a refusal");
    assert.ok(retryable(map(network)), 'a reset connection is retried with backoff');
    assert.ok(retryable(map(discovery)), 'an unreachable authority is retried with backoff');
    assert.ok(map(throttled) instanceof ThrottledError, 'a 429 of Entra ID is throttling');
    assert.match((map(unavailable) as Error).message, /client ID c in tenant t/);
  }
});

test('azure: Entra ID refusals and Key Vault 401/403 are AccessDeniedError', () => {
  const refused = msal(400, 'invalid_client', 'Error(s): 700213 - Description: AADSTS700213: No matching federated identity record found. Trace ID: 1');
  assert.ok(mapAzureError(refused, azureCall) instanceof AccessDeniedError);
  assert.ok(mapAzureTokenError(refused, { identity: 'x', vaultUrl, hint: 'y' }) instanceof AccessDeniedError);
  const forbidden = "Caller is not authorized to perform action on resource.\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n";
  assert.ok(mapAzureError(new KeyVaultRefusal(403, { error: { code: 'Forbidden', message: forbidden, innererror: { code: 'ForbiddenByRbac' } } }), azureCall) instanceof AccessDeniedError);
  assert.ok(mapAzureError(new KeyVaultRefusal(401, { error: { code: 'Unauthorized', message: 'AKV10022: Invalid audience.' } }), azureCall) instanceof AccessDeniedError);
  const disabled = Object.assign(new Error('Operation get is not allowed on a disabled secret.'), {
    name: 'RestError',
    statusCode: 403,
    details: { error: { code: 'Forbidden', message: 'Operation get is not allowed on a disabled secret.', innererror: { code: 'SecretDisabled' } } },
  });
  const mapped = mapAzureError(disabled, azureCall);
  assert.ok(mapped instanceof TerminalError && !(mapped instanceof AccessDeniedError), 'a disabled secret is not a refusal of the identity');
});

const grpcError = (code: number, details: string) => Object.assign(new Error(`${code} X: ${details}`), { code, details });
const gcpCall = { method: 'AccessSecretVersion', resource: 'projects/p/secrets/s/versions/latest', identity: 'Google service account r@p.iam.gserviceaccount.com' };

test('gcp: PERMISSION_DENIED is AccessDeniedError; UNAUTHENTICATED is retried (the dropped token is exchanged anew)', () => {
  assert.ok(mapGcpError(grpcError(GrpcCode.PERMISSION_DENIED, "Permission 'secretmanager.versions.access' denied for resource 'x' (or it may not exist)."), gcpCall) instanceof AccessDeniedError);
  const unauthenticated = mapGcpError(grpcError(GrpcCode.UNAUTHENTICATED, 'Request had invalid authentication credentials.'), gcpCall);
  assert.ok(retryable(unauthenticated), 'UNAUTHENTICATED must be retryable so that there is a next call');
  assert.match(unauthenticated.message, /r@p\.iam\.gserviceaccount\.com/);
});

test('gcp: STS and IAM Credentials refusing the identity (401/403) are AccessDeniedError; 5xx and network stay retryable', () => {
  const iam = Object.assign(new Error('x'), { response: { status: 403, data: { error: { code: 403, status: 'PERMISSION_DENIED', message: "Permission 'iam.serviceAccounts.getAccessToken' denied." } } } });
  assert.ok(mapGcpTokenError(iam, 'IAM', 'sa', 'bind') instanceof AccessDeniedError);
  const sts = Object.assign(new Error('x'), { response: { status: 401, data: { error: 'invalid_client', error_description: 'The OIDC token is not valid.' } } });
  assert.ok(mapGcpTokenError(sts, 'Google STS', 'sa', 'check') instanceof AccessDeniedError);
  assert.ok(retryable(mapGcpTokenError(Object.assign(new Error('x'), { response: { status: 503, data: 'unavailable' } }), 'Google STS', 'sa', 'check')));
});

test('alibaba: denials (RAM, STS refusals, a refused session) are AccessDeniedError', () => {
  const rpcError = (code: string, status: number) =>
    Object.assign(new Error(`${code}Error: code: ${status}, msg requestid: R1`), { code: `${code}Error`, data: { Code: code, Message: 'msg', RequestId: 'R1' } });
  const call = { action: 'kms:GetSecretValue', subject: 'db', identity: 'role acs:ram::1:role/r (ServiceAccount a/b)', region: 'cn-hangzhou' };
  assert.ok(mapAlibabaError(rpcError('Forbidden.NoPermission', 403), call) instanceof AccessDeniedError);
  assert.ok(mapAlibabaError(Object.assign(new Error('x'), { code: 'AuthenticationFail.NoPermission', statusCode: 403 }), call) instanceof AccessDeniedError);
  assert.ok(mapAlibabaError(rpcError('InvalidSecurityToken.Expired', 400), call) instanceof AccessDeniedError);
  assert.ok(retryable(mapAlibabaError(rpcError('ServiceUnavailable', 503), call)));
});
