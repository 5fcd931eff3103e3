import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry, register as globalRegistry } from 'prom-client';
import { createMetrics } from '../../../src/metrics/metrics.ts';
import type { ControllerName } from '../../../src/metrics/metrics.ts';

/** Sample lines (no comments) of one metric family in the exposition text. */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

test('the exposition has every secret-relay metric and the process metrics', async () => {
  const registry = new Registry();
  createMetrics(registry);
  const text = await registry.metrics();
  for (const name of [
    'secret_relay_reconcile_total',
    'secret_relay_reconcile_duration_seconds',
    'secret_relay_provider_requests_total',
    'secret_relay_provider_request_duration_seconds',
    'secret_relay_provider_throttled_total',
    'secret_relay_externalsecrets_ready',
    'secret_relay_stores_ready',
    'secret_relay_workqueue_depth',
    'secret_relay_workqueue_adds_total',
    'secret_relay_workqueue_wait_seconds',
    'secret_relay_workqueue_retries_total',
    'secret_relay_leader',
    'secret_relay_kube_requests_total',
    'secret_relay_externalsecret_syncs_total',
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
  ]) {
    assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  }
  // Nothing lands on the global registry.
  assert.equal((await globalRegistry.getMetricsAsJSON()).filter((m) => m.name.startsWith('secret_relay_')).length, 0);
});

test('recorded events appear with their bounded labels and values', async () => {
  const registry = new Registry();
  const metrics = createMetrics(registry);
  metrics.reconcile('externalsecret', 'success', 0.02);
  metrics.reconcile('externalsecret', 'success', 0.2);
  metrics.reconcile('externalsecret', 'terminal', 0.001);
  metrics.providerRequest('fake', 'getSecret', 'success', 0.003);
  metrics.providerRequest('aws', 'getAllSecrets', 'throttled', 1.2);
  metrics.providerThrottled('aws');
  metrics.setQueueDepth('externalsecret', 17);
  metrics.queueAdded('externalsecret');
  metrics.queueAdded('externalsecret');
  metrics.queueWaited('externalsecret', 42);
  metrics.queueRetried('secretstore');
  metrics.setLeader(true);
  const text = await registry.metrics();

  assert.ok(text.includes('secret_relay_reconcile_total{controller="externalsecret",result="success"} 2'));
  assert.ok(text.includes('secret_relay_reconcile_total{controller="externalsecret",result="terminal"} 1'));
  assert.ok(text.includes('secret_relay_reconcile_total{controller="externalsecret",result="error"} 0'), 'pre-created at 0');
  assert.ok(text.includes('secret_relay_reconcile_duration_seconds_count{controller="externalsecret"} 3'));
  assert.ok(text.includes('secret_relay_reconcile_duration_seconds_bucket{le="0.025",controller="externalsecret"} 2'));
  assert.ok(text.includes('secret_relay_provider_requests_total{provider="fake",operation="getSecret",result="success"} 1'));
  assert.ok(text.includes('secret_relay_provider_requests_total{provider="aws",operation="getAllSecrets",result="throttled"} 1'));
  assert.ok(text.includes('secret_relay_provider_request_duration_seconds_sum{provider="aws",operation="getAllSecrets"} 1.2'));
  assert.ok(text.includes('secret_relay_provider_throttled_total{provider="aws"} 1'));
  assert.ok(text.includes('secret_relay_workqueue_depth{controller="externalsecret"} 17'));
  assert.ok(text.includes('secret_relay_workqueue_adds_total{controller="externalsecret"} 2'));
  assert.ok(text.includes('secret_relay_workqueue_wait_seconds_bucket{le="60",controller="externalsecret"} 1'));
  assert.ok(text.includes('secret_relay_workqueue_wait_seconds_bucket{le="30",controller="externalsecret"} 0'));
  assert.ok(text.includes('secret_relay_workqueue_retries_total{controller="secretstore"} 1'));
  assert.deepEqual(samples(text, 'secret_relay_leader'), ['secret_relay_leader 1']);

  metrics.setLeader(false);
  assert.deepEqual(samples(await registry.metrics(), 'secret_relay_leader'), ['secret_relay_leader 0']);
});

