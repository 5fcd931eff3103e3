// What a rollout leaves behind besides the patch: its audit line and its counter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { toAuditLine, type AuditRecord } from '../../../src/audit/audit-log.ts';
import { createMetrics } from '../../../src/metrics/metrics.ts';

test('a workload.rollout audit line names the Secret and the workload, in the documented key order, and nothing smuggled in', () => {
  const record = {
    action: 'workload.rollout',
    externalSecret: { namespace: 'team-a', name: 'db' },
    store: { kind: 'SecretStore', name: 'vault' },
    provider: '-',
    identity: 'secret-relay',
    targetSecret: { namespace: 'team-a', name: 'db' },
    workload: { kind: 'Deployment', namespace: 'team-a', name: 'api', data: 'hunter2' },
    result: 'success',
    durationMs: 3.25,
    value: 'hunter2',
  } as unknown as AuditRecord;
  const line = toAuditLine(record, { now: () => Date.parse('2026-01-01T00:00:00Z') } as never);
  assert.deepEqual(Object.keys(line), ['audit', 'time', 'action', 'externalSecret', 'store', 'provider', 'identity', 'result', 'durationMs', 'targetSecret', 'workload']);
  assert.deepEqual(line.workload, { kind: 'Deployment', namespace: 'team-a', name: 'api' });
  assert.ok(!JSON.stringify(line).includes('hunter2'));
});

test('secret_relay_rollouts_total counts by kind and result, with every series present from the start and unknown values bounded', async () => {
  const registry = new Registry();
  const metrics = createMetrics(registry);
  metrics.rollout('StatefulSet', 'rolled');
  metrics.rollout('StatefulSet', 'rolled');
  metrics.rollout('Job' as never, 'exploded' as never);
  const values = (await registry.getSingleMetric('secret_relay_rollouts_total')!.get()).values;
  const of = (kind: string, result: string) => values.find((v) => v.labels['kind'] === kind && v.labels['result'] === result)?.value;
  assert.equal(of('StatefulSet', 'rolled'), 2);
  assert.equal(of('Deployment', 'missing'), 0);
  assert.equal(of('argo.Rollout', 'failed'), 0);
  assert.equal(of('other', 'other'), 1);
  assert.equal(values.length, 4 * 4 + 1);
});
