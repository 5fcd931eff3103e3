// The client's fault handling, against local HTTP servers that misbehave on purpose: client-go's retry semantics
// (429/5xx honouring Retry-After, resets for idempotent verbs, bounded), the caller's AbortSignal, the connect
// timeout, the leader-election lane and the leadership term's fence.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { createKubeClientFor, KubeApiError, retryDelayMs, type KubeClientOptions } from '../../../src/k8s/kube-client.ts';
import type { Connection } from '../../../src/k8s/kubeconfig.ts';
import { runInTerm } from '../../../src/k8s/term.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/** A local apiserver stand-in: `handler` answers the n-th request (from 1). */
async function serve(t: TestContext, handler: Handler): Promise<{ url: string; requests: () => number; closed: () => number }> {
  let n = 0;
  let closed = 0;
  const server = createServer((req, res) => {
    n++;
    req.on('close', () => {
      if (!res.writableEnded) closed++;
    });
    handler(req, res, n);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => n, closed: () => closed };
}

function connection(server: string): Connection {
  return { server, ca: undefined, insecureSkipTlsVerify: true, tlsServerName: undefined, clientCertificate: undefined, clientKey: undefined, auth: { kind: 'none' } };
}

/** A client whose retry waits are recorded and skipped (the waits asked for are what the tests check). */
function client(t: TestContext, server: string, options: Partial<KubeClientOptions> = {}) {
  const waits: number[] = [];
  const codes: Array<number | undefined> = [];
  const kube = createKubeClientFor(connection(server), {
    onRequest: (_verb, code) => codes.push(code),
    retry: {
      sleep: async (ms: number, signal?: AbortSignal) => {
        waits.push(ms);
        signal?.throwIfAborted();
      },
    },
    ...options,
  });
  t.after(() => kube.close());
  return { kube, waits, codes };
}

const ok = (res: ServerResponse, body: unknown = { kind: 'ConfigMap', metadata: { name: 'c' } }) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
};
const status = (res: ServerResponse, code: number, headers: Record<string, string> = {}) => {
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ kind: 'Status', code, reason: code === 429 ? 'TooManyRequests' : 'ServiceUnavailable', message: 'try later' }));
};

const get = { method: 'GET', path: '/api/v1/namespaces/ns/configmaps/c' } as const;
const create = { method: 'POST', path: '/api/v1/namespaces/ns/configmaps', body: { metadata: { name: 'c' } } } as const;

test('a 429 with Retry-After is retried after the seconds it asks, for any verb, until it succeeds', async (t) => {
  const server = await serve(t, (_req, res, n) => (n <= 2 ? status(res, 429, { 'Retry-After': '2' }) : ok(res)));
  const { kube, waits, codes } = client(t, server.url);
  const created = await kube.request<{ metadata: { name: string } }>(create);
  assert.equal(created.metadata.name, 'c');
  assert.deepEqual(waits, [2000, 2000]);
  assert.deepEqual(codes, [429, 429, 200], 'every attempt is counted');
});

test('5xx with Retry-After is retried (client-go); 503 without it is retried after 1 s; 500 without it is not', async (t) => {
  const withHeader = await serve(t, (_req, res, n) => (n === 1 ? status(res, 500, { 'Retry-After': '3' }) : ok(res)));
  const a = client(t, withHeader.url);
  await a.kube.request(create);
  assert.deepEqual(a.waits, [3000]);

  const unavailable = await serve(t, (_req, res, n) => (n === 1 ? status(res, 503) : ok(res)));
  const b = client(t, unavailable.url);
  await b.kube.request(create);
  assert.deepEqual(b.waits, [1000]);

  const internal = await serve(t, (_req, res) => status(res, 500));
  const c = client(t, internal.url);
  await assert.rejects(c.kube.request(get), (err: unknown) => err instanceof KubeApiError && err.code === 500);
  assert.equal(internal.requests(), 1, 'a 500 without Retry-After (a failing webhook, a bug) is not retried');
});

