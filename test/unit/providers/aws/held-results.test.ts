// Results held for one refresh wave (shared-calls.ts holdResultsMs): what every provider, AWS first, relies on
// so that a wave of ExternalSecrets reading the same remote secret costs one provider call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSharedCalls, withSharedCalls } from '../../../../src/providers/shared-calls.ts';
import { createFakeProvider } from '../../../../src/providers/fake/provider.ts';
import { FakeTime } from '../../runtime/fake-time.ts';
import { storeContext, text } from '../helpers.ts';

async function fakeClient(calls: string[]) {
  const provider = createFakeProvider({
    onCall: (op, ref) => {
      if (op === 'getSecret') calls.push((ref as { key: string }).key);
    },
  });
  return provider.newClient({ data: [{ key: 'db', value: 'v1' }, { key: 'api', value: 'v2' }] }, storeContext());
}

test('sequential reads within the hold window share one provider call; after it, the provider is asked again', async () => {
  const time = new FakeTime();
  const calls: string[] = [];
  const shared = createSharedCalls({ holdResultsMs: 2000, timers: time });
  const client = withSharedCalls(await fakeClient(calls), 'store-uid\u00001', shared);
  const signal = new AbortController().signal;

  for (let i = 0; i < 10; i++) assert.equal(text(await client.getSecret({ key: 'db' }, signal)), 'v1');
  await client.getSecret({ key: 'api' }, signal);
  assert.deepEqual(calls, ['db', 'api']);
  assert.equal(shared.held(), 2);

  await time.advance(1999);
  await client.getSecret({ key: 'db' }, signal);
  assert.deepEqual(calls, ['db', 'api'], 'still within the window');

  await time.advance(1);
  assert.equal(shared.held(), 0, 'values are dropped when the window ends');
  assert.equal(time.pendingTimers, 0);
  await client.getSecret({ key: 'db' }, signal);
  assert.deepEqual(calls, ['db', 'api', 'db']);
});

test('failures are not held: the next read asks the provider again', async () => {
  const time = new FakeTime();
  let attempts = 0;
  const shared = createSharedCalls({ holdResultsMs: 2000, timers: time });
  const failing = () => {
    attempts++;
    return Promise.reject(new Error('provider unavailable'));
  };
  await assert.rejects(shared.do('k', failing), /provider unavailable/);
  await assert.rejects(shared.do('k', failing), /provider unavailable/);
  assert.equal(attempts, 2);
  assert.equal(shared.held(), 0);
});

test('a held result is shared only under the same session key, and each caller gets its own bytes', async () => {
  const time = new FakeTime();
  const calls: string[] = [];
  const shared = createSharedCalls({ holdResultsMs: 2000, timers: time });
  const raw = await fakeClient(calls);
  const generation1 = withSharedCalls(raw, 'store-uid\u00001\u0000', shared);
  const otherNamespace = withSharedCalls(raw, 'store-uid\u00001\u0000team-b', shared);
  const signal = new AbortController().signal;

  const first = await generation1.getSecret({ key: 'db' }, signal);
  first.fill(0);
  assert.equal(text(await generation1.getSecret({ key: 'db' }, signal)), 'v1', 'a caller altering its copy does not alter the held value');
  await otherNamespace.getSecret({ key: 'db' }, signal);
  assert.deepEqual(calls, ['db', 'db'], 'another partition (other credentials) makes its own call');
});

test('without holdResultsMs nothing is kept once a call settles', async () => {
  const calls: string[] = [];
  const shared = createSharedCalls();
  const client = withSharedCalls(await fakeClient(calls), 'k', shared);
  const signal = new AbortController().signal;
  await client.getSecret({ key: 'db' }, signal);
  await client.getSecret({ key: 'db' }, signal);
  assert.deepEqual(calls, ['db', 'db']);
  assert.equal(shared.held(), 0);
});
