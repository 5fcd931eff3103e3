// An ExternalSecret with a VaultDynamicSecret generator entry (and optionally a data[] entry), the apiserver it
// lives in (its status, the Secrets) and the Vault it gets credentials from, all in memory — with faults to inject
// at each step, and as many replicas (each its own lease keeper and reconciler, memory per process) as a test
// wants: `replica()` is a fresh process, such as a new leader.
import assert from 'node:assert/strict';
import { parseExternalSecret } from '../../../src/api/index.ts';
import type { SecretsClient } from '../../../src/providers/provider.ts';
import { NoSecretError } from '../../../src/providers/provider.ts';
import { createExternalSecretReconciler, type SecretView } from '../../../src/controller/externalsecret/reconciler.ts';
import { createLeaseKeeper } from '../../../src/controller/externalsecret/generators.ts';
import type { ResolvedStore } from '../../../src/controller/externalsecret/store-ref.ts';
import { runInTerm, type LeadershipTerm } from '../../../src/k8s/term.ts';

const signal = new AbortController().signal;
const store: ResolvedStore = { kind: 'SecretStore', name: 'vault', namespace: 'team', uid: 'store-uid', generation: 1, providerName: 'fake', providerSpec: {} };

export interface StoredSecret {
  metadata: { namespace: string; name: string; uid?: string; annotations?: Record<string, string>; labels?: Record<string, string>; ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[] };
  data?: Record<string, string>;
}

