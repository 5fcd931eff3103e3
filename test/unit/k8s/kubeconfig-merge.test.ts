// kubeconfig as kubectl reads it beyond one file's current context: impersonation (`as`, `as-groups`, `as-uid`,
// `as-user-extra` become client-go's Impersonate-* headers, never silently dropped), and a KUBECONFIG list of
// files merged (the first file to set a map key wins; current-context from the first that sets it; paths
// relative to the file that holds them; missing files skipped).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionFromKubeconfig, connectionFromKubeconfigs, KubeconfigError } from '../../../src/k8s/kubeconfig.ts';
import { createKubeClient } from '../../../src/k8s/kube-client.ts';

const config = (parts: { clusters?: object[]; users?: object[]; contexts?: object[]; current?: string }) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: parts.clusters ?? [], users: parts.users ?? [], contexts: parts.contexts ?? [], ...(parts.current ? { 'current-context': parts.current } : {}) });

test('as, as-groups, as-uid and as-user-extra are read; groups without a user are refused in one line', () => {
  const c = connectionFromKubeconfig(
    config({
      clusters: [{ name: 'c', cluster: { server: 'https://k:6443' } }],
      users: [{ name: 'u', user: { token: 't', as: 'jane', 'as-groups': ['dev', 'ops'], 'as-uid': '42', 'as-user-extra': { scopes: ['view', 'edit'] } } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      current: 'x',
    }),
    '/k/config',
  );
  assert.deepEqual(c.impersonate, { user: 'jane', uid: '42', groups: ['dev', 'ops'], extra: { scopes: ['view', 'edit'] } });
  assert.throws(
    () =>
      connectionFromKubeconfig(
        config({ clusters: [{ name: 'c', cluster: { server: 'https://k:6443' } }], users: [{ name: 'u', user: { 'as-groups': ['dev'] } }], contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }], current: 'x' }),
        '/k/config',
      ),
    (err: unknown) => err instanceof KubeconfigError && /user "u" sets as-groups but not as/.test(err.message) && !err.message.includes('\n'),
  );
});

test('the client sends Impersonate-* headers as client-go does (extra keys percent-encoded)', async (t) => {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-merge-'));
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const path = join(dir, 'config');
  writeFileSync(
    path,
    config({
      clusters: [{ name: 'c', cluster: { server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` } }],
      users: [{ name: 'u', user: { token: 't', as: 'system:serviceaccount:ns:sa', 'as-groups': ['g1', 'g2'], 'as-uid': 'u-1', 'as-user-extra': { 'example.com/reason': ['on call'] } } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      current: 'x',
    }),
  );
  const kube = createKubeClient({ kubeconfigPath: path });
  t.after(() => kube.close());
  await kube.request({ method: 'GET', path: '/version' });
  const h = seen[0]!;
  assert.equal(h['impersonate-user'], 'system:serviceaccount:ns:sa');
  assert.equal(h['impersonate-group'], 'g1, g2', 'one header line per group (node joins repeats with ", ")');
  assert.equal(h['impersonate-uid'], 'u-1');
  assert.equal(h['impersonate-extra-example.com%2freason'], 'on call');
  assert.equal(h['authorization'], 'Bearer t', 'the credentials stay those of the kubeconfig user');
});

test('several files merge as kubectl merges them: first to set a key wins, current-context from the first that sets it', () => {
  const first = config({
    users: [{ name: 'me', user: { token: 'from-first' } }],
    contexts: [{ name: 'work', context: { cluster: 'prod', user: 'me' } }],
  });
  const second = config({
    clusters: [{ name: 'prod', cluster: { server: 'https://prod:6443', 'certificate-authority': 'ca.crt' } }],
    users: [{ name: 'me', user: { token: 'from-second' } }],
    contexts: [{ name: 'work', context: { cluster: 'elsewhere', user: 'me' } }],
    current: 'work',
  });
  const third = config({ current: 'other' });
  const c = connectionFromKubeconfigs([
    { text: first, path: '/a/one' },
    { text: second, path: '/b/two' },
    { text: third, path: '/c/three' },
  ]);
  assert.equal(c.server, 'https://prod:6443');
  assert.deepEqual(c.auth, { kind: 'token', token: 'from-first' });
  assert.deepEqual(c.ca, { file: '/b/ca.crt' }, 'relative to the file that holds the cluster');
});

test('KUBECONFIG as a list: missing files are skipped, all missing is one clear error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-list-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const present = join(dir, 'present');
  writeFileSync(present, config({ clusters: [{ name: 'c', cluster: { server: 'http://127.0.0.1:1' } }], contexts: [{ name: 'x', context: { cluster: 'c' } }], current: 'x' }));
  const kube = createKubeClient({ kubeconfigPath: `${join(dir, 'missing')}:${present}` });
  assert.equal(kube.server, 'http://127.0.0.1:1');
  await kube.close();
  assert.throws(() => createKubeClient({ kubeconfigPath: `${join(dir, 'missing')}:${join(dir, 'gone')}` }), /none of the kubeconfig files .* exists/);
});
