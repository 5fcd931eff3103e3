// The manager with in-memory informers: one cache per kind shared by every controller that asks, changes
// mapped to keys (with fingerprints filtering status-only writes), controllers only while leading, a fresh set
// per term. The two controllers at the end are the shapes coming next (workload rollouts; ClusterExternalSecret):
// each is a module in its own folder plus one line in the operator's list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { Manager, keyOf, watch, type ControllerSpec } from '../../../src/controller/runtime/manager.ts';
import type { ControllerModule, ControllerContext } from '../../../src/controller/module.ts';
import type { InformerEvent, KindDescriptor, KubernetesObject, SupervisedInformer } from '../../../src/k8s/informer.ts';
import { kindKey } from '../../../src/k8s/informer.ts';
import { ManagedSecretKind, NamespaceKind } from '../../../src/k8s/kinds.ts';
import { createMetrics } from '../../../src/metrics/metrics.ts';
import { createLogger } from '../../../src/log.ts';
import { systemClock } from '../../../src/util/clock.ts';
import { LineSink } from '../../support/operator.ts';

/** An informer over a map, driven by the test. */
class MemoryInformer<T extends KubernetesObject> implements SupervisedInformer<T> {
  readonly objects = new Map<string, T>();
  readonly #handlers: Record<InformerEvent, Set<(obj: T) => void>> = { add: new Set(), update: new Set(), delete: new Set() };
  started = 0;
  synced = false;
  async start() {
    this.started++;
    this.synced = true;
  }
  async stop() {}
  get(name: string, namespace?: string) {
    return this.objects.get(namespace ? `${namespace}/${name}` : name);
  }
  list() {
    return [...this.objects.values()];
  }
  hasSynced() {
    return this.synced;
  }
  on(event: InformerEvent, handler: (obj: T) => void) {
    this.#handlers[event].add(handler);
  }
  off(event: InformerEvent, handler: (obj: T) => void) {
    this.#handlers[event].delete(handler);
  }
  restarts() {
    return 0;
  }
  set(obj: T) {
    const key = keyOf(obj);
    const event = this.objects.has(key) ? 'update' : 'add';
    this.objects.set(key, obj);
    for (const h of this.#handlers[event]) h(obj);
  }
  remove(obj: T) {
    this.objects.delete(keyOf(obj));
    for (const h of this.#handlers.delete) h(obj);
  }
}

function harness(names: readonly string[]) {
  const informers = new Map<string, MemoryInformer<KubernetesObject>>();
  const logs = new LineSink();
  const registry = new Registry();
  const manager = new Manager({
    kube: {} as never,
    clock: systemClock,
    logger: createLogger({ level: 'info', destination: logs }),
    metrics: createMetrics(registry, { controllers: names }),
    watchNamespaces: [],
    workers: 2,
    queueRateLimit: { qps: 10_000, burst: 10_000 },
    http: { port: 0, host: '127.0.0.1', registry },
    makeInformer: <T extends KubernetesObject>(kind: KindDescriptor<T>) => {
      const informer = new MemoryInformer<KubernetesObject>();
      informers.set(kindKey(kind), informer);
      return informer as unknown as SupervisedInformer<T>;
    },
    checkAccess: async () => {},
  });
  const informer = (kind: KindDescriptor<KubernetesObject>) => informers.get(kindKey(kind))!;
  return { manager, informers, informer, registry, logs };
}

async function until(what: string, probe: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Reconciles are recorded, so a test sees which keys came through. */
function recording(seen: string[]) {
  return async (key: string) => {
    seen.push(key);
  };
}

const obj = (name: string, namespace: string | undefined, extra: Record<string, unknown> = {}): KubernetesObject & Record<string, unknown> => ({
  metadata: { name, ...(namespace ? { namespace } : {}), generation: 1, ...((extra['metadata'] as object | undefined) ?? {}) },
  ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'metadata')),
});

// ---- the tiny controllers: each is what a new folder under src/controller/ would hold -----------------------

/** controller/rollout/module.ts: restarts workloads whose Secret changed (Deployments here; StatefulSets/DaemonSets alike). */
const DeploymentKind: KindDescriptor = { kind: 'Deployment', group: 'apps', version: 'v1', plural: 'deployments', namespaced: true };
const RELOAD = 'secret-relay.dev/reload';
function rolloutController(reconciled: string[]): ControllerModule {
  return {
    name: 'rollout',
    build(ctx) {
      const deployments = ctx.informer(DeploymentKind);
      return {
        primary: { kind: DeploymentKind, fingerprint: (d) => String(d.metadata?.generation ?? 0) },
        watches: [
          // A managed Secret changed: every Deployment of its namespace that names it.
          watch({
            kind: ManagedSecretKind,
            events: ['update'],
            map: (secret) =>
              deployments
                .list(secret.metadata?.namespace)
                .filter((d) => d.metadata?.namespace === secret.metadata?.namespace && d.metadata?.annotations?.[RELOAD] === secret.metadata?.name)
                .map(keyOf),
          }),
        ],
        reconcile: recording(reconciled),
      };
    },
  };
}

/** controller/clusterexternalsecret/module.ts: a cluster-scoped primary that fans out over namespaces. */
const ClusterExternalSecretKind: KindDescriptor = { kind: 'ClusterExternalSecret', group: 'secret-relay.dev', version: 'v1alpha1', plural: 'clusterexternalsecrets', namespaced: false };
function clusterExternalSecretController(reconciled: string[]): ControllerModule {
  return {
    name: 'clusterexternalsecret',
    build(ctx) {
      const all = ctx.informer(ClusterExternalSecretKind);
      return {
        primary: { kind: ClusterExternalSecretKind },
        // A namespace appeared or its labels changed: every ClusterExternalSecret decides again where it applies.
        watches: [watch({ kind: NamespaceKind, events: ['add', 'update'], map: () => all.list().map(keyOf) })],
        reconcile: recording(reconciled),
      };
    },
  };
}

/** What the operator's wiring does with its list of modules. */
function addModules(manager: Manager, modules: readonly ControllerModule[]) {
  const ctx = { informer: (kind: KindDescriptor) => manager.informer(kind) } as unknown as ControllerContext;
  for (const m of modules) manager.add({ name: m.name, ...m.build(ctx) } as ControllerSpec);
}

test('two new controllers plug in as modules: one cache per kind, changes mapped to their keys', async () => {
  const rollouts: string[] = [];
  const clusterES: string[] = [];
  const h = harness(['rollout', 'clusterexternalsecret']);
  addModules(h.manager, [rolloutController(rollouts), clusterExternalSecretController(clusterES)]);
  // Deployments, managed Secrets, ClusterExternalSecrets, Namespaces: four kinds, one informer each.
  assert.equal(h.informers.size, 4);

  h.informer(DeploymentKind).set(obj('web', 'team', { metadata: { annotations: { [RELOAD]: 'db' } } }));
  h.informer(DeploymentKind).set(obj('batch', 'team'));
  h.informer(ClusterExternalSecretKind).set(obj('shared-ca', undefined));
  await h.manager.start();
  for (const i of h.informers.values()) assert.equal(i.started, 1, 'each cache started once');

  // A term starts with every primary object.
  await until('the first term reconciles every primary object', () => rollouts.length === 2 && clusterES.length === 1);
  assert.deepEqual(rollouts.sort(), ['team/batch', 'team/web']);
  assert.deepEqual(clusterES, ['shared-ca']);

  // The Secret one Deployment names changed: only that Deployment.
  h.informer(ManagedSecretKind).set(obj('db', 'team'));
  h.informer(ManagedSecretKind).set(obj('db', 'team', { data: { password: 'bmV3' } }));
  await until('the rollout of team/web', () => rollouts.length === 3);
  assert.equal(rollouts[2], 'team/web');

  // A new namespace: every ClusterExternalSecret.
  h.informer(NamespaceKind).set(obj('new-team', undefined));
  await until('the ClusterExternalSecret reconciles', () => clusterES.length === 2);
  assert.equal(clusterES[1], 'shared-ca');
  await h.manager.stop();
});

test('a primary fingerprint ignores status-only writes; spec changes and deletes come through', async () => {
  const seen: string[] = [];
  const h = harness(['rollout']);
  addModules(h.manager, [rolloutController(seen)]);
  await h.manager.start();
  const deployments = h.informer(DeploymentKind);
  deployments.set(obj('web', 'team'));
  await until('the add', () => seen.length === 1);
  deployments.set(obj('web', 'team', { status: { readyReplicas: 1 } })); // same generation: our own status write
  deployments.set(obj('web', 'team', { metadata: { generation: 2 } }));
  await until('the spec change', () => seen.length === 2);
  deployments.remove(obj('web', 'team', { metadata: { generation: 2 } }));
  await until('the delete', () => seen.length === 3);
  assert.deepEqual(seen, ['team/web', 'team/web', 'team/web']);
  await h.manager.stop();
});

test('two controllers asking for one kind share its informer', async () => {
  const h = harness(['a', 'b']);
  const spec = (name: string): ControllerSpec => ({ name, primary: { kind: DeploymentKind }, watches: [watch({ kind: NamespaceKind, map: () => [] })], reconcile: async () => {} });
  h.manager.add(spec('a'));
  h.manager.add(spec('b'));
  assert.equal(h.informers.size, 2);
  assert.throws(() => h.manager.add(spec('a')), /added twice/);
});

test('metrics carry the controllers the manager runs, and nothing else', async () => {
  const h = harness(['rollout']);
  addModules(h.manager, [rolloutController([])]);
  h.informer(DeploymentKind).set(obj('web', 'team'));
  await h.manager.start();
  try {
    await until('the term started', () => h.logs.text().includes('leading: controllers started'));
    const text = await h.registry.metrics();
    assert.match(text, /secret_relay_workqueue_adds_total\{controller="rollout"\} [1-9]/);
    assert.match(text, /secret_relay_reconcile_total\{controller="rollout",result="success"\}/);
    assert.doesNotMatch(text, /controller="externalsecret"/);
  } finally {
    await h.manager.stop();
  }
});