export function generatedCredentialsWorld(options: { dataEntry?: boolean } = {}) {
  let now = Date.parse('2026-01-01T00:00:00Z');
  let generation = 1;
  let targetName = 'app';
  let deletionTimestamp: string | undefined;
  const status: Record<string, unknown> = {};
  const secrets = new Map<string, StoredSecret>();
  /** Secrets the managed-Secret cache has not seen yet (a watch event still on its way). */
  const uncached = new Set<string>();
  const remote = new Map<string, string>([['db/host', 'db.internal']]);
  const revoked: string[] = [];
  const renewed: string[] = [];
  const deleted: string[] = [];
  /** Leases Vault knows and has not revoked. */
  const live = new Set<string>();
  const faults = { leasesPatch: 0, syncStatusPatch: 0, deleteSecret: 0 };
  let issued = 0;
  let secretUid = 0;

  const current = () => {
    const parsed = parseExternalSecret({
      apiVersion: 'secret-relay.dev/v1alpha1',
      kind: 'ExternalSecret',
      metadata: {
        name: 'app',
        namespace: 'team',
        uid: 'es-uid',
        generation,
        resourceVersion: String(generation),
        finalizers: ['secret-relay.dev/generator-leases'],
        ...(deletionTimestamp ? { deletionTimestamp } : {}),
      },
      spec: {
        secretStoreRef: { name: 'vault' },
        refreshInterval: '1h',
        target: { name: targetName },
        ...(options.dataEntry ? { data: [{ secretKey: 'host', remoteRef: { key: 'db/host' } }] } : {}),
        dataFrom: [{ sourceRef: { generatorRef: { kind: 'VaultDynamicSecret', name: 'db' } } }],
      },
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
      if ('binding' in patch && faults.syncStatusPatch > 0) {
        faults.syncStatusPatch--;
        throw new Error('apiserver: the status patch timed out');
      }
      for (const [key, value] of Object.entries(patch)) {
        if (value === null) delete status[key];
        else status[key] = structuredClone(value);
      }
      return 'patched' as const;
    },
  };
  const client: SecretsClient = {
    identity: 'vault',
    getSecret: async (ref) => {
      const value = remote.get(ref.key);
      if (value === undefined) throw new NoSecretError(`${ref.key} not found`);
      return new TextEncoder().encode(value);
    },
    getAllSecrets: async () => ({}),
    validate: async () => 'Ready',
    close: async () => {},
  };
  const write = (body: unknown) => {
    const applied = structuredClone(body) as StoredSecret;
    const key = `${applied.metadata.namespace}/${applied.metadata.name}`;
    applied.metadata.uid = secrets.get(key)?.metadata.uid ?? `secret-${++secretUid}`;
    secrets.set(key, applied);
  };

  /** One operator process: its own lease keeper and reconciler (their memory is the process's), its clock `clockOffsetMs` off. */
  const replica = (options: { clockOffsetMs?: number } = {}) => {
    const clock = { now: () => now + (options.clockOffsetMs ?? 0) };
    const keeper = createLeaseKeeper({
      generators: {
        VaultDynamicSecret: {
          settings: async () => ({ renewAtPercent: 50, rotateBeforeMs: 0 }),
          generate: async () => {
            issued++;
            live.add(`database/creds/app/l-${issued}`);
            return {
              data: new Map([['username', new TextEncoder().encode(`v-app-${issued}`)]]),
              lease: { leaseId: `database/creds/app/l-${issued}`, renewable: true, leaseDurationSeconds: 3600 },
            };
          },
          renew: async (_ref, leaseId) => {
            renewed.push(leaseId);
            return { leaseDurationSeconds: 3600, renewable: true };
          },
          revoke: async (_ref, leaseId) => {
            revoked.push(leaseId);
            live.delete(leaseId);
          },
        },
      },
      status: statusWriter,
      finalizers: { add: async () => {}, remove: async () => {} },
      clock,
    });
    const reconcile = createExternalSecretReconciler({
      clock,
      getExternalSecret: () => current(),
      getManagedSecret: (namespace, name) => (uncached.has(`${namespace}/${name}`) ? undefined : (secrets.get(`${namespace}/${name}`) as SecretView | undefined)),
      resolveStore: () => ({ ok: true, store }),
      clientFor: async () => client,
      secrets: {
        apply: async (body) => {
          write(body);
          return body as never;
        },
        applyIfAbsent: async (body) => {
          write(body);
          return 'created';
        },
        releaseForAdoption: async () => assert.fail('no adoption'),
        delete: async (namespace, name) => {
          if (faults.deleteSecret > 0) {
            faults.deleteSecret--;
            throw new Error('apiserver: the delete timed out');
          }
          deleted.push(`${namespace}/${name}`);
          return secrets.delete(`${namespace}/${name}`) ? 'deleted' : 'absent';
        },
        read: async (namespace, name) => secrets.get(`${namespace}/${name}`) as never,
      },
      status: statusWriter,
      events: { record: async () => {} },
      audit: { record: () => {}, close: async () => {} },
      hmacKey: new Uint8Array(32).fill(7),
      leases: keeper,
    });
    return {
      reconcile: () => reconcile('team/app', signal),
      /** A reconcile made in a leadership term (as the manager runs them). */
      reconcileIn: (term: LeadershipTerm) => runInTerm(term, () => reconcile('team/app', signal)),
    };
  };

  const value = (key: string, name = targetName) => {
    const data = secrets.get(`team/${name}`)?.data;
    return data?.[key] === undefined ? undefined : Buffer.from(data[key], 'base64').toString('utf8');
  };
  const ready = () => (status['conditions'] as { type: string; status: string }[] | undefined)?.find((c) => c.type === 'Ready')?.status;
  const leaseIds = (field: 'leases' | 'retiredLeases') => ((status[field] as { leaseId: string }[] | undefined) ?? []).map((l) => l.leaseId.replace('database/creds/app/', ''));
  const short = (ids: readonly string[]) => ids.map((id) => id.replace('database/creds/app/', ''));
  return {
    replica,
    /** The username the Secret holds: which credentials the application uses. */
    username: (name?: string) => value('username', name),
    value,
    ready,
    leaseIds,
    revoked: () => short(revoked),
    renewed: () => short(renewed),
    deleted,
    live: () => short([...live]),
    faults,
    remote,
    status,
    secrets,
    uncached,
    bump: () => void generation++,
    rename: (name: string) => {
      targetName = name;
      generation++;
    },
    advance: (ms: number) => void (now += ms),
    /** kubectl delete: the finalizer holds it. */
    markDeleted: () => void (deletionTimestamp = new Date(now).toISOString()),
  };
}

export function term(): LeadershipTerm {
  return { signal: new AbortController().signal, ended: () => false };
}
