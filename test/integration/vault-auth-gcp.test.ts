// Vault GCP auth, iam type (spec.provider.vault.auth.gcp): the store signs the login JWT as a Google service account
// of its own — through GKE Workload Identity of its ServiceAccount (token → the GCP fake's STS, which verifies it
// against the cluster's keys → generateAccessToken → signJwt), or with a key from its Secret. The login goes to
// HashiCorp's vault-plugin-auth-gcp itself, running as an external plugin in a real OpenBao (test/vault-plugins/gcp,
// built by test/setup/install-vault-plugins.sh: OpenBao's binary has no GCP auth method), with its custom endpoints at
// the GCP fake: it fetches the signing key's X.509 certificate, checks aud vault/ROLE and expiry, gets the service
// account with IAM (as its own Google identity, a key file through ADC) and matches the role's bound accounts.
// Attacked as a tenant would: the operator's Google identity
// (GCE login), another namespace's ServiceAccount, a Google service account the store is not bound to, a role the
// account is not bound to, a foreign STS endpoint.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { repoRoot, type LocalCluster } from '../support/cluster.ts';
import { passwordExternalSecret } from '../support/vault-auth.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { startOpenBao, type OpenBao } from '../support/openbao.ts';
import { startGoogleIdentity, type GoogleIdentity } from '../fakes/gcp/iam.ts';
import { adminKube, createObject, Plural, startTestOperator, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { createVaultProvider } from '../../src/providers/vault/provider.ts';
import { signWithKey } from '../../src/providers/vault/auth-gcp.ts';
import { createFakeProvider } from '../../src/providers/fake/provider.ts';

const execFileP = promisify(execFile);
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const PROJECT = 'relay-vault';
const CLUSTER = { clusterProjectID: PROJECT, clusterLocation: 'europe-west1', clusterName: 'relay' };
const gsa = (name: string) => `${name}@${PROJECT}.iam.gserviceaccount.com`;
/** The name the dev server registers test/vault-plugins/gcp under (its file name). */
const GCP_PLUGIN = 'vault-plugin-auth-gcp';
const pluginDir = path.join(repoRoot, '.cache/vault-plugins');

let cluster: LocalCluster;
let kube: TestKube;
let google: GoogleIdentity;
let bao: OpenBao;
let adcDir: string;
let op: TestOperator;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('vault-gcp');

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  google = await startGoogleIdentity({ kubeconfigPath: cluster.kubeconfigPath, issuer: ISSUER });
  google.addProject(PROJECT, '739104628451');
  google.addGkeCluster({ projectID: PROJECT, location: CLUSTER.clusterLocation, name: CLUSTER.clusterName });
  for (const name of ['team-a', 'team-b', 'keyed']) {
    google.createServiceAccount(gsa(name));
    // Vault's iam login needs the account to sign JWTs as itself (roles/iam.serviceAccountTokenCreator on itself).
    google.bindTokenCreator(gsa(name), `serviceAccount:${gsa(name)}`);
  }
  bao = await startOpenBao({ plugins: { directory: pluginDir, installer: 'test/setup/install-vault-plugins.sh', names: [GCP_PLUGIN] } });
  for (const team of ['a', 'keyed']) {
    await bao.api('PUT', `sys/policies/acl/read-gcp-${team}`, { policy: `path "secret/data/gcp/${team}/*" { capabilities = ["read"] }` });
  }
  // Vault's own Google identity (to read service accounts with IAM): a key file found through Application Default
  // Credentials, since the method's `credentials` setting keeps no token_uri. Set on the plugin's catalog entry, as an
  // operator of Vault would.
  google.createServiceAccount(gsa('vault-server'));
  google.grantServiceAccountViewer(`serviceAccount:${gsa('vault-server')}`);
  adcDir = await mkdtemp(path.join(os.tmpdir(), 'vault-gcp-adc-'));
  await writeFile(path.join(adcDir, 'adc.json'), JSON.stringify({ ...google.createServiceAccountKey(gsa('vault-server')), token_uri: google.oauthTokenUri }), { mode: 0o600 });
  const sha256 = createHash('sha256').update(await readFile(path.join(pluginDir, GCP_PLUGIN))).digest('hex');
  await bao.api('PUT', `sys/plugins/catalog/auth/${GCP_PLUGIN}`, { sha256, command: GCP_PLUGIN, env: [`GOOGLE_APPLICATION_CREDENTIALS=${path.join(adcDir, 'adc.json')}`] });
  await bao.api('POST', 'sys/auth/gcp', { type: GCP_PLUGIN });
  await bao.api('POST', 'auth/gcp/config', { custom_endpoint: { api: google.googleApisEndpoint, iam: google.iamAdminEndpoint } });
  await bao.api('POST', 'auth/gcp/role/team-a', { type: 'iam', bound_service_accounts: [gsa('team-a')], token_policies: ['read-gcp-a'] });
  await bao.api('POST', 'auth/gcp/role/keyed', { type: 'iam', bound_service_accounts: [gsa('keyed')], token_policies: ['read-gcp-keyed'] });
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false', '--concurrency=4'], providers: [createVaultProvider(), createFakeProvider()] });
});

