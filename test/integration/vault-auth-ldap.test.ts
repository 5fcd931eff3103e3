// Vault LDAP auth (spec.provider.vault.auth.ldap) against a real OpenBao and a real directory: Debian's slapd on
// loopback with a tiny LDIF, OpenBao's LDAP auth method binding as the user. OpenBao 2.7 moved LDAP auth out of its
// binary, so this file runs OpenBao 2.6.2 (test/setup/install-openbao-ldap.sh). Attacked as a tenant would: another
// namespace's password Secret, a wrong password, a mount path climbing out of auth/.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { passwordExternalSecret } from '../support/vault-auth.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { baoWithLdapPath, startOpenBao, type OpenBao } from '../support/openbao.ts';
import { startSlapd, PEOPLE_DN, type Slapd } from '../support/slapd.ts';
import { adminKube, createObject, Plural, startTestOperator, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { createVaultProvider } from '../../src/providers/vault/provider.ts';
import { createFakeProvider } from '../../src/providers/fake/provider.ts';

let cluster: LocalCluster;
let kube: TestKube;
let bao: OpenBao;
let slapd: Slapd;
let op: TestOperator;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('vault-ldap');
const alicePassword = secrets.next('alice-pw');

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  slapd = await startSlapd({ alice: alicePassword, bob: secrets.next('bob-pw') });
  bao = await startOpenBao({ binary: { path: baoWithLdapPath, installer: 'test/setup/install-openbao-ldap.sh' } });
  await bao.api('POST', 'sys/auth/ldap', { type: 'ldap' });
  // No bind DN: OpenBao binds as uid=<user>,ou=people,… with the password it is given, as a directory without a service account would.
  await bao.api('POST', 'auth/ldap/config', { url: slapd.url, userdn: PEOPLE_DN, userattr: 'uid', token_ttl: '1h' });
  await bao.api('PUT', 'sys/policies/acl/read-ldap-alice', { policy: 'path "secret/data/ldap/alice/*" { capabilities = ["read"] }' });
  await bao.api('POST', 'auth/ldap/users/alice', { policies: 'read-ldap-alice' });
  op = await startTestOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    args: ['--leader-elect=false', '--concurrency=4'],
    providers: [createVaultProvider(), createFakeProvider()],
  });
});

after(async () => {
  await stopTestOperator(op, 'vault-auth-ldap');
  await bao?.stop();
  await slapd?.stop();
  await cluster?.stop();
});

function ldapStore(name: string, ldap: Record<string, unknown>) {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name }, spec: { provider: { vault: { server: bao.address, path: 'secret', version: 'v2', auth: { ldap } } } } };
}

test('ldap auth: the directory user of the store logs in through OpenBao and the value syncs', async () => {
  // The directory itself, checked with ldap-utils: alice's password binds, a wrong one does not.
  assert.equal(await slapd.whoami('alice', alicePassword), `dn:uid=alice,${PEOPLE_DN}`);
  await assert.rejects(slapd.whoami('alice', 'not-her-password'), /Invalid credentials/);

  const value = secrets.next('ldap-value');
  await bao.api('POST', 'secret/data/ldap/alice/db', { data: { password: value } });
  const ns = await namespaces.create(kube);
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'ldap' }, stringData: { password: alicePassword } } });
  // path omitted: the default mount ldap, applied in code (nothing written into the spec).
  await createObject(kube, Plural.SecretStore, ldapStore('vault', { username: 'alice', secretRef: { name: 'ldap', key: 'password' } }), ns);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'vault', status: 'True' }, 60_000);
  await createObject(kube, Plural.ExternalSecret, passwordExternalSecret('app', 'vault', 'ldap/alice/db'), ns);
  await waitSecretData(kube, ns, 'app', { password: value }, 60_000);
  const stored = (await kube.custom.getNamespacedCustomObject({ group: 'secret-relay.dev', version: 'v1alpha1', namespace: ns, plural: Plural.SecretStore, name: 'vault' })) as {
    spec: { provider: { vault: { auth: { ldap: Record<string, unknown> } } } };
  };
  assert.equal(stored.spec.provider.vault.auth.ldap['path'], undefined, 'no default written into the applied spec');
});

