import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSharedCalls, stableJson, withSharedCalls } from '../../../src/providers/shared-calls.ts';
import type { SecretsClient } from '../../../src/providers/provider.ts';
import { deferred, flushMicrotasks, text, utf8 } from './helpers.ts';
import type { Deferred } from './helpers.ts';

test('concurrent calls with one key share one run; a different key runs on its own', async () => {
  const shared = createSharedCalls();
  const gate = deferred<string>();
  let runs = 0;
  const fn = (): Promise<string> => {
    runs++;
    return gate.promise;
  };
  const a = shared.do('k', fn);
  const b = shared.do('k', fn);
  const other = shared.do('other', async () => 'other');
  assert.equal(runs, 1);
  assert.equal(shared.inFlight(), 2);
  gate.resolve('value');
  assert.deepEqual(await Promise.all([a, b, other]), ['value', 'value', 'other']);
  assert.equal(shared.inFlight(), 0);
});

test('once settled, the next call runs again (results are not cached)', async () => {
  const shared = createSharedCalls();
  let runs = 0;
  assert.equal(await shared.do('k', async () => ++runs), 1);
  assert.equal(await shared.do('k', async () => ++runs), 2);
});

test('a failure reaches every waiter and is not cached', async () => {
  const shared = createSharedCalls();
  const gate = deferred<string>();
  const a = shared.do('k', () => gate.promise);
  const b = shared.do('k', () => gate.promise);
  gate.reject(new Error('provider down'));
  await assert.rejects(a, /provider down/);
  await assert.rejects(b, /provider down/);
  assert.equal(await shared.do('k', async () => 'recovered'), 'recovered');
});

test('a synchronous throw becomes a rejection', async () => {
  const shared = createSharedCalls();
  await assert.rejects(
    shared.do('k', () => {
      throw new Error('sync');
    }),
    /sync/,
  );
  assert.equal(shared.inFlight(), 0);
});

test('one waiter aborting rejects it promptly but does not abort the shared call', async () => {
  const shared = createSharedCalls();
  const gate = deferred<string>();
  let callSignal: AbortSignal | undefined;
  const fn = (signal: AbortSignal): Promise<string> => {
    callSignal = signal;
    return gate.promise;
  };
  const first = new AbortController();
  const second = new AbortController();
  const a = shared.do('k', fn, first.signal);
  const b = shared.do('k', fn, second.signal);
  first.abort(new Error('first caller gave up'));
  await assert.rejects(a, /first caller gave up/); // while the call is still pending
  assert.equal(callSignal?.aborted, false);
  gate.resolve('value');
  assert.equal(await b, 'value');
});

test('when every waiter aborts, the shared call is aborted and the next call starts afresh', async () => {
  const shared = createSharedCalls();
  const calls: Array<{ signal: AbortSignal; gate: Deferred<string> }> = [];
  const fn = (signal: AbortSignal): Promise<string> => {
    const gate = deferred<string>();
    calls.push({ signal, gate });
    return gate.promise;
  };
  const first = new AbortController();
  const second = new AbortController();
  const a = shared.do('k', fn, first.signal);
  const b = shared.do('k', fn, second.signal);
  first.abort(new Error('one'));
  second.abort(new Error('two'));
  await assert.rejects(a, /one/);
  await assert.rejects(b, /two/);
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.signal.aborted, true);
  assert.match(String((calls[0]!.signal.reason as Error).message), /two/);
  assert.equal(shared.inFlight(), 0);

  const c = shared.do('k', fn);
  assert.equal(calls.length, 2, 'a new call, not the aborted one');
  // The aborted call rejecting later is handled (no unhandled rejection) and does not affect the new one.
  calls[0]!.gate.reject(calls[0]!.signal.reason);
  calls[1]!.gate.resolve('fresh');
  assert.equal(await c, 'fresh');
});

test('a waiter without a signal keeps the shared call alive', async () => {
  const shared = createSharedCalls();
  const gate = deferred<string>();
  let callSignal: AbortSignal | undefined;
  const fn = (signal: AbortSignal): Promise<string> => {
    callSignal = signal;
    return gate.promise;
  };
  const controller = new AbortController();
  const a = shared.do('k', fn, controller.signal);
  const b = shared.do('k', fn);
  controller.abort(new Error('gone'));
  await assert.rejects(a, /gone/);
  assert.equal(callSignal?.aborted, false);
  gate.resolve('kept');
  assert.equal(await b, 'kept');
});

test('an already-aborted signal rejects without running or joining', async () => {
  const shared = createSharedCalls();
  let runs = 0;
  await assert.rejects(
    shared.do('k', async () => ++runs, AbortSignal.abort(new Error('too late'))),
    /too late/,
  );
  assert.equal(runs, 0);
  assert.equal(shared.inFlight(), 0);
});

