import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needsNewPod, secretUses, type PodSpecView } from '../../../src/controller/rollouts/consumers.ts';

const spec: PodSpecView = {
  initContainers: [{ name: 'migrate', envFrom: [{ secretRef: { name: 'db' } }] }],
  containers: [
    {
      name: 'app',
      env: [
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db' } } },
        { name: 'PLAIN' },
        { name: 'OTHER', valueFrom: { secretKeyRef: { name: 'other' } } },
      ],
      volumeMounts: [
        { name: 'tls', subPath: 'tls.crt' },
        { name: 'config' },
        { name: 'bundle' },
      ],
    },
    { name: 'sidecar', volumeMounts: [{ name: 'tls' }, { name: 'expr', subPathExpr: '$(POD_NAME)' }] },
  ],
  volumes: [
    { name: 'tls', secret: { secretName: 'tls' } },
    { name: 'config', secret: { secretName: 'config' } },
    { name: 'bundle', projected: { sources: [{ secret: { name: 'ca' } }, {}] } },
    { name: 'expr', secret: { secretName: 'per-pod' } },
  ],
};

test('env valueFrom.secretKeyRef and envFrom.secretRef, in containers and init containers, need a new pod', () => {
  const uses = secretUses(spec, 'db');
  assert.deepEqual(uses, [
    { how: 'env', container: 'app', variable: 'DB_PASSWORD' },
    { how: 'envFrom', container: 'migrate' },
  ]);
  assert.equal(needsNewPod(uses), true);
});

test('a subPath (or subPathExpr) mount needs a new pod, even when another container mounts the whole volume', () => {
  const tls = secretUses(spec, 'tls');
  assert.deepEqual(tls, [
    { how: 'subPath', container: 'app', volume: 'tls' },
    { how: 'volume', container: 'sidecar', volume: 'tls' },
  ]);
  assert.equal(needsNewPod(tls), true);
  assert.deepEqual(secretUses(spec, 'per-pod'), [{ how: 'subPath', container: 'sidecar', volume: 'expr' }]);
});

test('a whole-volume mount, secret or projected, is seen by the kubelet and needs no new pod', () => {
  assert.deepEqual(secretUses(spec, 'config'), [{ how: 'volume', container: 'app', volume: 'config' }]);
  assert.deepEqual(secretUses(spec, 'ca'), [{ how: 'volume', container: 'app', volume: 'bundle' }]);
  assert.equal(needsNewPod(secretUses(spec, 'config')), false);
});

test('a Secret not read at all, a volume declared but not mounted, and an empty template give nothing', () => {
  assert.deepEqual(secretUses(spec, 'unrelated'), []);
  assert.deepEqual(secretUses({ volumes: [{ name: 'v', secret: { secretName: 'db' } }], containers: [{ name: 'c' }] }, 'db'), []);
  assert.deepEqual(secretUses(undefined, 'db'), []);
});
