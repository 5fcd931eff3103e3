// Audit entries of OpenBao (captured from 2.7.2 with a socket audit device) → the keys a store names them by.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keysForStore, kvChangeFromAuditLine } from '../../../src/providers/vault/audit-events.ts';

const entry = (type: string, operation: string, path: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ time: '2026-12-06T05:16:04.433053272Z', type, auth: { client_token: 'hmac-sha256:ab' }, request: { id: 'r-1', operation, mount_point: 'secret/', mount_type: 'kv', namespace: { id: 'root' }, path }, response: { data: { version: 1 } }, ...extra });

test('a successful KV v2 write, metadata change, delete and destroy name the secret; reads, request entries and failures do not', () => {
  const store = { mount: 'secret', version: 'v2' as const };
  for (const path of ['secret/data/team/app', 'secret/metadata/team/app', 'secret/delete/team/app', 'secret/undelete/team/app', 'secret/destroy/team/app']) {
    const change = kvChangeFromAuditLine(entry('response', 'update', path));
    assert.ok(change, path);
    assert.deepEqual(keysForStore(change, store), ['team/app', 'secret/team/app'], path);
  }
  assert.equal(kvChangeFromAuditLine(entry('response', 'read', 'secret/data/team/app')), undefined, 'a read');
  assert.equal(kvChangeFromAuditLine(entry('request', 'update', 'secret/data/team/app')), undefined, 'the request entry (it may still be refused)');
  assert.equal(kvChangeFromAuditLine(entry('response', 'update', 'secret/data/team/app', { error: 'permission denied' })), undefined, 'a refused write');
  assert.equal(kvChangeFromAuditLine('{not json'), undefined);
  const change = kvChangeFromAuditLine(entry('response', 'create', 'secret/data/team/app'))!;
  assert.equal(change.time, Date.parse('2026-12-06T05:16:04.433Z'));
  assert.deepEqual(keysForStore(change, { mount: 'other', version: 'v2' }), [], 'another mount');
  assert.deepEqual(keysForStore(change, { version: 'v2' }), ['secret/team/app'], 'a store without path: keys carry the mount');
  assert.deepEqual(keysForStore(change, { mount: 'secret', version: 'v2', namespace: 'team-a' }), [], 'another Vault namespace');
  assert.deepEqual(keysForStore(kvChangeFromAuditLine(entry('response', 'update', 'secret/config'))!, store), [], 'the engine’s config is no secret');
  assert.deepEqual(keysForStore(kvChangeFromAuditLine(entry('response', 'update', 'secret/team/app'))!, { mount: 'secret', version: 'v1' }), ['team/app', 'secret/team/app'], 'KV v1');
});