after(async () => {
  await stopTestOperator(op, 'vault-auth-gcp');
  await bao?.stop();
  if (adcDir) await rm(adcDir, { recursive: true, force: true });
  await google?.stop();
  await cluster?.stop();
});

/** The tokens OpenBao issued through the GCP auth method: which Vault role, as which Google service account. */
async function gcpLogins(): Promise<{ role: string; email: string; policies: string[] }[]> {
  const listed = await bao.api('LIST', 'auth/token/accessors');
  const logins: { role: string; email: string; policies: string[] }[] = [];
  for (const accessor of (listed?.['data'] as { keys: string[] }).keys) {
    const token = (await bao.api('POST', 'auth/token/lookup-accessor', { accessor }))?.['data'] as { path: string; meta: Record<string, string> | null; policies: string[] };
    if (token.path === 'auth/gcp/login') logins.push({ role: token.meta?.['role'] ?? '', email: token.meta?.['service_account_email'] ?? '', policies: token.policies });
  }
  return logins;
}

function gcpStore(name: string, gcp: Record<string, unknown>) {
  return {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name },
    spec: { provider: { vault: { server: bao.address, path: 'secret', version: 'v2', auth: { gcp: { endpoints: { sts: google.stsEndpoint, iamCredentials: google.iamEndpoint }, ...gcp } } } } },
  };
}

async function workloadServiceAccount(ns: string, name: string, google: string): Promise<void> {
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name, annotations: { 'iam.gke.io/gcp-service-account': google } } } });
}

test("gcp auth with the store's GKE Workload Identity: signJwt as its Google service account, Vault logs in role team-a", async () => {
  const value = secrets.next('gcp-a');
  await bao.api('POST', 'secret/data/gcp/a/db', { data: { password: value } });
  const ns = await namespaces.create(kube);
  await workloadServiceAccount(ns, 'vault', gsa('team-a'));
  google.bindWorkloadIdentityUser(gsa('team-a'), google.gkeMember(PROJECT, ns, 'vault'));
  await createObject(kube, Plural.SecretStore, gcpStore('vault', { role: 'team-a', workloadIdentity: { serviceAccountRef: { name: 'vault' }, ...CLUSTER } }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'vault', status: 'True' }, 60_000);
  await createObject(kube, Plural.ExternalSecret, passwordExternalSecret('app', 'vault', 'gcp/a/db'), ns);
  await waitSecretData(kube, ns, 'app', { password: value }, 60_000);
  assert.ok(google.exchanges.some((e) => e.subject === `system:serviceaccount:${ns}:vault` && e.refused === undefined), "the store's own ServiceAccount token was exchanged");
  assert.ok(google.signedJwts.some((s) => s.email === gsa('team-a') && s.allowed));
  assert.ok((await gcpLogins()).some((l) => l.role === 'team-a' && l.email === gsa('team-a') && l.policies.includes('read-gcp-a')), 'Vault logged in role team-a as the store\'s Google service account');
});

