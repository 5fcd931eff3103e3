import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  adoptionNote,
  adoptionPatch,
  classifyTarget,
  describeForeignOwner,
  refusalMessage,
  releaseFields,
  wantsAdoption,
  type ClaimingExternalSecret,
} from '../../../src/controller/externalsecret/ownership.ts';
import { decide, REFUSED_TARGET_RECHECK_MS, jitteredIntervalMs, syncedResourceVersionOf, type ObservedExternalSecret } from '../../../src/controller/externalsecret/decide.ts';
import { buildDesiredSecret } from '../../../src/controller/externalsecret/desired-secret.ts';
import { fieldManagerFor } from '../../../src/k8s/secrets.ts';

const me: ClaimingExternalSecret = { uid: 'uid-new', name: 'db', fieldManager: fieldManagerFor('db'), controls: true };
const ourRef = (uid: string, name = 'db') => ({ apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', name, uid, controller: true });
const fields = (...managers: string[]) => managers.map((manager) => ({ manager }));

test('a controller ownerReference to this ExternalSecret, or our field manager without another controller, is ours', () => {
  assert.deepEqual(classifyTarget({ ownerReferences: [ourRef('uid-new')], managedFields: fields('secret-relay.dev/db') }, me), { owned: true });
  // Orphan/CreateOrMerge Secret, or one written by an earlier version of the operator (label + field manager only).
  assert.deepEqual(classifyTarget({ managedFields: fields('kubectl-create', 'secret-relay.dev/db') }, me), { owned: true });
  // A non-controller reference to someone else does not make it theirs.
  const nonController = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', controller: false };
  assert.deepEqual(classifyTarget({ ownerReferences: [nonController], managedFields: fields('secret-relay.dev/db') }, me), { owned: true });
});

test('the Owner Secret of a deleted ExternalSecret of the same name is marked for takeover by its successor; of another name it is not', () => {
  const predecessor = { owned: false, owner: { by: 'controller', apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', name: 'db', uid: 'uid-old', predecessor: true } };
  assert.deepEqual(classifyTarget({ ownerReferences: [ourRef('uid-old')], managedFields: fields('secret-relay.dev/db') }, me), predecessor);
  // Restored from a backup: the restore tool's field manager, the old reference.
  assert.deepEqual(classifyTarget({ ownerReferences: [ourRef('uid-old')], managedFields: fields('velero-server') }, me), predecessor);
  assert.equal(describeForeignOwner(predecessor.owner as never), 'it is owned by a deleted ExternalSecret of the same name (uid uid-old)');
  // ESO's ExternalSecret of the same name is not our predecessor.
  const eso = classifyTarget({ ownerReferences: [{ ...ourRef('e1'), apiVersion: 'external-secrets.io/v1' }], managedFields: fields('secret-relay.dev/db') }, me);
  assert.equal(eso.owned === false && eso.owner.by === 'controller' && eso.owner.predecessor, undefined);
  const other = classifyTarget({ ownerReferences: [ourRef('uid-b', 'billing')], managedFields: fields('secret-relay.dev/billing', 'secret-relay.dev/db') }, me);
  assert.deepEqual(other, { owned: false, owner: { by: 'controller', apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', name: 'billing', uid: 'uid-b' } });
});

test("a Secret we merged keys into holds others' keys: Owner refuses it (the garbage collector would take them), Orphan keeps syncing", () => {
  const merged = {
    managedFields: [
      { manager: 'kubectl-create', fieldsV1: { 'f:data': { '.': {}, 'f:theirs': {} }, 'f:type': {} } },
      { manager: 'secret-relay.dev/db', fieldsV1: { 'f:data': { 'f:ours': {} } } },
    ],
  };
  const owner = classifyTarget(merged, me);
  assert.deepEqual(owner, { owned: false, owner: { by: 'shared', managers: ['kubectl-create'] } });
  assert.match(describeForeignOwner(owner.owned ? assert.fail() : owner.owner), /only merged keys into it: it holds keys written by kubectl-create, which creationPolicy Owner would let the garbage collector delete/);
  assert.deepEqual(classifyTarget(merged, { ...me, controls: false }), { owned: true });
  // Co-owned keys (someone wrote the same key) and other managers' labels do not count.
  const ours = {
    managedFields: [
      { manager: 'kubectl-edit', fieldsV1: { 'f:data': { 'f:ours': {} }, 'f:metadata': { 'f:labels': { 'f:x': {} } } } },
      { manager: 'secret-relay.dev/db', fieldsV1: { 'f:data': { 'f:ours': {} } } },
    ],
  };
  assert.deepEqual(classifyTarget(ours, me), { owned: true });
});

test('a hand-made Secret, one owned by a Deployment or by ESO, is foreign and described by who has it', () => {
  const handMade = classifyTarget({ managedFields: fields('kubectl-create', 'kubectl-edit') }, me);
  assert.deepEqual(handMade, { owned: false, owner: { by: 'fields', managers: ['kubectl-create', 'kubectl-edit'] } });
  assert.equal(describeForeignOwner(handMade.owned ? assert.fail() : handMade.owner), 'this ExternalSecret did not create it (written by kubectl-create, kubectl-edit)');

  const deployment = classifyTarget({ ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', controller: true }], managedFields: fields('secret-relay.dev/db') }, me);
  assert.equal(deployment.owned, false);
  assert.equal(describeForeignOwner(deployment.owned ? assert.fail() : deployment.owner), 'it is owned by Deployment web (apps)');

  const eso = classifyTarget({ ownerReferences: [{ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', name: 'db', uid: 'e1', controller: true }], managedFields: fields('externalsecrets.external-secrets.io/db') }, me);
  assert.equal(describeForeignOwner(eso.owned ? assert.fail() : eso.owner), "it is owned by ESO's ExternalSecret db (external-secrets.io)");

  const sibling = classifyTarget({ managedFields: fields('secret-relay.dev/billing') }, me);
  assert.equal(describeForeignOwner(sibling.owned ? assert.fail() : sibling.owner), 'this ExternalSecret did not create it (written by ExternalSecret billing)');
  assert.equal(describeForeignOwner({ by: 'fields', managers: [] }), 'this ExternalSecret did not create it');
  assert.equal(describeForeignOwner({ by: 'fields', managers: ['a', 'b', 'c', 'd', 'e'] }), 'this ExternalSecret did not create it (written by a, b, c and 2 more)');
});

test('the refusal message names the Secret, its owner and both ways forward, on one line', () => {
  const message = refusalMessage('team-a', 'precious', { by: 'fields', managers: ['helm'] });
  assert.match(message, /^Secret team-a\/precious exists and this ExternalSecret did not create it \(written by helm\); nothing was written\./);
  assert.match(message, /spec\.target\.name/);
  assert.match(message, /secret-relay\.dev\/adopt="true"/);
  assert.doesNotMatch(message, /\n/);
});

test('the adoption Event names the previous owner and the removed keys, never a value', () => {
  assert.equal(adoptionNote('db', { by: 'controller', apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', name: 'db', uid: 'e1' }, []), "Secret db adopted from ESO's ExternalSecret db (external-secrets.io)");
  assert.equal(adoptionNote('precious', { by: 'fields', managers: ['kubectl-create', 'secret-relay.dev/old'] }, ['legacy', 'z']), 'Secret precious adopted from kubectl-create, ExternalSecret old; keys it did not declare were removed: legacy, z');
  assert.equal(
    adoptionNote('db', { by: 'controller', apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', name: 'db', uid: 'u0', predecessor: true }, []),
    'Secret db adopted from a deleted ExternalSecret of the same name (uid u0)',
  );
});

test('adoption opt-in is the exact annotation value "true"', () => {
  assert.equal(wantsAdoption({ 'secret-relay.dev/adopt': 'true' }), true);
  assert.equal(wantsAdoption({ 'secret-relay.dev/adopt': 'yes' }), false);
  assert.equal(wantsAdoption({}), false);
  assert.equal(wantsAdoption(undefined), false);
});

test('an adoption drops the foreign controller reference and the keys we do not declare, keeps other references', () => {
  const controller = { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', name: 'db', uid: 'e1', controller: true };
  const plain = { apiVersion: 'v1', kind: 'ConfigMap', name: 'cfg', uid: 'c1' };
  const desired = { keys: new Set(['user', 'password']), writesType: true, fieldManager: 'secret-relay.dev/db' };
  const patch = adoptionPatch({ ownerReferences: [controller, plain], dataKeys: ['user', 'password', 'legacy'] }, desired);
  assert.deepEqual(patch.ownerReferences, [plain]);
  assert.deepEqual(patch.removedKeys, ['legacy']);
  assert.deepEqual(adoptionPatch({ dataKeys: ['a'] }, { ...desired, keys: new Set(['a']) }), { ownerReferences: [], removedKeys: [], managedFields: [] });
});

test("an adoption releases other managers' claims on the fields we write, and only those", () => {
  const eso = {
    manager: 'externalsecrets.external-secrets.io/db',
    operation: 'Update',
    time: '2026-11-22T10:00:00Z',
    fieldsV1: {
      'f:data': { '.': {}, 'f:user': {}, 'f:password': {}, 'f:legacy': {} },
      'f:metadata': { 'f:labels': { 'f:team': {} }, 'f:ownerReferences': { '.': {}, 'k:{"uid":"e1"}': {} } },
      'f:type': {},
    },
  };
  const onlyOurs = { manager: 'kubectl-create', fieldsV1: { 'f:data': { 'f:user': {} }, 'f:type': {} } };
  const mine = { manager: 'secret-relay.dev/db', fieldsV1: { 'f:data': { 'f:user': {} } } };
  const patch = adoptionPatch(
    { ownerReferences: [{ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', name: 'db', uid: 'e1', controller: true }], managedFields: [eso, onlyOurs, mine], dataKeys: [] },
    { keys: new Set(['user', 'password']), writesType: true, fieldManager: 'secret-relay.dev/db' },
  );
  assert.deepEqual(patch.managedFields, [
    {
      ...eso,
      fieldsV1: { 'f:data': { '.': {}, 'f:legacy': {} }, 'f:metadata': { 'f:labels': { 'f:team': {} }, 'f:ownerReferences': { '.': {} } } },
    },
    mine,
  ]);
  // The input is not modified.
  assert.ok(Object.hasOwn(eso.fieldsV1['f:data'], 'f:user'));
});

test('releaseFields removes emptied parents (an empty {} would claim the whole parent) and keeps leaves that were empty', () => {
  assert.deepEqual(releaseFields({ 'f:data': { 'f:a': {} }, 'f:type': {} }, [['f:data', 'f:a']]), { 'f:type': {} });
  assert.equal(releaseFields({ 'f:data': { 'f:a': {} } }, [['f:data', 'f:a']]), undefined);
  assert.deepEqual(releaseFields({ 'f:immutable': {} }, [['f:data', 'f:a']]), { 'f:immutable': {} });
  assert.equal(releaseFields(undefined, []), undefined);
});

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-22T10:00:00Z');
function es(overrides: Partial<ObservedExternalSecret> = {}): ObservedExternalSecret {
  const base: ObservedExternalSecret = {
    uid: 'uid-1',
    refreshPhase: 0.37,
    generation: 1,
    labels: {},
    annotations: {},
    refreshPolicy: 'Periodic',
    refreshIntervalMs: HOUR,
    syncedResourceVersion: undefined,
    refreshTime: T0,
    boundTargetName: 'app',
    targetName: 'app',
    ...overrides,
  };
  return { ...base, syncedResourceVersion: syncedResourceVersionOf(base) };
}

test('decide: a foreign target is refused whatever the refresh state, rechecked at most a minute later; with the opt-in it is adopted', () => {
  const fresh = { ...es(), syncedResourceVersion: undefined, refreshTime: undefined };
  assert.deepEqual(decide(fresh, { state: 'foreign', adopt: false }, T0), { action: 'refuse', recheckMs: REFUSED_TARGET_RECHECK_MS });
  assert.deepEqual(decide(es({ refreshPolicy: 'CreatedOnce' }), { state: 'foreign', adopt: false }, T0), { action: 'refuse', recheckMs: REFUSED_TARGET_RECHECK_MS });
  // A shorter refresh interval rechecks sooner.
  const quick = es({ refreshIntervalMs: 2_000 });
  assert.deepEqual(decide(quick, { state: 'foreign', adopt: false }, T0), { action: 'refuse', recheckMs: jitteredIntervalMs('uid-1', 2_000) });
  assert.deepEqual(decide(es(), { state: 'foreign', adopt: true }, T0 + 1), { action: 'sync', reason: 'adopt' });
});

test('CreateOrMerge builds a merge body: no ownerReference, no type unless the template names one', () => {
  const input = {
    namespace: 'ns',
    name: 'app',
    immutable: false,
    owner: { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', name: 'app', uid: 'u1' },
    data: new Map([['password', Buffer.from('s3cret')]]),
    hmacKey: Buffer.from('k'.repeat(32)),
  };
  const plain = buildDesiredSecret({ ...input, creationPolicy: 'CreateOrMerge' });
  assert.equal(plain.metadata.ownerReferences, undefined);
  assert.equal(plain.type, undefined);
  assert.equal(plain.metadata.labels['secret-relay.dev/managed'], 'true');
  assert.equal(buildDesiredSecret({ ...input, creationPolicy: 'CreateOrMerge', type: 'kubernetes.io/tls' }).type, 'kubernetes.io/tls');
  assert.equal(buildDesiredSecret({ ...input, creationPolicy: 'Merge', type: 'kubernetes.io/tls' }).type, undefined);
});
