// The metrics that show a tenant being held back: sandbox worker time by outcome, budget refusals, namespaces
// over budget, and the work queue's waiting namespaces and busiest backlog. Label sets stay bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createMetrics } from '../../../src/metrics/metrics.ts';

const samples = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

test('sandbox and fairness metrics, with bounded labels', async () => {
  const registry = new Registry();
  const metrics = createMetrics(registry);
  metrics.sandboxRan('ok', 0.002);
  metrics.sandboxRan('deadline', 5);
  metrics.sandboxRan('not-an-outcome' as never, 1);
  metrics.setSandboxQueued(3);
  metrics.sandboxBudgetRefused();
  metrics.setSandboxNamespacesOverBudget(1);
  metrics.setQueueNamespaces('externalsecret', 4, 2000);
  metrics.setQueueNamespaces('a-namespace-name' as never, 1, 1);
  const text = await registry.metrics();
  assert.ok(samples(text, 'secret_relay_sandbox_duration_seconds_count').includes('secret_relay_sandbox_duration_seconds_count{outcome="deadline"} 1'));
  assert.ok(samples(text, 'secret_relay_sandbox_duration_seconds_count').includes('secret_relay_sandbox_duration_seconds_count{outcome="other"} 1'));
  assert.deepEqual(samples(text, 'secret_relay_sandbox_queued'), ['secret_relay_sandbox_queued 3']);
  assert.deepEqual(samples(text, 'secret_relay_sandbox_budget_refusals_total'), ['secret_relay_sandbox_budget_refusals_total 1']);
  assert.deepEqual(samples(text, 'secret_relay_sandbox_namespaces_over_budget'), ['secret_relay_sandbox_namespaces_over_budget 1']);
  assert.ok(samples(text, 'secret_relay_workqueue_namespaces').includes('secret_relay_workqueue_namespaces{controller="externalsecret"} 4'));
  assert.ok(samples(text, 'secret_relay_workqueue_busiest_namespace_depth').includes('secret_relay_workqueue_busiest_namespace_depth{controller="externalsecret"} 2000'));
  assert.ok(samples(text, 'secret_relay_workqueue_namespaces').includes('secret_relay_workqueue_namespaces{controller="other"} 1'), 'an unknown controller is "other", never a free label');
});
