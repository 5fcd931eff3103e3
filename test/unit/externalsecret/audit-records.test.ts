// What the ExternalSecret reconciler writes to the audit log (src/audit/README.md): provider.read for a key,
// provider.find for a dataFrom find, result `denied` when the provider refuses the store's identity, and the
// identity as the provider knows it after the call (referent auth resolves the role at the first read).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createExternalSecretReconciler } from '../../../src/controller/externalsecret/reconciler.ts';
import type { ResolvedStore } from '../../../src/controller/externalsecret/store-ref.ts';
import { parseExternalSecret } from '../../../src/api/parse.ts';
import type { AuditRecord } from '../../../src/audit/audit-log.ts';
import { AccessDeniedError, type SecretsClient } from '../../../src/providers/provider.ts';

const store: ResolvedStore = { kind: 'SecretStore', name: 'aws', namespace: 'team-a', uid: 's-1', generation: 1, providerName: 'aws', providerSpec: {} };

function externalSecret(spec: Record<string, unknown>) {
  const parsed = parseExternalSecret({
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'app', namespace: 'team-a', uid: 'es-1', generation: 1 },
    spec: { secretStoreRef: { name: 'aws' }, ...spec },
  });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

function harness(spec: Record<string, unknown>, client: SecretsClient) {
  const records: AuditRecord[] = [];
  const es = externalSecret(spec);
  const reconcile = createExternalSecretReconciler({
    clock: { now: () => 1_000_000 },
    getExternalSecret: () => ({ ok: true, value: es }),
    getManagedSecret: () => undefined,
    resolveStore: () => ({ ok: true, store }),
    clientFor: async () => client,
    secrets: {
      apply: async () => ({}),
      delete: async () => 'deleted',
      read: async () => undefined,
      applyIfAbsent: async () => 'created' as const,
      releaseForAdoption: async () => ({}),
    },
    status: { patch: async () => 'patched' },
    events: { record: async () => {} },
    audit: { record: (record) => void records.push(record), close: async () => {} },
    hmacKey: new Uint8Array(32),
  });
  return { records, run: () => reconcile('team-a/app', new AbortController().signal) };
}

/** A client whose identity is a placeholder until its first call resolves the role (as aws under referent auth). */
function lateIdentityClient(overrides: Partial<SecretsClient> = {}): SecretsClient {
  let identity = 'role from the eks.amazonaws.com/role-arn annotation (ServiceAccount team-a/app)';
  const resolve = () => void (identity = 'role arn:aws:iam::123456789012:role/app (ServiceAccount team-a/app)');
  return {
    get identity() {
      return identity;
    },
    async getSecret() {
      resolve();
      return new TextEncoder().encode('{"password":"hunter2"}');
    },
    async getAllSecrets() {
      resolve();
      return { 'db/one': new TextEncoder().encode('1') };
    },
    validate: async () => 'Ready',
    close: async () => {},
    ...overrides,
  };
}

test('a dataFrom find is audited as provider.find, a key as provider.read', async () => {
  const { records, run } = harness(
    { data: [{ secretKey: 'pw', remoteRef: { key: 'db', property: 'password' } }], dataFrom: [{ find: { name: { regexp: '^db/' } } }] },
    lateIdentityClient(),
  );
  await run();
  const provider = records.filter((r) => r.action.startsWith('provider.'));
  assert.deepEqual(
    provider.map((r) => [r.action, r.remoteKey, r.result]),
    [
      ['provider.read', 'db#password', 'success'],
      ['provider.find', 'find(name=/^db//)', 'success'],
    ],
  );
});

test('the audit identity is the one the provider resolved during the call, for reads and for the Secret write', async () => {
  const { records, run } = harness({ data: [{ secretKey: 'pw', remoteRef: { key: 'db' } }] }, lateIdentityClient());
  await run();
  assert.deepEqual(
    records.map((r) => [r.action, r.identity]),
    [
      ['provider.read', 'role arn:aws:iam::123456789012:role/app (ServiceAccount team-a/app)'],
      ['secret.create', 'role arn:aws:iam::123456789012:role/app (ServiceAccount team-a/app)'],
    ],
  );
});

test('an access denied from the provider is audited as denied (read and find), with the message and no value', async () => {
  const denied = new AccessDeniedError('AWS denied secretsmanager:GetSecretValue on "db" to role app: allow it');
  for (const spec of [{ data: [{ secretKey: 'pw', remoteRef: { key: 'db' } }] }, { dataFrom: [{ find: { name: { regexp: '^db/' } } }] }]) {
    const { records, run } = harness(
      spec,
      lateIdentityClient({
        getSecret: async () => {
          throw denied;
        },
        getAllSecrets: async () => {
          throw denied;
        },
      }),
    );
    await assert.rejects(run(), AccessDeniedError);
    assert.equal(records.length, 1);
    assert.equal(records[0]!.result, 'denied');
    assert.match(records[0]!.error ?? '', /AWS denied secretsmanager:GetSecretValue/);
  }
});
