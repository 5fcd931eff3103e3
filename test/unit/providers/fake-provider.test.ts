import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFakeProvider } from '../../../src/providers/fake/provider.ts';
import type { FakeOperation, FakeProviderSpec } from '../../../src/providers/fake/provider.ts';
import { createClientCache } from '../../../src/providers/client-cache.ts';
import { createProviderRegistry } from '../../../src/providers/registry.ts';
import { createSharedCalls } from '../../../src/providers/shared-calls.ts';
import { NoSecretError, TerminalError } from '../../../src/providers/provider.ts';
import type { FindRef, RemoteRef } from '../../../src/providers/provider.ts';
import { deferred, fakeClock, flushMicrotasks, storeContext, text } from './helpers.ts';

const live = (): AbortSignal => new AbortController().signal;

const spec: FakeProviderSpec = {
  data: [
    { key: 'db', value: '{"user":"admin","password":"hunter2","port":5432,"nested":{"a":"b"}}' },
    { key: 'api-token', value: 'v1-token', version: 'v1' },
    { key: 'api-token', value: 'v2-token', version: 'v2' },
    { key: 'pinned', value: 'versioned', version: '1' },
    { key: 'pinned', value: 'unversioned' },
    { key: 'encoded', value: 'aGVsbG8=' },
    { key: 'team/a/one', value: '1', tags: { env: 'prod', team: 'a' } },
    { key: 'team/a/two', value: '2', tags: { env: 'dev', team: 'a' } },
    { key: 'team/b/one', value: '3', tags: { env: 'prod', team: 'b' } },
  ],
};

async function client(hooks = {}) {
  return createFakeProvider(hooks).newClient(spec, storeContext());
}

const reads: Array<{ ref: RemoteRef; expected: string }> = [
  { ref: { key: 'db' }, expected: '{"user":"admin","password":"hunter2","port":5432,"nested":{"a":"b"}}' },
  { ref: { key: 'api-token', version: 'v1' }, expected: 'v1-token' },
  { ref: { key: 'pinned' }, expected: 'unversioned' }, // the unversioned entry wins
  { ref: { key: 'pinned', version: '1' }, expected: 'versioned' },
];

for (const { ref, expected } of reads) {
  test(`fake getSecret ${JSON.stringify(ref)} → ${expected}`, async () => {
    assert.equal(text(await (await client()).getSecret(ref, live())), expected);
  });
}

const missing: Array<{ ref: RemoteRef; message: string }> = [
  { ref: { key: 'nope' }, message: 'key "nope" not found in the fake store\'s data' },
  // Only versioned entries: without a version the key does not exist, as ESO's fake provider says.
  { ref: { key: 'api-token' }, message: 'key "api-token" has only versioned entries in the fake store\'s data; set remoteRef.version' },
  { ref: { key: 'api-token', version: 'v3' }, message: 'key "api-token" has no version "v3" in the fake store\'s data' },
];

for (const { ref, message } of missing) {
  test(`fake getSecret ${JSON.stringify(ref)} → NoSecretError`, async () => {
    await assert.rejects((await client()).getSecret(ref, live()), (error: unknown) => {
      assert.ok(error instanceof NoSecretError);
      assert.equal(error.message, message);
      return true;
    });
  });
}

test('fake getSecret returns the whole value: property and decodingStrategy are applied by the controller alone', async () => {
  const c = await client();
  // Not part of RemoteRef any more; a caller that still sends them gets the whole value, never a second decoding.
  const legacy = { key: 'encoded', decodingStrategy: 'Base64', property: 'x' } as RemoteRef;
  assert.equal(text(await c.getSecret(legacy, live())), 'aGVsbG8=');
  assert.equal('getSecretMap' in c, false);
});

const finds: Array<{ find: FindRef; keys: string[] }> = [
  { find: { name: { regexp: '^team/a/' } }, keys: ['team_a_one', 'team_a_two'] },
  { find: { name: { regexp: 'one' } }, keys: ['team_a_one', 'team_b_one'] }, // unanchored, as ESO
  { find: { path: 'team/b/' }, keys: ['team_b_one'] },
  { find: { path: 'team/', name: { regexp: 'two$' } }, keys: ['team_a_two'] },
  { find: { name: { regexp: '^api' } }, keys: ['api-token'] },
  { find: { tags: { env: 'prod' } }, keys: ['team_a_one', 'team_b_one'] },
  { find: { tags: { env: 'prod', team: 'a' } }, keys: ['team_a_one'] },
  { find: { tags: { env: 'staging' } }, keys: [] },
  { find: { name: { regexp: 'one$' }, tags: { team: 'b' } }, keys: ['team_b_one'] },
  { find: { name: { regexp: '^nothing' } }, keys: [] },
];

for (const { find, keys } of finds) {
  test(`fake getAllSecrets ${JSON.stringify(find)}`, async () => {
    const result = await (await client()).getAllSecrets(find, live());
    assert.deepEqual(Object.keys(result).sort(), keys);
  });
}

test('fake getAllSecrets returns each key once, at its highest version string (as ESO\'s fake)', async () => {
  const result = await (await client()).getAllSecrets({ name: { regexp: '^(api-token|pinned)$' } }, live());
  assert.equal(text(result['api-token']!), 'v2-token');
  assert.equal(text(result['pinned']!), 'versioned'); // "1" sorts after the unversioned ""
});

test('fake getAllSecrets converts names with conversionStrategy before any rewrite, as ESO\'s fake', async () => {
  const result = await (await client()).getAllSecrets({ name: { regexp: '^team/a/one$' }, conversionStrategy: 'Unicode' }, live());
  assert.deepEqual(Object.keys(result), ['team_U002f_a_U002f_one']);
});