test('retries are bounded: 10 of them at most, and never a wait past the total cap', async (t) => {
  const always = await serve(t, (_req, res) => status(res, 429, { 'Retry-After': '0' }));
  const a = client(t, always.url);
  await assert.rejects(a.kube.request(get), (err: unknown) => err instanceof KubeApiError && err.code === 429);
  assert.equal(always.requests(), 11, 'the first attempt and 10 retries, as client-go');

  const tooLong = await serve(t, (_req, res) => status(res, 429, { 'Retry-After': '120' }));
  const b = client(t, tooLong.url);
  await assert.rejects(b.kube.request(get), (err: unknown) => err instanceof KubeApiError && err.code === 429);
  assert.equal(tooLong.requests(), 1, 'a wait longer than the cap is not started: the work queue backs off instead');
  assert.deepEqual(b.waits, []);
});

test('a connection reset is retried for a GET, never for a POST (it may have been applied)', async (t) => {
  const server = await serve(t, (req, res, n) => (n === 1 || (req.method === 'POST') ? req.socket.destroy() : ok(res)));
  const { kube, waits } = client(t, server.url);
  await kube.request(get);
  assert.equal(server.requests(), 2);
  assert.deepEqual(waits, [1000]);
  await assert.rejects(kube.request(create), (err: unknown) => (err as NodeJS.ErrnoException).code === 'ECONNRESET');
  assert.equal(server.requests(), 3, 'the POST went out once');
});

