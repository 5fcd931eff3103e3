// The change-feed mechanism without a cluster: event shapes → keys, the readers index, redeliveries, coalescing,
// the fresh-read drop, pending marks, and the tenancy rule for the queue URL (attacked as a tenant would).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { changeFromEvent } from '../../../src/providers/aws/change-events.ts';
import { RemoteChanges, COALESCE_MS, REMEMBERED_IDS, type NotificationResult } from '../../../src/controller/changefeed/remote-changes.ts';
import { FeedStatusBook } from '../../../src/controller/changefeed/feed-status.ts';
import { remoteChanged } from '../../../src/controller/changefeed/refresh-mark.ts';
import { createSharedCalls, staleReadsOf, withSharedCalls } from '../../../src/providers/shared-calls.ts';
import { clientCacheKey } from '../../../src/providers/client-cache.ts';
import { declaredTenancy, tenancyViolations, DEFAULT_TENANCY_POLICY } from '../../../src/providers/kit/tenancy.ts';
import type { ExternalSecret } from '../../../src/api/index.ts';
import type { SecretsClient } from '../../../src/providers/provider.ts';

const sm = { service: 'SecretsManager', prefix: '' };
const event = (over: Record<string, unknown>, detail: Record<string, unknown>) =>
  JSON.stringify({ version: '0', id: 'e-1', 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.secretsmanager', account: '123456789012', time: '2026-12-06T05:00:00Z', region: 'us-east-1', resources: [], detail, ...over });

test('Secrets Manager CloudTrail events name the secret by name or ARN; RotationSucceeded by additionalEventData', () => {
  const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:team/db-AbC123';
  for (const name of ['PutSecretValue', 'UpdateSecret', 'UpdateSecretVersionStage', 'RotateSecret', 'DeleteSecret', 'RestoreSecret']) {
    const n = changeFromEvent(event({}, { eventName: name, requestParameters: { secretId: arn } }), sm);
    assert.deepEqual(n?.keys, [arn, 'team/db'], name);
    assert.equal(n?.occurredAt, Date.parse('2026-12-06T05:00:00Z'));
  }
  const rotated = changeFromEvent(event({ 'detail-type': 'AWS Service Event via CloudTrail' }, { eventName: 'RotationSucceeded', additionalEventData: { SecretId: arn } }), sm);
  assert.deepEqual(rotated?.keys, [arn, 'team/db']);
  assert.deepEqual(changeFromEvent(event({}, { eventName: 'PutSecretValue', requestParameters: { secretId: 'team/db' } }), { ...sm, prefix: 'team/' })?.keys, ['db'], 'the store prefix is removed');
  assert.deepEqual(changeFromEvent(event({}, { eventName: 'PutSecretValue', requestParameters: { secretId: 'other/db' } }), { ...sm, prefix: 'team/' })?.keys, [], 'outside the prefix: no key');
  assert.equal(changeFromEvent(event({}, { eventName: 'GetSecretValue', requestParameters: { secretId: 'x' } }), sm), undefined, 'a read is no change');
  assert.equal(changeFromEvent(event({}, { eventName: 'PutSecretValue', requestParameters: { secretId: 'x' } }), { service: 'ParameterStore', prefix: '' }), undefined, 'another service');
  assert.equal(changeFromEvent('not json', sm), undefined);
  assert.equal(changeFromEvent(JSON.stringify({ id: 'x' }), sm), undefined);
});

test('Parameter Store Change events', () => {
  const ps = { service: 'ParameterStore', prefix: '/app/' };
  const body = JSON.stringify({ id: 'p-1', 'detail-type': 'Parameter Store Change', source: 'aws.ssm', time: '2026-12-06T05:00:00Z', detail: { operation: 'Update', name: '/app/db', type: 'SecureString' } });
  assert.deepEqual(changeFromEvent(body, ps)?.keys, ['db']);
  assert.equal(changeFromEvent(body, sm), undefined);
});

function es(name: string, spec: Record<string, unknown>, namespace = 'team'): ExternalSecret {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name, namespace }, spec: { secretStoreRef: { name: 'aws', kind: 'SecretStore' }, refreshInterval: '1h', ...spec } } as unknown as ExternalSecret;
}

