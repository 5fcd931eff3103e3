// The reconciler with the worker sandbox and the refresh floor, with fakes for the cluster and the provider:
// what a tenant sees (Ready=False naming the limit, never the value) and when an ExternalSecret comes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExternalSecret } from '../../../src/api/index.ts';
import type { SecretsClient } from '../../../src/providers/provider.ts';
import { createExternalSecretReconciler } from '../../../src/controller/externalsecret/reconciler.ts';
import type { ResolvedStore } from '../../../src/controller/externalsecret/store-ref.ts';
import { DEFAULT_SANDBOX_OPTIONS, SandboxLimitError, workerSandbox } from '../../../src/controller/externalsecret/sandbox.ts';
import { createTemplateEngine } from '../../../src/templates/engine.ts';
import { gjsonBomb } from '../../support/hostile-inputs.ts';

const store: ResolvedStore = { kind: 'SecretStore', name: 'vault', namespace: 'team', uid: 'store-uid', generation: 1, providerName: 'fake', providerSpec: {} };
const signal = new AbortController().signal;

function world(spec: Record<string, unknown>, remote: Record<string, string>, extra: { sandbox?: ReturnType<typeof workerSandbox>; minRefreshIntervalMs?: number } = {}) {
  const es: { status?: Record<string, unknown> } & Record<string, unknown> = {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'app', namespace: 'team', uid: 'es-uid', generation: 1 },
    spec: { secretStoreRef: { name: 'vault' }, ...spec },
  };
  const secrets = new Map<string, { data?: Record<string, string> }>();
  const client: SecretsClient = {
    identity: 'fake',
    getSecret: async (ref) => new TextEncoder().encode(remote[ref.key] ?? ''),
    getAllSecrets: async () => ({}),
    validate: async () => 'Ready',
    close: async () => {},
  };
  const reconcile = createExternalSecretReconciler({
    clock: { now: () => Date.parse('2026-01-01T00:00:00Z') },
    getExternalSecret: () => parseExternalSecret(es) as never,
    getManagedSecret: () => undefined,
    resolveStore: () => ({ ok: true, store }),
    clientFor: async () => client,
    secrets: {
      apply: async (body) => void secrets.set('app', body as never) as never,
      applyIfAbsent: async (body) => (secrets.set('app', body as never), 'created'),
      releaseForAdoption: async () => assert.fail('no adoption'),
      delete: async () => 'absent',
      read: async () => undefined,
    },
    status: {
      patch: async (_ref, status) => {
        es.status = { ...es.status, ...status };
        return 'patched';
      },
    },
    events: { record: async () => {} },
    audit: { record: () => {}, close: async () => {} },
    hmacKey: new Uint8Array(32),
    ...(extra.sandbox ? { sandbox: extra.sandbox } : {}),
    ...(extra.minRefreshIntervalMs !== undefined ? { minRefreshIntervalMs: extra.minRefreshIntervalMs } : {}),
  });
  const ready = () => (es.status?.['conditions'] as { type: string; status: string; message: string }[] | undefined)?.find((c) => c.type === 'Ready');
  return { reconcile, ready, secrets };
}

test('--min-refresh-interval raises a shorter refreshInterval; 0 (once per change) stays', async () => {
  const fast = world({ refreshInterval: '1s', data: [{ secretKey: 'k', remoteRef: { key: 'a' } }] }, { a: 'v' }, { minRefreshIntervalMs: 60_000 });
  const result = (await fast.reconcile('team/app', signal)) as { requeueAfter: number };
  assert.ok(result.requeueAfter >= 54_000 && result.requeueAfter <= 66_000, `back in about a minute, got ${result.requeueAfter}`);
  const once = world({ refreshInterval: '0', data: [{ secretKey: 'k', remoteRef: { key: 'a' } }] }, { a: 'v' }, { minRefreshIntervalMs: 60_000 });
  assert.equal(await once.reconcile('team/app', signal), undefined);
  const free = world({ refreshInterval: '1s', data: [{ secretKey: 'k', remoteRef: { key: 'a' } }] }, { a: 'v' });
  assert.ok(((await free.reconcile('team/app', signal)) as { requeueAfter: number }).requeueAfter <= 1_100);
});

test('a property read stopped by the sandbox deadline: Ready=False naming the limit and the property, never the value', async (t) => {
  const sandbox = workerSandbox(createTemplateEngine(), { ...DEFAULT_SANDBOX_OPTIONS, timeoutMs: 500 });
  t.after(() => sandbox.close());
  const bomb = gjsonBomb(5, 6000);
  const w = world({ refreshInterval: '1h', data: [{ secretKey: 'k', remoteRef: { key: 'wide', property: bomb.property } }] }, { wide: bomb.json }, { sandbox });
  await assert.rejects(w.reconcile('team/app', signal), SandboxLimitError);
  const ready = w.ready();
  assert.equal(ready?.status, 'False');
  assert.match(ready!.message, /^reading property "\*a\*a.*" of key "wide" was stopped at its 0\.5 s time limit \(--sandbox-timeout\)/);
  assert.doesNotMatch(ready!.message, /aaaaaaaaaa/);
  assert.equal(w.secrets.size, 0, 'nothing written');
});

test('templates render in the worker and the Secret is written as before', async (t) => {
  const sandbox = workerSandbox(createTemplateEngine(), DEFAULT_SANDBOX_OPTIONS);
  t.after(() => sandbox.close());
  const w = world(
    { refreshInterval: '1h', data: [{ secretKey: 'user', remoteRef: { key: 'db', property: 'user' } }], target: { template: { data: { dsn: 'postgres://{{ user }}@db' } } } },
    { db: '{"user":"app"}' },
    { sandbox },
  );
  await w.reconcile('team/app', signal);
  assert.equal(w.ready()?.status, 'True');
  const data = (w.secrets.get('app') as { data: Record<string, string> }).data;
  assert.equal(Buffer.from(data['dsn']!, 'base64').toString(), 'postgres://app@db');
});
