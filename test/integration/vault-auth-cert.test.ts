// Vault TLS certificate auth (spec.provider.vault.auth.cert) against a real OpenBao served over TLS and the real
// control plane: the store's client certificate, from a Secret of its own namespace, logs in with the role a test CA
// is trusted for. Attacked as a tenant would: another namespace's certificate, an untrusted certificate, a mount path
// that climbs out of auth/, plain http. Test certificates come from openssl, a tool the operator does not use.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { passwordExternalSecret } from '../support/vault-auth.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { startOpenBao, type OpenBao } from '../support/openbao.ts';
import { adminKube, createObject, Plural, startTestOperator, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { createVaultProvider, validateVaultSpec } from '../../src/providers/vault/provider.ts';
import { createFakeProvider } from '../../src/providers/fake/provider.ts';

const execFileP = promisify(execFile);

let cluster: LocalCluster;
let kube: TestKube;
let bao: OpenBao;
let op: TestOperator;
let dir: string;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('vault-cert');

interface Pem {
  readonly cert: string;
  readonly key: string;
}

async function openssl(...args: string[]): Promise<void> {
  await execFileP('openssl', args, { cwd: dir, timeout: 30_000 });
}

/** A self-signed CA named `name`. */
async function makeCa(name: string): Promise<Pem> {
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`);
  return { cert: await readFile(path.join(dir, `${name}.crt`), 'utf8'), key: await readFile(path.join(dir, `${name}.key`), 'utf8') };
}

/** A client certificate CN=`cn` signed by CA `ca` (with the clientAuth usage OpenBao's cert auth wants). */
async function makeClient(ca: string, cn: string): Promise<Pem> {
  await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${cn}.key`, '-out', `${cn}.csr`);
  await openssl('x509', '-req', '-in', `${cn}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '1', '-extfile', 'client.ext', '-out', `${cn}.crt`);
  const pem = { cert: await readFile(path.join(dir, `${cn}.crt`), 'utf8'), key: await readFile(path.join(dir, `${cn}.key`), 'utf8') };
  secrets.add(pem.key.split('\n').slice(1, 3).join('\n'));
  return pem;
}

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  dir = await mkdtemp(path.join(os.tmpdir(), 'vault-cert-'));
  await writeFile(path.join(dir, 'client.ext'), 'extendedKeyUsage = clientAuth\nkeyUsage = digitalSignature, keyEncipherment\n');
  bao = await startOpenBao({ tls: true });
  await bao.api('POST', 'sys/auth/cert', { type: 'cert' });
  await bao.api('PUT', 'sys/policies/acl/read-cert-a', { policy: 'path "secret/data/cert/a/*" { capabilities = ["read"] }' });
  op = await startTestOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    args: ['--leader-elect=false', '--concurrency=4'],
    providers: [createVaultProvider(), createFakeProvider()],
  });
});

after(async () => {
  await stopTestOperator(op, 'vault-auth-cert');
  await bao?.stop();
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function certStore(name: string, cert: Record<string, unknown>, server = bao.address) {
  return {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name },
    spec: { provider: { vault: { server, path: 'secret', version: 'v2', caBundle: Buffer.from(bao.caPem!).toString('base64'), auth: { cert } } } },
  };
}

async function tlsSecret(ns: string, name: string, pem: Pem): Promise<void> {
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': pem.cert, 'tls.key': pem.key } } });
}

const ref = (name: string, namespace?: string) => ({
  clientCert: { name, key: 'tls.crt', ...(namespace ? { namespace } : {}) },
  secretRef: { name, key: 'tls.key', ...(namespace ? { namespace } : {}) },
});

test('cert auth: the store logs in with its own client certificate (test CA, role team-a) and syncs', async () => {
  const ca = await makeCa('team-ca');
  const client = await makeClient('team-ca', 'team-a');
  await bao.api('POST', 'auth/cert/certs/team-a', { certificate: ca.cert, token_policies: 'read-cert-a', allowed_common_names: 'team-a', token_ttl: '1h' });
  const password = secrets.next('cert');
  await bao.api('POST', 'secret/data/cert/a/db', { data: { password } });

  const ns = await namespaces.create(kube);
  await tlsSecret(ns, 'vault-client', client);
  await createObject(kube, Plural.SecretStore, certStore('vault', { ...ref('vault-client'), vaultRole: 'team-a' }), ns);
  const ready = await waitReady(kube, { plural: Plural.SecretStore, namespace: ns, name: 'vault', status: 'True' }, 60_000);
  assert.ok(ready);
  await createObject(kube, Plural.ExternalSecret, passwordExternalSecret('app', 'vault', 'cert/a/db'), ns);
  await waitSecretData(kube, ns, 'app', { password }, 60_000);

  // The same certificate given as spec.provider.vault.tls (ESO allows cert auth without its own refs).
  await createObject(
    kube,
    Plural.SecretStore,
    {
      ...certStore('via-tls', { vaultRole: 'team-a' }),
      spec: {
        provider: {
          vault: {
            ...certStore('via-tls', { vaultRole: 'team-a' }).spec.provider.vault,
            tls: { certSecretRef: { name: 'vault-client', key: 'tls.crt' }, keySecretRef: { name: 'vault-client', key: 'tls.key' } },
          },
        },
      },
    },
    ns,
  );
  await createObject(kube, Plural.ExternalSecret, passwordExternalSecret('via-tls', 'via-tls', 'cert/a/db'), ns);
  await waitSecretData(kube, ns, 'via-tls', { password }, 60_000);
});

test('cert auth attacked as a tenant: another namespace\'s certificate, an untrusted certificate, a climbing mount path, plain http', async () => {
  const victim = await namespaces.create(kube);
  const attacker = await namespaces.create(kube);
  const trusted = await makeClient('team-ca', 'team-a-victim');
  await tlsSecret(victim, 'vault-client', trusted);

  // 1. The victim's certificate, named from the attacker's SecretStore: refused before any login.
  await createObject(kube, Plural.SecretStore, certStore('steal', { ...ref('vault-client', victim), vaultRole: 'team-a' }), attacker);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: attacker, name: 'steal', status: 'False', message: /may not use Secret vault-client in namespace/ }, 60_000);
  await createObject(kube, Plural.ExternalSecret, passwordExternalSecret('steal', 'steal', 'cert/a/db'), attacker);
  await waitReady(kube, { namespace: attacker, name: 'steal', status: 'False' }, 60_000);

  // 2. A certificate of a CA OpenBao does not trust: OpenBao refuses the login.
  await makeCa('rogue-ca');
  const rogue = await makeClient('rogue-ca', 'team-a');
  await tlsSecret(attacker, 'rogue', rogue);
  await createObject(kube, Plural.SecretStore, certStore('rogue', { ...ref('rogue'), vaultRole: 'team-a' }), attacker);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: attacker, name: 'rogue', status: 'False', message: /login at auth\/cert/ }, 60_000);

  // 3. A mount path climbing out of auth/ (to sys/ or another method): refused, never normalised.
  await tlsSecret(attacker, 'own', await makeClient('team-ca', 'attacker'));
  await createObject(kube, Plural.SecretStore, certStore('climb', { ...ref('own'), path: 'cert/../../sys' }), attacker);
  await waitReady(kube, { plural: Plural.SecretStore, namespace: attacker, name: 'climb', status: 'False', message: /"\.\." segment|must be a Vault path/ }, 60_000);

  assert.equal(await kube.core.readNamespacedSecret({ namespace: attacker, name: 'steal' }).catch(() => undefined), undefined, 'no Secret written from the refused store');

  // 4. Plain http cannot carry a client certificate: said where the user looks.
  const plain = validateVaultSpec({ server: 'http://127.0.0.1:8200', auth: { cert: ref('own') } });
  assert.match(plain.errors.join('\n'), /auth\.cert needs an https:\/\/ server/);
  const none = validateVaultSpec({ server: 'https://127.0.0.1:8200', auth: { cert: {} } });
  assert.match(none.errors.join('\n'), /auth\.cert needs a client certificate/);
});

test('no secret value or private key in logs, Events or statuses', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets, atLeast: 2 });
});