function harness() {
  const timers: { fn: () => void }[] = [];
  const counted: NotificationResult[] = [];
  const forgotten: string[][] = [];
  const queued: string[] = [];
  let now = 1_000_000;
  const changes = new RemoteChanges({
    clock: { now: () => now },
    timers: { setTimeout: (fn) => timers.push({ fn }), clearTimeout: () => {} },
    metrics: { changeNotification: (_s, r) => counted.push(r), changeApplied: () => {} },
    forgetReads: (_uid, keys) => forgotten.push([...keys]),
    enqueue: (key) => queued.push(key),
    feedStatus: new FeedStatusBook({ clock: { now: () => now }, write: async () => {} }),
  });
  const flush = () => timers.splice(0).forEach((t) => t.fn());
  return { changes, counted, forgotten, queued, flush, tick: (ms: number) => (now += ms) };
}

test('readers: data, extract, find and per-entry stores; duplicates, irrelevant keys and bursts', () => {
  const h = harness();
  h.changes.index.upsert(es('a', { data: [{ secretKey: 'p', remoteRef: { key: 'db' } }] }));
  h.changes.index.upsert(es('b', { dataFrom: [{ extract: { key: 'db' } }] }));
  h.changes.index.upsert(es('c', { dataFrom: [{ find: { path: 'app/' } }] }));
  h.changes.index.upsert(es('d', { data: [{ secretKey: 'p', remoteRef: { key: 'db' } }] }, 'other-team'));
  const store = { ref: 'SecretStore/team/aws', uid: 'u1' };
  const results = h.changes.notify(store, 'aws-sqs', [
    { id: '1', keys: ['db'], event: 'PutSecretValue' },
    { id: '1', keys: ['db'], event: 'PutSecretValue' },
    { id: '2', keys: ['nobody-reads-this'], event: 'PutSecretValue' },
    { id: '3', keys: ['app/x'], event: 'PutSecretValue' },
    { id: '4', keys: ['db'], event: 'UpdateSecretVersionStage' },
  ]);
  assert.deepEqual(results, ['matched', 'duplicate', 'ignored', 'matched', 'matched']);
  assert.deepEqual(h.queued, [], 'queued only after the coalescing window');
  h.flush();
  assert.deepEqual(h.forgotten, [['db', 'app/x']], 'one drop of the store’s reads for the whole burst');
  assert.deepEqual(h.queued.sort(), ['team/a', 'team/b', 'team/c'], 'each reader once; another namespace’s store is not touched');
  assert.ok(COALESCE_MS <= 250);
  const pending = h.changes.pending('team/a')!;
  assert.ok(pending);
  // A newer change during the refresh stays pending.
  h.changes.notify(store, 'aws-sqs', [{ id: '5', keys: ['db'], event: 'PutSecretValue' }]);
  h.flush();
  h.changes.handled('team/a', pending);
  assert.ok(h.changes.pending('team/a'), 'a reconcile that began before the newer change does not clear it');
  h.changes.handled('team/a', h.changes.pending('team/a')!);
  assert.equal(h.changes.pending('team/a'), undefined);
  h.changes.forget('team/b');
  const before = h.queued.length;
  h.changes.notify(store, 'aws-sqs', [{ id: '6', keys: ['db'], event: 'PutSecretValue' }]);
  h.flush();
  assert.deepEqual(h.queued.slice(before).sort(), ['team/a'], 'a deleted ExternalSecret is no longer a reader');
});