test('ready counts are read from the source at each scrape', async () => {
  const registry = new Registry();
  const metrics = createMetrics(registry);
  assert.deepEqual(samples(await registry.metrics(), 'secret_relay_externalsecrets_ready'), [
    'secret_relay_externalsecrets_ready{condition="True"} 0',
    'secret_relay_externalsecrets_ready{condition="False"} 0',
    'secret_relay_externalsecrets_ready{condition="Unknown"} 0',
  ]);

  let ready = 3;
  metrics.setReadyCountsSource(() => ({
    externalSecrets: { True: ready, False: 1, Unknown: 2 },
    stores: { SecretStore: { True: 4, False: 0, Unknown: 0 }, ClusterSecretStore: { True: 1, False: 1, Unknown: 0 } },
  }));
  let text = await registry.metrics();
  assert.ok(text.includes('secret_relay_externalsecrets_ready{condition="True"} 3'));
  assert.ok(text.includes('secret_relay_externalsecrets_ready{condition="Unknown"} 2'));
  assert.ok(text.includes('secret_relay_stores_ready{kind="SecretStore",condition="True"} 4'));
  assert.ok(text.includes('secret_relay_stores_ready{kind="ClusterSecretStore",condition="False"} 1'));

  ready = 10;
  text = await registry.metrics();
  assert.ok(text.includes('secret_relay_externalsecrets_ready{condition="True"} 10'));

  // A failing source keeps the last values instead of failing the scrape.
  metrics.setReadyCountsSource(() => {
    throw new Error('cache not synced');
  });
  text = await registry.metrics();
  assert.ok(text.includes('secret_relay_externalsecrets_ready{condition="True"} 10'));
});

test('label values outside the closed sets become "other": no series per name or namespace', async () => {
  const registry = new Registry();
  const metrics = createMetrics(registry);
  // Only an untyped caller can do this; the types forbid it.
  metrics.reconcile('team-a/db' as ControllerName, 'success', 0.1);
  metrics.providerRequest('aws', 'getSecret', 'prod/db/password' as 'success', 0.1);
  metrics.kubeRequest('LIST /api/v1/secrets' as 'list');
  metrics.kubeRequest('patch');
  const text = await registry.metrics();
  assert.ok(!text.includes('team-a/db'));
  assert.ok(!text.includes('prod/db/password'));
  assert.ok(text.includes('secret_relay_reconcile_total{controller="other",result="success"} 1'));
  assert.ok(text.includes('secret_relay_provider_requests_total{provider="aws",operation="getSecret",result="other"} 1'));
  assert.ok(!text.includes('/api/v1/secrets'));
  assert.ok(text.includes('secret_relay_kube_requests_total{verb="other"} 1'));
  assert.ok(text.includes('secret_relay_kube_requests_total{verb="patch"} 1'));
  assert.ok(text.includes('secret_relay_kube_requests_total{verb="watch"} 0'));

  // Every secret_relay series uses only the documented label names.
  const allowed = new Set(['controller', 'result', 'provider', 'operation', 'condition', 'kind', 'verb', 'status_write', 'le']);
  for (const line of text.split('\n').filter((l) => l.startsWith('secret_relay_'))) {
    for (const [, label] of line.matchAll(/([a-z_]+)="/g)) assert.ok(allowed.has(label ?? ''), `${label} in ${line}`);
  }
});

test('two registries are independent (no global state)', async () => {
  const a = new Registry();
  const b = new Registry();
  createMetrics(a).providerThrottled('vault');
  createMetrics(b);
  assert.ok((await a.metrics()).includes('secret_relay_provider_throttled_total{provider="vault"} 1'));
  assert.ok(!(await b.metrics()).includes('provider="vault"'));
});
