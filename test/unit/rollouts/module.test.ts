// The rollout controller's failure paths, with in-memory caches and a fake apiserver for the workload calls
// (the happy paths run against the real control plane in test/integration/rollouts.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type * as k8s from '@kubernetes/client-node';
import { rolloutController } from '../../../src/controller/rollouts/module.ts';
import type { ControllerContext } from '../../../src/controller/module.ts';
import { classFilter, controllerClass } from '../../../src/controller/runtime/controller-class.ts';
import type { ControllerSpec } from '../../../src/controller/runtime/manager.ts';
import { keyOf } from '../../../src/controller/runtime/manager.ts';
import type { InformerEvent, KindDescriptor, KubernetesObject, SupervisedInformer } from '../../../src/k8s/informer.ts';
import { kindKey } from '../../../src/k8s/informer.ts';
import { MemoryInformer } from '../../support/memory-informer.ts';
import { KubeApiError, type KubeClient, type KubeRequest } from '../../../src/k8s/kube-client.ts';
import { createMetrics } from '../../../src/metrics/metrics.ts';
import { createLogger } from '../../../src/log.ts';
import type { AuditRecord } from '../../../src/audit/audit-log.ts';
import { DATA_HMAC_ANNOTATION, MANAGED_LABEL } from '../../../src/controller/externalsecret/desired-secret.ts';
import { REPLAY_HORIZON_MS } from '../../../src/controller/rollouts/pending.ts';
import { ROLLED_AT_ANNOTATION, SECRET_VERSIONS_ANNOTATION } from '../../../src/controller/rollouts/plan.ts';
import { LineSink } from '../../support/operator.ts';


interface Call {
  readonly verb: string;
  readonly kind: string;
  readonly name?: string;
}

function harness(options: { listFails?: number; patchFails?: number[]; deployments?: k8s.V1Deployment[] } = {}) {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const informers = new Map<string, MemoryInformer>();
  const calls: Call[] = [];
  const events: string[] = [];
  const statuses: Record<string, unknown>[] = [];
  const audit: AuditRecord[] = [];
  const patchFails = [...(options.patchFails ?? [])];
  const registry = new Registry();
  const fail = (code: number) => new KubeApiError(code, { kind: 'Status', code, reason: code === 403 ? 'Forbidden' : 'InternalError', message: 'refused' });
  const apps: Readonly<Record<string, { kind: string; items: unknown[] }>> = {
    deployments: { kind: 'Deployment', items: options.deployments ?? [] },
    statefulsets: { kind: 'StatefulSet', items: [] },
    daemonsets: { kind: 'DaemonSet', items: [] },
  };
  // The apiserver's apps/v1 workload paths in namespace ns: LIST a collection, PATCH one object. Nothing else is expected.
  const kube: Pick<KubeClient, 'request'> = {
    async request<T>(req: KubeRequest): Promise<T> {
      const m = /^\/apis\/apps\/v1\/namespaces\/ns\/([a-z]+)(?:\/([^/]+))?$/.exec(req.path);
      const resource = m ? apps[m[1]!] : undefined;
      if (resource && req.method === 'GET' && m![2] === undefined) {
        calls.push({ verb: 'list', kind: resource.kind });
        if (options.listFails) throw fail(options.listFails);
        return { items: resource.items } as T;
      }
      if (resource && req.method === 'PATCH' && m![2] !== undefined) {
        calls.push({ verb: 'patch', kind: resource.kind, name: decodeURIComponent(m![2]) });
        const code = patchFails.shift();
        if (code) throw fail(code);
        return {} as T;
      }
      throw new Error(`unexpected request ${req.method} ${req.path}`);
    },
  };
  const ctx = {
    informer: (kind: KindDescriptor) => {
      let informer = informers.get(kindKey(kind));
      if (!informer) informers.set(kindKey(kind), (informer = new MemoryInformer()));
      return informer;
    },
    clock: { now: () => now },
    logger: createLogger({ level: 'info', destination: new LineSink() }),
    kube,
    events: { record: async (target: { kind: string; name: string }, type: string, reason: string, note: string) => void events.push(`${type} ${reason} ${target.kind}/${target.name}: ${note}`) },
    status: { patch: async (_ref: unknown, status: Record<string, unknown>) => (statuses.push(status), 'patched' as const) },
    audit: { record: (r: AuditRecord) => void audit.push(r), close: async () => {} },
    metrics: createMetrics(registry),
    // No stores in these tests: every ExternalSecret is of the default class, served here.
    classes: classFilter(controllerClass(), { secretStore: () => undefined, clusterSecretStore: () => undefined }),
  } as unknown as ControllerContext;
  const spec = rolloutController.build(ctx) as Omit<ControllerSpec, 'name'>;
  const [esWatch, secretWatch] = spec.watches!;
  const deliver = (w: typeof esWatch, event: InformerEvent, obj: KubernetesObject) => {
    const informer = ctx.informer(w!.kind) as unknown as MemoryInformer;
    if (event === 'delete') informer.objects.delete(keyOf(obj));
    else informer.objects.set(keyOf(obj), obj);
    w!.observe?.(event, obj);
    return [...w!.map(obj, event)];
  };
  const externalSecret = (name: string, spec: Record<string, unknown>) =>
    deliver(esWatch, 'add', {
      apiVersion: 'secret-relay.dev/v1alpha1',
      kind: 'ExternalSecret',
      metadata: { name, namespace: 'ns', uid: `uid-${name}`, generation: 1 },
      spec: { secretStoreRef: { name: 'store' }, data: [{ secretKey: 'v', remoteRef: { key: 'k' } }], ...spec },
    } as KubernetesObject);
  const secret = (name: string, hmac: string, event: InformerEvent = 'update') =>
    deliver(secretWatch, event, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'ns', labels: { [MANAGED_LABEL]: 'true' }, annotations: { [DATA_HMAC_ANNOTATION]: hmac } } } as KubernetesObject);
  const reconcile = () => spec.reconcile('ns', new AbortController().signal);
  const rollouts = async (kind: string, result: string) =>
    (await registry.getSingleMetric('secret_relay_rollouts_total')!.get()).values.find((v) => v.labels['kind'] === kind && v.labels['result'] === result)?.value;
  return { advance: (ms: number) => (now += ms), now: () => now, calls, events, statuses, audit, externalSecret, secret, reconcile, rollouts };
}

