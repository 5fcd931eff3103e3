import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientRetiredError, clientCacheKey, createClientCache } from '../../../src/providers/client-cache.ts';
import type { StoreClientKey } from '../../../src/providers/client-cache.ts';
import { createProviderRegistry } from '../../../src/providers/registry.ts';
import { createSharedCalls } from '../../../src/providers/shared-calls.ts';
import { TerminalError } from '../../../src/providers/provider.ts';
import type { Provider, SecretsClient } from '../../../src/providers/provider.ts';
import { deferred, fakeClock, flushMicrotasks, storeContext, text, utf8, waitUntil } from './helpers.ts';
import type { Deferred } from './helpers.ts';

interface BuiltClient {
  readonly spec: unknown;
  readonly namespace: string;
  closed: number;
  readonly reads: Array<Deferred<void>>;
}

/** A provider whose builds can be held or failed, and whose clients record close() and reads. */
function recordingProvider(): Provider & {
  built: BuiltClient[];
  builds: number;
  hold?: Deferred<void> | undefined;
  failNext?: Error | undefined;
  holdReads: boolean;
} {
  const provider = {
    name: 'fake' as const,
    built: [] as BuiltClient[],
    builds: 0,
    hold: undefined as Deferred<void> | undefined,
    failNext: undefined as Error | undefined,
    holdReads: false,
    validateStore: () => ({ warnings: [], errors: [] }),
    async newClient(spec: unknown, ctx: { namespace: string }): Promise<SecretsClient> {
      provider.builds++;
      if (provider.hold) await provider.hold.promise;
      if (provider.failNext) {
        const error = provider.failNext;
        provider.failNext = undefined;
        throw error;
      }
      const record: BuiltClient = { spec, namespace: ctx.namespace, closed: 0, reads: [] };
      provider.built.push(record);
      return {
        identity: `identity-${provider.built.length}`,
        async getSecret(ref) {
          if (provider.holdReads) {
            const gate = deferred();
            record.reads.push(gate);
            await gate.promise;
          }
          return utf8(`${ref.key}@${JSON.stringify(spec)}`);
        },
        getAllSecrets: async () => ({}),
        validate: async () => 'Ready',
        async close() {
          record.closed++;
        },
      };
    },
  };
  return provider;
}

function setup(options: { idleTtlMs?: number; shared?: boolean } = {}) {
  const provider = recordingProvider();
  const clock = fakeClock();
  const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
  const cache = createClientCache({
    registry: createProviderRegistry([provider]),
    clock,
    logger: { warn: (fields, message) => warnings.push({ fields, message }) },
    ...(options.idleTtlMs === undefined ? {} : { idleTtlMs: options.idleTtlMs }),
    ...(options.shared ? { sharedCalls: createSharedCalls() } : {}),
  });
  return { provider, clock, cache, warnings };
}

const store = (overrides: Partial<StoreClientKey> = {}): StoreClientKey => ({
  kind: 'SecretStore',
  namespace: 'team-a',
  name: 'vault',
  uid: 'uid-1',
  generation: 1,
  providerName: 'fake',
  providerSpec: { v: 1 },
  ...overrides,
});

const live = (): AbortSignal => new AbortController().signal;

test('one store generation gets one client, reused across gets', async () => {
  const { provider, cache } = setup();
  const a = await cache.get(store(), storeContext(), live());
  const b = await cache.get(store(), storeContext(), live());
  assert.equal(provider.builds, 1);
  assert.equal(a, b);
  assert.equal(a.identity, 'identity-1');
  assert.equal(text(await a.getSecret({ key: 'k' }, live())), 'k@{"v":1}');
});

test('concurrent gets for one store build once', async () => {
  const { provider, cache } = setup();
  provider.hold = deferred();
  const gets = [1, 2, 3].map(() => cache.get(store(), storeContext(), live()));
  await flushMicrotasks();
  assert.equal(provider.builds, 1);
  provider.hold.resolve();
  const [a, b, c] = await Promise.all(gets);
  assert.ok(a === b && b === c);
});

test('a failed build reaches every waiter and is not cached', async () => {
  const { provider, cache } = setup();
  provider.hold = deferred();
  provider.failNext = new TerminalError('access denied: fix the role');
  const a = cache.get(store(), storeContext(), live());
  const b = cache.get(store(), storeContext(), live());
  provider.hold.resolve();
  await assert.rejects(a, /access denied/);
  await assert.rejects(b, /access denied/);
  assert.equal(cache.size(), 0);
  provider.hold = undefined;
  await cache.get(store(), storeContext(), live());
  assert.equal(provider.builds, 2);
});

