// The ExternalSecret reconciler with fakes for every dependency (caches, store resolution, provider client,
// Secret and status writers, Events, audit): what a user would see after one reconcile — the Secret written or
// left alone, the Ready condition, the Events, the audit records, and when the object comes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExternalSecret, type ExternalSecret } from '../../../src/api/index.ts';
import type { AuditRecord } from '../../../src/audit/audit-log.ts';
import type { ResourceRef } from '../../../src/k8s/status.ts';
import type { EventTarget } from '../../../src/k8s/events.ts';
import { AccessDeniedError, NoSecretError, TerminalError, type SecretsClient, type RemoteRef } from '../../../src/providers/provider.ts';
import { createExternalSecretReconciler, type SecretView } from '../../../src/controller/externalsecret/reconciler.ts';
import type { ResolvedStore, StoreResolution } from '../../../src/controller/externalsecret/store-ref.ts';

const now = Date.parse('2026-01-01T00:00:00Z');
const hmacKey = new Uint8Array(32).fill(7);
const store: ResolvedStore = { kind: 'SecretStore', name: 'vault', namespace: 'team', uid: 'store-uid', generation: 1, providerName: 'fake', providerSpec: {} };

interface Applied {
  readonly metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[] };
  readonly data?: Record<string, string>;
  readonly type?: string;
}

/** One ExternalSecret and everything the reconciler touches, in memory. */
class World {
  es: unknown;
  storeResolution: StoreResolution = { ok: true, store };
  remote = new Map<string, string>([['db/password', 's3cr3t-password'], ['db/user', 'app']]);
  providerError: Error | undefined;
  statusError: Error | undefined;
  applyError: Error | undefined;
  readonly reads: RemoteRef[] = [];
  readonly secrets = new Map<string, Applied>();
  /** Secrets the managed-Secret cache has not seen yet (a watch event still on its way). */
  readonly uncached = new Set<string>();
  /** The ExternalSecret cache has not seen our status patches yet (they reach the apiserver, not this copy). */
  statusLags = false;
  readonly applies: Applied[] = [];
  readonly statusPatches: Array<{ ref: ResourceRef; status: Record<string, unknown> }> = [];
  readonly events: Array<{ type: string; reason: string; note: string; target: EventTarget }> = [];
  readonly audit: AuditRecord[] = [];
  /** The reconciler's clock. */
  time = now;
  refreshTimePeriodMs: number | undefined;
  readonly syncs: string[] = [];
  /** Values the local generators (Password, SSHKey, UUID) give; none served when undefined. */
  generated: Map<string, Uint8Array> | undefined;
  generations = 0;

  constructor(spec: Record<string, unknown> = {}) {
    this.es = {
      apiVersion: 'secret-relay.dev/v1alpha1',
      kind: 'ExternalSecret',
      metadata: { name: 'app', namespace: 'team', uid: 'es-uid', generation: 1 },
      spec: { secretStoreRef: { name: 'vault' }, refreshInterval: '1h', data: [{ secretKey: 'password', remoteRef: { key: 'db/password' } }], ...spec },
    };
  }

  client(): SecretsClient {
    const world = this;
    return {
      identity: 'role/app-reader',
      async getSecret(ref) {
        world.reads.push(ref);
        if (world.providerError) throw world.providerError;
        const value = world.remote.get(ref.key);
        if (value === undefined) throw new NoSecretError(`${ref.key} not found`);
        return new TextEncoder().encode(value);
      },
      getAllSecrets: async () => ({}),
      validate: async () => 'Ready',
      close: async () => {},
    };
  }