test('fake getAllSecrets takes Go regular expressions: (?i) inside, \\A, \\pL; refuses a backreference', async () => {
  const c = await client();
  assert.deepEqual(Object.keys(await c.getAllSecrets({ name: { regexp: '\\Ateam/(?i)A/\\pL+$' } }, live())).sort(), ['team_a_one', 'team_a_two']);
  await assert.rejects(c.getAllSecrets({ name: { regexp: '(o)\\1' } }, live()), /not a valid Go regular expression \(error parsing regexp: invalid escape sequence/);
});

const badFinds: Array<{ find: FindRef; message: RegExp }> = [
  { find: {}, message: /dataFrom\.find needs name\.regexp, tags or path/ },
  { find: { name: { regexp: '([' } }, message: /dataFrom\.find\.name\.regexp "\(\[" is not a valid Go regular expression/ },
];

for (const { find, message } of badFinds) {
  test(`fake getAllSecrets ${JSON.stringify(find)} → TerminalError`, async () => {
    await assert.rejects((await client()).getAllSecrets(find, live()), (error: unknown) => {
      assert.ok(error instanceof TerminalError);
      assert.match(error.message, message);
      return true;
    });
  });
}

test('fake client: identity, validate, and a spec change does not alter a built client', async () => {
  const mutable = { data: [{ key: 'k', value: 'before' }] };
  const c = await createFakeProvider().newClient(mutable, storeContext());
  mutable.data[0]!.value = 'after';
  assert.equal(c.identity, 'fake');
  assert.equal(await c.validate(live()), 'Ready');
  assert.equal(text(await c.getSecret({ key: 'k' }, live())), 'before');
});

test('fake validateStore', () => {
  const provider = createFakeProvider();
  assert.deepEqual(provider.validateStore(spec), { warnings: [], errors: [] });
  assert.deepEqual(provider.validateStore({ data: [] }).warnings, [
    'spec.provider.fake.data is empty; every read from this store will find nothing',
  ]);
  const result = provider.validateStore({
    data: [
      { key: 'a', value: 'secret-one' },
      { key: '', value: 'secret-two' },
      { key: 'a', value: 'secret-three' },
      { key: 'a', value: 'x', version: '1' },
      { key: 'a', value: 'secret-four', version: '1' },
      { key: 'b', value: 42 as unknown as string },
    ],
  });
  assert.deepEqual(result.errors, [
    'spec.provider.fake.data[1].key is empty; give each entry a key',
    'spec.provider.fake.data[2] repeats key "a" with no version (first at spec.provider.fake.data[0]); each key+version must be unique',
    'spec.provider.fake.data[4] repeats key "a" with version "1" (first at spec.provider.fake.data[3]); each key+version must be unique',
    'spec.provider.fake.data[5].value must be a string (key "b")',
  ]);
  assert.ok(!JSON.stringify(result).includes('secret-'), 'no value in validation messages');
  assert.deepEqual(provider.validateStore(null as unknown as FakeProviderSpec).errors, [
    'spec.provider.fake.data must be a list of {key, value, version?} entries',
  ]);
});

test('fake newClient refuses an invalid spec with a terminal error', async () => {
  await assert.rejects(createFakeProvider().newClient({ data: [{ key: '', value: 'v' }] }, storeContext()), (error: unknown) => {
    assert.ok(error instanceof TerminalError);
    assert.match(error.message, /data\[0\]\.key is empty/);
    return true;
  });
});

test('hooks see every operation with its ref, and a throw fails that operation', async () => {
  const seen: Array<[FakeOperation, unknown]> = [];
  let failing = false;
  const c = await client({
    onCall(op: FakeOperation, ref: unknown) {
      seen.push([op, ref]);
      if (failing && op === 'getSecret') throw new Error('injected outage');
    },
  });
  await c.getSecret({ key: 'db' }, live());
  failing = true;
  await assert.rejects(c.getSecret({ key: 'db' }, live()), /injected outage/);
  await c.getAllSecrets({ path: 'team/' }, live());
  await c.validate(live());
  await c.close();
  assert.deepEqual(seen, [
    ['newClient', undefined],
    ['getSecret', { key: 'db' }],
    ['getSecret', { key: 'db' }],
    ['getAllSecrets', { path: 'team/' }],
    ['validate', undefined],
    ['close', undefined],
  ]);
});

test('the fake client honours its abort signal while a hook holds the call', async () => {
  const gate = deferred();
  const c = await client({ onCall: (op: FakeOperation) => (op === 'getSecret' ? gate.promise : undefined) });
  const controller = new AbortController();
  const read = c.getSecret({ key: 'db' }, controller.signal);
  controller.abort(new Error('deadline'));
  gate.resolve();
  await assert.rejects(read, /deadline/);
});

test('through the cache with shared calls, concurrent reads of one key make one provider call', async () => {
  const gate = deferred();
  let getSecretCalls = 0;
  const provider = createFakeProvider({
    async onCall(op) {
      if (op !== 'getSecret') return;
      getSecretCalls++;
      await gate.promise;
    },
  });
  const cache = createClientCache({
    registry: createProviderRegistry([provider]),
    clock: fakeClock(),
    sharedCalls: createSharedCalls(),
  });
  const key = {
    kind: 'SecretStore' as const,
    namespace: 'team-a',
    name: 'fake',
    uid: 'uid',
    generation: 1,
    providerName: 'fake' as const,
    providerSpec: spec,
  };
  const clients = await Promise.all(Array.from({ length: 10 }, () => cache.get(key, storeContext(), live())));
  const values = Promise.all(clients.map((c) => c.getSecret({ key: 'api-token', version: 'v1' }, live())));
  await flushMicrotasks();
  gate.resolve();
  assert.deepEqual((await values).map(text), Array(10).fill('v1-token'));
  assert.equal(getSecretCalls, 1);
});
