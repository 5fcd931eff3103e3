// The cert, ldap and iam auth methods' pure decisions: plans (defaults applied in code, referent namespaces, an
// identity without secrets), what each declares to the tenancy rules, the CRD-side rules, and the login each sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { login, planVaultAuth } from '../../../../src/providers/vault/auth.ts';
import { createVaultApi } from '../../../../src/providers/vault/api.ts';
import { validateVaultSpec } from '../../../../src/providers/vault/provider.ts';
import { declaredTenancy, DEFAULT_TENANCY_POLICY, TenancyRule, tenancyViolations } from '../../../../src/providers/kit/tenancy.ts';
import { VaultProviderSchema } from '../../../../src/api/secret-store.ts';
import { storeCompat } from '../../../../src/api/eso-compat.ts';
import type { VaultRequest } from '../../../../src/providers/vault/transport.ts';
import { fakeClock, storeContext } from '../helpers.ts';

const where = { storeKind: 'SecretStore' as const, storeNamespace: 'team-a', namespace: 'team-a' };
const cluster = { storeKind: 'ClusterSecretStore' as const, storeNamespace: undefined, namespace: 'apps' };
const ref = (name: string, key: string, namespace?: string) => ({ name, key, ...(namespace ? { namespace } : {}) });

test('plans: defaults in code, referent namespaces for a ClusterSecretStore, identities without secrets', () => {
  const ldap = planVaultAuth({ ldap: { username: ' alice ', secretRef: ref('ldap', 'password') } }, where);
  assert.deepEqual(ldap.plan, { kind: 'ldap', path: 'ldap', username: 'alice', password: { namespace: 'team-a', name: 'ldap', key: 'password' } });
  assert.equal(planVaultAuth({ ldap: { username: 'alice', secretRef: ref('ldap', 'password') } }, cluster).referent, true);
  assert.equal(planVaultAuth({ ldap: { username: 'alice', secretRef: ref('ldap', 'password', 'ops') } }, cluster).referent, false, 'a namespace named by a ClusterSecretStore');

  const cert = planVaultAuth({ cert: { clientCert: ref('tls', 'tls.crt'), secretRef: ref('tls', 'tls.key'), vaultRole: 'web' } }, where);
  assert.deepEqual(cert.plan, { kind: 'cert', path: 'cert', role: 'web' });
  assert.match(cert.identity, /cert at auth\/cert role web with the certificate in Secret team-a\/tls/);
  assert.equal(planVaultAuth({ cert: { clientCert: ref('tls', 'tls.crt'), secretRef: ref('tls', 'tls.key') } }, cluster).referent, true);

  const irsa = planVaultAuth({ iam: { vaultRole: 'app', jwt: { serviceAccountRef: { name: 'vault' } } } }, where);
  assert.equal(irsa.plan.kind, 'iam');
  if (irsa.plan.kind !== 'iam') return;
  assert.equal(irsa.plan.path, 'aws');
  assert.equal(irsa.plan.region, 'us-east-1');
  assert.deepEqual(irsa.plan.credentials, { from: 'serviceAccount', serviceAccount: { namespace: 'team-a', name: 'vault' }, audiences: ['sts.amazonaws.com'] });
  assert.equal(irsa.plan.sessionName, 'secret-relay-vault.team-a');
  assert.match(irsa.identity, /aws iam role app at auth\/aws as ServiceAccount team-a\/vault/);
  assert.equal(planVaultAuth({ iam: { vaultRole: 'app', jwt: { serviceAccountRef: { name: 'vault' } } } }, cluster).referent, true);
  const keys = planVaultAuth({ iam: { vaultRole: 'app', secretRef: { accessKeyIDSecretRef: ref('aws', 'id'), secretAccessKeySecretRef: ref('aws', 'secret') } } }, where);
  assert.doesNotMatch(keys.identity, /secret-key/);
  assert.throws(() => planVaultAuth({ iam: { vaultRole: 'app', jwt: {} } }, where), /iam\.jwt needs serviceAccountRef/);
});

