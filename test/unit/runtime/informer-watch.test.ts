// The informers' watches, against a local HTTP server standing in for the apiserver: each asks for bookmarks
// and a server-side timeout, a reconnect resumes from the last bookmark's resourceVersion without a new list,
// and a silent watch is dropped after our inactivity timeout (150 s by default; 150 ms here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createKubeClient } from '../../../src/k8s/kube-client.ts';
import { createSupervisedInformer, type RawCustomObject } from '../../../src/k8s/informer.ts';

interface WatchRequest {
  readonly query: URLSearchParams;
  readonly at: number;
}

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A fake apiserver: `onWatch(n, res)` answers the n-th watch request (0-based). */
async function fakeApiserver(onWatch: (n: number, res: ServerResponse) => void) {
  const watches: WatchRequest[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.searchParams.get('watch') !== 'true') {
      res.writeHead(404).end();
      return;
    }
    watches.push({ query: url.searchParams, at: Date.now() });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    onWatch(watches.length - 1, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'informer-watch-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfigPath,
    `apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: 'http://127.0.0.1:${(server.address() as AddressInfo).port}', insecure-skip-tls-verify: true}}]
users: [{name: fake, user: {}}]
contexts: [{name: fake, context: {cluster: fake, user: fake}}]
current-context: fake
`,
  );
  const kube = createKubeClient({ kubeconfigPath });
  return {
    kube,
    watches,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await kube.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const line = (type: string, object: object) => `${JSON.stringify({ type, object })}\n`;
const configMap = (name: string, resourceVersion: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion } });

test('watches ask for bookmarks, reconnect from the last bookmark without relisting, and give up on 150 ms of silence', { timeout: 20_000 }, async () => {
  const api = await fakeApiserver((n, res) => {
    if (n === 0) res.end(line('BOOKMARK', { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: '20' } })); // then the server ends the watch
    else if (n === 1) res.write(line('ADDED', configMap('added', '21'))); // then silence
    // later watches: silence until the test ends
  });
  let lists = 0;
  const bookmarks: string[] = [];
  const added: string[] = [];
  const informer = createSupervisedInformer<RawCustomObject>({
    kube: api.kube,
    path: '/api/v1/namespaces/ns/configmaps',
    labelSelector: 'app=x',
    list: async () => {
      lists++;
      return { metadata: { resourceVersion: '10' }, items: [configMap('listed', '9')] };
    },
    random: () => 0.5,
    watch: { minTimeoutSeconds: 60, inactivityTimeoutMs: 150, onBookmark: (rv) => bookmarks.push(rv) },
  });
  informer.on('add', (obj) => added.push(obj.metadata!.name!));
  try {
    await informer.start();
    await waitFor('a third watch request', () => api.watches.length >= 3, 10_000);

    const [first, second, third] = api.watches.map((w) => w.query);
    assert.equal(first!.get('allowWatchBookmarks'), 'true');
    assert.equal(first!.get('timeoutSeconds'), '90', '60 s × (1 + jitter 0.5)');
    assert.equal(first!.get('labelSelector'), 'app=x');
    assert.equal(first!.get('resourceVersion'), '10', 'the first watch starts at the list');
    assert.deepEqual(bookmarks, ['20']);
    assert.equal(second!.get('resourceVersion'), '20', 'after the server ended the watch, the next resumes from the bookmark');
    assert.equal(second!.get('allowWatchBookmarks'), 'true');
    assert.equal(third!.get('resourceVersion'), '21', 'after the silent watch was dropped, the next resumes from the last event');
    const silence = api.watches[2]!.at - api.watches[1]!.at;
    assert.ok(silence >= 140 && silence < 5_000, `the silent watch was dropped after the inactivity timeout (${silence} ms), not a fixed library timeout`);
    assert.equal(lists, 1, 'no reconnect relisted');
    assert.deepEqual(added, ['listed', 'added']);
    assert.equal(informer.restarts(), 0, 'reconnects are not failures');
  } finally {
    await informer.stop();
    await api.close();
  }
});

test('watch options are checked', { timeout: 20_000 }, async () => {
  const api = await fakeApiserver(() => {});
  try {
    const make = (watch: { minTimeoutSeconds?: number; inactivityTimeoutMs?: number }) =>
      createSupervisedInformer<RawCustomObject>({ kube: api.kube, path: '/api/v1/configmaps', list: async () => ({ metadata: {}, items: [] }), watch });
    assert.throws(() => make({ minTimeoutSeconds: 0 }), /minTimeoutSeconds must be a whole number of seconds >= 1, got 0/);
    assert.throws(() => make({ inactivityTimeoutMs: -1 }), /inactivityTimeoutMs must be > 0, got -1/);
  } finally {
    await api.close();
  }
});