test('a remote change makes a Periodic ExternalSecret sync now; OnChange and CreatedOnce keep their meaning', () => {
  const change = { source: 'aws-sqs' as const, since: 0 };
  assert.deepEqual(remoteChanged({ action: 'wait', ms: 3_000_000 }, change, 'Periodic', 3_600_000), { action: 'sync', reason: 'remote-changed' });
  assert.deepEqual(remoteChanged({ action: 'wait', ms: 3_000_000 }, undefined, 'Periodic', 3_600_000), { action: 'wait', ms: 3_000_000 });
  assert.deepEqual(remoteChanged({ action: 'skip' }, change, 'OnChange', 3_600_000), { action: 'skip' });
  assert.deepEqual(remoteChanged({ action: 'skip' }, change, 'CreatedOnce', 3_600_000), { action: 'skip' });
  assert.deepEqual(remoteChanged({ action: 'refuse', recheckMs: 1 }, change, 'Periodic', 3_600_000), { action: 'refuse', recheckMs: 1 }, 'never a foreign Secret');
});

test('a notification drops the shared read of that key only: the refresh reads afresh, other keys keep their reuse window', async () => {
  const shared = createSharedCalls({ holdResultsMs: 60_000 });
  let calls = 0;
  const raw: SecretsClient = {
    identity: 'x',
    getSecret: async () => new Uint8Array([++calls]),
    getAllSecrets: async () => ({}),
    validate: async () => 'Ready',
    close: async () => {},
  };
  const client = withSharedCalls(raw, clientCacheKey({ uid: 'u1', generation: 1, partition: undefined }), shared);
  const other = withSharedCalls(raw, clientCacheKey({ uid: 'u2', generation: 1, partition: undefined }), shared);
  const signal = new AbortController().signal;
  await client.getSecret({ key: 'db' }, signal);
  await client.getSecret({ key: 'cache' }, signal);
  await other.getSecret({ key: 'db' }, signal);
  assert.equal(calls, 3);
  await client.getSecret({ key: 'db' }, signal);
  assert.equal(calls, 3, 'reused within the window');
  assert.equal(shared.forget(staleReadsOf('u1', new Set(['db']))), 1);
  await client.getSecret({ key: 'db' }, signal);
  await client.getSecret({ key: 'cache' }, signal);
  await other.getSecret({ key: 'db' }, signal);
  assert.equal(calls, 4, 'only u1’s db was read again');
});

test('tenant attack: a SecretStore may not point its identity at a queue on a host the operator does not trust', () => {
  const spec = (queueURL: string) => ({ service: 'SecretsManager', region: 'us-east-1', auth: { jwt: { serviceAccountRef: { name: 'r' } } }, changeFeed: { sqs: { queueURL } } });
  const violations = (queueURL: string, kind: 'SecretStore' | 'ClusterSecretStore' = 'SecretStore') => tenancyViolations(declaredTenancy('aws', spec(queueURL)), kind, DEFAULT_TENANCY_POLICY).map((v) => v.rule);
  assert.deepEqual(violations('https://sqs.us-east-1.amazonaws.com/123456789012/changes'), [], 'SQS’s own host');
  assert.deepEqual(violations('https://sqs-fips.us-gov-west-1.amazonaws.com/123456789012/changes'), []);
  assert.deepEqual(violations('https://sqs.us-east-1.amazonaws.com.attacker.example/1/q'), ['EndpointNotAllowed'], 'a look-alike host');
  assert.deepEqual(violations('https://attacker.example/123456789012/q'), ['EndpointNotAllowed']);
  assert.deepEqual(violations('http://sqs.us-east-1.amazonaws.com/123456789012/q'), ['EndpointNotAllowed', 'InsecureEndpoint'], 'plain http is not SQS’s own');
  assert.deepEqual(violations('https://attacker.example/123456789012/q', 'ClusterSecretStore'), [], 'an admin’s ClusterSecretStore may');
});