const envDeployment = (name: string, secret: string, annotations: Record<string, string> = {}): k8s.V1Deployment => ({
  metadata: { name, namespace: 'ns', uid: `uid-${name}`, annotations },
  spec: { selector: {}, template: { spec: { containers: [{ name: 'app', env: [{ name: 'V', valueFrom: { secretKeyRef: { name: secret, key: 'v' } } }] }] } } },
});

test('a change is enqueued for its namespace and waits the settle window; the first sight of a Secret is not a change', async () => {
  const h = harness({ deployments: [envDeployment('api', 'db')] });
  h.externalSecret('db', { rollout: { policy: 'Auto', settleWindow: '2s' } });
  assert.deepEqual(h.secret('db', 'v1:a', 'add'), []);
  assert.deepEqual(h.secret('db', 'v1:a'), [], 'same HMAC: a refresh, a repair, a metadata edit');
  assert.equal(await h.reconcile(), undefined);
  const lists = ['list DaemonSet', 'list Deployment', 'list StatefulSet'];
  const calls = () => h.calls.map((c) => `${c.verb} ${c.kind}${c.name ? ` ${c.name}` : ''}`).sort();
  assert.deepEqual(calls(), lists, 'the first sight is checked against the versions the workloads record (none here): nothing rolled');
  assert.deepEqual(h.events, []);
  assert.equal(await h.reconcile(), undefined);
  assert.equal(h.calls.length, 3, 'checked once');
  assert.deepEqual(h.secret('db', 'v1:b'), ['ns']);
  assert.deepEqual(await h.reconcile(), { requeueAfter: 2000 });
  assert.equal(h.calls.length, 3, 'nothing is listed before the batch settles');
  h.advance(2000);
  assert.equal(await h.reconcile(), undefined);
  assert.deepEqual(calls(), [...lists, ...lists, 'patch Deployment api'].sort());
  assert.deepEqual(h.statuses, [{ rollout: { time: '2026-01-01T00:00:02Z', secret: 'db', workloads: ['Deployment/api'] } }]);
  assert.equal(await h.reconcile(), undefined);
  assert.equal(h.calls.length, 7, 'a handled change is not rolled again');
});

test('a restart in the settle window lost the change: the new process sees a workload rolled for an older version of the Secret and rolls it', async () => {
  const rolledFor = (hmac: string) => ({ ...envDeployment('api', 'db'), spec: { selector: {}, template: { ...envDeployment('api', 'db').spec!.template, metadata: { annotations: { [SECRET_VERSIONS_ANNOTATION]: `db=${hmac}` } } } } });
  const h = harness({ deployments: [rolledFor('v1:a'), { ...rolledFor('v1:b'), metadata: { name: 'current', namespace: 'ns', uid: 'uid-current' } }, envDeployment('never', 'db')] });
  h.externalSecret('db', { rollout: { policy: 'Auto', settleWindow: '2s' } });
  // The new process's first sight of the Secret, which changed (v1:a → v1:b) while its predecessor settled.
  assert.deepEqual(h.secret('db', 'v1:b', 'add'), []);
  assert.equal(await h.reconcile(), undefined);
  assert.deepEqual(h.calls.filter((c) => c.verb === 'patch').map((c) => c.name), ['api'], 'only the workload that records an older version');
  assert.deepEqual(h.statuses, [{ rollout: { time: '2026-01-01T00:00:00Z', secret: 'db', workloads: ['Deployment/api'] } }]);
  assert.equal(await h.reconcile(), undefined);
  assert.equal(h.calls.filter((c) => c.verb === 'patch').length, 1, 'once');
});

