// The case, through the reconciler with the real lease keeper: a re-sync writes new credentials to the
// Secret, then the status patch recording its leases fails. The replaced lease must be neither forgotten nor
// revoked before the new one is recorded; the next reconcile records, then revokes it once, and only then is Ready=True.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExternalSecret } from '../../../src/api/index.ts';
import type { SecretsClient } from '../../../src/providers/provider.ts';
import { createExternalSecretReconciler } from '../../../src/controller/externalsecret/reconciler.ts';
import { createLeaseKeeper } from '../../../src/controller/externalsecret/generators.ts';
import type { ResolvedStore } from '../../../src/controller/externalsecret/store-ref.ts';

const signal = new AbortController().signal;
const store: ResolvedStore = { kind: 'SecretStore', name: 'vault', namespace: 'team', uid: 'store-uid', generation: 1, providerName: 'fake', providerSpec: {} };

function world() {
  let now = Date.parse('2026-01-01T00:00:00Z');
  let generation = 1;
  const status: Record<string, unknown> = {};
  const secrets = new Map<string, { data?: Record<string, string> }>();
  const revoked: string[] = [];
  const faults = { leasesPatch: 0 };
  let issued = 0;
  // The cache shows what the apiserver holds (status merged), at the current generation.
  const current = () => {
    const parsed = parseExternalSecret({
      apiVersion: 'secret-relay.dev/v1alpha1',
      kind: 'ExternalSecret',
      metadata: { name: 'app', namespace: 'team', uid: 'es-uid', generation, resourceVersion: String(generation), finalizers: ['secret-relay.dev/generator-leases'] },
      spec: { secretStoreRef: { name: 'vault' }, refreshInterval: '1h', dataFrom: [{ sourceRef: { generatorRef: { kind: 'VaultDynamicSecret', name: 'db' } } }] },
      status: structuredClone(status),
    });
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    return parsed;
  };
  const statusWriter = {
    patch: async (_ref: unknown, patch: Record<string, unknown>) => {
      if ('leases' in patch && faults.leasesPatch > 0) {
        faults.leasesPatch--;
        throw new Error('apiserver: the leases status patch timed out');
      }
      for (const [key, value] of Object.entries(patch)) {
        if (value === null) delete status[key];
        else status[key] = structuredClone(value);
      }
      return 'patched' as const;
    },
  };
  const keeper = createLeaseKeeper({
    generators: {
      VaultDynamicSecret: {
        settings: async () => ({ renewAtPercent: 50, rotateBeforeMs: 0 }),
        generate: async () => {
          issued++;
          return { data: new Map([['username', new TextEncoder().encode(`v-app-${issued}`)]]), lease: { leaseId: `l-${issued}`, renewable: true, leaseDurationSeconds: 3600 } };
        },
        renew: async () => ({ leaseDurationSeconds: 3600, renewable: true }),
        revoke: async (_ref, leaseId) => void revoked.push(leaseId),
      },
    },
    status: statusWriter,
    finalizers: { add: async () => {}, remove: async () => {} },
    clock: { now: () => now },
  });
  const client: SecretsClient = { identity: 'vault', getSecret: async () => new Uint8Array(), getAllSecrets: async () => ({}), validate: async () => 'Ready', close: async () => {} };
  const write = async (body: unknown) => {
    const applied = body as { metadata: { namespace: string; name: string }; data?: Record<string, string> };
    secrets.set(`${applied.metadata.namespace}/${applied.metadata.name}`, applied);
  };
  const reconcile = createExternalSecretReconciler({
    clock: { now: () => now },
    getExternalSecret: () => current(),
    getManagedSecret: (namespace, name) => secrets.get(`${namespace}/${name}`),
    resolveStore: () => ({ ok: true, store }),
    clientFor: async () => client,
    secrets: {
      apply: async (body) => {
        await write(body);
        return body as never;
      },
      applyIfAbsent: async (body) => {
        await write(body);
        return 'created';
      },
      releaseForAdoption: async () => assert.fail('no adoption'),
      delete: async () => 'absent',
      read: async () => undefined,
    },
    status: statusWriter,
    events: { record: async () => {} },
    audit: { record: () => {}, close: async () => {} },
    hmacKey: new Uint8Array(32).fill(7),
    leases: keeper,
  });
  const username = () => {
    const data = secrets.get('team/app')?.data;
    return data?.['username'] === undefined ? undefined : Buffer.from(data['username'], 'base64').toString('utf8');
  };
  const ready = () => (status['conditions'] as { type: string; status: string }[] | undefined)?.find((c) => c.type === 'Ready')?.status;
  const leaseIds = (field: string) => ((status[field] as { leaseId: string }[] | undefined) ?? []).map((l) => l.leaseId);
  return {
    reconcile: () => reconcile('team/app', signal),
    username,
    ready,
    leaseIds,
    revoked,
    faults,
    bump: () => void generation++,
    advance: (ms: number) => void (now += ms),
  };
}

test("the leases' status patch fails after a re-sync: the replaced lease is recorded and revoked once at the next reconcile, and only then is the ExternalSecret Ready", async () => {
  const w = world();
  await w.reconcile();
  assert.equal(w.username(), 'v-app-1');
  assert.deepEqual(w.leaseIds('leases'), ['l-1']);

  // A spec change re-syncs: l-2 reaches the Secret, then recording the leases fails.
  w.bump();
  w.advance(1_000);
  w.faults.leasesPatch = 2;
  await assert.rejects(w.reconcile(), /leases status patch timed out/);
  assert.equal(w.username(), 'v-app-2', 'the Secret holds the new credentials');
  assert.deepEqual(w.revoked, [], 'nothing revoked before the new lease is recorded');
  assert.notEqual(w.ready(), 'True');

  // The next reconcile cannot record them either: still not Ready, still nothing revoked.
  w.advance(1_000);
  await assert.rejects(w.reconcile(), /leases status patch timed out/);
  assert.deepEqual(w.revoked, []);
  assert.notEqual(w.ready(), 'True');
  assert.deepEqual(w.leaseIds('leases'), ['l-1'], 'the apiserver still holds the old record');

  // Then it can: recorded, the old lease revoked once, Ready.
  w.advance(1_000);
  await w.reconcile();
  assert.deepEqual(w.leaseIds('leases'), ['l-2']);
  assert.deepEqual(w.leaseIds('retiredLeases'), []);
  assert.deepEqual(w.revoked, ['l-1']);
  assert.equal(w.ready(), 'True');
  assert.equal(w.username(), 'v-app-2');
  w.advance(1_000);
  await w.reconcile();
  assert.deepEqual(w.revoked, ['l-1'], 'exactly once');
});
