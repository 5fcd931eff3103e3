// Vault AWS IAM auth (spec.provider.vault.auth.iam): the store signs sts:GetCallerIdentity with its own AWS identity
// — its ServiceAccount's IRSA role (AssumeRoleWithWebIdentity at moto, the token verified against the cluster's
// keys), or keys from its Secrets with a role assumed — and Vault's real AWS auth method, running as an external
// plugin in a real OpenBao (test/vault-plugins/aws, built by test/setup/install-vault-plugins.sh: OpenBao's binary
// has no AWS auth method), replays the signed request to moto's STS, resolves the bound role in moto's IAM and logs
// in the caller's role. The signature itself is checked against botocore, an AWS client the operator does not use.
// Attacked as a tenant would: the operator's AWS identity from a namespaced store, another namespace's
// ServiceAccount, another server's ID header, a role the store's identity is not bound to, a foreign STS endpoint.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { repoRoot } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { startOpenBao, type OpenBao } from '../support/openbao.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { startStsWebIdentityCheck, type StsWebIdentityCheck } from '../support/sts-web-identity-check.ts';
import { adminKube, createObject, Plural, startTestOperator, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { createVaultProvider } from '../../src/providers/vault/provider.ts';
import { signedIamLoginBody } from '../../src/providers/vault/auth-iam.ts';
import { createFakeProvider } from '../../src/providers/fake/provider.ts';

const execFileP = promisify(execFile);
const python = (script: string, ...args: string[]) => execFileP(path.join(repoRoot, '.venv/bin/python'), ['-c', script, ...args], { timeout: 60_000 });
/** The name the dev server registers test/vault-plugins/aws under (its file name). */
const AWS_PLUGIN = 'vault-plugin-auth-aws';
/** --service-account-issuer of the test control plane (test/support/cluster.ts). */
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const ACCOUNT = '123456789012';
const SERVER_ID = 'vault.example.test';
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

let cluster: LocalCluster;
let kube: TestKube;
let moto: Moto;
let check: StsWebIdentityCheck;
let bao: OpenBao;
let op: TestOperator;
let operatorCredentialCalls = 0;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('vault-iam');

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  moto = await startMoto();
  check = await startStsWebIdentityCheck({ upstream: moto.endpoint, kubeconfigPath: cluster.kubeconfigPath, issuer: ISSUER });
  bao = await startOpenBao({ plugins: { directory: path.join(repoRoot, '.cache/vault-plugins'), installer: 'test/setup/install-vault-plugins.sh', names: [AWS_PLUGIN] } });
  for (const team of ['a', 'b', 'ops']) {
    await bao.api('PUT', `sys/policies/acl/read-iam-${team}`, { policy: `path "secret/data/iam/${team}/*" { capabilities = ["read"] }` });
  }
  // The roles the Vault roles bind, in moto's IAM: Vault resolves a bound ARN to the role's unique ID there and
  // matches the ID STS answers at login (resolve_aws_unique_ids). Created with boto3, a client the operator does not use.
  await python(
    [
      'import sys, boto3',
      "iam = boto3.client('iam', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='AKIAADMIN00000000000', aws_secret_access_key='admin')",
      "for name in ('team-a', 'team-b'): iam.create_role(RoleName=name, AssumeRolePolicyDocument='{}')",
    ].join('\n'),
    moto.endpoint,
  );
  await bao.api('POST', 'sys/auth/aws', { type: AWS_PLUGIN });
  await bao.api('POST', 'auth/aws/config/client', {
    sts_endpoint: moto.endpoint,
    sts_region: 'us-east-1',
    iam_endpoint: moto.endpoint,
    // Vault's own AWS identity (for IAM GetRole), not the store's.
    access_key: 'AKIAVAULTSERVER00000',
    secret_key: 'vault-server-secret-key',
    iam_server_id_header_value: SERVER_ID,
  });
  // The caller's ARN on the token, so the test sees whose identity logged in.
  await bao.api('POST', 'auth/aws/config/identity', { iam_metadata: ['account_id', 'auth_type', 'client_arn'] });
  for (const team of ['a', 'b']) {
    await bao.api('POST', `auth/aws/role/team-${team}`, { auth_type: 'iam', bound_iam_principal_arn: [role(`team-${team}`)], token_policies: [`read-iam-${team}`] });
  }
  // moto answers GetCallerIdentity for keys it never issued as its default user, which its IAM does not hold: bound by ARN only.
  await bao.api('POST', 'auth/aws/role/operator', { auth_type: 'iam', bound_iam_principal_arn: [`arn:aws:iam::${ACCOUNT}:user/moto`], resolve_aws_unique_ids: false, token_policies: ['read-iam-ops'] });
  op = await startTestOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    args: ['--leader-elect=false', '--concurrency=4'],
    providers: [
      createVaultProvider({
        // Stands for the operator pod's ambient AWS identity (instance role, its own IRSA): counted, so a refused store is seen not to reach it.
        operatorAwsCredentials: () => {
          operatorCredentialCalls++;
          return Promise.resolve({ accessKeyId: 'AKIAOPERATOR00000000', secretAccessKey: secrets.add('operator-secret-key-0000000000000000000') });
        },
      }),
      createFakeProvider(),
    ],
  });
});