test('tenancy: iam without jwt or secretRef, gcp without workloadIdentity or secretRef are the operator\'s identity; STS/IAM endpoints are overrides', () => {
  const rules = (spec: unknown, kind: 'SecretStore' | 'ClusterSecretStore') => tenancyViolations(declaredTenancy('vault', spec), kind, DEFAULT_TENANCY_POLICY).map((v) => v.rule);
  const ambient = { server: 'https://vault.example.com', auth: { iam: { vaultRole: 'app' } } };
  assert.deepEqual(rules(ambient, 'SecretStore'), [TenancyRule.OperatorIdentityNotAllowed]);
  assert.deepEqual(rules(ambient, 'ClusterSecretStore'), []);
  const own = { server: 'https://vault.example.com', auth: { iam: { vaultRole: 'app', jwt: { serviceAccountRef: { name: 'vault' } } } } };
  assert.deepEqual(rules(own, 'SecretStore'), []);
  const exfil = { server: 'https://vault.example.com', auth: { iam: { vaultRole: 'app', stsEndpoint: 'http://sts.attacker.example', jwt: { serviceAccountRef: { name: 'vault' } } } } };
  assert.deepEqual(rules(exfil, 'SecretStore'), [TenancyRule.EndpointNotAllowed, TenancyRule.InsecureEndpoint]);
  const gce = { server: 'https://vault.example.com', auth: { gcp: { role: 'r' } } };
  assert.deepEqual(rules(gce, 'SecretStore'), [TenancyRule.OperatorIdentityNotAllowed]);
  const gcpExfil = { server: 'https://vault.example.com', auth: { gcp: { role: 'r', endpoints: { iamCredentials: 'https://iam.attacker.example' }, secretRef: { secretAccessKeySecretRef: ref('k', 'key.json') } } } };
  assert.deepEqual(rules(gcpExfil, 'SecretStore'), [TenancyRule.EndpointNotAllowed]);
  for (const auth of [{ gcp: { role: 'r', secretRef: { secretAccessKeySecretRef: ref('k', 'key.json') } } }, { ldap: { username: 'a', secretRef: ref('s', 'k') } }, { cert: { clientCert: ref('s', 'c'), secretRef: ref('s', 'k') } }]) {
    assert.deepEqual(rules({ server: 'https://vault.example.com', auth }, 'SecretStore'), [], JSON.stringify(auth));
  }
});

