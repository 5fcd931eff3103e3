// The Pub/Sub fake is faithful on the wire and in its delivery semantics: Google's own Python client
// (google-cloud-pubsub, installed into .cache/venv-gcp by test/setup/install-gcp-client.sh; the operator uses the
// Node client) drives it unchanged — topics, subscriptions, Pull, acks, redelivery after the ack deadline, nacks,
// StreamingPull, Google's errors — and reads the notifications the Secret Manager fake publishes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { runGcpPythonCheck, startGcpFakeForPython } from '../support/gcp-python.ts';
import { PubSubRole, Role, type GcpFake } from '../fakes/gcp/index.ts';

const PROJECT = 'pubsub-check';
const NUMBER = '777000111333';
let cluster: LocalCluster;
let fake: GcpFake;

before(async () => {
  ({ cluster, fake } = await startGcpFakeForPython(PROJECT, NUMBER));
});

after(async () => {
  await fake?.stop();
  await cluster?.stop();
});

test("Google's Python Pub/Sub client works against the fake unchanged: at-least-once delivery, acks, nacks, streaming pull, errors, Secret Manager's notifications", async () => {
  const admin = `py-admin@${PROJECT}.iam.gserviceaccount.com`;
  const outsider = `py-outsider@${PROJECT}.iam.gserviceaccount.com`;
  fake.identity.createServiceAccount(admin);
  fake.identity.createServiceAccount(outsider);
  fake.pubsub.grant(`serviceAccount:${admin}`, PubSubRole.admin, `projects/${PROJECT}`);
  fake.secretManager.grant(`serviceAccount:${admin}`, Role.admin, PROJECT);
  const out = await runGcpPythonCheck('python_pubsub_check.py', [fake.pubsub.address, fake.secretManager.address, PROJECT, fake.identity.issueServiceAccountToken(admin), fake.identity.issueServiceAccountToken(outsider)], 90_000);
  assert.equal(out['topic'], `projects/${PROJECT}/topics/py-topic`);
  assert.equal(out['subscription'], 10);
  assert.equal((out['duplicate_topic'] as { class: string }).class, 'AlreadyExists');
  assert.equal(out['published'], 2);
  assert.deepEqual(out['pulled'], [['one', { eventType: 'SECRET_VERSION_ADD' }, true], ['two', {}, true]]);
  assert.equal(out['before_deadline'], 0, 'a leased message is not delivered again before its deadline');
  assert.deepEqual(out['redelivered'], [['two', true, true]], 'the unacknowledged message came back with its message id and a new ack id');
  assert.deepEqual(out['nacked_redelivered'], ['two']);
  assert.deepEqual(out['streamed'], [['streamed', { secretId: 'projects/1/secrets/s' }]]);
  assert.equal(out['after_stream'], 0, 'the ack sent on the stream was taken');
  const secret = `projects/${NUMBER}/secrets/py-notified`;
  assert.deepEqual(out['notifications'], [
    { attributes: { eventType: 'SECRET_CREATE', dataFormat: 'JSON', secretId: secret }, has_timestamp: true, data: (out['notifications'] as { data: unknown }[])[0]!.data },
    { attributes: { eventType: 'SECRET_VERSION_ADD', dataFormat: 'JSON', secretId: secret, versionId: `${secret}/versions/1` }, has_timestamp: true, data: (out['notifications'] as { data: unknown }[])[1]!.data },
    { attributes: { eventType: 'SECRET_VERSION_DISABLE', dataFormat: 'JSON', secretId: secret, versionId: `${secret}/versions/1` }, has_timestamp: true, data: (out['notifications'] as { data: unknown }[])[2]!.data },
  ]);
  assert.ok(!JSON.stringify(out['notifications']).includes('never-in-a-notification'), 'a notification never carries the payload');
  assert.equal(((out['notifications'] as { data: { name: string; state?: string } }[])[2]!.data).state, 'DISABLED');
  assert.deepEqual(out['outsider_pull'], { class: 'PermissionDenied', message: 'User not authorized to perform this action.' });
  assert.deepEqual(out['missing'], { class: 'NotFound', message: 'Resource not found (resource=py-missing).' });
  assert.equal((out['unauthenticated'] as { class: string }).class, 'Unauthenticated');
  assert.equal((out['bad_name'] as { class: string }).class, 'InvalidArgument');
  assert.deepEqual(out['deleted'], { class: 'NotFound', message: 'Resource not found (resource=py-sub).' });
});
