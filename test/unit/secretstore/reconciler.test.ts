// The SecretStore / ClusterSecretStore reconciler with fakes: the Ready condition a user reads on the store,
// its Warning Events, which namespace a ClusterSecretStore is validated from, and when it is revalidated.
import { DEFAULT_TENANCY_POLICY } from '../../../src/providers/kit/tenancy.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClusterSecretStore, parseSecretStore, type ClusterSecretStore, type SecretStore } from '../../../src/api/index.ts';
import { AccessDeniedError, TerminalError, type Provider, type SecretsClient, type StoreKind, type StoreValidationStatus } from '../../../src/providers/provider.ts';
import { createProviderRegistry } from '../../../src/providers/registry.ts';
import { createStoreReconciler } from '../../../src/controller/secretstore/reconciler.ts';
import { createStoreValidations } from '../../../src/controller/secretstore/validations.ts';
import type { ResolvedStore } from '../../../src/controller/externalsecret/store-ref.ts';

const now = Date.parse('2026-01-01T00:00:00Z');
const signal = new AbortController().signal;

class World {
  store: Record<string, unknown>;
  validation: StoreValidationStatus | Error = 'Ready';
  gone = false;
  specErrors: string[] = [];
  statusError: Error | undefined;
  readonly clientsFor: Array<{ store: ResolvedStore; namespace: string }> = [];
  readonly events: Array<{ type: string; reason: string; note: string }> = [];
  readonly patches: Record<string, unknown>[] = [];

  readonly kind: StoreKind;

  constructor(kind: StoreKind, provider: Record<string, unknown> = { fake: { data: [] } }, extra: Record<string, unknown> = {}) {
    this.kind = kind;
    this.store = {
      apiVersion: 'secret-relay.dev/v1alpha1',
      kind,
      metadata: { name: 'main', ...(kind === 'SecretStore' ? { namespace: 'team' } : {}), uid: 'store-uid', generation: 3 },
      spec: { provider, ...extra },
    };
  }

  provider(): Provider {
    const world = this;
    return {
      name: 'fake',
      validateStore: () => ({ errors: world.specErrors, warnings: [] }),
      async newClient(): Promise<SecretsClient> {
        throw new Error('not used: the reconciler goes through clientFor');
      },
    };
  }

  reconciler() {
    return createStoreReconciler({
      kind: this.kind,
      clock: { now: () => now },
      registry: createProviderRegistry([this.provider()]),
      tenancy: DEFAULT_TENANCY_POLICY,
      validations: createStoreValidations(() => {}),
      getStore: () => {
        if (this.gone) return undefined;
        const parsed = this.kind === 'SecretStore' ? parseSecretStore(this.store) : parseClusterSecretStore(this.store);
        return parsed.ok ? { ok: true, value: parsed.value as SecretStore | ClusterSecretStore } : { ok: false, error: parsed.error, raw: this.store };
      },
      clientFor: async (store, namespace) => {
        this.clientsFor.push({ store, namespace });
        const validation = this.validation;
        return {
          identity: 'test',
          getSecret: async () => new Uint8Array(),
          getAllSecrets: async () => ({}),
          validate: async () => {
            if (validation instanceof Error) throw validation;
            return validation;
          },
          close: async () => {},
        };
      },
      operatorNamespace: 'secret-relay-system',
      status: {
        patch: async (_ref, status) => {
          if (this.statusError) throw this.statusError;
          this.patches.push(status);
          (this.store as { status?: Record<string, unknown> }).status = status;
          return 'patched';
        },
      },
      events: { record: async (_target, type, reason, note) => void this.events.push({ type, reason, note }) },
    });
  }

  ready() {
    return (this.store as { status?: { conditions?: { type: string; status: string; reason: string; message: string; observedGeneration?: number }[] } }).status?.conditions?.find((c) => c.type === 'Ready');
  }
}

test('a valid store the provider accepts: Ready=True Valid at its generation, revalidated at spec.refreshInterval', async () => {
  const world = new World('SecretStore', { fake: { data: [] } }, { refreshInterval: '10m' });
  const result = await world.reconciler()('team/main', signal);
  assert.deepEqual([world.ready()?.status, world.ready()?.reason, world.ready()?.observedGeneration], ['True', 'Valid', 3]);
  assert.deepEqual(result, { requeueAfter: 600_000 });
  assert.equal(world.clientsFor[0]?.namespace, 'team', 'a SecretStore is validated in its own namespace');
  assert.equal(world.events.length, 0);
});

test('validated again with nothing changed: no second status write', async () => {
  const world = new World('SecretStore');
  const reconcile = world.reconciler();
  await reconcile('team/main', signal);
  await reconcile('team/main', signal);
  assert.equal(world.patches.length, 1);
});

test('a ClusterSecretStore is validated from the operator namespace', async () => {
  const world = new World('ClusterSecretStore');
  await world.reconciler()('main', signal);
  assert.equal(world.clientsFor[0]?.namespace, 'secret-relay-system');
  assert.equal(world.clientsFor[0]?.store.namespace, undefined);
  assert.equal(world.ready()?.status, 'True');
});

