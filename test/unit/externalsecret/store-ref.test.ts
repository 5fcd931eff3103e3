// Which store serves an ExternalSecret: a store that exists but fails the schema is named invalid, not absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExternalSecret, parseSecretStore, type ExternalSecret } from '../../../src/api/index.ts';
import { resolveStore, type StoreLookup } from '../../../src/controller/externalsecret/store-ref.ts';
import { createStoreLookup } from '../../../src/controller/services.ts';
import type { Caches } from '../../../src/controller/runtime/manager.ts';

const es = (() => {
  const parsed = parseExternalSecret({
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'app', namespace: 'team', uid: 'es-uid', generation: 1 },
    spec: { secretStoreRef: { name: 'main' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] },
  });
  assert.ok(parsed.ok);
  return parsed.value as ExternalSecret;
})();

const invalidStore = {
  apiVersion: 'secret-relay.dev/v1alpha1',
  kind: 'SecretStore',
  metadata: { name: 'main', namespace: 'team', uid: 'store-uid', generation: 2, resourceVersion: '7' },
  spec: { provider: { fake: { data: [] } }, refreshInterval: 'every hour' },
};

/** The store lookup of services.ts over one cached SecretStore (or none). */
function lookupOver(store: unknown): StoreLookup {
  const informer = { get: (name: string, namespace?: string) => (store && name === 'main' && namespace === 'team' ? store : undefined) };
  return createStoreLookup({ informer: () => informer } as unknown as Caches);
}

test('a store that fails the schema: its ExternalSecrets say it is invalid and why, not that it does not exist', () => {
  const resolution = resolveStore(es, lookupOver(invalidStore));
  assert.equal(resolution.ok, false);
  assert.ok(!resolution.ok);
  assert.equal(resolution.reason, 'StoreNotReady');
  assert.match(resolution.message, /SecretStore team\/main is invalid: spec\.refreshInterval must be a duration/);
  assert.doesNotMatch(resolution.message, /does not exist/);
});

test('a store that does not exist: StoreNotFound', () => {
  const resolution = resolveStore(es, lookupOver(undefined));
  assert.ok(!resolution.ok);
  assert.equal(resolution.reason, 'StoreNotFound');
  assert.match(resolution.message, /SecretStore team\/main does not exist/);
});

test('the lookup hands the store controller the schema error with the object as cached', () => {
  const lookup = lookupOver(invalidStore);
  assert.equal(lookup.secretStore('team', 'main'), undefined, 'an invalid store is never served');
  const parsed = lookup.parsedStore('SecretStore', 'team', 'main');
  assert.ok(parsed && !parsed.ok);
  assert.match(parsed.error, /spec\.refreshInterval/);
  assert.equal(parsed.raw.metadata?.uid, 'store-uid');
  const valid = lookupOver({ ...invalidStore, spec: { provider: { fake: { data: [] } } } });
  assert.equal(valid.parsedStore('SecretStore', 'team', 'main')?.ok, true);
  assert.ok(parseSecretStore(invalidStore).ok === false);
});
