import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { startHttpServer } from '../../../src/http/server.ts';
import type { ProbeResult } from '../../../src/http/server.ts';
import { createMetrics } from '../../../src/metrics/metrics.ts';

const quietLogger = { error: () => {}, info: () => {} };

async function start(t: { after(fn: () => Promise<void>): void }, probes: { ready: () => ProbeResult; healthy: () => ProbeResult }) {
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const server = await startHttpServer({
    port: 0,
    host: '127.0.0.1',
    registry,
    isReady: probes.ready,
    isHealthy: probes.healthy,
    logger: quietLogger,
  });
  t.after(() => server.close());
  const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;
  return { server, metrics, url, registry };
}

test('/metrics serves the registry in the Prometheus text format', async (t) => {
  const { server, metrics, url, registry } = await start(t, { ready: () => true, healthy: () => true });
  assert.ok(server.port > 0, 'port 0 resolves to the chosen port');
  metrics.reconcile('externalsecret', 'error', 0.5);
  const res = await fetch(url('/metrics'));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), registry.contentType);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const body = await res.text();
  assert.ok(body.includes('secret_relay_reconcile_total{controller="externalsecret",result="error"} 1'));
});

test('/healthz and /readyz answer 200 ok, or 503 with the reason', async (t) => {
  let ready: ProbeResult = false;
  let healthy: ProbeResult = true;
  const { url } = await start(t, { ready: () => ready, healthy: () => healthy });

  let res = await fetch(url('/healthz'));
  assert.deepEqual([res.status, await res.text()], [200, 'ok\n']);
  res = await fetch(url('/readyz'));
  assert.deepEqual([res.status, await res.text()], [503, 'not ready\n']);

  ready = { ok: false, reason: 'informer caches not synced' };
  res = await fetch(url('/readyz'));
  assert.deepEqual([res.status, await res.text()], [503, 'informer caches not synced\n']);

  ready = { ok: true };
  res = await fetch(url('/readyz'));
  assert.deepEqual([res.status, await res.text()], [200, 'ok\n']);

  healthy = false;
  res = await fetch(url('/healthz'));
  assert.deepEqual([res.status, await res.text()], [503, 'not healthy\n']);
});

test('a probe that throws answers 503 with its message instead of crashing', async (t) => {
  const { url } = await start(t, {
    ready: () => {
      throw new Error('lease state unknown');
    },
    healthy: () => true,
  });
  const res = await fetch(url('/readyz'));
  assert.equal(res.status, 503);
  assert.match(await res.text(), /lease state unknown/);
});

test('unknown paths are 404, other methods 405, query strings are ignored', async (t) => {
  const { url } = await start(t, { ready: () => true, healthy: () => true });
  assert.equal((await fetch(url('/nope'))).status, 404);
  const post = await fetch(url('/metrics'), { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  assert.equal((await fetch(url('/healthz?verbose=1'))).status, 200);
  const head = await fetch(url('/readyz'), { method: 'HEAD' });
  assert.equal(head.status, 200);
});

test('close stops listening, even with a keep-alive connection open', async () => {
  const registry = new Registry();
  const server = await startHttpServer({ port: 0, host: '127.0.0.1', registry, isReady: () => true, isHealthy: () => true, logger: quietLogger });
  const url = `http://127.0.0.1:${server.port}/healthz`;
  assert.equal((await fetch(url)).status, 200); // leaves a pooled keep-alive connection
  await server.close();
  await assert.rejects(fetch(url));
});

test('a port in use is refused with a message naming the port and the flag', async (t) => {
  const { server } = await start(t, { ready: () => true, healthy: () => true });
  await assert.rejects(
    startHttpServer({ port: server.port, host: '127.0.0.1', registry: new Registry(), isReady: () => true, isHealthy: () => true, logger: quietLogger }),
    new RegExp(`127\\.0\\.0\\.1:${server.port}.*--metrics-port`),
  );
});
