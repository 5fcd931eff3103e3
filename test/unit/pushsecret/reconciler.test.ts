// The PushSecret reconciler with fakes for every dependency (cache, stores, source Secret, provider, status,
// finalizers): what a user would see — the remote secrets written or deleted, status.syncedPushSecrets, the
// finalizer — when the PushSecret cache lags behind the reconciler's own status patches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePushSecret } from '../../../src/api/index.ts';
import { createPushSecretReconciler, PUSH_SECRET_FINALIZER } from '../../../src/controller/pushsecret/reconciler.ts';
import type { ResolvedStore } from '../../../src/controller/externalsecret/store-ref.ts';
import type { SecretsClient } from '../../../src/providers/provider.ts';
import type { PushRequest } from '../../../src/providers/push.ts';

const store: ResolvedStore = { kind: 'SecretStore', name: 'vault', namespace: 'team', uid: 'store-uid', generation: 1, providerName: 'fake', providerSpec: {} };
const signal = new AbortController().signal;
const encoder = new TextEncoder();

/** One PushSecret, its source Secret and a remote store, in memory. */
class World {
  ps: { metadata: Record<string, unknown>; spec: Record<string, unknown>; status?: Record<string, unknown> };
  /** The PushSecret as the apiserver holds it; `ps` is the cache's copy. */
  stored: { status?: Record<string, unknown> } = {};
  /** The cache has not seen our status patches yet. */
  statusLags = false;
  source = new Map<string, string>([['password', 'v1']]);
  /** Remote secrets: key → value; `ours` holds those carrying our mark. */
  readonly remote = new Map<string, string>();
  readonly ours = new Set<string>();
  readonly pushes: PushRequest[] = [];
  readonly deletes: string[] = [];
  finalizers: string[] = [];
  /** How the store of a recorded destination resolves: usable, gone, or there but not usable now (not Ready). */
  storeState: 'ready' | 'gone' | 'not-ready' = 'ready';

  constructor(spec: Record<string, unknown> = {}) {
    this.ps = {
      metadata: { name: 'push', namespace: 'team', uid: 'ps-uid', generation: 1 },
      spec: {
        refreshInterval: '1h',
        secretStoreRefs: [{ name: 'vault' }],
        deletionPolicy: 'Delete',
        selector: { secret: { name: 'src' } },
        data: [{ match: { secretKey: 'password', remoteRef: { remoteKey: 'team/db' } } }],
        ...spec,
      },
    };
  }

  client(): SecretsClient {
    const world = this;
    return {
      identity: 'role/pusher',
      getSecret: async () => new Uint8Array(),
      getAllSecrets: async () => ({}),
      validate: async () => 'Ready',
      close: async () => {},
      async pushSecret(request) {
        world.pushes.push(request);
        const value = new TextDecoder().decode(request.value);
        const exists = world.remote.has(request.remoteKey);
        if (exists && request.updatePolicy === 'IfNotExists') return 'exists';
        if (exists && !world.ours.has(request.remoteKey)) throw new Error('not ours');
        const same = world.remote.get(request.remoteKey) === value;
        world.remote.set(request.remoteKey, value);
        world.ours.add(request.remoteKey);
        return exists ? (same ? 'unchanged' : 'updated') : 'created';
      },
      async deleteSecret(request) {
        world.deletes.push(request.remoteKey);
        if (!world.remote.has(request.remoteKey)) return 'absent';
        if (!world.ours.has(request.remoteKey)) return 'not-owned';
        world.remote.delete(request.remoteKey);
        return 'deleted';
      },
    };
  }

  reconciler() {
    return createPushSecretReconciler({
      clock: { now: () => Date.parse('2026-01-01T00:00:00Z') },
      hmacKey: new Uint8Array(32).fill(3),
      getPushSecret: () => {
        const parsed = parsePushSecret({ apiVersion: 'secret-relay.dev/v1alpha1', kind: 'PushSecret', ...this.ps, metadata: { ...this.ps.metadata, finalizers: this.finalizers } });
        assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
        return parsed;
      },
      selectStores: () => ({ ok: true, stores: [{ ...store, labels: {} }] }),
      storeByStatusKey: () =>
        this.storeState === 'ready'
          ? { ok: true, store }
          : this.storeState === 'gone'
            ? { ok: false, gone: true, message: 'SecretStore team/vault does not exist' }
            : { ok: false, gone: false, message: 'SecretStore team/vault is not ready: the provider did not answer' },
      readSource: async () => ({ ok: true, sources: [{ name: 'Secret team/src', data: new Map([...this.source].map(([k, v]) => [k, encoder.encode(v)])) }] }),
      newKeyRenamer: () => () => new Map(),
      clientFor: async () => this.client(),
      status: {
        patch: async (_ref, patch) => {
          this.stored.status = mergePatch(this.stored.status ?? {}, patch) as Record<string, unknown>;
          if (!this.statusLags) this.ps.status = structuredClone(this.stored.status);
          return 'patched';
        },
      },
      events: { record: async () => {} },
      audit: { record: () => {}, close: async () => {} },
      finalizers: {
        add: async (_ns, _name, finalizer) => void (this.finalizers.includes(finalizer) || this.finalizers.push(finalizer)),
        remove: async (_ns, _name, finalizer) => void (this.finalizers = this.finalizers.filter((f) => f !== finalizer)),
      },
    });
  }

