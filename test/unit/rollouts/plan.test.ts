import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_MIN_INTERVAL_MS,
  ROLLED_AT_ANNOTATION,
  SECRET_VERSIONS_ANNOTATION,
  formatVersions,
  parseVersions,
  planRollouts,
  type RolloutRules,
  type Workload,
  type WorkloadKind,
} from '../../../src/controller/rollouts/plan.ts';

const NOW = Date.parse('2026-01-01T12:00:00Z');

function workload(name: string, spec: Workload['template']['spec'], options: { kind?: WorkloadKind; annotations?: Record<string, string>; templateAnnotations?: Record<string, string> } = {}): Workload {
  return { kind: options.kind ?? 'Deployment', name, annotations: options.annotations ?? {}, template: { annotations: options.templateAnnotations ?? {}, spec } };
}
const envUser = (secret: string) => ({ containers: [{ name: 'app', env: [{ name: 'V', valueFrom: { secretKeyRef: { name: secret } } }] }] });
const volumeUser = (secret: string, subPath?: string) => ({
  containers: [{ name: 'app', volumeMounts: [{ name: 'v', ...(subPath ? { subPath } : {}) }] }],
  volumes: [{ name: 'v', secret: { secretName: secret } }],
});
function rules(overrides: Partial<RolloutRules> = {}): RolloutRules {
  return { externalSecret: 'db', policy: 'Off', volumeConsumers: 'Skip', targets: [], settleMs: 5000, minIntervalMs: DEFAULT_MIN_INTERVAL_MS, ...overrides };
}
const plan = (workloads: Workload[], secretRules: Record<string, RolloutRules[]>, changes = Object.keys(secretRules).map((secret) => ({ secret, hmac: `v1:${secret}-new` }))) =>
  planRollouts({ changes, rules: new Map(Object.entries(secretRules)), workloads, now: NOW });
const actions = (p: ReturnType<typeof plan>) => p.decisions.map((d) => `${d.action} ${d.workload.kind}/${d.workload.name}`);

test('Off (the default) rolls nothing that did not ask, even env consumers', () => {
  const p = plan([workload('api', envUser('db'))], { db: [rules()] });
  assert.deepEqual(p.decisions, []);
  assert.deepEqual(p.leftAlone, []);
});

test('Auto rolls env and subPath consumers, leaves whole-volume consumers alone and says why, and ignores the rest', () => {
  const p = plan(
    [workload('env', envUser('db')), workload('subpath', volumeUser('db', 'password')), workload('volume', volumeUser('db')), workload('other', envUser('other'))],
    { db: [rules({ policy: 'Auto' })] },
  );
  assert.deepEqual(actions(p), ['roll Deployment/env', 'roll Deployment/subpath']);
  assert.match(p.decisions[0]!.reasons[0]!.why, /rollout policy Auto, reads it \(env V in app\)/);
  assert.deepEqual(p.leftAlone.map((s) => s.workload.name), ['volume']);
  assert.match(p.leftAlone[0]!.why, /kubelet updates the files in place.*volumeConsumers: Skip/);
});

test('Auto with volumeConsumers Restart rolls whole-volume consumers too', () => {
  const p = plan([workload('volume', volumeUser('db'))], { db: [rules({ policy: 'Auto', volumeConsumers: 'Restart' })] });
  assert.deepEqual(actions(p), ['roll Deployment/volume']);
  assert.deepEqual(p.leftAlone, []);
});

