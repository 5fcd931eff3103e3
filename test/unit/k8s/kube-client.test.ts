import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubeClient, KubeApiError, requestVerb, RequestRateLimiter, type KubeVerb } from '../../../src/k8s/kube-client.ts';
import { FakeTime } from '../runtime/fake-time.ts';

const base = 'https://10.0.0.1:6443';

test('requests are named by the verbs the apiserver uses', () => {
  const cases: Array<[string, string, KubeVerb]> = [
    ['GET', '/api/v1/namespaces/ns/secrets/s', 'get'],
    ['GET', '/api/v1/namespaces/ns/secrets', 'list'],
    ['GET', '/api/v1/secrets?labelSelector=a%3Db', 'list'],
    ['GET', '/api/v1/namespaces/ns/secrets?watch=true&resourceVersion=5', 'watch'],
    ['GET', '/api/v1/namespaces/ns', 'get'],
    ['GET', '/api/v1/namespaces', 'list'],
    ['GET', '/api/v1/namespaces/ns/status', 'get'],
    ['GET', '/apis/secret-relay.dev/v1alpha1/externalsecrets', 'list'],
    ['GET', '/apis/secret-relay.dev/v1alpha1/namespaces/ns/externalsecrets/es', 'get'],
    ['GET', '/apis/secret-relay.dev/v1alpha1/clustersecretstores/store', 'get'],
    ['GET', '/version', 'get'],
    ['POST', '/api/v1/namespaces/ns/secrets', 'create'],
    ['POST', '/api/v1/namespaces/ns/serviceaccounts/sa/token', 'create'],
    ['PUT', '/apis/coordination.k8s.io/v1/namespaces/ns/leases/l', 'update'],
    ['PATCH', '/apis/secret-relay.dev/v1alpha1/namespaces/ns/externalsecrets/es/status', 'patch'],
    ['DELETE', '/api/v1/namespaces/ns/secrets/s', 'delete'],
    ['DELETE', '/api/v1/namespaces/ns/secrets', 'delete'],
  ];
  for (const [method, path, verb] of cases) assert.equal(requestVerb(method, base + path), verb, `${method} ${path}`);
});

test('the rate limiter lets a burst through, then one request per 1/qps, first come first served', async () => {
  const time = new FakeTime();
  const sleep = (ms: number) => new Promise<void>((resolve) => time.setTimeout(resolve, ms));
  const limiter = new RequestRateLimiter({ qps: 10, burst: 2 }, time, sleep);
  const started: Array<[number, number]> = [];
  const t0 = time.now();
  const all = [0, 1, 2, 3, 4].map((i) => limiter.acquire().then(() => started.push([i, time.now() - t0])));
  await time.advance(0);
  assert.deepEqual(started, [[0, 0], [1, 0]]);
  assert.equal(limiter.waiting(), 3);
  await time.advance(300);
  await Promise.all(all);
  assert.deepEqual(started, [[0, 0], [1, 0], [2, 100], [3, 200], [4, 300]]);
  assert.equal(limiter.waiting(), 0);
});

test('a line of waiters is released a tenth of a second of tokens at a time, on one timer, within qps and burst', async () => {
  const time = new FakeTime();
  let timers = 0;
  const sleep = (ms: number) => {
    timers++;
    return new Promise<void>((resolve) => time.setTimeout(resolve, ms));
  };
  const limiter = new RequestRateLimiter({ qps: 100, burst: 20 }, time, sleep);
  const started: number[] = [];
  const t0 = time.now();
  const all = Array.from({ length: 40 }, () => limiter.acquire().then(() => started.push(time.now() - t0)));
  await time.advance(0);
  assert.equal(started.length, 20, 'the burst goes out at once');
  await time.advance(200);
  await Promise.all(all);
  const at = (ms: number) => started.filter((t) => t === ms).length;
  assert.deepEqual([at(0), at(100), at(200)], [20, 10, 10], 'then 10 per 100 ms (100 qps), each ten together');
  assert.equal(timers, 2, 'one timer per batch, not per request');
});

test('every request is counted by verb with its status; watches are counted and not throttled', { timeout: 5_000 }, async (t) => {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('content-type', 'application/json');
    if (url.searchParams.get('watch') === 'true') {
      res.write(''); // keep it open: a watch
      return;
    }
    if (req.method === 'GET' && url.pathname.endsWith('/missing')) {
      res.statusCode = 404;
      res.end(JSON.stringify({ kind: 'Status', code: 404, reason: 'NotFound', message: 'not found' }));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/api/v1/namespaces/ns/configmaps') {
      res.end(JSON.stringify({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: {}, items: [] }));
      return;
    }
    res.end(JSON.stringify({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'c', namespace: 'ns' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'kube-client-test-'));
  t.after(() => {
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const kubeconfigPath = join(dir, 'kubeconfig');
  const port = (server.address() as AddressInfo).port;
  writeFileSync(
    kubeconfigPath,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 'not-a-real-token' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'c',
    }),
  );

  const seen: Array<[KubeVerb, number | undefined]> = [];
  // Two tokens, the next one 10 s later: were the watch throttled, this test would pass its timeout.
  const kube = createKubeClient({ kubeconfigPath, qps: 0.1, burst: 2, onRequest: (verb, code) => seen.push([verb, code]) });
  const more: KubeVerb[] = [];
  const stop = kube.observeRequests((verb) => more.push(verb));

  await kube.request({ method: 'GET', path: '/api/v1/namespaces/ns/configmaps' });
  await assert.rejects(kube.request({ method: 'GET', path: '/api/v1/namespaces/ns/configmaps/missing' }), (err: unknown) => err instanceof KubeApiError && err.code === 404 && err.message === 'Kubernetes API 404 NotFound: not found');
  const watching = await kube.watch('/api/v1/namespaces/ns/configmaps', {}, { onEvent: () => {}, onDone: () => {} });
  watching.abort();
  stop();
  assert.deepEqual(seen, [['list', 200], ['get', 404], ['watch', undefined]]);
  assert.deepEqual(more, ['list', 'get', 'watch']);
  await kube.close();
});

test('a caller that gives up waiting for a token leaves the line at once and takes no token', async () => {
  const time = new FakeTime();
  const sleep = (ms: number) => new Promise<void>((resolve) => time.setTimeout(resolve, ms));
  const limiter = new RequestRateLimiter({ qps: 10, burst: 1 }, time, sleep);
  await limiter.acquire();
  const giveUp = new AbortController();
  const started: string[] = [];
  const first = limiter.acquire(giveUp.signal).then(() => started.push('gave up'), (err: unknown) => started.push(`rejected: ${(err as Error).name}`));
  const second = limiter.acquire().then(() => started.push('second'));
  await time.advance(0);
  giveUp.abort();
  await time.advance(0);
  assert.deepEqual(started, ['rejected: AbortError'], 'rejected before any token came');
  await time.advance(100);
  await Promise.all([first, second]);
  assert.deepEqual(started, ['rejected: AbortError', 'second'], 'the next caller had the token the first one left');
  await assert.rejects(limiter.acquire(AbortSignal.abort()), { name: 'AbortError' });
});