after(async () => {
  await stopTestOperator(op, 'vault-auth-iam');
  await bao?.stop();
  await check?.stop();
  await moto?.stop();
  await cluster?.stop();
});

/** The tokens OpenBao issued through the AWS auth method: whose identity (client_arn) got which policies. */
async function awsLogins(): Promise<{ arn: string; policies: string[] }[]> {
  const listed = await bao.api('LIST', 'auth/token/accessors');
  const logins: { arn: string; policies: string[] }[] = [];
  for (const accessor of (listed?.['data'] as { keys: string[] }).keys) {
    const token = (await bao.api('POST', 'auth/token/lookup-accessor', { accessor }))?.['data'] as { path: string; meta: Record<string, string> | null; policies: string[] };
    if (token.path === 'auth/aws/login') logins.push({ arn: token.meta?.['client_arn'] ?? '', policies: token.policies });
  }
  return logins;
}

function iamStore(name: string, iam: Record<string, unknown>, kind: 'SecretStore' | 'ClusterSecretStore' = 'SecretStore') {
  return {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind,
    metadata: { name },
    spec: { provider: { vault: { server: bao.address, path: 'secret', version: 'v2', auth: { iam: { path: 'aws', region: 'us-east-1', vaultAwsIamServerID: SERVER_ID, stsEndpoint: check.endpoint, ...iam } } } } },
  };
}

function externalSecret(name: string, storeName: string, key: string, kind = 'SecretStore') {
  return {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name },
    spec: { secretStoreRef: { name: storeName, kind }, refreshInterval: '1h', data: [{ secretKey: 'password', remoteRef: { key, property: 'password' } }] },
  };
}

async function serviceAccount(ns: string, name: string, roleArn: string): Promise<void> {
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name, annotations: { 'eks.amazonaws.com/role-arn': roleArn } } } });
}

