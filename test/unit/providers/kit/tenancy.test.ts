// The tenancy rules, attacked as a tenant who may only create a SecretStore in their own namespace would: every
// provider's spec that makes the operator act as itself, send credentials to a host the tenant chose, or read a file
// of the operator's pod is refused for a SecretStore (and allowed where the operator's admin said so), and the guard
// refuses before the provider is called at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAwsProvider } from '../../../../src/providers/aws/provider.ts';
import { createGcpProvider } from '../../../../src/providers/gcp/provider.ts';
import { createAzureProvider } from '../../../../src/providers/azure/provider.ts';
import { createAlibabaProvider } from '../../../../src/providers/alibaba/provider.ts';
import { createVaultProvider } from '../../../../src/providers/vault/provider.ts';
import { createFakeProvider } from '../../../../src/providers/fake/provider.ts';
import {
  declaredTenancy,
  DEFAULT_TENANCY_POLICY,
  guardProvider,
  hostTrusted,
  isLoopbackHost,
  TenancyError,
  TenancyRule,
  tenancyViolations,
  type TenancyPolicy,
} from '../../../../src/providers/kit/tenancy.ts';
import type { Provider, StoreContext, StoreKind } from '../../../../src/providers/provider.ts';

const providers = {
  aws: createAwsProvider(),
  gcpsm: createGcpProvider(),
  azurekv: createAzureProvider(),
  alibaba: createAlibabaProvider(),
  vault: createVaultProvider(),
  fake: createFakeProvider(),
} as const;

const rulesOf = (provider: Provider, spec: unknown, kind: StoreKind, policy: TenancyPolicy = DEFAULT_TENANCY_POLICY) =>
  tenancyViolations(declaredTenancy(provider.name, spec), kind, policy).map((v) => v.rule);

const ambient = {
  aws: { service: 'SecretsManager', region: 'eu-west-1', role: 'arn:aws:iam::123456789012:role/admin', externalID: 'x' },
  gcpsm: { projectID: 'victim-project' },
  azurekv: { vaultUrl: 'https://victim.vault.azure.net', authType: 'ManagedIdentity', identityId: '00000000-0000-0000-0000-000000000001' },
  alibaba: { regionID: 'cn-hangzhou', auth: { rrsa: { oidcProviderArn: 'acs:ram::1:oidc-provider/ack', roleArn: 'acs:ram::1:role/admin', oidcTokenFilePath: '/var/run/secrets/kubernetes.io/serviceaccount/token' } } },
  vault: { server: 'https://vault.attacker.example', auth: { kubernetes: { role: 'r' } } },
} as const;

