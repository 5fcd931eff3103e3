// Credentials that change under a running operator: a token file is re-read (at most once a minute), an exec
// plugin is run again when its credential expires or the apiserver refuses it (401) — and what reaches the
// server is the current one. The plugin is a real process started the way kubectl starts one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubeClient, KubeApiError } from '../../../src/k8s/kube-client.ts';
import { createRequestCredentials, parseExecCredential } from '../../../src/k8s/credentials.ts';
import type { Connection, ExecPlugin } from '../../../src/k8s/kubeconfig.ts';

const connection = (auth: Connection['auth']): Connection => ({ server: 'https://k', ca: undefined, insecureSkipTlsVerify: false, tlsServerName: undefined, clientCertificate: undefined, clientKey: undefined, auth });
const plugin: ExecPlugin = { command: 'plugin', args: [], env: [], apiVersion: 'client.authentication.k8s.io/v1', installHint: undefined, cluster: undefined };
const credential = (token: string, expirationTimestamp?: string) => JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token, ...(expirationTimestamp ? { expirationTimestamp } : {}) } });

test('a token file is re-read once a minute, so a rotated ServiceAccount token is used', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'credentials-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'token');
  writeFileSync(file, 'first\n');
  let now = 0;
  const credentials = createRequestCredentials(connection({ kind: 'token-file', path: file }), { now: () => now });
  assert.equal(await credentials.authorization(), 'Bearer first');
  writeFileSync(file, 'second\n');
  now = 59_000;
  assert.equal(await credentials.authorization(), 'Bearer first', 'within the minute: the cached token');
  now = 60_000;
  assert.equal(await credentials.authorization(), 'Bearer second');
  rmSync(file);
  now = 200_000;
  await assert.rejects(credentials.authorization(), /^Error: cannot read the token file .*token: ENOENT$/);
});

test('an exec credential is kept until shortly before it expires, and renewed after a 401', async () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const runs: string[] = [];
  const credentials = createRequestCredentials(connection({ kind: 'exec', plugin }), { now: () => now }, async (_plugin, info) => {
    runs.push(info);
    return credential(`t${runs.length}`, '2026-01-01T00:15:00Z');
  });
  assert.equal(await credentials.authorization(), 'Bearer t1');
  assert.equal(await credentials.authorization(), 'Bearer t1');
  assert.deepEqual(JSON.parse(runs[0]!), { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false } });
  now = Date.parse('2026-01-01T00:14:51Z');
  assert.equal(await credentials.authorization(), 'Bearer t2', 'renewed 10 s before expiry');
  credentials.refused();
  assert.equal(await credentials.authorization(), 'Bearer t3', 'renewed after the apiserver refused it');
  assert.equal(runs.length, 3);
});

test('a plugin answer that is not a usable ExecCredential is one clear error', () => {
  assert.throws(() => parseExecCredential('not json', plugin), /^Error: exec credential plugin plugin did not print an ExecCredential \(its output is not JSON\)$/);
  assert.throws(() => parseExecCredential(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: 'x' } }), plugin), /answered in client.authentication.k8s.io\/v1beta1, not the client.authentication.k8s.io\/v1 the kubeconfig asks for/);
  assert.throws(() => parseExecCredential(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: {} }), plugin), /gave neither a token nor a client certificate and key/);
});

test('a real exec plugin from a kubeconfig: its env and exec info reach it, its token reaches the server, a failure says what failed', { timeout: 10_000 }, async (t) => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'default' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'exec-plugin-'));
  t.after(() => {
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const script = join(dir, 'plugin.mjs');
  writeFileSync(
    script,
    `import { writeFileSync } from 'node:fs';
writeFileSync(${JSON.stringify(join(dir, 'info.json'))}, process.env.KUBERNETES_EXEC_INFO);
if (process.env.PLUGIN_FAIL) { process.stderr.write('login required\\n'); process.exit(3); }
process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'from-' + process.env.PLUGIN_NAME } }));
`,
  );
  const write = (env: Array<{ name: string; value: string }>) => {
    const path = join(dir, `kubeconfig-${env.length}`);
    writeFileSync(
      path,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` } }],
        users: [{ name: 'u', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [script], env, provideClusterInfo: true, installHint: 'run `login` first' } } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'c',
      }),
    );
    return path;
  };
  const kube = createKubeClient({ kubeconfigPath: write([{ name: 'PLUGIN_NAME', value: 'plugin' }]) });
  await kube.request({ method: 'GET', path: '/api/v1/namespaces/default' });
  await kube.request({ method: 'GET', path: '/api/v1/namespaces/default' });
  assert.deepEqual(seen, ['Bearer from-plugin', 'Bearer from-plugin'], 'run once, its token used for both');
  const info = JSON.parse(readFileSync(join(dir, 'info.json'), 'utf8'));
  assert.equal(info.spec.cluster.server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'provideClusterInfo passes the cluster');
  await kube.close();

  const failing = createKubeClient({ kubeconfigPath: write([{ name: 'PLUGIN_NAME', value: 'x' }, { name: 'PLUGIN_FAIL', value: '1' }]) });
  await assert.rejects(failing.request({ method: 'GET', path: '/api/v1/namespaces/default' }), (err: unknown) => {
    assert.ok(!(err instanceof KubeApiError));
    assert.match((err as Error).message, /^exec credential plugin .* failed \(exit 3\): login required; run `login` first$/);
    return true;
  });
  assert.equal(seen.length, 2, 'nothing was sent without a credential');
  await failing.close();
});