test('a spec the provider refuses: Ready=False InvalidStoreConfiguration naming the field, a Warning, no client', async () => {
  const world = new World('SecretStore');
  world.specErrors = ['spec.provider.fake.data[0].key is required'];
  assert.equal(await world.reconciler()('team/main', signal), undefined);
  assert.deepEqual([world.ready()?.status, world.ready()?.reason], ['False', 'InvalidStoreConfiguration']);
  assert.match(world.ready()!.message, /data\[0\]\.key is required/);
  assert.deepEqual(world.events.map((e) => [e.type, e.reason]), [['Warning', 'InvalidStoreConfiguration']]);
  assert.equal(world.clientsFor.length, 0);
});

test('a provider this build lacks: Ready=False ProviderNotAvailable listing the available ones', async () => {
  const world = new World('SecretStore', { aws: { service: 'SecretsManager', region: 'eu-west-1' } });
  await world.reconciler()('team/main', signal);
  assert.equal(world.ready()?.reason, 'ProviderNotAvailable');
  assert.match(world.ready()!.message, /available: fake/);
});

test('the provider cannot confirm: Ready=Unknown ValidationUnknown; the provider rejects: Ready=False ValidationFailed', async () => {
  const unknown = new World('SecretStore');
  unknown.validation = 'Unknown';
  await unknown.reconciler()('team/main', signal);
  assert.deepEqual([unknown.ready()?.status, unknown.ready()?.reason], ['Unknown', 'ValidationUnknown']);
  const rejected = new World('SecretStore');
  rejected.validation = 'Error';
  await rejected.reconciler()('team/main', signal);
  assert.deepEqual([rejected.ready()?.status, rejected.ready()?.reason], ['False', 'ValidationFailed']);
});

test('the provider cannot be reached: Ready=False with its message, a Warning, and a retry with backoff (throws)', async () => {
  const world = new World('SecretStore');
  world.validation = new Error('connect ECONNREFUSED 10.0.0.1:8200');
  await assert.rejects(world.reconciler()('team/main', signal), /ECONNREFUSED/);
  assert.deepEqual([world.ready()?.status, world.ready()?.reason], ['False', 'ValidationFailed']);
  assert.match(world.ready()!.message, /ECONNREFUSED/);
  assert.equal(world.events.at(-1)?.type, 'Warning');
});

test('when the status write fails too, the provider error is the one retried, not the status error', async () => {
  const world = new World('SecretStore');
  world.validation = new Error('connect ECONNREFUSED 10.0.0.1:8200');
  world.statusError = new Error('apiserver: the status patch timed out');
  await assert.rejects(world.reconciler()('team/main', signal), /ECONNREFUSED/);
});

test('a store that is gone: nothing to do', async () => {
  const world = new World('SecretStore');
  world.gone = true;
  assert.equal(await world.reconciler()('team/main', signal), undefined);
  assert.equal(world.patches.length, 0);
});

test('a store that fails the schema: Ready=False InvalidStoreConfiguration naming the field, a Warning, no client, no retry until it changes', async () => {
  const world = new World('SecretStore', { fake: { data: [] } }, { refreshInterval: 'every hour' });
  assert.equal(await world.reconciler()('team/main', signal), undefined);
  assert.deepEqual([world.ready()?.status, world.ready()?.reason, world.ready()?.observedGeneration], ['False', 'InvalidStoreConfiguration', 3]);
  assert.match(world.ready()!.message, /SecretStore team\/main is invalid: spec\.refreshInterval must be a duration/);
  assert.deepEqual(world.events.map((e) => [e.type, e.reason]), [['Warning', 'InvalidStoreConfiguration']]);
  assert.equal(world.clientsFor.length, 0);
  await world.reconciler()('team/main', signal);
  assert.equal(world.patches.length, 1, 'said once');
});

test('a terminal validation failure (a refused identity): Ready=False with its message, rechecked at the recheck backoff capped at spec.refreshInterval', async () => {
  const world = new World('SecretStore', { fake: { data: [] } }, { refreshInterval: '1m' });
  world.validation = new AccessDeniedError('Entra ID refused a token for vault https://v to client ID c: AADSTS700213: No matching federated identity record found.');
  const result = await world.reconciler()('team/main', signal);
  assert.deepEqual(result, { recheck: true, requeueAfter: 60_000 }, 'a grant made later is found without an edit of the store');
  assert.deepEqual([world.ready()?.status, world.ready()?.reason], ['False', 'ValidationFailed']);
  assert.match(world.ready()!.message, /AADSTS700213/);
  assert.equal(world.events.at(-1)?.type, 'Warning');
  const noInterval = new World('SecretStore', { fake: { data: [] } }, { refreshInterval: '0' });
  noInterval.validation = new TerminalError('refused');
  assert.deepEqual(await noInterval.reconciler()('team/main', signal), { recheck: true }, 'refreshInterval 0 (never revalidate a good store) still rechecks a failed one');
  world.validation = 'Ready';
  assert.deepEqual(await world.reconciler()('team/main', signal), { requeueAfter: 60_000 });
  assert.equal(world.ready()?.status, 'True');
});

test('the provider answers that the configuration does not work (Error): rechecked at the recheck backoff, also with refreshInterval 0', async () => {
  const world = new World('SecretStore', { fake: { data: [] } }, { refreshInterval: '0' });
  world.validation = 'Error';
  assert.deepEqual(await world.reconciler()('team/main', signal), { recheck: true }, 'what the provider refuses may be granted later');
  assert.deepEqual([world.ready()?.status, world.ready()?.reason], ['False', 'ValidationFailed']);
});
