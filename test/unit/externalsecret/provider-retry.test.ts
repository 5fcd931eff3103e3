// A store's spec.retrySettings (ESO's field): a provider call that fails transiently is retried maxRetries times with
// retryInterval between attempts, before the controller's own backoff; refusals and missing secrets are never retried;
// a tenant cannot ask for unbounded retries. A retry is a requeue counted per object, never a wait on the worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createExternalSecretReconciler } from '../../../src/controller/externalsecret/reconciler.ts';
import { providerRetryOf } from '../../../src/controller/externalsecret/provider-retry.ts';
import { Controller, RetryAtInterval } from '../../../src/controller/runtime/controller.ts';
import { WorkQueue } from '../../../src/controller/runtime/work-queue.ts';
import { FakeTime } from '../runtime/fake-time.ts';
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

/** A reconciler over a client failing its first `failures` reads with `error`; records the Secret writes and statuses. */
function harness(retrySettings: { maxRetries?: number; retryInterval?: string } | undefined, failures: number, error: () => Error, failedInARow?: () => number) {
  const store: ResolvedStore = {
    kind: 'SecretStore', name: 'aws', namespace: 'team-a', uid: 's-1', generation: 1, providerName: 'aws', providerSpec: {},
    retry: providerRetryOf(retrySettings, 'aws'),
  };
  const applied: unknown[] = [];
  const statuses: unknown[] = [];
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
    status: { patch: async (_ref: unknown, status: unknown) => (statuses.push(status), 'patched' as const) },
    events: { record: async () => {} },
    audit: { record: () => {}, close: async () => {} },
    hmacKey: new Uint8Array(32),
    ...(failedInARow ? { failuresOf: failedInARow } : {}),
  });
  return { applied, statuses, calls: () => calls, run: () => reconcile('team-a/app', new AbortController().signal) };
}

const outage = () => new Error('connect ECONNRESET');

test('retrySettings: a failed read ends the reconcile at once — no wait on the worker — asking the queue for a retry at retryInterval; the status says what failed', async () => {
  const h = harness({ maxRetries: 3, retryInterval: '10s' }, 2, outage);
  await assert.rejects(h.run(), (err: unknown) => {
    assert.ok(err instanceof RetryAtInterval);
    assert.equal(err.maxRetries, 3);
    assert.equal(err.intervalMs, 10_000);
    assert.match(String((err.failure as Error).message), /ECONNRESET/);
    return true;
  });
  assert.equal(h.calls(), 1, 'one provider call per reconcile');
  assert.equal(h.applied.length, 0);
  assert.match(JSON.stringify(h.statuses.at(-1)), /ECONNRESET/, 'Ready=False names the failure itself, not the wrapper');
  await assert.rejects(h.run(), RetryAtInterval);
  await h.run();
  assert.equal(h.calls(), 3);
  assert.equal(h.applied.length, 1, 'the Secret is written once the provider answers');
});

test('retrySettings: while the store’s retries are left a failure is not reported (no status, no Event), as ESO; once spent it is', async () => {
  let failedInARow = 0;
  const h = harness({ maxRetries: 2, retryInterval: '1s' }, 5, outage, () => failedInARow);
  await assert.rejects(h.run(), RetryAtInterval);
  failedInARow = 1;
  await assert.rejects(h.run(), RetryAtInterval);
  assert.deepEqual(h.statuses, [], 'the user saw no failure yet');
  failedInARow = 2;
  await assert.rejects(h.run(), RetryAtInterval);
  assert.match(JSON.stringify(h.statuses.at(-1)), /ECONNRESET/, 'the retries are spent: Ready=False names the failure');
});

test('without retrySettings a failed read goes to the controller backoff as it is', async () => {
  const h = harness(undefined, 1, outage);
  await assert.rejects(h.run(), (err: unknown) => !(err instanceof RetryAtInterval) && /ECONNRESET/.test((err as Error).message));
  assert.equal(h.calls(), 1);
});

test('retrySettings: an access refusal and a missing secret are never retried', async () => {
  const denied = harness({ maxRetries: 5 }, 5, () => new AccessDeniedError('denied to role app'));
  await assert.rejects(denied.run(), (err: unknown) => err instanceof AccessDeniedError);
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
  // "0s" is not a tight loop of provider calls: at least 1 s apart.
  assert.deepEqual(providerRetryOf({ maxRetries: 10, retryInterval: '0s' }, 'aws'), { maxRetries: 10, intervalMs: 1000 });
});

/** A controller whose reconcile of each key fails as `fail(key, attempt)` says, on fake time; one worker. */
function controllerHarness(fail: (key: string, attempt: number) => Error | undefined) {
  const time = new FakeTime();
  const queue = new WorkQueue({ clock: time, timers: time, random: () => 0, rateLimit: { qps: Infinity, burst: 1 } });
  const calls = new Map<string, number[]>();
  const controller = new Controller({
    name: 'externalsecret',
    queue,
    workers: 1,
    clock: time,
    timers: time,
    reconcile: async (key) => {
      const at = calls.get(key) ?? [];
      at.push(time.now());
      calls.set(key, at);
      const error = fail(key, at.length);
      if (error) throw error;
    },
  });
  const started = time.now();
  const seconds = (key: string) => (calls.get(key) ?? []).map((t) => (t - started) / 1000);
  return { time, queue, controller, seconds };
}

test('retrySettings in the controller: requeued retryInterval apart maxRetries times, then the usual backoff from its first step; a success resets the count', async () => {
  const h = controllerHarness((_key, attempt) => (attempt <= 6 ? new RetryAtInterval(new Error('ECONNRESET'), { maxRetries: 3, intervalMs: 10_000 }) : undefined));
  h.controller.start();
  h.queue.add('team-a/app');
  while (h.seconds('team-a/app').length < 7) await h.time.advance(500);
  // 3 retries 10 s apart, then the queue's backoff 1 s, 2 s, 4 s (not 8 s: the store's retries are not counted twice).
  assert.deepEqual(h.seconds('team-a/app'), [0, 10, 20, 30, 31, 33, 37]);
  assert.equal(h.queue.retries('team-a/app'), 0, 'the success reset the count');
  await h.controller.stop();
});

test('no stall: a store retrying 10 times 30 s apart does not keep the only worker from another namespace’s ExternalSecret', async () => {
  const h = controllerHarness((key) => (key.startsWith('tenant-a/') ? new RetryAtInterval(new Error('ECONNRESET'), { maxRetries: 10, intervalMs: 30_000 }) : undefined));
  h.controller.start();
  h.queue.add('tenant-a/app');
  await h.time.advance(100);
  h.queue.add('tenant-b/app');
  await h.time.advance(100);
  assert.deepEqual(h.seconds('tenant-b/app'), [0.1], 'reconciled as soon as it was added');
  await h.time.advance(300_000);
  assert.deepEqual(h.seconds('tenant-a/app').slice(0, 4), [0, 30, 60, 90], 'and tenant-a is still retried 30 s apart');
  await h.controller.stop();
});
