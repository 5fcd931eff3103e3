// A store's spec.retrySettings (ESO's field): a provider call that fails transiently is retried within the sync,
// maxRetries times with retryInterval between attempts, so the Secret is written without waiting for the
// reconcile's backoff; refusals and missing secrets are never retried; a tenant cannot ask for unbounded waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createExternalSecretReconciler } from '../../../src/controller/externalsecret/reconciler.ts';
import { providerRetryOf, timerSleep, withProviderRetry } from '../../../src/controller/externalsecret/provider-retry.ts';
import type { ResolvedStore } from '../../../src/controller/externalsecret/store-ref.ts';
import { parseExternalSecret } from '../../../src/api/parse.ts';
import { AccessDeniedError, NoSecretError, type SecretsClient } from '../../../src/providers/provider.ts';

function externalSecret() {
  const parsed = parseExternalSecret({
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'app', namespace: 'team-a', uid: 'es-1', generation: 1 },
    spec: { secretStoreRef: { name: 'aws' }, data: [{ secretKey: 'pw', remoteRef: { key: 'db' } }] },
  });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

/** A reconciler over a client failing its first `failures` reads with `error`; records the waits and Secret writes. */
function harness(retrySettings: { maxRetries?: number; retryInterval?: string } | undefined, failures: number, error: () => Error) {
  const store: ResolvedStore = {
    kind: 'SecretStore', name: 'aws', namespace: 'team-a', uid: 's-1', generation: 1, providerName: 'aws', providerSpec: {},
    retry: providerRetryOf(retrySettings, 'aws'),
  };
  const waits: number[] = [];
  const applied: unknown[] = [];
  let calls = 0;
  const client: SecretsClient = {
    identity: 'role app',
    async getSecret() {
      calls++;
      if (calls <= failures) throw error();
      return new TextEncoder().encode('hunter2');
    },
    getAllSecrets: async () => ({}),
    validate: async () => 'Ready',
    close: async () => {},
  };
  const reconcile = createExternalSecretReconciler({
    clock: { now: () => 1_000_000 },
    getExternalSecret: () => ({ ok: true, value: externalSecret() }),
    getManagedSecret: () => undefined,
    resolveStore: () => ({ ok: true, store }),
    clientFor: async () => client,
    secrets: {
      apply: async (body: unknown) => (applied.push(body), {}),
      delete: async () => 'deleted',
      read: async () => undefined,
      applyIfAbsent: async (body: unknown) => (applied.push(body), 'created' as const),
      releaseForAdoption: async () => ({}),
    },
    status: { patch: async () => 'patched' },
    events: { record: async () => {} },
    audit: { record: () => {}, close: async () => {} },
    hmacKey: new Uint8Array(32),
    sleep: async (ms) => void waits.push(ms),
  });
  return { waits, applied, calls: () => calls, run: () => reconcile('team-a/app', new AbortController().signal) };
}

const outage = () => new Error('connect ECONNRESET');

test('retrySettings: a read failing twice is retried 10 s apart and the Secret is written in the same sync', async () => {
  const h = harness({ maxRetries: 3, retryInterval: '10s' }, 2, outage);
  await h.run();
  assert.equal(h.calls(), 3);
  assert.deepEqual(h.waits, [10_000, 10_000]);
  assert.equal(h.applied.length, 1, 'the Secret is written');
});

test('retrySettings: after maxRetries the failure reaches the reconcile (its backoff), no Secret written', async () => {
  const h = harness({ maxRetries: 2, retryInterval: '1s' }, 5, outage);
  await assert.rejects(h.run(), /ECONNRESET/);
  assert.equal(h.calls(), 3);
  assert.equal(h.applied.length, 0);
});

test('without retrySettings a failed read is not retried within the sync (the reconcile backs off, as before)', async () => {
  const h = harness(undefined, 1, outage);
  await assert.rejects(h.run(), /ECONNRESET/);
  assert.equal(h.calls(), 1);
  assert.deepEqual(h.waits, []);
});

test('retrySettings: an access refusal and a missing secret are never retried', async () => {
  const denied = harness({ maxRetries: 5 }, 5, () => new AccessDeniedError('denied to role app'));
  await assert.rejects(denied.run(), AccessDeniedError);
  assert.equal(denied.calls(), 1);
  const missing = harness({ maxRetries: 5 }, 5, () => new NoSecretError('no db'));
  await missing.run();
  assert.equal(missing.calls(), 1);
});

test("retrySettings: ESO's defaults (3 retries, 0 for vault; 1 s apart) and a cap of 10 retries 30 s apart", () => {
  assert.deepEqual(providerRetryOf({}, 'aws'), { maxRetries: 3, intervalMs: 1000 });
  assert.deepEqual(providerRetryOf({ retryInterval: '5s' }, 'vault'), { maxRetries: 0, intervalMs: 5000 });
  assert.deepEqual(providerRetryOf({ maxRetries: 2147483647, retryInterval: '24h' }, 'aws'), { maxRetries: 10, intervalMs: 30_000 });
  assert.deepEqual(providerRetryOf(undefined, 'aws'), { maxRetries: 0, intervalMs: 0 });
});

test('a retry wait ends when the sync is aborted (shutdown, lost leadership)', async () => {
  const controller = new AbortController();
  let calls = 0;
  const pending = withProviderRetry({ maxRetries: 3, intervalMs: 60_000 }, controller.signal, async (ms, signal) => {
    controller.abort(new Error('stopping')); // while waiting
    await timerSleep(ms, signal);
  }, async () => {
    calls++;
    throw outage();
  });
  await assert.rejects(pending, { name: 'AbortError' });
  assert.equal(calls, 1);
});