test('schema and validation: ESO manifests accepted, half a certificate pair and cert auth over http refused, no defaults written', () => {
  const eso = VaultProviderSchema.safeParse({
    server: 'http://my.vault.server:8200',
    auth: { iam: { path: 'aws', region: 'us-east-1', role: 'arn:aws:iam::1234567890:role/role-a', vaultRole: 'v', vaultAwsIamServerID: 'id', secretRef: { accessKeyIDSecretRef: ref('c', 'a'), secretAccessKeySecretRef: ref('c', 's') } } },
  });
  assert.ok(eso.success, "ESO's own iam snippet (a 10-digit account) parses");
  const parsed = VaultProviderSchema.parse({ server: 'https://v.example.com', auth: { ldap: { username: 'a', secretRef: ref('s', 'k') } } });
  assert.equal(parsed.auth.ldap?.path, undefined, 'no default path written');
  assert.equal(VaultProviderSchema.safeParse({ server: 'https://v.example.com', auth: { cert: { clientCert: ref('s', 'c') } } }).success, false);
  assert.equal(VaultProviderSchema.safeParse({ server: 'https://v.example.com', auth: { iam: { vaultRole: 'v', jwt: { serviceAccountRef: { name: 'x' } }, secretRef: { accessKeyIDSecretRef: ref('c', 'a'), secretAccessKeySecretRef: ref('c', 's') } } } }).success, false);
  assert.match(validateVaultSpec({ server: 'http://127.0.0.1:8200', auth: { cert: { clientCert: ref('s', 'c'), secretRef: ref('s', 'k') } } }).errors.join(), /needs an https:\/\/ server/);
  const compat = (auth: object) => storeCompat({ provider: { vault: { server: 'https://v', auth } } } as never, false).errors;
  assert.deepEqual(compat({ ldap: { username: 'a', secretRef: ref('s', 'k') } }), []);
  assert.deepEqual(compat({ iam: { vaultRole: 'v' } }), []);
  assert.deepEqual(compat({ gcp: { role: 'r', workloadIdentity: { serviceAccountRef: { name: 'sa' } } } }), []);
  const gce = validateVaultSpec({ server: 'https://v.example.com', auth: { gcp: { role: 'r', serviceAccountRef: { name: 'sa' } } } }).errors.join();
  assert.match(gce, /needs workloadIdentity or secretRef: the GCE login .* operator's own Google identity/);
  const noCluster = validateVaultSpec({ server: 'https://v.example.com', auth: { gcp: { role: 'r', workloadIdentity: { serviceAccountRef: { name: 'sa' } } } } }).errors.join();
  assert.match(noCluster, /needs clusterProjectID, clusterLocation and clusterName/);
});

test('logins: ldap posts the password to login/<user>; cert sends the role as name; iam a signed GetCallerIdentity', async () => {
  const seen: VaultRequest[] = [];
  const api = createVaultApi(async (request) => {
    seen.push(request);
    return { status: 200, body: { auth: { client_token: 't', lease_duration: 60, renewable: true } } };
  });
  const ctx = storeContext({
    kube: {
      ...storeContext().kube,
      readSecretKey: async (r) => new TextEncoder().encode(`${r.name}/${r.key}`),
    },
  });
  const deps = { api, ctx, clock: fakeClock() };
  const signal = AbortSignal.timeout(5000);
  await login(planVaultAuth({ ldap: { path: 'corp-ldap', username: 'alice', secretRef: ref('ldap', 'password') } }, where).plan, deps, signal);
  assert.equal(seen[0]!.path, 'auth/corp-ldap/login/alice');
  assert.deepEqual(seen[0]!.body, { password: 'ldap/password' });
  await login(planVaultAuth({ cert: { clientCert: ref('tls', 'c'), secretRef: ref('tls', 'k'), vaultRole: 'web' } }, where).plan, deps, signal);
  assert.equal(seen[1]!.path, 'auth/cert/login');
  assert.deepEqual(seen[1]!.body, { name: 'web' });
  await login(planVaultAuth({ iam: { vaultRole: 'app', region: 'eu-west-1', secretRef: { accessKeyIDSecretRef: ref('aws', 'id'), secretAccessKeySecretRef: ref('aws', 'secret') } } }, where).plan, deps, signal);
  const body = seen[2]!.body as Record<string, string>;
  assert.equal(seen[2]!.path, 'auth/aws/login');
  assert.equal(body['role'], 'app');
  assert.equal(Buffer.from(body['iam_request_url']!, 'base64').toString(), 'https://sts.eu-west-1.amazonaws.com/');
  const headers = JSON.parse(Buffer.from(body['iam_request_headers']!, 'base64').toString()) as Record<string, string[]>;
  assert.match(headers['authorization']![0]!, /^AWS4-HMAC-SHA256 Credential=aws\/id\/\d{8}\/eu-west-1\/sts\/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=[0-9a-f]{64}$/);
  assert.ok(!JSON.stringify(body).includes('aws/secret'), 'the secret key itself is never sent');
});

test('clientPartition of a spec that cannot log in does not throw (newClient says why)', async () => {
  const { createVaultProvider } = await import('../../../../src/providers/vault/provider.ts');
  const provider = createVaultProvider();
  const spec = { server: 'https://v.example.com', auth: { gcp: { role: 'r' } } } as never;
  assert.equal(provider.clientPartition?.(spec, { storeKind: 'ClusterSecretStore', namespace: 'apps' }), undefined);
  await assert.rejects(provider.newClient(spec, storeContext()), /needs workloadIdentity or secretRef/);
});