test('ldap auth attacked as a tenant: another namespace\'s password, a wrong password, a climbing mount path', async () => {
  const victim = await namespaces.create(kube);
  const attacker = await namespaces.create(kube);
  await kube.core.createNamespacedSecret({ namespace: victim, body: { metadata: { name: 'ldap' }, stringData: { password: alicePassword } } });
  await kube.core.createNamespacedSecret({ namespace: attacker, body: { metadata: { name: 'guess' }, stringData: { password: 'a-guess' } } });

  await createObject(kube, Plural.SecretStore, ldapStore('steal', { path: 'ldap', username: 'alice', secretRef: { name: 'ldap', key: 'password', namespace: victim } }), attacker);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: attacker, name: 'steal', status: 'False', message: /may not use Secret ldap in namespace/ }, 60_000);
  await createObject(kube, Plural.ExternalSecret, passwordExternalSecret('steal', 'steal', 'ldap/alice/db'), attacker);
  await waitReady(kube, { namespace: attacker, name: 'steal', status: 'False' }, 60_000);
  assert.equal(await kube.core.readNamespacedSecret({ namespace: attacker, name: 'steal' }).catch(() => undefined), undefined, 'nothing written from the refused store');

  await createObject(kube, Plural.SecretStore, ldapStore('guess', { username: 'alice', secretRef: { name: 'guess', key: 'password' } }), attacker);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: attacker, name: 'guess', status: 'False', message: /login at auth\/ldap\/login\/alice/ }, 60_000);

  await createObject(kube, Plural.SecretStore, ldapStore('climb', { path: 'ldap/../../sys', username: 'alice', secretRef: { name: 'guess', key: 'password' } }), attacker);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: attacker, name: 'climb', status: 'False', message: /"\.\." segment/ }, 60_000);
});

test('ldap auth through a ClusterSecretStore: a named namespace is read as named; without one, each ExternalSecret\'s own namespace', async () => {
  const value = secrets.next('ldap-shared');
  await bao.api('POST', 'secret/data/ldap/alice/shared', { data: { password: value } });
  const ops = await namespaces.create(kube);
  await kube.core.createNamespacedSecret({ namespace: ops, body: { metadata: { name: 'ldap' }, stringData: { password: alicePassword } } });
  const named = `vault-ldap-named-${ops}`;
  const referent = `vault-ldap-referent-${ops}`;
  const clusterStore = (name: string, namespace?: string) => ({
    ...ldapStore(name, { username: 'alice', secretRef: { name: 'ldap', key: 'password', ...(namespace ? { namespace } : {}) } }),
    kind: 'ClusterSecretStore',
  });
  await createObject(kube, Plural.ClusterSecretStore, clusterStore(named, ops));
  await createObject(kube, Plural.ClusterSecretStore, clusterStore(referent));
  const app = await namespaces.create(kube);
  const es = (name: string, store: string) => ({ ...passwordExternalSecret(name, store, 'ldap/alice/shared'), spec: { ...passwordExternalSecret(name, store, 'ldap/alice/shared').spec, secretStoreRef: { name: store, kind: 'ClusterSecretStore' } } });
  await createObject(kube, Plural.ExternalSecret, es('named', named), app);
  await waitSecretData(kube, app, 'named', { password: value }, 60_000);
  // Referent: the password is looked up in the ExternalSecret's namespace, which holds none — never the admin's.
  await createObject(kube, Plural.ExternalSecret, es('referent', referent), app);
  await waitReady(kube, { namespace: app, name: 'referent', status: 'False', message: new RegExp(`Secret ${app}/ldap`) }, 60_000);
});

test('no password or secret value in logs, Events or statuses', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets, atLeast: 3 });
});