test("a SecretStore cannot act as the operator's own identity, with any provider; a ClusterSecretStore can under the default", () => {
  for (const [name, spec] of Object.entries(ambient)) {
    const provider = providers[name as keyof typeof ambient] as Provider;
    assert.ok(rulesOf(provider, spec, 'SecretStore').includes(TenancyRule.OperatorIdentityNotAllowed), `${name} SecretStore`);
    if (name !== 'alibaba') assert.deepEqual(rulesOf(provider, spec, 'ClusterSecretStore'), [], `${name} ClusterSecretStore`);
    assert.ok(rulesOf(provider, spec, 'ClusterSecretStore', { ...DEFAULT_TENANCY_POLICY, operatorIdentity: 'none' }).includes(TenancyRule.OperatorIdentityNotAllowed), `${name} none`);
    assert.ok(!rulesOf(provider, spec, 'SecretStore', { ...DEFAULT_TENANCY_POLICY, operatorIdentity: 'all', operatorTokenFiles: ['/var/run/secrets/kubernetes.io/serviceaccount/token'] }).includes(TenancyRule.OperatorIdentityNotAllowed), `${name} all`);
  }
  const message = tenancyViolations(declaredTenancy('gcpsm', ambient.gcpsm), 'SecretStore', DEFAULT_TENANCY_POLICY)[0]!.message;
  assert.match(message, /^OperatorIdentityNotAllowed: .*Application Default Credentials.*only ClusterSecretStores may use \(--operator-identity=cluster-stores\); give the store an identity of its own \(auth\.workloadIdentity/);
});

test('per-store workload identity, keys from Secrets and the fake are not the operator: allowed in a SecretStore', () => {
  const own = [
    [providers.aws, { service: 'SecretsManager', region: 'eu-west-1', auth: { jwt: { serviceAccountRef: { name: 'app' } } } }],
    [providers.aws, { service: 'SecretsManager', region: 'eu-west-1', auth: { secretRef: { accessKeyIDSecretRef: { name: 'k', key: 'id' }, secretAccessKeySecretRef: { name: 'k', key: 'secret' } } } }],
    [providers.gcpsm, { projectID: 'tenant-project', auth: { workloadIdentityFederation: { serviceAccountRef: { name: 'app' }, audience: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k' } } }],
    [providers.azurekv, { vaultUrl: 'https://mine.vault.azure.net', authType: 'WorkloadIdentity', serviceAccountRef: { name: 'app' } }],
    [providers.alibaba, { regionID: 'cn-hangzhou', auth: { rrsa: { oidcProviderArn: 'acs:ram::1:oidc-provider/ack', roleArn: 'acs:ram::1:role/r', serviceAccountRef: { name: 'app' } } } }],
    [providers.vault, { server: 'https://vault.example.com', auth: { kubernetes: { role: 'r', serviceAccountRef: { name: 'app' } } } }],
    [providers.fake, { data: [{ key: 'k', value: 'v' }] }],
  ] as const;
  for (const [provider, spec] of own) assert.deepEqual(rulesOf(provider as Provider, spec, 'SecretStore'), [], `${provider.name} ${JSON.stringify(spec)}`);
});

test('an endpoint override in a SecretStore must name a host the operator trusts; a ClusterSecretStore may name any', () => {
  const cases = [
    [providers.aws, { service: 'SecretsManager', region: 'eu-west-1', endpoint: 'https://attacker.example', auth: { jwt: { serviceAccountRef: { name: 'a' } } } }, 'spec.provider.aws.endpoint'],
    [providers.gcpsm, { projectID: 'tenant-project', endpoints: { secretManager: 'https://attacker.example' }, auth: { secretRef: { secretAccessKeySecretRef: { name: 'k', key: 'k' } } } }, 'spec.provider.gcpsm.endpoints.secretManager'],
    [providers.gcpsm, { projectID: 'tenant-project', endpoints: { sts: 'https://sts.attacker.example' }, auth: { secretRef: { secretAccessKeySecretRef: { name: 'k', key: 'k' } } } }, 'spec.provider.gcpsm.endpoints.sts'],
    [providers.alibaba, { regionID: 'cn-hangzhou', endpoint: 'attacker.example', auth: { secretRef: { accessKeyIDSecretRef: { name: 'k', key: 'id' }, accessKeySecretSecretRef: { name: 'k', key: 's' } } } }, 'spec.provider.alibaba.endpoint'],
    [providers.alibaba, { regionID: 'cn-hangzhou', auth: { rrsa: { oidcProviderArn: 'acs:ram::1:oidc-provider/ack', roleArn: 'acs:ram::1:role/r', serviceAccountRef: { name: 'a' }, stsEndpoint: 'https://attacker.example' } } }, 'spec.provider.alibaba.auth.rrsa.stsEndpoint'],
    [providers.azurekv, { vaultUrl: 'https://v.vault.attacker.example', authType: 'WorkloadIdentity', serviceAccountRef: { name: 'a' }, customCloudConfig: { activeDirectoryEndpoint: 'https://login.attacker.example' } }, 'spec.provider.azurekv.customCloudConfig.activeDirectoryEndpoint'],
  ] as const;
  for (const [provider, spec, field] of cases) {
    const violations = tenancyViolations(declaredTenancy((provider as Provider).name, spec), 'SecretStore', DEFAULT_TENANCY_POLICY);
    const endpoint = violations.find((v) => v.rule === TenancyRule.EndpointNotAllowed);
    assert.ok(endpoint, `${field}: ${JSON.stringify(violations)}`);
    assert.match(endpoint.message, new RegExp(`${field.replaceAll('.', '\\.')} names host [a-z.]*attacker\\.example, which is not on the operator's --trusted-endpoint-hosts`));
    assert.deepEqual(rulesOf(provider as Provider, spec, 'SecretStore', { ...DEFAULT_TENANCY_POLICY, trustedEndpointHosts: ['*.attacker.example', 'attacker.example'] }), [], `${field} trusted`);
    assert.deepEqual(rulesOf(provider as Provider, spec, 'ClusterSecretStore'), [], `${field} cluster`);
  }
});

test('plain http to a host other than loopback is refused for every store kind unless --allow-insecure-http', () => {
  const vault = { server: 'http://vault.example.com:8200', auth: { tokenSecretRef: { name: 't', key: 'token' } } };
  assert.deepEqual(rulesOf(providers.vault as Provider, vault, 'ClusterSecretStore'), [TenancyRule.InsecureEndpoint]);
  assert.deepEqual(rulesOf(providers.vault as Provider, vault, 'ClusterSecretStore', { ...DEFAULT_TENANCY_POLICY, allowInsecureHttp: true }), []);
  assert.deepEqual(rulesOf(providers.vault as Provider, { ...vault, server: 'http://127.0.0.1:8200' }, 'SecretStore'), []);
  const aws = { service: 'SecretsManager', region: 'eu-west-1', endpoint: 'http://10.0.0.1:4566', auth: { jwt: { serviceAccountRef: { name: 'a' } } } };
  assert.deepEqual(rulesOf(providers.aws as Provider, aws, 'SecretStore', { ...DEFAULT_TENANCY_POLICY, trustedEndpointHosts: ['10.0.0.1'] }), [TenancyRule.InsecureEndpoint]);
  const message = tenancyViolations(declaredTenancy('vault', vault), 'ClusterSecretStore', DEFAULT_TENANCY_POLICY)[0]!.message;
  assert.match(message, /spec\.provider\.vault\.server uses plain http to vault\.example\.com.*--allow-insecure-http/);
});

test("alibaba's oidcTokenFilePath: never in a SecretStore; in a ClusterSecretStore only a path the operator was started with", () => {
  const spec = ambient.alibaba;
  const file = (kind: StoreKind, policy: TenancyPolicy) => rulesOf(providers.alibaba as Provider, spec, kind, policy).includes(TenancyRule.OperatorFileNotAllowed);
  assert.ok(file('SecretStore', { ...DEFAULT_TENANCY_POLICY, operatorIdentity: 'all', operatorTokenFiles: [spec.auth.rrsa.oidcTokenFilePath] }));
  assert.ok(file('ClusterSecretStore', DEFAULT_TENANCY_POLICY));
  assert.ok(!file('ClusterSecretStore', { ...DEFAULT_TENANCY_POLICY, operatorTokenFiles: [spec.auth.rrsa.oidcTokenFilePath] }));
  const proc = { ...spec, auth: { rrsa: { ...spec.auth.rrsa, oidcTokenFilePath: '/proc/self/environ' } } };
  assert.ok(rulesOf(providers.alibaba as Provider, proc, 'ClusterSecretStore', { ...DEFAULT_TENANCY_POLICY, operatorTokenFiles: ['/var/run/secrets/tokens/rrsa'] }).includes(TenancyRule.OperatorFileNotAllowed));
});

test('the guard refuses before the provider is called: no authentication, no request', async () => {
  let calls = 0;
  const inner: Provider = {
    name: 'gcpsm',
    validateStore: () => ({ warnings: [], errors: [] }),
    newClient: async () => {
      calls++;
      throw new Error('must not be called');
    },
  };
  const guarded = guardProvider(inner, DEFAULT_TENANCY_POLICY);
  const ctx = { storeKind: 'SecretStore', storeName: 's', storeNamespace: 'tenant', namespace: 'tenant' } as StoreContext;
  await assert.rejects(guarded.newClient(ambient.gcpsm, ctx), (err: unknown) => err instanceof TenancyError && err.rule === TenancyRule.OperatorIdentityNotAllowed);
  assert.equal(calls, 0);
  await assert.rejects(guarded.newClient(ambient.gcpsm, { ...ctx, storeKind: 'ClusterSecretStore', storeNamespace: undefined }), /must not be called/);
  assert.equal(calls, 1);
});

test('host matching: exact names, *.suffix, loopback forms', () => {
  assert.ok(hostTrusted('Vault.Internal', ['vault.internal']));
  assert.ok(hostTrusted('a.b.corp.example', ['*.corp.example']));
  assert.ok(!hostTrusted('corp.example', ['*.corp.example']));
  assert.ok(!hostTrusted('evilcorp.example', ['*.corp.example']));
  assert.ok(!hostTrusted('corp.example.attacker.net', ['corp.example']));
  assert.ok(hostTrusted('[::1]', ['::1']));
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]', '::1']) assert.ok(isLoopbackHost(host), host);
  for (const host of ['127.0.0.1.attacker.example', '10.0.0.1', '169.254.169.254', 'localhost.attacker.example']) assert.ok(!isLoopbackHost(host), host);
});

test('a ClusterSecretStore serves generators only what its admin opted in to; never token minting, sys or its own login', async () => {
  const { sharedStoreCallProblem, dotSegmentProblem } = await import('../../../../src/providers/kit/tenancy.ts');
  const forbidden = ['auth/token', 'sys'];
  const optIn = { allowedPathPrefixes: ['database/creds/app', 'pki/issue'], allowedMethods: ['GET', 'POST'] };
  const call = (path: string, extra: Partial<{ method: string; storeKind: StoreKind; returnsCredentials: boolean }> = {}) =>
    sharedStoreCallProblem({ storeKind: 'ClusterSecretStore', storeName: 'admin', method: 'POST', path, returnsCredentials: false, ...extra }, optIn, forbidden);
  assert.equal(call('database/creds/app'), undefined);
  assert.equal(call('/pki/issue/web/'), undefined);
  assert.match(call('database/creds/appx') ?? '', /serves generators only under database\/creds\/app, pki\/issue, not database\/creds\/appx/);
  assert.match(call('auth/token/create') ?? '', /never serves auth\/token\/… to generators/);
  assert.match(call('sys/policies/acl/x', { method: 'PUT' }) ?? '', /never serves sys\/…/);
  assert.match(call('database/creds/app/../../../auth/token/create') ?? '', /has a "\." or "\.\." segment/);
  assert.match(call('database/creds/app', { method: 'PUT' }) ?? '', /only with GET, POST, not PUT/);
  assert.match(call('database/creds/app', { returnsCredentials: true }) ?? '', /never returns its own login \(resultType Auth\)/);
  assert.match(sharedStoreCallProblem({ storeKind: 'ClusterSecretStore', storeName: 'admin', method: 'POST', path: 'database/creds/app', returnsCredentials: false }, undefined, forbidden) ?? '', /does not serve generators \(its spec sets no generators\.allowedPathPrefixes\)/);
  // The namespace's own store is its own identity: anything but dot segments.
  assert.equal(call('auth/token/create', { storeKind: 'SecretStore' }), undefined);
  assert.match(call('a/../b', { storeKind: 'SecretStore' }) ?? '', /segment/);
  assert.equal(dotSegmentProblem('secret/data/app', 'k'), undefined);
  assert.match(dotSegmentProblem('./secret', 'the key') ?? '', /^the key "\.\/secret" has a "\." or "\.\." segment/);
});

test('a Vault remote key with . or .. segments is refused before any request', async () => {
  const { encodePath } = await import('../../../../src/providers/vault/transport.ts');
  assert.equal(encodePath('secret/data/a b'), 'secret/data/a%20b');
  assert.throws(() => encodePath('secret/data/../../sys/raw/core'), /has a "\." or "\.\." segment/);
  assert.throws(() => encodePath('secret/./data'), /segment/);
});