  /** The cache catches up with everything written. */
  catchUp(): void {
    this.ps.status = structuredClone(this.stored.status);
  }

  delete(): void {
    this.ps.metadata['deletionTimestamp'] = '2026-01-01T00:00:01Z';
  }
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

test('deleted right after its first push, before the cache has seen the status: the remote secret it created is still deleted', async () => {
  const world = new World();
  const reconcile = world.reconciler();
  world.statusLags = true;
  await reconcile('team/push', signal);
  assert.equal(world.remote.get('team/db'), 'v1');
  assert.deepEqual(world.finalizers, [PUSH_SECRET_FINALIZER]);
  world.delete();
  await reconcile('team/push', signal);
  assert.equal(world.remote.has('team/db'), false, 'the remote secret is deleted');
  assert.deepEqual(world.finalizers, [], 'then the finalizer goes');
});

test('a second reconcile before the cache has seen the status pushes nothing again', async () => {
  const world = new World();
  const reconcile = world.reconciler();
  world.statusLags = true;
  await reconcile('team/push', signal);
  await reconcile('team/push', signal);
  assert.equal(world.pushes.length, 1, 'the status HMAC we wrote says the destination holds the value');
  world.catchUp();
  await reconcile('team/push', signal);
  assert.equal(world.pushes.length, 1);
});

test('IfNotExists: a reconcile on a lagging cache does not forget that the remote secret is ours, so deletion still removes it', async () => {
  const world = new World({ updatePolicy: 'IfNotExists' });
  const reconcile = world.reconciler();
  world.statusLags = true;
  await reconcile('team/push', signal);
  world.source.set('password', 'v2'); // a new value: pushed again, IfNotExists finds it there
  await reconcile('team/push', signal);
  world.catchUp();
  const synced = (world.ps.status?.['syncedPushSecrets'] as Record<string, Record<string, { created?: boolean }>>)['SecretStore/vault']!['team/db'];
  assert.equal(synced?.created, true, 'status still says we created it');
  world.delete();
  await reconcile('team/push', signal);
  assert.equal(world.remote.has('team/db'), false, 'the remote secret is deleted');
});

test('a destination dropped right after the first push, before the cache has seen the status: it is deleted', async () => {
  const world = new World({ refreshInterval: '0s' });
  const reconcile = world.reconciler();
  world.statusLags = true;
  await reconcile('team/push', signal);
  world.ps.spec['data'] = [{ match: { secretKey: 'password', remoteRef: { remoteKey: 'team/db-2' } } }];
  world.ps.metadata['generation'] = 2;
  await reconcile('team/push', signal);
  assert.equal(world.remote.has('team/db'), false, 'the dropped destination is deleted');
  assert.equal(world.remote.get('team/db-2'), 'v1');
  world.catchUp();
  assert.deepEqual(Object.keys((world.ps.status?.['syncedPushSecrets'] as Record<string, object>)['SecretStore/vault']!), ['team/db-2']);
});

test('someone else (another leader) wrote the status since: the cache is the truth, not what this process remembers', async () => {
  const world = new World();
  const reconcile = world.reconciler();
  world.statusLags = true;
  await reconcile('team/push', signal);
  // Another leader pushed a new value and recorded it; our cache shows its status.
  world.ps.status = { syncedPushSecrets: { 'SecretStore/vault': { 'team/db': { match: { secretKey: 'password', remoteRef: { remoteKey: 'team/db' } }, created: true } } } };
  world.statusLags = false;
  await reconcile('team/push', signal);
  assert.equal(world.pushes.length, 2, 'its entry (no HMAC) is pushed again');
});

test('deleted while its store is not ready (a provider outage): the finalizer stays and the retry deletes the remote secret once the store is back', async () => {
  const world = new World();
  const reconcile = world.reconciler();
  await reconcile('team/push', signal);
  world.storeState = 'not-ready';
  world.delete();
  await assert.rejects(reconcile('team/push', signal), /not ready/);
  assert.deepEqual(world.finalizers, [PUSH_SECRET_FINALIZER], 'held until what it created is deleted');
  assert.equal(world.remote.get('team/db'), 'v1');
  world.storeState = 'ready';
  await reconcile('team/push', signal);
  assert.equal(world.remote.has('team/db'), false);
  assert.deepEqual(world.finalizers, []);
});

test('deleted after its store was deleted: nothing can be reached, the finalizer goes', async () => {
  const world = new World();
  const reconcile = world.reconciler();
  await reconcile('team/push', signal);
  world.storeState = 'gone';
  world.delete();
  await reconcile('team/push', signal);
  assert.deepEqual(world.finalizers, []);
});

test('a destination dropped while its store is not ready stays recorded, and is deleted once the store is back', async () => {
  const world = new World();
  const reconcile = world.reconciler();
  await reconcile('team/push', signal);
  world.storeState = 'not-ready';
  world.ps.spec['data'] = [{ match: { secretKey: 'password', remoteRef: { remoteKey: 'team/db-2' } } }];
  world.ps.metadata['generation'] = 2;
  await assert.rejects(reconcile('team/push', signal), /not ready/);
  assert.ok((world.ps.status?.['syncedPushSecrets'] as Record<string, Record<string, unknown>>)['SecretStore/vault']?.['team/db'], 'still recorded');
  world.storeState = 'ready';
  await reconcile('team/push', signal);
  assert.equal(world.remote.has('team/db'), false);
});