test('explicit targets roll whatever they read; the ones that do not exist are reported', () => {
  const targets = [{ kind: 'StatefulSet' as const, name: 'cache' }, { kind: 'Deployment' as const, name: 'gone' }, { kind: 'DaemonSet' as const, name: 'agent' }];
  const p = plan(
    [workload('cache', undefined, { kind: 'StatefulSet' }), workload('agent', volumeUser('db'), { kind: 'DaemonSet' }), workload('cache', envUser('db'))],
    { db: [rules({ targets })] },
  );
  assert.deepEqual(actions(p), ['roll StatefulSet/cache', 'roll DaemonSet/agent'], 'a Deployment of the same name as a StatefulSet target is not it');
  assert.match(p.decisions[0]!.reasons[0]!.why, /named in ExternalSecret db's rolloutRestartTargets/);
  assert.deepEqual(p.missing, [{ externalSecret: 'db', secret: 'db', kind: 'Deployment', name: 'gone' }]);
});

test('Reloader annotations and our own are honoured for the Secrets they name or read', () => {
  const p = plan(
    [
      workload('reloader-auto', volumeUser('db'), { annotations: { 'reloader.stakater.com/auto': 'true' } }),
      workload('reloader-secret-auto', envUser('db'), { annotations: { 'secret.reloader.stakater.com/auto': 'true' } }),
      workload('reloader-auto-unrelated', envUser('other'), { annotations: { 'reloader.stakater.com/auto': 'true' } }),
      workload('reloader-list', undefined, { annotations: { 'secret.reloader.stakater.com/reload': 'x, db' } }),
      workload('reloader-list-other', envUser('db'), { annotations: { 'secret.reloader.stakater.com/reload': 'x,dbx' } }),
      workload('ours-auto', envUser('db'), { annotations: { 'secret-relay.dev/rollout': 'auto' } }),
      workload('ours-list', undefined, { annotations: { 'secret-relay.dev/rollout': 'db' } }),
      workload('reloader-false', envUser('db'), { annotations: { 'reloader.stakater.com/auto': 'false' } }),
    ],
    { db: [] },
  );
  assert.deepEqual(actions(p), ['roll Deployment/reloader-auto', 'roll Deployment/reloader-secret-auto', 'roll Deployment/reloader-list', 'roll Deployment/ours-auto', 'roll Deployment/ours-list']);
});

test('two Secrets changed in one batch give one patch per workload, carrying both versions', () => {
  const spec = { containers: [{ name: 'app', env: [{ name: 'U', valueFrom: { secretKeyRef: { name: 'user' } } }, { name: 'P', valueFrom: { secretKeyRef: { name: 'pass' } } }] }] };
  const p = plan([workload('api', spec, { templateAnnotations: { [SECRET_VERSIONS_ANNOTATION]: 'legacy=v1:old', team: 'a' } })], {
    user: [rules({ policy: 'Auto', externalSecret: 'user' })],
    pass: [rules({ policy: 'Auto', externalSecret: 'pass' })],
  });
  assert.equal(p.decisions.length, 1);
  const d = p.decisions[0]!;
  assert.equal(d.action, 'roll');
  assert.deepEqual(d.reasons.map((r) => r.secret), ['user', 'pass']);
  if (d.action !== 'roll') return;
  assert.deepEqual(d.patch, {
    metadata: { annotations: { [ROLLED_AT_ANNOTATION]: '2026-01-01T12:00:00.000Z' } },
    spec: { template: { metadata: { annotations: { [SECRET_VERSIONS_ANNOTATION]: 'legacy=v1:old,pass=v1:pass-new,user=v1:user-new' } } } },
  });
});

test('a workload already carrying the new versions is current (a standby finishing the old leader\'s batch rolls nothing twice)', () => {
  const p = plan([workload('api', envUser('db'), { templateAnnotations: { [SECRET_VERSIONS_ANNOTATION]: 'db=v1:db-new' } })], { db: [rules({ policy: 'Auto' })] });
  assert.deepEqual(actions(p), ['current Deployment/api']);
});

test('the minimum interval defers a workload rolled a moment ago (not drops it); one rolled long ago rolls', () => {
  const recent = new Date(NOW - 10_000).toISOString();
  const p = plan(
    [workload('recent', envUser('db'), { annotations: { [ROLLED_AT_ANNOTATION]: recent } }), workload('old', envUser('db'), { annotations: { [ROLLED_AT_ANNOTATION]: new Date(NOW - 31_000).toISOString() } })],
    { db: [rules({ policy: 'Auto', minIntervalMs: 30_000 })] },
  );
  assert.deepEqual(actions(p), ['wait Deployment/recent', 'roll Deployment/old']);
  assert.equal((p.decisions[0] as { waitMs: number }).waitMs, 20_000);
});

test('versions annotation round-trips, sorted; unreadable entries are dropped', () => {
  assert.equal(formatVersions(parseVersions('b=v1:2, a=v1:1,junk,=x')), 'a=v1:1,b=v1:2');
  assert.equal(formatVersions(parseVersions(undefined)), '');
});