test('a new generation closes the old client and builds a new one from the new spec', async () => {
  const { provider, cache } = setup();
  const old = await cache.get(store(), storeContext(), live());
  const fresh = await cache.get(store({ generation: 2, providerSpec: { v: 2 } }), storeContext(), live());
  await waitUntil(() => provider.built[0]!.closed === 1, 'the old client is closed');
  assert.equal(provider.built[1]!.closed, 0);
  assert.equal(text(await fresh.getSecret({ key: 'k' }, live())), 'k@{"v":2}');
  // The old handle refuses new work with a retryable error instead of using a closed session.
  await assert.rejects(old.getSecret({ key: 'k' }, live()), ClientRetiredError);
  assert.equal(cache.size(), 1);
});

test('closing the old generation waits for its calls in flight', async () => {
  const { provider, cache } = setup();
  provider.holdReads = true;
  const old = await cache.get(store(), storeContext(), live());
  const read = old.getSecret({ key: 'k' }, live());
  await flushMicrotasks();
  await cache.get(store({ generation: 2 }), storeContext(), live());
  await flushMicrotasks();
  assert.equal(provider.built[0]!.closed, 0, 'not closed under a running read');
  provider.built[0]!.reads[0]!.resolve();
  assert.equal(text(await read), 'k@{"v":1}');
  await waitUntil(() => provider.built[0]!.closed === 1, 'the old client is closed after its read');
});

test('a get for an older generation than the cached one is refused as stale', async () => {
  const { provider, cache } = setup();
  await cache.get(store({ generation: 3 }), storeContext(), live());
  await assert.rejects(cache.get(store({ generation: 2 }), storeContext(), live()), (error: unknown) => {
    assert.ok(error instanceof ClientRetiredError);
    assert.match(error.message, /SecretStore team-a\/vault changed \(generation 2 → 3\)/);
    return true;
  });
  assert.equal(provider.builds, 1);
  assert.equal(provider.built[0]!.closed, 0);
});

test('a generation change while the old client is still building closes it once built', async () => {
  const { provider, cache } = setup();
  provider.hold = deferred();
  const oldGet = cache.get(store(), storeContext(), live());
  const newGet = cache.get(store({ generation: 2 }), storeContext(), live());
  provider.hold.resolve();
  await Promise.all([oldGet, newGet]);
  await waitUntil(() => provider.built.some((client) => client.closed === 1), 'the superseded client is closed');
  assert.equal(provider.built.filter((client) => client.closed === 0).length, 1);
});

test('referent auth: partitions get separate clients, and a new generation retires them all', async () => {
  const { provider, cache } = setup();
  const cluster = (namespace: string, generation = 1): StoreClientKey =>
    store({ kind: 'ClusterSecretStore', namespace: undefined, partition: namespace, generation });
  const a = await cache.get(cluster('team-a'), storeContext({ namespace: 'team-a' }), live());
  const b = await cache.get(cluster('team-b'), storeContext({ namespace: 'team-b' }), live());
  assert.notEqual(a, b);
  assert.deepEqual(provider.built.map((client) => client.namespace), ['team-a', 'team-b']);
  assert.equal(await cache.get(cluster('team-a'), storeContext({ namespace: 'team-a' }), live()), a);
  await cache.get(cluster('team-a', 2), storeContext({ namespace: 'team-a' }), live());
  await waitUntil(() => provider.built[0]!.closed === 1 && provider.built[1]!.closed === 1, 'both old partitions are closed');
  assert.equal(cache.size(), 1);
  assert.notEqual(clientCacheKey(cluster('team-a')), clientCacheKey(cluster('team-b')));
  assert.notEqual(clientCacheKey(cluster('team-a')), clientCacheKey(cluster('team-a', 2)));
});

test('invalidate(uid) closes every client of that store only', async () => {
  const { provider, cache } = setup();
  await cache.get(store({ partition: 'x' }), storeContext(), live());
  await cache.get(store({ partition: 'y' }), storeContext(), live());
  await cache.get(store({ uid: 'uid-2' }), storeContext(), live());
  await cache.invalidate('uid-1');
  assert.deepEqual(provider.built.map((client) => client.closed), [1, 1, 0]);
  assert.equal(cache.size(), 1);
});

test('sweep closes clients idle for idleTtlMs, keeps used and busy ones', async () => {
  const { provider, clock, cache } = setup({ idleTtlMs: 60_000 });
  const used = await cache.get(store({ uid: 'used' }), storeContext(), live());
  await cache.get(store({ uid: 'idle' }), storeContext(), live());
  provider.holdReads = true;
  const busy = await cache.get(store({ uid: 'busy' }), storeContext(), live());
  const longRead = busy.getSecret({ key: 'k' }, live());
  await flushMicrotasks();

  clock.advance(59_000);
  assert.equal(await cache.sweep(), 0);
  provider.holdReads = false;
  await used.getSecret({ key: 'k' }, live()); // a call counts as use
  clock.advance(1_000);
  assert.equal(await cache.sweep(), 1);
  assert.deepEqual(provider.built.map((client) => client.closed), [0, 1, 0]);

  clock.advance(60_000);
  assert.equal(await cache.sweep(), 1, 'the busy client stays while its read runs');
  assert.deepEqual(provider.built.map((client) => client.closed), [1, 1, 0]);
  provider.built[2]!.reads[0]!.resolve();
  await longRead;
  clock.advance(60_000);
  assert.equal(await cache.sweep(), 1);
  assert.equal(cache.size(), 0);
});

