// The Vault KV reader over a fake KV engine (v1 and v2 behind the real API client and session): whole values,
// versions, metadata, find (recursive LIST, name, path, tags) and its limits, and the errors a user reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKvReader, KvLimits, type KvSettings } from '../../../../src/providers/vault/kv.ts';
import { createVaultApi, VaultPermissionError } from '../../../../src/providers/vault/api.ts';
import { createVaultSession } from '../../../../src/providers/vault/session.ts';
import type { TokenSession } from '../../../../src/providers/vault/auth.ts';
import type { VaultRequest, VaultResponse } from '../../../../src/providers/vault/transport.ts';
import { NoSecretError, TerminalError } from '../../../../src/providers/provider.ts';

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);
const json = (bytes: Uint8Array | undefined) => JSON.parse(text(bytes)) as unknown;
const signal = () => AbortSignal.timeout(2000);

interface Entry {
  versions: Array<Record<string, unknown> | null>;
  custom?: Record<string, string>;
}

/** A KV engine at mount `secret` (v2) or `kv` (v1), answering as Vault does (LIST with trailing-slash folders). */
function fakeKv(entries: Record<string, Entry>) {
  const requests: VaultRequest[] = [];
  const refused = new Set<string>();
  const list = (prefix: string): string[] | undefined => {
    const children = new Set<string>();
    for (const name of Object.keys(entries)) {
      if (prefix !== '' && !name.startsWith(`${prefix}/`)) continue;
      const rest = prefix === '' ? name : name.slice(prefix.length + 1);
      const slash = rest.indexOf('/');
      children.add(slash < 0 ? rest : rest.slice(0, slash + 1));
    }
    return children.size > 0 ? [...children].sort() : undefined;
  };
  const transport = async (request: VaultRequest): Promise<VaultResponse> => {
    requests.push(request);
    if (refused.has(request.path)) return { status: 403, body: { errors: ['1 error occurred:\n\t* permission denied\n\n'] } };
    const path = decodeURIComponent(request.path);
    const v2 = /^secret\/(data|metadata)(?:\/(.*))?$/.exec(path);
    if (v2) {
      const [, kind, name = ''] = v2;
      if (request.method === 'LIST') {
        const keys = list(name);
        return keys ? { status: 200, body: { data: { keys } } } : { status: 404, body: { errors: [] } };
      }
      const entry = entries[name];
      if (!entry) return { status: 404, body: { errors: [] } };
      if (kind === 'metadata') return { status: 200, body: { data: { custom_metadata: entry.custom ?? null, current_version: entry.versions.length } } };
      const version = request.query?.['version'] ? Number(request.query['version']) : entry.versions.length;
      const data = entry.versions[version - 1];
      if (data === undefined) return { status: 404, body: { errors: [] } };
      // A deleted version: 404 with data null in the body, as Vault answers.
      if (data === null) return { status: 404, body: { data: { data: null, metadata: { version } } } };
      return { status: 200, body: { data: { data, metadata: { version } } } };
    }
    const v1 = /^kv(?:\/(.*))?$/.exec(path);
    if (v1) {
      const name = v1[1] ?? '';
      if (request.method === 'LIST') {
        const keys = list(name);
        return keys ? { status: 200, body: { data: { keys } } } : { status: 404, body: { errors: [] } };
      }
      const entry = entries[name];
      return entry ? { status: 200, body: { data: entry.versions.at(-1) } } : { status: 404, body: { errors: [] } };
    }
    return { status: 404, body: { errors: [] } };
  };
  return { transport, requests, refused };
}

const tokens: TokenSession = {
  token: async () => 't',
  invalidate: () => {},
  close: async () => {},
  stats: () => ({ logins: 0, renewals: 0, failedRenewals: 0, revocations: 0 }),
  current: () => undefined,
};

function reader(entries: Record<string, Entry>, settings: KvSettings = { mount: 'secret', version: 'v2' }) {
  const kv = fakeKv(entries);
  return { kv, reader: createKvReader(createVaultSession(createVaultApi(kv.transport), tokens), settings) };
}

const entries: Record<string, Entry> = {
  'app/db': { versions: [{ password: 'one' }, { password: 'two', port: 5432, nested: { a: 1 } }], custom: { team: 'payments' } },
  'app/gone': { versions: [{ a: 'b' }, null] },
  'team/a/one': { versions: [{ v: '1' }], custom: { env: 'prod' } },
  'team/a/two': { versions: [{ v: '2' }], custom: { env: 'dev' } },
  'team/b/deep/three': { versions: [{ v: '3' }], custom: { env: 'prod' } },
};

test('v2 getSecret: the whole data object as JSON (latest or a version), or custom_metadata with metadataPolicy Fetch', async () => {
  const { reader: kv, kv: fake } = reader(entries);
  assert.deepEqual(json(await kv.getSecret({ key: 'app/db' }, signal())), { password: 'two', port: 5432, nested: { a: 1 } });
  assert.deepEqual(json(await kv.getSecret({ key: 'app/db', version: '1' }, signal())), { password: 'one' });
  assert.deepEqual(fake.requests.at(-1)!.query, { version: '1' });
  assert.equal(fake.requests.at(-1)!.path, 'secret/data/app/db');
  assert.deepEqual(json(await kv.getSecret({ key: 'secret/app/db', metadataPolicy: 'Fetch' }, signal())), { team: 'payments' });
  assert.equal(fake.requests.at(-1)!.path, 'secret/metadata/app/db');
});