test('stableJson ignores key order and undefined fields', () => {
  assert.equal(stableJson({ b: 1, a: { d: [1, 'x'], c: undefined } }), stableJson({ a: { d: [1, 'x'] }, b: 1 }));
  assert.notEqual(stableJson({ key: 'a', version: '1' }), stableJson({ key: 'a', version: '2' }));
});

function gatedClient(): SecretsClient & { calls: string[]; gates: Array<Deferred<void>>; signals: AbortSignal[] } {
  const calls: string[] = [];
  const gates: Array<Deferred<void>> = [];
  const signals: AbortSignal[] = [];
  const wait = async (what: string, signal: AbortSignal): Promise<void> => {
    calls.push(what);
    signals.push(signal);
    const gate = deferred();
    gates.push(gate);
    await gate.promise;
  };
  return {
    identity: 'test-identity',
    calls,
    gates,
    signals,
    async getSecret(ref, signal) {
      await wait(`getSecret ${ref.key}`, signal);
      return utf8(`value of ${ref.key}`);
    },
    async getAllSecrets(find, signal) {
      await wait(`getAllSecrets ${find.name?.regexp}`, signal);
      return { x: utf8('2') };
    },
    validate: async () => 'Ready',
    close: async () => {},
  };
}

test('withSharedCalls: concurrent identical reads make one provider call; each caller gets its own bytes', async () => {
  const client = gatedClient();
  const shared = createSharedCalls();
  const wrapped = withSharedCalls(client, 'store-uid/1', shared);
  const signal = new AbortController().signal;
  const reads = [
    wrapped.getSecret({ key: 'db', version: undefined }, signal),
    wrapped.getSecret({ key: 'db' }, signal), // same ref, undefined field omitted
    wrapped.getSecret({ key: 'db', version: '2' }, signal), // different ref
    wrapped.getAllSecrets({ name: { regexp: '^db' } }, signal),
    wrapped.getAllSecrets({ name: { regexp: '^db' } }, signal),
  ];
  await flushMicrotasks();
  assert.deepEqual(client.calls, ['getSecret db', 'getSecret db', 'getAllSecrets ^db']);
  for (const gate of client.gates) gate.resolve();
  const [first, second, , all1, all2] = await Promise.all(reads);
  assert.equal(text(first as Uint8Array), 'value of db');
  assert.notEqual(first, second, 'each caller gets a copy');
  (first as Uint8Array).fill(0);
  assert.equal(text(second as Uint8Array), 'value of db', 'zeroing one copy leaves the other intact');
  assert.notEqual(all1, all2);
  assert.equal(text((all1 as Record<string, Uint8Array>)['x']!), '2');
  assert.equal(wrapped.identity, 'test-identity');
});

test('withSharedCalls: different cache keys (stores, generations, partitions) never share', async () => {
  const client = gatedClient();
  const shared = createSharedCalls();
  const signal = new AbortController().signal;
  const reads = [
    withSharedCalls(client, 'store-a', shared).getSecret({ key: 'db' }, signal),
    withSharedCalls(client, 'store-b', shared).getSecret({ key: 'db' }, signal),
  ];
  await flushMicrotasks();
  assert.equal(client.calls.length, 2);
  for (const gate of client.gates) gate.resolve();
  await Promise.all(reads);
});

test('withSharedCalls: the provider call is not aborted while another caller still waits', async () => {
  const client = gatedClient();
  const wrapped = withSharedCalls(client, 'store', createSharedCalls());
  const impatient = new AbortController();
  const patient = new AbortController();
  const a = wrapped.getSecret({ key: 'db' }, impatient.signal);
  const b = wrapped.getSecret({ key: 'db' }, patient.signal);
  await flushMicrotasks();
  impatient.abort(new Error('reconcile cancelled'));
  await assert.rejects(a, /reconcile cancelled/);
  assert.equal(client.signals[0]!.aborted, false);
  client.gates[0]!.resolve();
  assert.equal(text(await b), 'value of db');
});

test('withSharedCalls reads the identity live: a role resolved at the first call shows in later audit records', async () => {
  // Under referent auth the AWS role is known only once the first read resolved the ServiceAccount's annotation.
  let resolved = 'role from the eks.amazonaws.com/role-arn annotation (ServiceAccount team-a/app)';
  const client: SecretsClient = {
    get identity() {
      return resolved;
    },
    async getSecret() {
      resolved = 'role arn:aws:iam::123456789012:role/app (ServiceAccount team-a/app)';
      return utf8('v');
    },
    getAllSecrets: async () => ({}),
    validate: async () => 'Ready',
    close: async () => {},
  };
  const wrapped = withSharedCalls(client, 'store-uid/1', createSharedCalls());
  await wrapped.getSecret({ key: 'db' }, new AbortController().signal);
  assert.equal(wrapped.identity, 'role arn:aws:iam::123456789012:role/app (ServiceAccount team-a/app)');
});