test('status.changeFeeds: a feed no longer configured loses its entry, also one written before this replica led', async () => {
  const written: { source: string }[][] = [];
  const book = new FeedStatusBook({ clock: { now: () => 0 }, write: async (_store, feeds) => void written.push([...feeds]) });
  const store = { kind: 'SecretStore' as const, namespace: 'team', name: 'aws', uid: 'u1', identity: { ref: 'team/aws', uid: 'u1' } };
  await book.report(store, { source: 'aws-sqs', connected: true });
  await book.report(store, { source: 'webhook', connected: true });
  await book.keepOnly(store, new Set(['aws-sqs', 'webhook']), [{ source: 'aws-sqs', connected: true }, { source: 'webhook', connected: true }]);
  assert.equal(written.length, 2, 'nothing to drop: no write');
  await book.keepOnly(store, new Set(['webhook']), [{ source: 'aws-sqs', connected: true }, { source: 'webhook', connected: true }]);
  assert.deepEqual(written.at(-1)?.map((f) => f.source), ['webhook']);
  // A fresh replica's book knows nothing; the live status still lists a removed feed and one still configured.
  const fresh = new FeedStatusBook({ clock: { now: () => 0 }, write: async (_store, feeds) => void written.push([...feeds]) });
  await fresh.keepOnly(store, new Set(['webhook']), [{ source: 'vault-events', connected: false, message: 'down' }, { source: 'webhook', connected: true, lastHeardTime: 't' }]);
  assert.deepEqual(written.at(-1), [{ source: 'webhook', connected: true, lastHeardTime: 't' }]);
  await fresh.keepOnly(store, new Set(), [{ source: 'webhook', connected: true }]);
  assert.deepEqual(written.at(-1), [], 'no feed left: an empty list');
});

// A tenant who can write to the queue its own store reads (its own queue) chooses the event ids: the Alibaba and
// Azure bodies carry them, up to 2,048 characters each. The host remembers REMEMBERED_IDS per store to recognise
// redeliveries — 4,096 ids of 2 KiB are 8 MiB a store, and a tenant may make many stores.
test('tenant attack: 4 stores flooded with 2 KiB event ids keep about half a MiB each, and nothing once the stores are gone', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const h = harness();
  const stores = [0, 1, 2, 3].map((i) => ({ ref: `SecretStore/team/s${i}`, uid: `u${i}` }));
  gc();
  const before = process.memoryUsage().heapUsed;
  for (const store of stores) {
    for (let i = 0; i < REMEMBERED_IDS; i++) {
      // A fresh string each time (as JSON.parse of each message makes one), not a slice of one big string.
      const id = `${store.uid}-${i}-`.padEnd(2048, String.fromCharCode(97 + (i % 26)));
      h.changes.notify(store, 'alibaba-mns', [{ id, keys: ['nobody-reads-this'], event: 'PutSecretValue' }]);
    }
  }
  const longId = `u0-${REMEMBERED_IDS - 1}-`.padEnd(2048, String.fromCharCode(97 + ((REMEMBERED_IDS - 1) % 26)));
  assert.deepEqual(h.changes.notify(stores[0]!, 'alibaba-mns', [{ id: longId, keys: ['db'], event: 'PutSecretValue' }]), ['duplicate'], 'a redelivery of a long id is still recognised');
  gc();
  const kept = process.memoryUsage().heapUsed - before;
  console.log(`remembered ids of 4 flooded stores: ${(kept / 1024).toFixed(0)} KiB of heap`);
  assert.ok(kept < 4 * 1024 * 1024, `the remembered ids of 4 stores hold ${(kept / 1024 / 1024).toFixed(1)} MiB`);
  for (const store of stores) h.changes.forgetStore(store.uid);
  gc();
  const left = process.memoryUsage().heapUsed - before;
  console.log(`after the stores are gone: ${(left / 1024).toFixed(0)} KiB`);
  assert.ok(left < 512 * 1024, `${(left / 1024).toFixed(0)} KiB left after the stores are gone`);
});