test('first sights of Secrets whose ExternalSecrets ask for no rollout in their spec cost no LIST', async () => {
  const h = harness({ deployments: [envDeployment('api', 'db')] });
  h.externalSecret('db', {});
  h.secret('db', 'v1:a', 'add');
  assert.equal(await h.reconcile(), undefined);
  assert.deepEqual(h.calls, []);
});

test('no permission to list workloads: a Warning on the ExternalSecret that asked, naming the chart value, and no retry', async () => {
  const h = harness({ listFails: 403 });
  h.externalSecret('db', { rolloutRestartTargets: [{ kind: 'Deployment', name: 'api' }], rollout: { settleWindow: '0s' } });
  h.externalSecret('quiet', { target: { name: 'quiet' }, rollout: { settleWindow: '0s' } });
  h.secret('db', 'v1:a', 'add');
  h.secret('db', 'v1:b');
  h.secret('quiet', 'v1:a', 'add');
  h.secret('quiet', 'v1:b');
  assert.equal(await h.reconcile(), undefined);
  assert.equal(h.events.length, 1, 'only the ExternalSecret that asked for a rollout hears of it');
  assert.match(h.events[0]!, /^Warning RolloutFailed ExternalSecret\/db: secret-relay may not list or read workloads in namespace ns \(Kubernetes API 403 Forbidden: refused\): install the chart with rbac.rollouts=true .*the Secret itself was updated$/);
  assert.equal(await h.reconcile(), undefined);
  assert.equal(h.calls.length, 3, 'not retried');
});

test('a refused patch is counted, audited and reported, and retried until it goes through', async () => {
  const h = harness({ patchFails: [500], deployments: [envDeployment('api', 'db')] });
  h.externalSecret('db', { rollout: { policy: 'Auto', settleWindow: '0s' } });
  h.secret('db', 'v1:a', 'add');
  h.secret('db', 'v1:b');
  await assert.rejects(h.reconcile(), /rollout of Deployment ns\/api failed: Kubernetes API 500 InternalError: refused/);
  assert.equal(await h.rollouts('Deployment', 'failed'), 1);
  assert.deepEqual(h.audit.map((r) => [r.action, r.result, r.workload?.name, r.targetSecret?.name]), [['workload.rollout', 'error', 'api', 'db']]);
  assert.ok(h.events.some((e) => /^Warning RolloutFailed ExternalSecret\/db: could not roll out Deployment\/api for Secret db: Kubernetes API 500 InternalError: refused; retrying$/.test(e)));
  assert.equal(await h.reconcile(), undefined);
  assert.equal(await h.rollouts('Deployment', 'rolled'), 1);
  assert.equal(h.calls.filter((c) => c.verb === 'patch').length, 2);
});

test('a workload rolled a moment ago waits for its minimum interval; the change stays pending', async () => {
  const recently = new Date(Date.parse('2026-01-01T00:00:00Z') - 10_000).toISOString();
  const h2 = harness({ deployments: [envDeployment('api', 'db', { [ROLLED_AT_ANNOTATION]: recently })] });
  h2.externalSecret('db', { rollout: { policy: 'Auto', settleWindow: '0s', minInterval: '30s' } });
  h2.secret('db', 'v1:a', 'add');
  h2.secret('db', 'v1:b');
  assert.deepEqual(await h2.reconcile(), { requeueAfter: 20_000 });
  assert.equal(h2.calls.filter((c) => c.verb === 'patch').length, 0);
  assert.ok(h2.events.some((e) => /Secret db changed: Deployment\/api waits 20s for its minimum interval/.test(e)));
  h2.advance(20_000);
  assert.equal(await h2.reconcile(), undefined);
  assert.equal(h2.calls.filter((c) => c.verb === 'patch').length, 1, 'rolled once the interval has passed');
});

test('a change older than the replay horizon is dropped, not replayed by a standby taking over', async () => {
  const h = harness({ deployments: [envDeployment('api', 'db')] });
  h.externalSecret('db', { rollout: { policy: 'Auto', settleWindow: '0s', minInterval: '30s' } });
  h.secret('db', 'v1:a', 'add');
  h.secret('db', 'v1:b');
  h.advance(REPLAY_HORIZON_MS + 30_001);
  assert.equal(await h.reconcile(), undefined);
  assert.deepEqual(h.calls, []);
  assert.deepEqual(h.events, []);
});