test('a refused connection is retried for any verb once the apiserver was reached (a restart); never reached, it fails at once', async (t) => {
  let n = 0;
  const server = createServer((_req, res) => {
    n++;
    res.setHeader('connection', 'close'); // no kept-alive connection to reuse: the next request connects anew
    ok(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { kube, waits } = client(t, url);
  await kube.request(create);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await assert.rejects(kube.request(create), (err: unknown) => (err as NodeJS.ErrnoException).code === 'ECONNREFUSED');
  assert.equal(waits.length, 10, 'nothing was sent: even a POST is retried');
  assert.equal(n, 1);

  // A client that never reached its apiserver (a wrong address at start-up) says so at once.
  const fresh = client(t, url);
  await assert.rejects(fresh.kube.request(get), (err: unknown) => (err as NodeJS.ErrnoException).code === 'ECONNREFUSED');
  assert.deepEqual(fresh.waits, []);
});

test("the caller's AbortSignal ends a retry wait and the request in flight", async (t) => {
  const server = await serve(t, (_req, res, n) => (n === 1 ? status(res, 429, { 'Retry-After': '1' }) : undefined /* never answers */));
  const kube = createKubeClientFor(connection(server.url));
  t.after(() => kube.close());
  const waiting = new AbortController();
  const first = kube.request({ ...get, signal: waiting.signal });
  await waitUntil(() => server.requests() === 1);
  waiting.abort();
  await assert.rejects(first, { name: 'AbortError' });
  assert.equal(server.requests(), 1, 'no retry after the abort');

  const inFlight = new AbortController();
  const second = kube.request({ ...get, signal: inFlight.signal });
  await waitUntil(() => server.requests() === 2);
  inFlight.abort();
  await assert.rejects(second, { name: 'AbortError' });
  await waitUntil(() => server.closed() === 1);
});

test('an apiserver that accepts the connection and never completes the TLS handshake fails at the connect timeout', async (t) => {
  const sockets = new Set<Socket>();
  const silent = createTcpServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const server = `https://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const { kube } = client(t, server, { connectTimeoutMs: 300, retry: { maxRetries: 0 } });
  await assert.rejects(kube.request(get), /could not connect to the apiserver .* in 0.3 s/);
  let done: unknown;
  const handle = await kube.watch('/api/v1/configmaps', {}, { onEvent: () => {}, onDone: (err) => (done = err) });
  await waitUntil(() => done !== undefined);
  handle.abort();
  assert.match(String(done), /could not connect to the apiserver/);
});

test('leader-election requests do not wait in the line of the other requests', async (t) => {
  const server = await serve(t, (_req, res) => ok(res));
  // One token now, the next in 5 s: the next request waits for it; the Lease read must not wait behind it.
  const { kube } = client(t, server.url, { qps: 0.2, burst: 1 });
  await kube.request(get);
  let queuedDone = false;
  const queued = kube.request(get).then(() => (queuedDone = true));
  await kube.leaderElection.request({ method: 'GET', path: '/apis/coordination.k8s.io/v1/namespaces/ns/leases/l' });
  assert.equal(queuedDone, false, 'the lease read went out while the request ahead of it still waits for a token');
  await queued;
});

test('a request of a leadership term that has ended is refused, and one in flight is cut when the term ends', async (t) => {
  const server = await serve(t, (req, res) => (req.method === 'PUT' ? undefined /* hangs */ : ok(res)));
  const { kube } = client(t, server.url);
  const term = new AbortController();
  let ended = false;
  const inTerm = { signal: term.signal, ended: () => ended };
  await runInTerm(inTerm, () => kube.request(create));
  const hanging = runInTerm(inTerm, () => kube.request({ method: 'PUT', path: '/api/v1/namespaces/ns/configmaps/c', body: {} }));
  await waitUntil(() => server.requests() === 2);
  term.abort(new Error('leadership lost'));
  await assert.rejects(hanging, /leadership lost/);
  await waitUntil(() => server.closed() === 1);
  await assert.rejects(runInTerm(inTerm, () => kube.request(create)), /leadership lost/);
  assert.equal(server.requests(), 2);

  // The clock says the term is over before its signal fired (a late timer, a blocked event loop): refused too.
  ended = true;
  await assert.rejects(runInTerm({ signal: new AbortController().signal, ended: () => ended }, () => kube.request(create)), /term .*ended/);
  assert.equal(server.requests(), 2);
  // Outside any term, requests go as before.
  await kube.request(create);
});

test('which failures are retried, and after how long (the rule, table-tested)', () => {
  const cases: Array<[string, Parameters<typeof retryDelayMs>, number | undefined]> = [
    ['429 + Retry-After, POST', ['POST', undefined, { status: 429, retryAfter: '5' }], 5000],
    ['504 + Retry-After, POST', ['POST', undefined, { status: 504, retryAfter: '1' }], 1000],
    ['Retry-After as a date is not seconds: 1 s', ['GET', undefined, { status: 429, retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT' }], 1000],
    ['502 without, GET', ['GET', undefined, { status: 502 }], 1000],
    ['502 without, POST', ['POST', undefined, { status: 502 }], undefined],
    ['504 without, apply PATCH', ['PATCH', 'application/apply-patch+yaml', { status: 504 }], 1000],
    ['504 without, merge PATCH', ['PATCH', 'application/merge-patch+json', { status: 504 }], undefined],
    ['409', ['PUT', undefined, { status: 409 }], undefined],
    ['reset after sending, PUT', ['PUT', undefined, { error: { code: 'ECONNRESET', sent: true, reachedBefore: true } }], 1000],
    ['reset after sending, POST', ['POST', undefined, { error: { code: 'ECONNRESET', sent: true, reachedBefore: true } }], undefined],
    ['never connected, POST, reached before', ['POST', undefined, { error: { code: 'ETIMEDOUT', sent: false, reachedBefore: true } }], 1000],
    ['never connected, GET, never reached', ['GET', undefined, { error: { code: 'ECONNREFUSED', sent: false, reachedBefore: false } }], undefined],
    ['request idle timeout', ['GET', undefined, { error: { code: 'ETIMEDOUT', sent: true, reachedBefore: true } }], undefined],
  ];
  for (const [what, args, expected] of cases) assert.equal(retryDelayMs(...args), expected, what);
});

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
