// ClusterExternalSecret decisions: which namespaces, what to apply or delete, never taking over a foreign ExternalSecret.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterExternalSecret } from '../../../src/api/index.ts';
import { childOwnership, desiredChild, planChildren, selectNamespaces, statusFor, CLUSTER_EXTERNAL_SECRET_LABEL, type ChildView } from '../../../src/controller/clusterexternalsecret/plan.ts';

const ces = (spec: Partial<ClusterExternalSecret['spec']>, name = 'pull-secret'): ClusterExternalSecret =>
  ({
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ClusterExternalSecret',
    metadata: { name, uid: 'uid-ces', generation: 3 },
    spec: { externalSecretSpec: {} as never, refreshTime: '1m', ...spec },
  }) as ClusterExternalSecret;

const ns = (name: string, labels: Record<string, string> = {}, terminating = false) => ({ name, labels, terminating });

test('namespaces are selected by name or by any selector; terminating namespaces never', () => {
  const namespaces = [ns('a', { team: 'x' }), ns('b', { team: 'y' }), ns('c'), ns('d', { team: 'x' }, true), ns('e', { env: 'prod' })];
  assert.deepEqual(selectNamespaces(ces({ namespaces: ['c'] }), namespaces), ['c']);
  assert.deepEqual(selectNamespaces(ces({ namespaceSelectors: [{ matchLabels: { team: 'x' } }] }), namespaces), ['a']);
  assert.deepEqual(
    selectNamespaces(ces({ namespaces: ['c'], namespaceSelectors: [{ matchLabels: { team: 'x' } }, { matchExpressions: [{ key: 'env', operator: 'Exists' }] }] }), namespaces),
    ['a', 'c', 'e'],
  );
  assert.deepEqual(selectNamespaces(ces({ namespaceSelector: { matchLabels: { team: 'y' } } }), namespaces), ['b'], 'the deprecated single selector still works');
  assert.deepEqual(selectNamespaces(ces({}), namespaces), [], 'nothing selects nothing');
  assert.deepEqual(selectNamespaces(ces({ namespaceSelectors: [{}] }), namespaces), ['a', 'b', 'c', 'e'], 'an empty selector matches every namespace');
});

const child = (namespace: string, owner?: { kind?: string; uid?: string; name?: string }): ChildView => ({
  namespace,
  name: 'pull-secret',
  labels: {},
  ownerReferences: owner
    ? [{ apiVersion: 'secret-relay.dev/v1alpha1', kind: owner.kind ?? 'ClusterExternalSecret', name: owner.name ?? 'pull-secret', uid: owner.uid ?? 'uid-ces', controller: true }]
    : [],
});

test('apply where selected, delete ours where no longer selected, refuse a foreign ExternalSecret of the same name', () => {
  const c = ces({});
  const actions = planChildren(c, ['a', 'b', 'c'], [child('b'), child('c', {}), child('d', {}), child('e', { uid: 'older' }), child('f', { kind: 'Application', name: 'argo' })]);
  assert.deepEqual(
    actions.map((a) => `${a.kind} ${a.namespace}`),
    ['apply a', 'refuse b', 'apply c', 'delete d'],
    'e and f are not ours and not selected: left alone',
  );
  const refusal = actions.find((a) => a.kind === 'refuse');
  assert.match(refusal!.kind === 'refuse' ? refusal!.reason : '', /ExternalSecret b\/pull-secret already exists and is controlled by nobody .*left untouched/);
  assert.deepEqual(childOwnership(child('e', { uid: 'older' }), c), { mine: false, owner: 'an earlier ClusterExternalSecret named pull-secret (uid older)' });
});

test('the child: name, labels and annotations, our label, a controller ownerReference, the spec as written', () => {
  const c = ces({ externalSecretName: 'registry', externalSecretMetadata: { labels: { app: 'x' }, annotations: { note: 'y' } } });
  const body = desiredChild(c, 'team-a', { secretStoreRef: { name: 's', kind: 'ClusterSecretStore' } }) as { metadata: Record<string, unknown>; spec: unknown };
  assert.deepEqual(body.metadata, {
    name: 'registry',
    namespace: 'team-a',
    labels: { app: 'x', [CLUSTER_EXTERNAL_SECRET_LABEL]: 'pull-secret' },
    annotations: { note: 'y' },
    ownerReferences: [{ apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ClusterExternalSecret', name: 'pull-secret', uid: 'uid-ces', controller: true, blockOwnerDeletion: true }],
  });
  assert.deepEqual(body.spec, { secretStoreRef: { name: 's', kind: 'ClusterSecretStore' } });
});

test('status: Ready when every selected namespace has it; partial and total failure say which', () => {
  const now = Date.parse('2026-12-01T10:00:00Z');
  const ok = statusFor(ces({}), { provisioned: ['b', 'a'], failed: [] }, now);
  assert.deepEqual(ok.provisionedNamespaces, ['a', 'b']);
  assert.equal(ok.conditions[0]!.status, 'True');
  assert.equal(ok.conditions[0]!.reason, 'Provisioned');
  const partial = statusFor(ces({}), { provisioned: ['a'], failed: [{ namespace: 'b', reason: 'exists' }] }, now);
  assert.equal(partial.conditions[0]!.reason, 'PartiallyProvisioned');
  assert.match(partial.conditions[0]!.message, /1 of 2 selected namespace\(s\) failed .*first: b: exists/);
  assert.equal(statusFor(ces({}), { provisioned: [], failed: [{ namespace: 'b', reason: 'x' }] }, now).conditions[0]!.reason, 'NotProvisioned');
  const kept = statusFor({ ...ces({}), status: { conditions: [{ ...ok.conditions[0]!, lastTransitionTime: '2026-01-01T00:00:00.000Z' }] } }, { provisioned: ['a'], failed: [] }, now);
  assert.equal(kept.conditions[0]!.lastTransitionTime, '2026-01-01T00:00:00.000Z', 'no transition, time kept');
});
