// How the operator finds the apiserver and its credentials: a kubeconfig's current context (paths relative to
// the file, inline data over files, token over tokenFile, exec plugins), the in-cluster ServiceAccount, and the
// one-line refusals for what it does not support.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectionFromKubeconfig, inClusterConnection, withBearerToken, KubeconfigError } from '../../../src/k8s/kubeconfig.ts';

const kubeconfig = (user: object, cluster: object = { server: 'https://10.0.0.1:6443/' }) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'other', cluster: { server: 'https://other:6443' } },
      { name: 'c', cluster },
    ],
    users: [{ name: 'u', user }],
    contexts: [
      { name: 'x', context: { cluster: 'other', user: 'u' } },
      { name: 'ctx', context: { cluster: 'c', user: 'u' } },
    ],
    'current-context': 'ctx',
  });

test('the current context names the cluster and user; relative paths are relative to the kubeconfig', () => {
  const c = connectionFromKubeconfig(
    kubeconfig({ 'client-certificate': 'certs/admin.crt', 'client-key': '/abs/admin.key' }, { server: 'https://10.0.0.1:6443/', 'certificate-authority': 'ca.crt', 'tls-server-name': 'kubernetes' }),
    '/home/me/.kube/config',
  );
  assert.equal(c.server, 'https://10.0.0.1:6443', 'the trailing slash is dropped');
  assert.deepEqual(c.ca, { file: '/home/me/.kube/ca.crt' });
  assert.deepEqual(c.clientCertificate, { file: '/home/me/.kube/certs/admin.crt' });
  assert.deepEqual(c.clientKey, { file: '/abs/admin.key' });
  assert.equal(c.tlsServerName, 'kubernetes');
  assert.equal(c.insecureSkipTlsVerify, false);
  assert.deepEqual(c.auth, { kind: 'none' });
});

test('inline data wins over the file of the same field; a token wins over a tokenFile', () => {
  const pem = '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n';
  const c = connectionFromKubeconfig(
    kubeconfig({ token: 'abc', tokenFile: 'token' }, { server: 'https://k', 'certificate-authority': 'ca.crt', 'certificate-authority-data': Buffer.from(pem).toString('base64'), 'insecure-skip-tls-verify': true }),
    'config.yaml',
  );
  assert.deepEqual(c.ca, { data: Buffer.from(pem) });
  assert.equal(c.insecureSkipTlsVerify, true);
  assert.deepEqual(c.auth, { kind: 'token', token: 'abc' });
  assert.deepEqual(connectionFromKubeconfig(kubeconfig({ tokenFile: 'token' }), '/k/config').auth, { kind: 'token-file', path: '/k/token' });
});

test('an exec plugin is described with its env, and the cluster when provideClusterInfo is set', () => {
  const c = connectionFromKubeconfig(
    kubeconfig(
      { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'aws', args: ['eks', 'get-token'], env: [{ name: 'AWS_PROFILE', value: 'dev' }], provideClusterInfo: true, installHint: 'install the aws CLI' } },
      { server: 'https://eks.example', 'certificate-authority-data': 'Y2E=' },
    ),
    'config',
  );
  assert.equal(c.auth.kind, 'exec');
  assert.deepEqual(c.auth.kind === 'exec' && c.auth.plugin, {
    command: 'aws',
    args: ['eks', 'get-token'],
    env: [{ name: 'AWS_PROFILE', value: 'dev' }],
    apiVersion: 'client.authentication.k8s.io/v1beta1',
    installHint: 'install the aws CLI',
    cluster: { server: 'https://eks.example', 'certificate-authority-data': 'Y2E=' },
  });
});

test('a kubeconfig it cannot use is refused with one line that says why and what to do', () => {
  const refuse = (text: string, message: RegExp) => assert.throws(() => connectionFromKubeconfig(text, '/k/config'), (err: unknown) => err instanceof KubeconfigError && message.test(err.message) && !err.message.includes('\n'));
  refuse('clusters: [', /^\/k\/config is not valid YAML/);
  refuse('[]', /is not a kubeconfig/);
  refuse(JSON.stringify({ clusters: [], contexts: [] }), /has no current-context: set one with `kubectl config use-context <name>`/);
  refuse(JSON.stringify({ 'current-context': 'gone', contexts: [] }), /current-context "gone" is not among its contexts/);
  refuse(JSON.stringify({ 'current-context': 'a', contexts: [{ name: 'a', context: { cluster: 'nope' } }] }), /context "a" names cluster "nope", which is not among its clusters/);
  refuse(kubeconfig({}, { 'certificate-authority': 'x' }), /cluster "c" has no server/);
  refuse(kubeconfig({}, { server: 'https://k', 'proxy-url': 'http://proxy:3128' }), /sets proxy-url, which secret-relay does not support/);
  refuse(kubeconfig({ 'auth-provider': { name: 'gcp' } }), /uses auth-provider "gcp", which Kubernetes removed in 1.26 .*use its exec credential plugin instead/);
  refuse(kubeconfig({ exec: { apiVersion: 'client.authentication.k8s.io/v1' } }), /exec credential plugin without a command/);
});

test('in a cluster: the service address, the mounted CA and the ServiceAccount token file (re-read as it rotates)', () => {
  const c = inClusterConnection({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' });
  assert.equal(c.server, 'https://10.96.0.1:443');
  assert.deepEqual(c.ca, { file: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt' });
  assert.deepEqual(c.auth, { kind: 'token-file', path: '/var/run/secrets/kubernetes.io/serviceaccount/token' });
  assert.equal(inClusterConnection({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }).server, 'https://[fd00::1]:6443');
  assert.throws(() => inClusterConnection({}), /not running in a cluster .*pass --kubeconfig=<file> or set KUBECONFIG/);
});

test('--kube-token replaces the user, client certificate included', () => {
  const c = withBearerToken(connectionFromKubeconfig(kubeconfig({ 'client-certificate-data': 'Y2VydA==', 'client-key-data': 'a2V5' }), 'config'), 'sa-token');
  assert.deepEqual(c.auth, { kind: 'token', token: 'sa-token' });
  assert.equal(c.clientCertificate, undefined);
  assert.equal(c.clientKey, undefined);
});