test('v2 getSecret: missing, deleted versions are NoSecretError; a bad version is terminal, naming the key', async () => {
  const { reader: kv } = reader(entries);
  await assert.rejects(kv.getSecret({ key: 'app/missing' }, signal()), NoSecretError);
  await assert.rejects(kv.getSecret({ key: 'app/gone' }, signal()), NoSecretError, 'latest version deleted');
  await assert.rejects(kv.getSecret({ key: 'app/db', version: '9' }, signal()), NoSecretError);
  await assert.rejects(kv.getSecret({ key: 'app/db', version: 'latest' }, signal()), { message: 'remote key "app/db": version "latest" is not a KV v2 version number (1, 2, …)' });
});

test('v1: whole value; versions and metadata are refused as KV v1 keeps neither', async () => {
  const { reader: kv } = reader({ 'app/db': { versions: [{ password: 'x' }] } }, { mount: 'kv', version: 'v1' });
  assert.deepEqual(json(await kv.getSecret({ key: 'app/db' }, signal())), { password: 'x' });
  await assert.rejects(kv.getSecret({ key: 'app/db', version: '1' }, signal()), /KV v1 keeps no versions/);
  await assert.rejects(kv.getSecret({ key: 'app/db', metadataPolicy: 'Fetch' }, signal()), /only KV v2 keeps/);
  await assert.rejects(kv.getAllSecrets({ tags: { env: 'prod' } }, signal()), /KV v1 keeps no metadata/);
  assert.deepEqual(Object.keys(await kv.getAllSecrets({ path: 'app' }, signal())), ['app/db']);
});

test('a permission error (403) after the session’s one re-login is an access denial naming the path', async () => {
  const { reader: kv, kv: fake } = reader(entries);
  fake.refused.add('secret/data/app/db');
  await assert.rejects(kv.getSecret({ key: 'app/db' }, signal()), (err: unknown) => {
    assert.ok(err instanceof VaultPermissionError);
    assert.match(err.message, /^Vault read secret\/data\/app\/db: 1 error occurred: \* permission denied/);
    return true;
  });
});

test('find: recursive LIST under a path, name regexp relative to the mount, tags by custom_metadata; whole values', async () => {
  const { reader: kv } = reader(entries);
  const all = await kv.getAllSecrets({ path: 'team' }, signal());
  assert.deepEqual(Object.keys(all).sort(), ['team/a/one', 'team/a/two', 'team/b/deep/three']);
  assert.deepEqual(json(all['team/b/deep/three']), { v: '3' });
  assert.deepEqual(Object.keys(await kv.getAllSecrets({ path: 'team', name: { regexp: 'one$' } }, signal())), ['team/a/one']);
  assert.deepEqual(Object.keys(await kv.getAllSecrets({ path: 'team/', tags: { env: 'prod' } }, signal())).sort(), ['team/a/one', 'team/b/deep/three']);
  assert.deepEqual(Object.keys(await kv.getAllSecrets({ path: 'team/a/t' }, signal())), ['team/a/two'], 'a path ending mid-name filters its folder');
  assert.deepEqual(Object.keys(await kv.getAllSecrets({ path: 'secret/team/b' }, signal())), ['team/b/deep/three'], 'the mount in front is not doubled');
  assert.deepEqual(await kv.getAllSecrets({ path: 'nothing/here' }, signal()), {}, 'an empty folder finds nothing');
  assert.equal(Object.hasOwn(await kv.getAllSecrets({ name: { regexp: '^app/' } }, signal()), 'app/gone'), false, 'a secret whose latest version is deleted is skipped');
});

test('find without a mount needs a path starting with it; a bad regexp is terminal', async () => {
  const { reader: kv } = reader(entries, { mount: undefined, version: 'v2' });
  await assert.rejects(kv.getAllSecrets({ name: { regexp: '.' } }, signal()), /find needs find.path starting with the KV mount/);
  assert.deepEqual(Object.keys(await kv.getAllSecrets({ path: 'secret/team/a' }, signal())).sort(), ['team/a/one', 'team/a/two']);
  await assert.rejects(kv.getAllSecrets({ path: 'secret/team', name: { regexp: '(' } }, signal()), TerminalError);
});

test('find limits: too many keys listed, or too many results, stop with a message to narrow it', async () => {
  const many: Record<string, Entry> = {};
  for (let i = 0; i <= KvLimits.findResults; i++) many[`bulk/s-${i}`] = { versions: [{ v: String(i) }] };
  const { reader: kv } = reader(many);
  await assert.rejects(kv.getAllSecrets({ path: 'bulk' }, signal()), /matches more than 1000 secrets; narrow it/);
  const huge: Record<string, Entry> = {};
  for (let i = 0; i <= KvLimits.findKeys; i++) huge[`huge/k-${i}`] = { versions: [{}] };
  const { reader: big } = reader(huge);
  await assert.rejects(big.getAllSecrets({ path: 'huge' }, signal()), /lists more than 10000 keys; narrow find.path/);
});