  reconciler() {
    return createExternalSecretReconciler({
      clock: { now: () => this.time },
      ...(this.refreshTimePeriodMs !== undefined ? { refreshTimePeriodMs: this.refreshTimePeriodMs } : {}),
      onSynced: (statusWrite) => void this.syncs.push(statusWrite),
      getExternalSecret: () => {
        const parsed = parseExternalSecret(this.es);
        return parsed.ok ? parsed : { ok: false, error: parsed.error, raw: this.es as never };
      },
      getManagedSecret: (namespace, name): SecretView | undefined => (this.uncached.has(`${namespace}/${name}`) ? undefined : this.secrets.get(`${namespace}/${name}`)),
      resolveStore: () => this.storeResolution,
      clientFor: async () => this.client(),
      ...(this.generated
        ? {
            localGenerators: {
              generate: async () => {
                this.generations++;
                return new Map(this.generated);
              },
              keys: async () => [...this.generated!.keys()],
            },
          }
        : {}),
      secrets: {
        apply: async (body) => {
          if (this.applyError) throw this.applyError;
          const applied = body as Applied;
          this.applies.push(applied);
          this.secrets.set(`${applied.metadata.namespace}/${applied.metadata.name}`, applied);
          return {};
        },
        applyIfAbsent: async (body) => {
          if (this.applyError) throw this.applyError;
          const applied = body as Applied;
          const key = `${applied.metadata.namespace}/${applied.metadata.name}`;
          if (this.secrets.has(key)) return 'exists';
          this.applies.push(applied);
          this.secrets.set(key, applied);
          return 'created';
        },
        releaseForAdoption: async () => assert.fail('no adoption in these tests'),
        delete: async (namespace, name) => (this.secrets.delete(`${namespace}/${name}`) ? 'deleted' : 'absent'),
        read: async (namespace, name) => this.secrets.get(`${namespace}/${name}`) as never,
      },
      status: {
        patch: async (ref, status) => {
          if (this.statusError) throw this.statusError;
          this.statusPatches.push({ ref, status });
          if (this.statusLags) return 'patched';
          // The cache catches up with our write.
          const es = this.es as { status?: Record<string, unknown> };
          es.status = { ...es.status, ...status };
          return 'patched';
        },
      },
      events: { record: async (target, type, reason, note) => void this.events.push({ target, type, reason, note }) },
      audit: { record: (r) => void this.audit.push(r), close: async () => {} },
      hmacKey,
    });
  }

  ready(): { status: string; reason: string; message: string } | undefined {
    const conditions = (this.es as { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } }).status?.conditions;
    return conditions?.find((c) => c.type === 'Ready');
  }

  secretValue(key: string): string | undefined {
    const data = this.secrets.get('team/app')?.data?.[key];
    return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
  }
}

const signal = new AbortController().signal;

test('first sync: the Secret holds the remote value, Ready=True, a Created Event, audited read and write, back at the refresh interval', async () => {
  const world = new World();
  const result = await world.reconciler()('team/app', signal);
  assert.equal(world.secretValue('password'), 's3cr3t-password');
  const secret = world.secrets.get('team/app')!;
  assert.deepEqual(secret.metadata.ownerReferences?.map((r) => r.uid), ['es-uid'], 'owned by the ExternalSecret (creationPolicy Owner)');
  assert.equal(secret.metadata.labels?.['secret-relay.dev/managed'], 'true');
  assert.deepEqual(world.ready(), { ...world.ready(), status: 'True', reason: 'SecretSynced' });
  assert.equal(world.statusPatches.length, 1, 'one status write');
  assert.deepEqual(world.events.map((e) => [e.type, e.reason]), [['Normal', 'Created']]);
  assert.deepEqual(world.audit.map((a) => [a.action, a.result]), [['provider.read', 'success'], ['secret.create', 'success']]);
  const requeueAfter = (result as { requeueAfter: number }).requeueAfter;
  assert.ok(requeueAfter >= 3_600_000 * 0.9 && requeueAfter <= 3_600_000 * 1.1, `requeue after ~1h, got ${requeueAfter}`);
});

test('nothing changed: the next reconcile fetches nothing and writes nothing', async () => {
  const world = new World();
  const reconcile = world.reconciler();
  await reconcile('team/app', signal);
  const before = { reads: world.reads.length, applies: world.applies.length, patches: world.statusPatches.length };
  const result = await reconcile('team/app', signal);
  assert.deepEqual({ reads: world.reads.length, applies: world.applies.length, patches: world.statusPatches.length }, before);
  assert.ok((result as { requeueAfter: number }).requeueAfter > 0, 'comes back when the interval is due');
});

test('a hand-edited Secret is restored at the next reconcile', async () => {
  const world = new World();
  const reconcile = world.reconciler();
  await reconcile('team/app', signal);
  const secret = world.secrets.get('team/app')!;
  world.secrets.set('team/app', { ...secret, data: { password: Buffer.from('tampered').toString('base64') } });
  await reconcile('team/app', signal);
  assert.equal(world.secretValue('password'), 's3cr3t-password');
  assert.equal(world.applies.length, 2);
});

test('a provider failure keeps the last good Secret, sets Ready=False with the reason, warns, and retries with backoff (throws)', async () => {
  const world = new World();
  const reconcile = world.reconciler();
  await reconcile('team/app', signal);
  (world.es as { metadata: { generation: number } }).metadata.generation = 2; // a spec change forces a fetch
  world.providerError = new Error('provider unavailable: connection reset');
  await assert.rejects(reconcile('team/app', signal), /provider unavailable/);
  assert.equal(world.secretValue('password'), 's3cr3t-password', 'the last good Secret stays');
  assert.equal(world.applies.length, 1);
  assert.equal(world.ready()?.status, 'False');
  assert.equal(world.ready()?.reason, 'SecretSyncedError');
  assert.match(world.ready()!.message, /provider unavailable/);
  assert.deepEqual(world.events.at(-1)?.type, 'Warning');
  assert.equal(world.audit.at(-1)?.result, 'error');
});