test("gcp auth with a service-account key from the store's Secret: the JWT signed with the key", async () => {
  const value = secrets.next('gcp-keyed');
  await bao.api('POST', 'secret/data/gcp/keyed/db', { data: { password: value } });
  const key = google.createServiceAccountKey(gsa('keyed'));
  secrets.add(key.private_key.split('\n')[2]!);
  const ns = await namespaces.create(kube);
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'gcp-key' }, stringData: { 'key.json': JSON.stringify(key) } } });
  await createObject(kube, Plural.SecretStore, gcpStore('vault', { role: 'keyed', secretRef: { secretAccessKeySecretRef: { name: 'gcp-key', key: 'key.json' } } }), ns);
  await createObject(kube, Plural.ExternalSecret, passwordExternalSecret('app', 'vault', 'gcp/keyed/db'), ns);
  await waitSecretData(kube, ns, 'app', { password: value }, 60_000);

  assert.ok((await gcpLogins()).some((l) => l.role === 'keyed' && l.email === gsa('keyed') && l.policies.includes('read-gcp-keyed')), 'Vault logged in role keyed as the key\'s service account');

  // The login JWT the store signs with a key, verified by google-auth (Google's Python library, a client the operator
  // does not use) with the certificate Google publishes for the key (the fake's x509 metadata, which Vault read too).
  const jwt = signWithKey(key, 'keyed', Date.now());
  const certificates = (await (await fetch(`${google.googleApisEndpoint}/service_accounts/v1/metadata/x509/${encodeURIComponent(gsa('keyed'))}?alt=json`)).json()) as Record<string, string>;
  const script = 'import sys, json\nfrom google.auth import jwt\nprint(json.dumps(jwt.decode(sys.argv[1], certs=json.loads(sys.argv[2]), audience=sys.argv[3])))';
  const { stdout } = await execFileP(path.join(repoRoot, '.cache/venv-gcp/bin/python'), ['-c', script, jwt, JSON.stringify(certificates), 'vault/keyed'], { timeout: 30_000 });
  const claims = JSON.parse(stdout) as { sub: string; exp: number; iat: number };
  assert.equal(claims.sub, gsa('keyed'));
  assert.ok(claims.exp - claims.iat <= 900, 'within Vault\'s default max_jwt_exp');
});

test('gcp auth attacked as a tenant', async () => {
  const victim = await namespaces.create(kube);
  const attacker = await namespaces.create(kube);
  await workloadServiceAccount(victim, 'vault', gsa('team-a'));
  google.bindWorkloadIdentityUser(gsa('team-a'), google.gkeMember(PROJECT, victim, 'vault'));
  // The attacker's own ServiceAccount, annotated with the victim's Google service account, but never bound to it.
  await workloadServiceAccount(attacker, 'own', gsa('team-a'));
  await workloadServiceAccount(attacker, 'b', gsa('team-b'));
  google.bindWorkloadIdentityUser(gsa('team-b'), google.gkeMember(PROJECT, attacker, 'b'));

  // 1. The GCE login (the operator's metadata server identity): refused, said on the store (the tenancy rule declares it too).
  await createObject(kube, Plural.SecretStore, gcpStore('as-operator', { role: 'team-a', serviceAccountRef: { name: 'own' } }), attacker);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: attacker, name: 'as-operator', status: 'False', message: /needs workloadIdentity or secretRef: the GCE login .* the operator's own Google identity/ }, 60_000);

  // 2. The victim's ServiceAccount: refused by the store's kube access.
  await createObject(kube, Plural.SecretStore, gcpStore('steal', { role: 'team-a', workloadIdentity: { serviceAccountRef: { name: 'vault', namespace: victim }, ...CLUSTER } }), attacker);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: attacker, name: 'steal', status: 'False', message: /may not use ServiceAccount vault in namespace/ }, 60_000);

  // 3. Its own ServiceAccount annotated with the victim's Google service account: Google refuses the impersonation.
  await createObject(kube, Plural.SecretStore, gcpStore('annotated', { role: 'team-a', workloadIdentity: { serviceAccountRef: { name: 'own' }, ...CLUSTER } }), attacker);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: attacker, name: 'annotated', status: 'False', message: /generateAccessToken .*PERMISSION_DENIED|getAccessToken' denied/ }, 60_000);

  // 4. Its own Google service account claiming a Vault role bound to another: Vault refuses.
  await createObject(kube, Plural.SecretStore, gcpStore('claim', { role: 'team-a', workloadIdentity: { serviceAccountRef: { name: 'b' }, ...CLUSTER } }), attacker);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: attacker, name: 'claim', status: 'False', message: /is not authorized for role/ }, 60_000);

  // 5. An STS of the tenant's choosing would receive the ServiceAccount token.
  await createObject(kube, Plural.SecretStore, gcpStore('exfil', { role: 'team-a', endpoints: { sts: 'https://sts.attacker.example' }, workloadIdentity: { serviceAccountRef: { name: 'b' }, ...CLUSTER } }), attacker);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: attacker, name: 'exfil', status: 'False', message: /EndpointNotAllowed: spec\.provider\.vault\.auth\.gcp\.endpoints\.sts/ }, 60_000);

  assert.ok(!google.exchanges.some((e) => e.subject === `system:serviceaccount:${victim}:vault`), "the victim's ServiceAccount token was never minted for the attacker");
  assert.ok(!(await gcpLogins()).some((l) => l.role === 'team-a' && l.email !== gsa('team-a')), 'no one else logged in as team-a');
});

test('no secret value, key or token in logs, Events or statuses', async () => {
  for (const token of google.issuedTokens()) secrets.add(token);
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets, atLeast: 3 });
});
