// Generated credentials (dataFrom[].sourceRef.generatorRef) once the Secret holds them: a failure of any later step
// (the status patch, the leases' commit) must never revoke them while the application reads them from the Secret.
// A failure before the Secret was written revokes them (nothing holds them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExternalSecret } from '../../../src/api/index.ts';
import type { SecretsClient } from '../../../src/providers/provider.ts';
import { createExternalSecretReconciler } from '../../../src/controller/externalsecret/reconciler.ts';
import type { IssuedCredentials, LeaseKeeper } from '../../../src/controller/externalsecret/generators.ts';
import type { ResolvedStore } from '../../../src/controller/externalsecret/store-ref.ts';

const now = Date.parse('2026-01-01T00:00:00Z');
const signal = new AbortController().signal;
const store: ResolvedStore = { kind: 'SecretStore', name: 'vault', namespace: 'team', uid: 'store-uid', generation: 1, providerName: 'fake', providerSpec: {} };

type Step = 'apply' | 'status' | 'commit';

function world(failAt: Step) {
  const raw = {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'app', namespace: 'team', uid: 'es-uid', generation: 1, finalizers: ['secret-relay.dev/generator-leases'] },
    spec: { secretStoreRef: { name: 'vault' }, refreshInterval: '1h', dataFrom: [{ sourceRef: { generatorRef: { kind: 'VaultDynamicSecret', name: 'db' } } }] },
  };
  const parsed = parseExternalSecret(raw);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  const secrets = new Map<string, { data?: Record<string, string> }>();
  const committed: IssuedCredentials[][] = [];
  const abandoned: IssuedCredentials[][] = [];
  let issuedCount = 0;
  const leases: LeaseKeeper = {
    leasesOf: () => [],
    tracks: () => false,
    ensureFinalizer: async () => {},
    maintain: async () => ({ rotate: false, nextAt: undefined }),
    async generate(_es, source, generatorRef) {
      issuedCount++;
      const ref = { namespace: 'team', kind: generatorRef.kind, name: generatorRef.name };
      return {
        data: new Map([['username', new TextEncoder().encode(`v-app-${issuedCount}`)]]),
        issued: { source, ref, lease: { source, kind: ref.kind, name: ref.name, leaseId: `database/creds/app/${issuedCount}`, renewable: true, leaseDurationSeconds: 3600, issueTime: new Date(now).toISOString(), expireTime: new Date(now + 3_600_000).toISOString() } },
      };
    },
    async commit(_es, issued) {
      committed.push([...issued]);
      if (failAt === 'commit') throw new Error('apiserver: the leases status patch timed out');
      return undefined;
    },
    async abandon(_es, issued) {
      abandoned.push([...issued]);
    },
    release: async () => {},
  };
  const client: SecretsClient = { identity: 'vault', getSecret: async () => new Uint8Array(), getAllSecrets: async () => ({}), validate: async () => 'Ready', close: async () => {} };
  const reconcile = createExternalSecretReconciler({
    clock: { now: () => now },
    getExternalSecret: () => parsed,
    getManagedSecret: (namespace, name) => secrets.get(`${namespace}/${name}`),
    resolveStore: () => ({ ok: true, store }),
    clientFor: async () => client,
    secrets: {
      apply: async () => assert.fail('a new Secret is created with applyIfAbsent'),
      applyIfAbsent: async (body) => {
        if (failAt === 'apply') throw new Error('apiserver: 503');
        const applied = body as { metadata: { namespace: string; name: string }; data?: Record<string, string> };
        secrets.set(`${applied.metadata.namespace}/${applied.metadata.name}`, applied);
        return 'created';
      },
      releaseForAdoption: async () => assert.fail('no adoption'),
      delete: async () => 'absent',
      read: async () => undefined,
    },
    status: {
      patch: async () => {
        if (failAt === 'status') throw new Error('apiserver: the status patch timed out');
        return 'patched';
      },
    },
    events: { record: async () => {} },
    audit: { record: () => {}, close: async () => {} },
    hmacKey: new Uint8Array(32).fill(7),
    leases,
  });
  const username = () => {
    const data = secrets.get('team/app')?.data;
    return data?.['username'] === undefined ? undefined : Buffer.from(data['username'], 'base64').toString('utf8');
  };
  return { reconcile, committed, abandoned, username };
}

test('the status patch fails after the Secret was written: the credentials it holds are kept and recorded, never revoked', async () => {
  const w = world('status');
  await assert.rejects(w.reconcile('team/app', signal), /status patch timed out/, 'the failure is still reported and retried');
  assert.equal(w.username(), 'v-app-1', 'the Secret holds the new credentials');
  assert.deepEqual(w.abandoned, [], 'nothing the Secret holds is revoked');
  assert.deepEqual(w.committed.map((c) => c.map((i) => i.lease?.leaseId)), [['database/creds/app/1']], 'their lease is recorded, so it is renewed, and revoked when replaced');
});

test("the leases' commit fails after the Secret was written: the credentials are not revoked, nor committed twice", async () => {
  const w = world('commit');
  await assert.rejects(w.reconcile('team/app', signal), /leases status patch timed out/);
  assert.equal(w.username(), 'v-app-1');
  assert.deepEqual(w.abandoned, []);
  assert.equal(w.committed.length, 1);
});

test('the Secret write fails: the new credentials reach no one and are revoked', async () => {
  const w = world('apply');
  await assert.rejects(w.reconcile('team/app', signal), /503/);
  assert.equal(w.username(), undefined);
  assert.deepEqual(w.abandoned.map((c) => c.map((i) => i.lease?.leaseId)), [['database/creds/app/1']]);
  assert.deepEqual(w.committed, []);
});