test('the signed GetCallerIdentity carries the signature botocore computes for the same request', async () => {
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token-example' };
  const now = new Date('2026-12-06T04:00:00Z');
  const body = await signedIamLoginBody({ region: 'eu-west-1', serverId: SERVER_ID, vaultRole: 'team-a' }, credentials, now);
  const decode = (value: string) => Buffer.from(value, 'base64').toString('utf8');
  const headers = JSON.parse(decode(body['iam_request_headers']!)) as Record<string, string[]>;
  assert.equal(decode(body['iam_request_url']!), 'https://sts.eu-west-1.amazonaws.com/');
  assert.equal(decode(body['iam_request_body']!), 'Action=GetCallerIdentity&Version=2011-06-15');
  assert.equal(body['iam_http_request_method'], 'POST');
  assert.equal(body['role'], 'team-a');
  const ours = Object.entries(headers).find(([name]) => name.toLowerCase() === 'authorization')?.[1][0];
  assert.match(ours ?? '', /SignedHeaders=[^,]*x-vault-aws-iam-server-id/, 'the server ID header is signed');
  const script = [
    'import json, sys, datetime',
    'from unittest import mock',
    'from botocore.auth import SigV4Auth',
    'from botocore.awsrequest import AWSRequest',
    'from botocore.credentials import Credentials',
    'a = json.loads(sys.argv[1])',
    "req = AWSRequest(method='POST', url=a['url'], data=a['body'], headers={'Content-Type': a['contentType'], 'X-Vault-AWS-IAM-Server-ID': a['serverId']})",
    "with mock.patch('botocore.auth.get_current_datetime', return_value=datetime.datetime(2026, 12, 6, 4, 0, 0)):",
    "    SigV4Auth(Credentials(a['id'], a['secret'], a['token']), 'sts', 'eu-west-1').add_auth(req)",
    "print(req.headers['Authorization'])",
  ].join('\n');
  const input = {
    url: decode(body['iam_request_url']!),
    body: decode(body['iam_request_body']!),
    contentType: Object.entries(headers).find(([name]) => name.toLowerCase() === 'content-type')![1][0],
    serverId: SERVER_ID,
    id: credentials.accessKeyId,
    secret: credentials.secretAccessKey,
    token: credentials.sessionToken,
  };
  const { stdout } = await python(script, JSON.stringify(input));
  assert.equal(ours, stdout.trim());
});

