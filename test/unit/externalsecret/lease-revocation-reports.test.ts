// Revocations of generated credentials are never silent: each is audited (provider.revoke) and counted
// (provider_requests_total{operation="revoke"}); a failure is also a Warning Event on the ExternalSecret — whether
// the keeper revoked a lease itself or the generator revoked a replaced connection's token on the side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLeaseKeeper } from '../../../src/controller/externalsecret/generators.ts';
import type { Generator } from '../../../src/providers/generator.ts';
import type { AuditRecord } from '../../../src/audit/audit-log.ts';
import { parseExternalSecret } from '../../../src/api/parse.ts';
import { TerminalError } from '../../../src/providers/provider.ts';

function externalSecret(leases: unknown[] = []) {
  const parsed = parseExternalSecret({
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'app', namespace: 'team-a', uid: 'es-1', generation: 1, finalizers: ['secret-relay.dev/generator-leases'] },
    spec: { secretStoreRef: { name: 'vault' }, dataFrom: [{ sourceRef: { generatorRef: { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'VaultDynamicSecret', name: 'db' } } }] },
    ...(leases.length > 0 ? { status: { leases } } : {}),
  });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

function setup(generator: Partial<Generator>) {
  const audit: AuditRecord[] = [];
  const metrics: string[] = [];
  const warnings: string[] = [];
  const keeper = createLeaseKeeper({
    generators: {
      VaultDynamicSecret: {
        settings: async () => ({ renewAtPercent: 50, rotateBeforeMs: 0 }),
        generate: async () => ({ data: new Map() }),
        renew: async () => ({ leaseDurationSeconds: 60, renewable: true }),
        revoke: async () => {},
        ...generator,
      },
    },
    status: { patch: async () => 'patched' },
    finalizers: { add: async () => {}, remove: async () => {} },
    warn: async (_es, message) => void warnings.push(message),
    audit: { record: (record) => void audit.push(record) },
    metrics: { providerRequest: (provider, operation, result) => void metrics.push(`${provider} ${operation} ${result}`) },
    clock: { now: () => 0 },
  });
  return { keeper, audit, metrics, warnings };
}

const lease = { source: 0, kind: 'VaultDynamicSecret', name: 'db', leaseId: 'database/creds/app/l-1', renewable: true, leaseDurationSeconds: 60, issueTime: new Date(0).toISOString(), expireTime: new Date(60_000).toISOString() };

test('a replaced connection whose token could not be revoked: Warning Event, metric, audit record', async () => {
  const { keeper, audit, metrics, warnings } = setup({
    async generate(_ref, _signal, onRevocation) {
      onRevocation?.({ subject: 'the Vault token of VaultDynamicSecret team-a/db (generation 1)', identity: 'approle at auth/approle', error: 'Vault token revoke-self: internal error', durationMs: 3 });
      return { data: new Map() };
    },
  });
  const es = externalSecret();
  await keeper.generate(es, 0, es.spec.dataFrom![0]!.sourceRef!.generatorRef!, 0, new AbortController().signal);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /could not revoke the Vault token of VaultDynamicSecret team-a\/db \(generation 1\): Vault token revoke-self: internal error; it ends at its TTL/);
  assert.deepEqual(metrics, ['vault revoke error']);
  assert.equal(audit.length, 1);
  assert.deepEqual(
    { action: audit[0]!.action, result: audit[0]!.result, remoteKey: audit[0]!.remoteKey, identity: audit[0]!.identity, store: audit[0]!.store, provider: audit[0]!.provider },
    { action: 'provider.revoke', result: 'error', remoteKey: 'the Vault token of VaultDynamicSecret team-a/db (generation 1)', identity: 'approle at auth/approle', store: { kind: 'VaultDynamicSecret', name: 'db' }, provider: 'vault' },
  );
});

test('a successful side revocation is audited and counted, with no Event', async () => {
  const { keeper, audit, metrics, warnings } = setup({
    async renew(_ref, _lease, _inc, _signal, onRevocation) {
      onRevocation?.({ subject: 'the Vault token of VaultDynamicSecret team-a/db (generation 1)', identity: 'approle', durationMs: 1 });
      return { leaseDurationSeconds: 60, renewable: true };
    },
  });
  await keeper.maintain(externalSecret([lease]), 30_000, new AbortController().signal);
  assert.deepEqual(warnings, []);
  assert.deepEqual(metrics, ['vault revoke success']);
  assert.deepEqual(audit.map((r) => [r.action, r.result]), [['provider.revoke', 'success']]);
});

test('lease revocations by the keeper are audited and counted; a refused one is also a Warning Event', async () => {
  const refused = setup({
    revoke: async () => {
      throw new TerminalError('Vault revoke lease database/creds/app/l-1: permission denied');
    },
  });
  await refused.keeper.release(externalSecret([lease]), new AbortController().signal);
  assert.equal(refused.warnings.length, 1);
  assert.deepEqual(refused.metrics, ['vault revoke error']);
  assert.deepEqual(refused.audit.map((r) => [r.action, r.remoteKey, r.result]), [['provider.revoke', 'database/creds/app/l-1', 'error']]);

  const fine = setup({});
  await fine.keeper.release(externalSecret([lease]), new AbortController().signal);
  assert.deepEqual(fine.metrics, ['vault revoke success']);
  assert.deepEqual(fine.audit.map((r) => [r.action, r.result, r.externalSecret]), [['provider.revoke', 'success', { namespace: 'team-a', name: 'app' }]]);
});