test('when the status write fails too, the provider error is the one retried and reported, not the status error', async () => {
  const world = new World();
  world.providerError = new Error('provider unavailable: connection reset');
  world.statusError = new Error('apiserver: the status patch timed out');
  await assert.rejects(world.reconciler()('team/app', signal), (err: Error) => {
    assert.match(err.message, /provider unavailable/);
    return true;
  });
  assert.match(world.events.at(-1)?.note ?? '', /provider unavailable/, 'the Warning Event names the provider error');
});

test('a store that is not ready: Ready=False StoreNotReady, nothing fetched or written; rechecked (no provider call) besides the store change that requeues it', async () => {
  const world = new World();
  world.storeResolution = { ok: false, reason: 'StoreNotReady', message: 'SecretStore team/vault is not ready: token expired' };
  const result = await world.reconciler()('team/app', signal);
  assert.deepEqual(result, { recheck: true });
  assert.equal(world.reads.length, 0);
  assert.equal(world.applies.length, 0);
  assert.deepEqual([world.ready()?.status, world.ready()?.reason], ['False', 'StoreNotReady']);
});

test('a missing remote key with deletionPolicy Retain: the Secret is not created, Ready=False SecretMissing, rechecked at the backoff (at most the refresh interval)', async () => {
  const world = new World({ data: [{ secretKey: 'password', remoteRef: { key: 'db/absent' } }] });
  const result = await world.reconciler()('team/app', signal);
  assert.ok(result && result.recheck === true, 'the remote secret created later is found without an edit');
  assert.ok(result.requeueAfter !== undefined && result.requeueAfter <= 3_600_000);
  assert.equal(world.applies.length, 0);
  assert.deepEqual([world.ready()?.status, world.ready()?.reason], ['False', 'SecretMissing']);
  // No Secret exists yet: the message says nothing is written and what to check, not that a Secret keeps its data.
  assert.equal(world.ready()!.message, 'remote secret not found: db/absent; no Secret written (check the remote key and the store it is read from)');
  assert.equal(world.audit[0]?.result, 'not_found');
});

test('an object the schema refuses: Ready=False InvalidSpec, a Warning, and a terminal error (no retry until it changes)', async () => {
  const world = new World({ refreshInterval: 'every hour' });
  await assert.rejects(world.reconciler()('team/app', signal), TerminalError);
  assert.equal(world.ready()?.reason, 'InvalidSpec');
  assert.equal(world.events.at(-1)?.type, 'Warning');
  assert.equal(world.reads.length, 0);
});

test('a property of a JSON remote value, decoded from base64', async () => {
  const world = new World({ data: [{ secretKey: 'token', remoteRef: { key: 'db/json', property: 'token', decodingStrategy: 'Base64' } }] });
  world.remote.set('db/json', JSON.stringify({ token: Buffer.from('decoded-token').toString('base64') }));
  await world.reconciler()('team/app', signal);
  assert.equal(world.secretValue('token'), 'decoded-token');
  assert.deepEqual(world.reads.map((r) => r.key), ['db/json'], 'the whole value is fetched; the property is applied here');
});

test('a deleted ExternalSecret: nothing to do', async () => {
  const world = new World();
  const reconcile = createExternalSecretReconciler({ clock: { now: () => now }, getExternalSecret: () => undefined } as never);
  assert.equal(await reconcile('team/app', signal), undefined);
  assert.equal(world.applies.length, 0);
});

test('no secret value in the status, Events or audit records', async () => {
  const world = new World();
  const reconcile = world.reconciler();
  await reconcile('team/app', signal);
  world.providerError = new Error('boom');
  (world.es as { metadata: { generation: number } }).metadata.generation = 2;
  await reconcile('team/app', signal).catch(() => {});
  const written = JSON.stringify([world.statusPatches, world.events, world.audit]);
  assert.doesNotMatch(written, /s3cr3t-password/);
  assert.doesNotMatch(written, new RegExp(Buffer.from('s3cr3t-password').toString('base64')));
});

export type { ExternalSecret };