test('iam auth with the store\'s own IRSA role: the ServiceAccount token goes to STS, Vault logs in role team-a, the value syncs', async () => {
  const value = secrets.next('iam-a');
  await bao.api('POST', 'secret/data/iam/a/db', { data: { password: value } });
  const ns = await namespaces.create(kube);
  await serviceAccount(ns, 'vault-a', role('team-a'));
  await createObject(kube, Plural.SecretStore, iamStore('vault', { vaultRole: 'team-a', jwt: { serviceAccountRef: { name: 'vault-a' } } }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'vault', status: 'True' }, 60_000);
  await createObject(kube, Plural.ExternalSecret, externalSecret('app', 'vault', 'iam/a/db'), ns);
  await waitSecretData(kube, ns, 'app', { password: value }, 60_000);

  const exchange = check.exchanges.find((e) => e.subject === `system:serviceaccount:${ns}:vault-a`);
  assert.ok(exchange, 'a token of the store\'s own ServiceAccount was exchanged');
  assert.equal(exchange.refused, undefined, 'and verified as STS would (signature, issuer, audience)');
  assert.equal(exchange.roleArn, role('team-a'));
  assert.deepEqual(exchange.audiences, ['sts.amazonaws.com']);
  const login = (await awsLogins()).find((l) => l.policies.includes('read-iam-a'));
  assert.match(login?.arn ?? '', new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/team-a/secret-relay-vault\\.${ns}$`), 'Vault logged in the store\'s own role session');
  assert.equal(operatorCredentialCalls, 0, "the operator's own AWS identity was not used");
});

test('iam auth with keys from the store\'s Secret and a role assumed with them (team-b)', async () => {
  const value = secrets.next('iam-b');
  await bao.api('POST', 'secret/data/iam/b/db', { data: { password: value } });
  const ns = await namespaces.create(kube);
  await kube.core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'aws' }, stringData: { id: 'AKIASTATIC0000000000', secret: secrets.add('static-secret-key-000000000000000000000') } },
  });
  await createObject(
    kube,
    Plural.SecretStore,
    iamStore('vault', {
      vaultRole: 'team-b',
      role: role('team-b'),
      secretRef: { accessKeyIDSecretRef: { name: 'aws', key: 'id' }, secretAccessKeySecretRef: { name: 'aws', key: 'secret' } },
    }),
    ns,
  );
  await createObject(kube, Plural.ExternalSecret, externalSecret('app', 'vault', 'iam/b/db'), ns);
  await waitSecretData(kube, ns, 'app', { password: value }, 60_000);
  assert.ok((await awsLogins()).some((l) => l.policies.includes('read-iam-b') && l.arn.startsWith(`arn:aws:sts::${ACCOUNT}:assumed-role/team-b/`)), 'Vault logged in the role assumed with the Secret\'s keys');
});

test('iam auth attacked as a tenant', async () => {
  const victim = await namespaces.create(kube);
  const attacker = await namespaces.create(kube);
  await serviceAccount(victim, 'vault-a', role('team-a'));
  await serviceAccount(attacker, 'own', role('team-b'));
  const opsValue = secrets.next('iam-ops');
  await bao.api('POST', 'secret/data/iam/ops/db', { data: { password: opsValue } });

  // 1. No jwt or secretRef in a SecretStore: the operator's own AWS identity, refused before any AWS call.
  await createObject(kube, Plural.SecretStore, iamStore('as-operator', { vaultRole: 'operator' }), attacker);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: attacker, name: 'as-operator', status: 'False', message: /OperatorIdentityNotAllowed: spec\.provider\.vault\.auth\.iam without jwt or secretRef/ }, 60_000);
  await createObject(kube, Plural.ExternalSecret, externalSecret('as-operator', 'as-operator', 'iam/ops/db'), attacker);
  await waitReady(kube, { namespace: attacker, name: 'as-operator', status: 'False' }, 60_000);
  assert.equal(operatorCredentialCalls, 0, "a SecretStore never reaches the operator's AWS credentials");

  // 2. Another namespace's ServiceAccount (the victim's IRSA role): refused by the store's kube access.
  await createObject(kube, Plural.SecretStore, iamStore('steal', { vaultRole: 'team-a', jwt: { serviceAccountRef: { name: 'vault-a', namespace: victim } } }), attacker);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: attacker, name: 'steal', status: 'False', message: /may not use ServiceAccount vault-a in namespace/ }, 60_000);

  // 3. Its own identity, but the login signed for another Vault server (a replayed request): refused by the server-ID check.
  await createObject(kube, Plural.SecretStore, iamStore('replay', { vaultRole: 'team-b', vaultAwsIamServerID: 'attacker.example', jwt: { serviceAccountRef: { name: 'own' } } }), attacker);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: attacker, name: 'replay', status: 'False', message: /X-Vault-AWS-IAM-Server-ID/ }, 60_000);

  // 4. Its own identity claiming a Vault role bound to another principal: refused by the role binding.
  await createObject(kube, Plural.SecretStore, iamStore('claim', { vaultRole: 'team-a', jwt: { serviceAccountRef: { name: 'own' } } }), attacker);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: attacker, name: 'claim', status: 'False', message: /does not belong to the role "team-a"/ }, 60_000);

  // 5. An STS endpoint of the tenant's choosing would receive the ServiceAccount token: not a trusted host.
  await createObject(kube, Plural.SecretStore, iamStore('exfil', { vaultRole: 'team-b', stsEndpoint: 'https://sts.attacker.example', jwt: { serviceAccountRef: { name: 'own' } } }), attacker);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: attacker, name: 'exfil', status: 'False', message: /EndpointNotAllowed: spec\.provider\.vault\.auth\.iam\.stsEndpoint/ }, 60_000);
  assert.ok(!check.exchanges.some((e) => e.subject === `system:serviceaccount:${victim}:vault-a`), "the victim's ServiceAccount token was never minted for the attacker");

  // The admin's ClusterSecretStore may act as the operator (the default --operator-identity=cluster-stores).
  const cluster = `vault-iam-operator-${attacker}`;
  await createObject(kube, Plural.ClusterSecretStore, iamStore(cluster, { vaultRole: 'operator' }, 'ClusterSecretStore'));
  const ns = await namespaces.create(kube);
  await createObject(kube, Plural.ExternalSecret, externalSecret('ops', cluster, 'iam/ops/db', 'ClusterSecretStore'), ns);
  await waitSecretData(kube, ns, 'ops', { password: opsValue }, 60_000);
  assert.ok(operatorCredentialCalls > 0, "the ClusterSecretStore logged in with the operator's identity");
  for (const name of ['as-operator']) {
    assert.equal(await kube.core.readNamespacedSecret({ namespace: attacker, name }).catch(() => undefined), undefined, `no Secret ${name} from a refused store`);
  }
});

test('no secret value or AWS key in logs, Events or statuses', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets, atLeast: 4 });
});