test('closeAll closes every client; a close failure is logged without failing the rest', async () => {
  const { provider, cache, warnings } = setup();
  const broken: Provider = {
    name: 'vault',
    validateStore: () => ({ warnings: [], errors: [] }),
    newClient: async () => ({
      identity: 'broken',
      getSecret: async () => new Uint8Array(),
      getAllSecrets: async () => ({}),
      validate: async () => 'Ready',
      close: async () => {
        throw new Error('connection reset');
      },
    }),
  };
  const mixed = createClientCache({
    registry: createProviderRegistry([provider, broken]),
    clock: fakeClock(),
    logger: { warn: (fields, message) => warnings.push({ fields, message }) },
  });
  await mixed.get(store(), storeContext(), live());
  await mixed.get(store({ uid: 'uid-v', providerName: 'vault' }), storeContext(), live());
  await mixed.closeAll();
  assert.equal(provider.built[0]!.closed, 1);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.message, /closing a provider client failed/);
  assert.equal(warnings[0]!.fields['error'], 'connection reset');
  assert.equal(mixed.size(), 0);
  assert.equal(cache.size(), 0);
});

test('a caller closing its client does not close the shared session', async () => {
  const { provider, cache } = setup();
  const client = await cache.get(store(), storeContext(), live());
  await client.close();
  assert.equal(provider.built[0]!.closed, 0);
  assert.equal(text(await client.getSecret({ key: 'k' }, live())), 'k@{"v":1}');
});

test('an aborted get rejects promptly; the build still completes for others', async () => {
  const { provider, cache } = setup();
  provider.hold = deferred();
  const controller = new AbortController();
  const impatient = cache.get(store(), storeContext(), controller.signal);
  const patient = cache.get(store(), storeContext(), live());
  controller.abort(new Error('reconcile cancelled'));
  await assert.rejects(impatient, /reconcile cancelled/);
  provider.hold.resolve();
  await patient;
  assert.equal(provider.builds, 1);
});

test('a store naming a provider this build lacks fails with a terminal error', async () => {
  const { cache } = setup();
  await assert.rejects(cache.get(store({ providerName: 'aws' }), storeContext(), live()), (error: unknown) => {
    assert.ok(error instanceof TerminalError);
    assert.match(error.message, /SecretStore team-a\/vault uses provider "aws", which this build of secret-relay does not include; use one of: fake/);
    return true;
  });
  assert.equal(cache.size(), 0);
});

test('with sharedCalls, concurrent reads through the cache make one provider call', async () => {
  const { provider, cache } = setup({ shared: true });
  provider.holdReads = true;
  const client = await cache.get(store(), storeContext(), live());
  const again = await cache.get(store(), storeContext(), live());
  const reads = [client.getSecret({ key: 'k' }, live()), again.getSecret({ key: 'k' }, live())];
  await flushMicrotasks();
  assert.equal(provider.built[0]!.reads.length, 1);
  provider.built[0]!.reads[0]!.resolve();
  assert.deepEqual((await Promise.all(reads)).map(text), ['k@{"v":1}', 'k@{"v":1}']);
});

test('the cached client reads the provider client identity live (resolved after the first call)', async () => {
  let resolved = 'role from the annotation';
  const provider: Provider = {
    name: 'fake',
    validateStore: () => ({ warnings: [], errors: [] }),
    newClient: async () => ({
      get identity() {
        return resolved;
      },
      async getSecret() {
        resolved = 'role arn:aws:iam::123456789012:role/app';
        return utf8('v');
      },
      getAllSecrets: async () => ({}),
      validate: async () => 'Ready',
      close: async () => {},
    }),
  };
  for (const shared of [false, true]) {
    resolved = 'role from the annotation';
    const cache = createClientCache({ registry: createProviderRegistry([provider]), clock: fakeClock(), ...(shared ? { sharedCalls: createSharedCalls() } : {}) });
    const client = await cache.get(store({ uid: `u-${shared}` }), storeContext(), new AbortController().signal);
    await client.getSecret({ key: 'db' }, new AbortController().signal);
    assert.equal(client.identity, 'role arn:aws:iam::123456789012:role/app', shared ? 'with sharedCalls' : 'without sharedCalls');
  }
});