test('a refresh that changes nothing defers its refreshTime write until the written one is 10 min old; the schedule still counts from the last refresh', async () => {
  const world = new World({ refreshInterval: '1m' });
  const reconcile = world.reconciler();
  await reconcile('team/app', signal);
  assert.equal(world.statusPatches.length, 1);
  const refreshTimeOf = () => (world.es as { status: { refreshTime: string } }).status.refreshTime;
  assert.equal(refreshTimeOf(), '2026-01-01T00:00:00Z');
  // Every minute a refresh: the provider is read, nothing written, until status.refreshTime is 10 min old.
  for (let minute = 1; minute <= 9; minute++) {
    world.time = now + minute * 60_000;
    const result = await reconcile('team/app', signal);
    assert.equal(world.reads.length, 1 + minute, `minute ${minute}: one provider read per refresh`);
    assert.equal(world.statusPatches.length, 1, `minute ${minute}: no status write`);
    const requeueAfter = (result as { requeueAfter: number }).requeueAfter;
    assert.ok(requeueAfter > 50_000 && requeueAfter <= 60_000, `minute ${minute}: back in about a minute, got ${requeueAfter}`);
  }
  // Half a minute later: not due, since the last refresh (minute 9) counts, not the persisted refreshTime.
  world.time = now + 9.5 * 60_000;
  await reconcile('team/app', signal);
  assert.equal(world.reads.length, 10, 'not refreshed again before its interval');
  world.time = now + 10 * 60_000;
  await reconcile('team/app', signal);
  assert.equal(world.statusPatches.length, 2, 'written once refreshTime would be 10 min old');
  assert.equal(refreshTimeOf(), '2026-01-01T00:10:00Z');
  assert.deepEqual(Object.keys(world.statusPatches[1]!.status).sort(), ['binding', 'conditions', 'refreshTime', 'syncedResourceVersion']);
  assert.deepEqual(world.syncs, ['written', ...Array(9).fill('deferred'), 'written']);
});

test('a refresh that writes the Secret, or changes the condition, writes status at once with the current refreshTime', async () => {
  const world = new World({ refreshInterval: '1m' });
  const reconcile = world.reconciler();
  await reconcile('team/app', signal);
  world.time = now + 60_000;
  world.remote.set('db/password', 'rotated-password');
  await reconcile('team/app', signal);
  assert.equal(world.secretValue('password'), 'rotated-password');
  assert.equal(world.statusPatches.length, 2, 'the Secret changed: status written');
  assert.equal((world.statusPatches[1]!.status as { refreshTime: string }).refreshTime, '2026-01-01T00:01:00Z');
  // A provider outage, then recovery: both condition changes are written.
  world.time = now + 120_000;
  world.providerError = new Error('connection refused');
  await assert.rejects(reconcile('team/app', signal));
  assert.equal(world.ready()?.status, 'False');
  world.providerError = undefined;
  world.time = now + 125_000;
  await reconcile('team/app', signal);
  assert.equal(world.ready()?.status, 'True');
  assert.equal(world.statusPatches.length, 4);
});

test('--refresh-time-period=0 writes status.refreshTime at every refresh, as ESO does', async () => {
  const world = new World({ refreshInterval: '1m' });
  world.refreshTimePeriodMs = 0;
  const reconcile = world.reconciler();
  for (let minute = 0; minute <= 3; minute++) {
    world.time = now + minute * 60_000;
    await reconcile('team/app', signal);
  }
  assert.equal(world.reads.length, 4);
  assert.equal(world.statusPatches.length, 4);
});

test('a refused read is a terminal error the runtime rechecks; the audit record says denied', async () => {
  const world = new World();
  world.providerError = new AccessDeniedError('Google Secret Manager AccessSecretVersion on projects/p/secrets/s was denied to r@p.iam.gserviceaccount.com');
  await assert.rejects(world.reconciler()('team/app', signal), TerminalError);
  assert.equal(world.audit[0]?.result, 'denied');
  assert.deepEqual([world.ready()?.status, world.ready()?.reason], ['False', 'SecretSyncedError']);
  world.providerError = undefined; // the grant took effect
  await world.reconciler()('team/app', signal);
  assert.equal(world.secretValue('password'), 's3cr3t-password', 'the recheck writes the Secret with nothing changed on the object');
  assert.equal(world.ready()?.status, 'True');
});

