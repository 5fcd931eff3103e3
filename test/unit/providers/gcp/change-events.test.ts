// Which keys a Secret Manager event notification (Pub/Sub attributes) names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changeFromPubSubMessage } from '../../../../src/providers/gcp/change-events.ts';
import { pubsubFailureHint } from '../../../../src/providers/gcp/pubsub-feed.ts';

const store = { projectID: 'my-project' };
const message = (attributes: Record<string, string>, messageId = '101') => ({ messageId, attributes, publishTime: 5 });

test('a new version names the secret by id, by published name and by the store’s project name', () => {
  const change = changeFromPubSubMessage(message({ eventType: 'SECRET_VERSION_ADD', secretId: 'projects/123/secrets/db', versionId: 'projects/123/secrets/db/versions/4', dataFormat: 'JSON', timestamp: '2026-12-06T05:00:00Z' }), store);
  assert.deepEqual(change, { id: '101', keys: ['db', 'projects/123/secrets/db', 'projects/my-project/secrets/db'], occurredAt: Date.parse('2026-12-06T05:00:00Z'), event: 'SECRET_VERSION_ADD' });
  for (const eventType of ['SECRET_VERSION_DISABLE', 'SECRET_VERSION_ENABLE', 'SECRET_VERSION_DESTROY', 'SECRET_DELETE', 'SECRET_UPDATE', 'SECRET_CREATE']) {
    assert.ok(changeFromPubSubMessage(message({ eventType, secretId: 'projects/123/secrets/db' }), store), eventType);
  }
  assert.equal(changeFromPubSubMessage(message({ eventType: 'SECRET_VERSION_ADD', secretId: 'projects/123/secrets/db' }), store)?.occurredAt, 5, 'publishTime without a timestamp attribute');
});

test('regional secrets match a store of that location only', () => {
  const regional = message({ eventType: 'SECRET_VERSION_ADD', secretId: 'projects/123/locations/europe-west1/secrets/db' });
  assert.equal(changeFromPubSubMessage(regional, store), undefined);
  assert.deepEqual(changeFromPubSubMessage(regional, { projectID: 'my-project', location: 'europe-west1' })?.keys, ['db', 'projects/123/locations/europe-west1/secrets/db', 'projects/my-project/locations/europe-west1/secrets/db']);
  assert.equal(changeFromPubSubMessage(message({ eventType: 'SECRET_VERSION_ADD', secretId: 'projects/123/secrets/db' }), { projectID: 'p', location: 'europe-west1' }), undefined);
});

test('irrelevant and hostile messages name nothing', () => {
  assert.equal(changeFromPubSubMessage(message({ eventType: 'SECRET_ROTATE', secretId: 'projects/123/secrets/db' }), store), undefined);
  assert.equal(changeFromPubSubMessage(message({ eventType: 'OBJECT_FINALIZE', secretId: 'projects/123/secrets/db' }), store), undefined);
  assert.equal(changeFromPubSubMessage(message({ eventType: 'SECRET_VERSION_ADD', secretId: 'projects/123/secrets/../x' }), store), undefined);
  assert.equal(changeFromPubSubMessage(message({ eventType: 'SECRET_VERSION_ADD' }), store), undefined);
  assert.equal(changeFromPubSubMessage({ attributes: { eventType: 'SECRET_VERSION_ADD', secretId: 'projects/1/secrets/db' } }, store), undefined, 'no message id');
  assert.equal(changeFromPubSubMessage({ messageId: '1', attributes: null }, store), undefined);
});

test('endpoints.pubsub is an endpoint the tenancy rules govern, like the other endpoint overrides', async () => {
  const { declaredTenancy } = await import('../../../../src/providers/kit/tenancy.ts');
  const declared = declaredTenancy('gcpsm', { projectID: 'my-project', auth: { secretRef: { secretAccessKeySecretRef: { name: 'k', key: 'k' } } }, endpoints: { pubsub: 'https://evil.example' }, changeFeed: { pubsub: { subscription: 'projects/my-project/subscriptions/secret-changes' } } });
  assert.deepEqual(declared.endpoints, [{ field: 'spec.provider.gcpsm.endpoints.pubsub', url: 'https://evil.example' }]);
});

test('a refused streaming pull names both fixes: Pub/Sub refuses a subscription that does not exist as one not granted', () => {
  // A subscriber granted on one subscription gets PERMISSION_DENIED, not NOT_FOUND, for a mistyped name.
  assert.equal(
    pubsubFailureHint(7),
    ' (check changeFeed.pubsub.subscription — a subscription that does not exist is refused the same way — and grant the identity roles/pubsub.subscriber on it)',
  );
  assert.match(pubsubFailureHint(5), /does not exist/);
});
