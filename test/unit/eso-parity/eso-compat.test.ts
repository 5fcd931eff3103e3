// ESO fields we accept but do not act on yet: each is reported by name, never silently ignored (or a warning when
// ignoring it cannot change what is read). Parsed through the real schemas, so defaults apply as in the cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { externalSecretCompat, storeCompat } from '../../../src/api/eso-compat.ts';
import { ExternalSecretSpecSchema } from '../../../src/api/external-secret.ts';
import { SecretStoreSpecSchema } from '../../../src/api/secret-store.ts';
import { copiedMetadata } from '../../../src/controller/externalsecret/copied-metadata.ts';

const esSpec = (extra: Record<string, unknown>) =>
  ExternalSecretSpecSchema.parse({ secretStoreRef: { name: 's' }, data: [{ secretKey: 'k', remoteRef: { key: 'a' } }], ...extra });
const storeSpec = (provider: Record<string, unknown>, extra: Record<string, unknown> = {}) => SecretStoreSpecSchema.parse({ provider, ...extra });

test('a plain ExternalSecret and a plain store report nothing', () => {
  assert.deepEqual(externalSecretCompat(esSpec({})), []);
  assert.deepEqual(storeCompat(storeSpec({ fake: { data: [] } }), false), { errors: [], warnings: [] });
});

const esCases: Array<[string, Record<string, unknown>, RegExp]> = [
  ['syncWindows', { syncWindows: { kind: 'Allow', windows: [] } }, /^spec\.syncWindows \(sync windows\) is not supported by secret-relay yet/],
  ['target.manifest', { target: { manifest: { apiVersion: 'v1', kind: 'ConfigMap' } } }, /^spec\.target\.manifest/],
  ['engineVersion', { target: { template: { engineVersion: 'v2', data: { a: 'b' } } } }, /engineVersion v2 asks for ESO's Go templates; secret-relay templates are Liquid/],
  ['finalizers', { target: { template: { metadata: { finalizers: ['x/y'] } } } }, /metadata\.finalizers/],
  ['data[].sourceRef.generatorRef', { data: [{ secretKey: 'k', remoteRef: { key: 'a' }, sourceRef: { generatorRef: { kind: 'Password', name: 'p' } } }] }, /^spec\.data\[0\]\.sourceRef\.generatorRef/],
];
for (const [title, extra, message] of esCases) {
  test(`ExternalSecret: ${title} is reported by name`, () => {
    const errors = externalSecretCompat(esSpec(extra));
    assert.equal(errors.length, 1, errors.join('; '));
    assert.match(errors[0]!, message);
  });
}

const vault = (auth: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ vault: { server: 'https://v', auth, ...extra } });
const token = { tokenSecretRef: { name: 't', key: 'k' } };
const storeCases: Array<[string, Record<string, unknown>, Record<string, unknown>, 'errors' | 'warnings', RegExp]> = [
  ['retrySettings beyond what is honoured', { fake: { data: [] } }, { retrySettings: { maxRetries: 50, retryInterval: '10s' } }, 'warnings', /at most 10 retries 30 s apart/],
  ['conditions on a SecretStore', { fake: { data: [] } }, { conditions: [{ namespaces: ['a'] }] }, 'warnings', /no effect on a SecretStore/],
  ['AWS transitiveTagKeys', { aws: { service: 'SecretsManager', region: 'eu-west-1', transitiveTagKeys: ['a'] } }, {}, 'errors', /transitiveTagKeys/],
  ['AWS secretsManager', { aws: { service: 'SecretsManager', region: 'eu-west-1', secretsManager: { recoveryWindowInDays: 7 } } }, {}, 'warnings', /only affects writing/],
  ['Vault jwt without a token source', vault({ jwt: { role: 'r' } }), {}, 'errors', /auth\.jwt needs a token: set secretRef or kubernetesServiceAccountToken/],
  ['Vault headers', vault(token, { headers: { 'X-A': 'b' } }), {}, 'errors', /vault\.headers/],
  ['Vault forwardInconsistent', vault(token, { forwardInconsistent: true }), {}, 'warnings', /forwardInconsistent/],
];
for (const [title, provider, extra, kind, message] of storeCases) {
  test(`store: ${title} is reported as ${kind === 'errors' ? 'an error' : 'a warning'}`, () => {
    const verdict = storeCompat(storeSpec(provider, extra), false);
    assert.equal(verdict[kind].length, 1, JSON.stringify(verdict));
    assert.equal(verdict[kind === 'errors' ? 'warnings' : 'errors'].length, 0, JSON.stringify(verdict));
    assert.match(verdict[kind][0]!, message);
  });
}

test('conditions on a ClusterSecretStore are not reported', () => {
  assert.deepEqual(storeCompat(storeSpec({ fake: { data: [] } }, { conditions: [{ namespaces: ['a'] }] }), true).warnings, []);
});

test("copied metadata: everything but kubectl's last-applied-configuration and secret-relay.dev/ keys", () => {
  assert.deepEqual(
    copiedMetadata({
      labels: { env: 'dev', 'secret-relay.dev/x': '1' },
      annotations: { 'acme.org/sha': '1234', 'kubectl.kubernetes.io/last-applied-configuration': '{}', 'secret-relay.dev/force-sync': '2' },
    }),
    { labels: { env: 'dev' }, annotations: { 'acme.org/sha': '1234' } },
  );
  assert.deepEqual(copiedMetadata({}), { labels: {}, annotations: {} });
});

test('an AWS Certificate Manager store is acted on: nothing reported', () => {
  assert.deepEqual(storeCompat({ provider: { aws: { service: 'CertificateManager', region: 'eu-west-1' } } } as Parameters<typeof storeCompat>[0], false), { errors: [], warnings: [] });
});