test('a generator-only ExternalSecret (no secretStoreRef, every dataFrom entry a generatorRef) writes the Secret without any store, as ESO', async () => {
  const world = new World({ secretStoreRef: undefined, data: [], dataFrom: [{ sourceRef: { generatorRef: { kind: 'Password', name: 'pw' } } }] });
  world.storeResolution = { ok: false, reason: 'StoreNotFound', message: 'no store is named' };
  world.generated = new Map([['password', new TextEncoder().encode('generated-pw-1')]]);
  await world.reconciler()('team/app', signal);
  assert.equal(world.secretValue('password'), 'generated-pw-1');
  assert.deepEqual([world.ready()?.status, world.ready()?.reason], ['True', 'SecretSynced']);
  assert.equal(world.reads.length, 0, 'no provider read');
  const write = world.audit.find((a) => a.action === 'secret.create');
  assert.deepEqual([write?.result, write?.store, write?.provider], ['success', { kind: 'Password', name: 'pw' }, 'generator'], 'audited under the generator');
  // Kept at the next refresh (the Secret holds it), still without a store.
  world.generated = new Map([['password', new TextEncoder().encode('generated-pw-2')]]);
  world.time += 2 * 3_600_000;
  await world.reconciler()('team/app', signal);
  assert.equal(world.secretValue('password'), 'generated-pw-1');
  assert.equal(world.generations, 1, 'nothing generated only to be dropped for the kept value');
});

test('a rename right after the first sync, before the cache has seen the Secret: the old Secret is still deleted', async () => {
  const world = new World();
  const reconcile = world.reconciler();
  await reconcile('team/app', signal);
  world.uncached.add('team/app');
  (world.es as { spec: Record<string, unknown> }).spec.target = { name: 'renamed' };
  (world.es as { metadata: { generation: number } }).metadata.generation = 2;
  await reconcile('team/app', signal);
  assert.ok(world.secrets.has('team/renamed'), 'the new Secret is written');
  assert.equal(world.secrets.has('team/app'), false, 'the old Secret is gone');
  assert.deepEqual(world.events.map((e) => e.reason), ['Created', 'Created', 'Deleted']);
});

test('a rename right after the first sync, before the cache has seen its status (binding): the old Secret is still deleted', async () => {
  const world = new World();
  const reconcile = world.reconciler();
  world.statusLags = true;
  await reconcile('team/app', signal);
  assert.equal((world.es as { status?: unknown }).status, undefined, 'the cached ExternalSecret has no status yet');
  (world.es as { spec: Record<string, unknown> }).spec.target = { name: 'renamed' };
  (world.es as { metadata: { generation: number } }).metadata.generation = 2;
  await reconcile('team/app', signal);
  assert.ok(world.secrets.has('team/renamed'), 'the new Secret is written');
  assert.equal(world.secrets.has('team/app'), false, 'the old Secret is gone');
  assert.deepEqual(world.statusPatches.at(-1)?.status['binding'], { name: 'renamed' });
});

test('deleting the old Secret fails after a rename the cache has not seen the status of: retried from memory, no crash', async () => {
  const world = new World();
  const reconcile = world.reconciler();
  world.statusLags = true;
  await reconcile('team/app', signal);
  (world.es as { spec: Record<string, unknown> }).spec.target = { name: 'renamed' };
  (world.es as { metadata: { generation: number } }).metadata.generation = 2;
  const secrets = world.secrets;
  const realDelete = secrets.delete.bind(secrets);
  let failDelete = true;
  secrets.delete = (key: string) => {
    if (failDelete && key === 'team/app') throw new Error('apiserver timeout');
    return realDelete(key);
  };
  await assert.rejects(reconcile('team/app', signal), /Secret app \(the target before spec.target.name changed\) could not be deleted: apiserver timeout/);
  const bindings = () => world.statusPatches.flatMap((p) => (p.status['binding'] ? [p.status['binding']] : []));
  assert.deepEqual(bindings(), [{ name: 'app' }, { name: 'app' }], 'still bound to the old name');
  failDelete = false;
  await reconcile('team/app', signal);
  assert.equal(world.secrets.has('team/app'), false, 'the retry deletes it');
  assert.deepEqual(bindings().at(-1), { name: 'renamed' });
});

test('deletionPolicy Delete: the remote secret goes right after the first sync, before the cache has seen the Secret: the Secret is still deleted', async () => {
  const world = new World({ target: { deletionPolicy: 'Delete' }, refreshPolicy: 'OnChange' });
  const reconcile = world.reconciler();
  await reconcile('team/app', signal);
  assert.ok(world.secrets.has('team/app'));
  world.uncached.add('team/app');
  world.remote.delete('db/password');
  (world.es as { metadata: { generation: number } }).metadata.generation = 2;
  await reconcile('team/app', signal);
  assert.equal(world.secrets.has('team/app'), false, 'the Secret is gone, as the status says');
  assert.equal(world.ready()?.reason, 'SecretDeleted');
});
