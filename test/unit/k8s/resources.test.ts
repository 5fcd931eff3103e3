// The REST paths and wire forms the operator sends: what the apiserver routes and accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { core, microTime, patchObject, PatchType, resourcePath } from '../../../src/k8s/resources.ts';
import type { KubeRequest } from '../../../src/k8s/kube-client.ts';

test('resource paths: core and named groups, namespaced or not, subresources, names escaped', () => {
  assert.equal(resourcePath(core('secrets', 'ns', 'db')), '/api/v1/namespaces/ns/secrets/db');
  assert.equal(resourcePath(core('namespaces')), '/api/v1/namespaces');
  assert.equal(resourcePath(core('serviceaccounts', 'ns', 'sa', 'token')), '/api/v1/namespaces/ns/serviceaccounts/sa/token');
  assert.equal(resourcePath({ group: 'secret-relay.dev', version: 'v1alpha1', plural: 'clustersecretstores', name: 'a', subresource: 'status' }), '/apis/secret-relay.dev/v1alpha1/clustersecretstores/a/status');
  assert.equal(resourcePath({ group: 'events.k8s.io', version: 'v1', plural: 'events', namespace: 'ns' }), '/apis/events.k8s.io/v1/namespaces/ns/events');
  assert.equal(resourcePath(core('secrets', 'ns', 'a/b?c')), '/api/v1/namespaces/ns/secrets/a%2Fb%3Fc');
});

test('a patch names its kind in Content-Type and its field manager in the query', async () => {
  const sent: KubeRequest[] = [];
  const kube = { request: async <T>(r: KubeRequest) => (sent.push(r), undefined as T) };
  await patchObject(kube, core('secrets', 'ns', 's'), PatchType.Apply, { a: 1 }, { fieldManager: 'secret-relay.dev/es', force: true });
  await patchObject(kube, core('secrets', 'ns', 's'), PatchType.Merge, { b: 2 });
  assert.deepEqual(sent, [
    { method: 'PATCH', path: '/api/v1/namespaces/ns/secrets/s', contentType: 'application/apply-patch+yaml', body: { a: 1 }, query: { fieldManager: 'secret-relay.dev/es', force: true } },
    { method: 'PATCH', path: '/api/v1/namespaces/ns/secrets/s', contentType: 'application/merge-patch+json', body: { b: 2 }, query: { fieldManager: undefined, force: undefined } },
  ]);
});

test('MicroTime has exactly six fractional digits, as the apiserver requires', () => {
  assert.equal(microTime(Date.parse('2026-12-01T10:20:30.456Z')), '2026-12-01T10:20:30.456000Z');
  assert.equal(microTime(Date.parse('2026-12-01T10:20:30Z')), '2026-12-01T10:20:30.000000Z');
});
