// Every wrapper of a SecretsClient (metrics, client cache, shared calls) must hand on every member of the client it
// wraps: a dropped pushSecret makes a store "unable to push", a dropped pushUnsupported loses the hint, a frozen
// identity puts the wrong role in audit records. This passes a client with every member through each wrapper.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { instrumentProvider } from '../../../src/providers/instrumented.ts';
import { createClientCache } from '../../../src/providers/client-cache.ts';
import { createSharedCalls, withSharedCalls } from '../../../src/providers/shared-calls.ts';
import { createProviderRegistry } from '../../../src/providers/registry.ts';
import { createMetrics } from '../../../src/metrics/metrics.ts';
import type { Provider, SecretsClient } from '../../../src/providers/provider.ts';
import { fakeClock, storeContext } from './helpers.ts';

type Method = { [K in keyof SecretsClient]-?: NonNullable<SecretsClient[K]> extends (...args: never[]) => unknown ? K : never }[keyof SecretsClient];

const signal = new AbortController().signal;
/** One call of each method; the type makes a method added to SecretsClient fail the typecheck until it is listed. */
const callsOf: { [K in Method]: Parameters<NonNullable<SecretsClient[K]>> } = {
  getSecret: [{ key: 'db' }, signal],
  getAllSecrets: [{ path: 'app/' }, signal],
  validate: [signal],
  close: [],
  pushSecret: [{ remoteKey: 'db', value: new Uint8Array([1]), owner: 'team-a/push', adopt: false, updatePolicy: 'Replace' }, signal],
  deleteSecret: [{ remoteKey: 'db', owner: 'team-a/push' }, signal],
};

/** A client with every member (Required: a member added to SecretsClient must be added here), recording its calls. */
function fullClient(): { client: Required<SecretsClient>; calls: string[]; setIdentity(value: string): void } {
  const calls: string[] = [];
  let identity = 'before the first call';
  const client: Required<SecretsClient> = {
    get identity() {
      return identity;
    },
    getSecret: async () => (calls.push('getSecret'), new Uint8Array([1])),
    getAllSecrets: async () => (calls.push('getAllSecrets'), {}),
    validate: async () => (calls.push('validate'), 'Ready'),
    close: async () => void calls.push('close'),
    pushSecret: async () => (calls.push('pushSecret'), 'created'),
    deleteSecret: async () => (calls.push('deleteSecret'), 'deleted'),
    pushUnsupported: 'a hint for the user',
  };
  return { client, calls, setIdentity: (value) => void (identity = value) };
}

function minimalClient(): SecretsClient {
  return { identity: 'static key', getSecret: async () => new Uint8Array(), getAllSecrets: async () => ({}), validate: async () => 'Ready', close: async () => {} };
}

function providerOf(client: SecretsClient): Provider {
  return { name: 'fake', validateStore: () => ({ warnings: [], errors: [] }), newClient: async () => client };
}

const storeKey = { kind: 'SecretStore', namespace: 'team-a', name: 'store', uid: 'uid-1', generation: 1, providerName: 'fake', providerSpec: {} } as const;

/** Each wrapper; closes: whether the wrapper's close() reaches the provider's client (the cache owns the session). */
const wrappers: ReadonlyArray<{ name: string; closes: boolean; wrap(client: SecretsClient): Promise<SecretsClient> }> = [
  { name: 'instrumentProvider', closes: true, wrap: (client) => instrumentProvider(providerOf(client), createMetrics(new Registry()), fakeClock()).newClient({}, storeContext()) },
  { name: 'withSharedCalls', closes: true, wrap: async (client) => withSharedCalls(client, 'uid-1', createSharedCalls({ holdResultsMs: 0 })) },
  ...[undefined, createSharedCalls()].map((sharedCalls) => ({
    name: sharedCalls ? 'client cache with shared calls' : 'client cache',
    closes: false,
    wrap: (client: SecretsClient) =>
      createClientCache({ registry: createProviderRegistry([providerOf(client)]), clock: fakeClock(), ...(sharedCalls ? { sharedCalls } : {}) }).get(storeKey, storeContext(), signal),
  })),
];

for (const wrapper of wrappers) {
  test(`${wrapper.name} hands on every member of the client: each call, pushUnsupported, the live identity`, async () => {
    const { client, calls, setIdentity } = fullClient();
    const wrapped = await wrapper.wrap(client);
    for (const member of Object.keys(client)) assert.ok(member in wrapped, `${wrapper.name} dropped ${member}`);
    assert.equal(wrapped.pushUnsupported, client.pushUnsupported);
    setIdentity('role arn:aws:iam::1:role/app');
    assert.equal(wrapped.identity, 'role arn:aws:iam::1:role/app');
    for (const [method, args] of Object.entries(callsOf)) {
      await (wrapped[method as Method] as (...args: unknown[]) => Promise<unknown>)(...args);
      const reached = method !== 'close' || wrapper.closes;
      assert.equal(calls.includes(method), reached, `${wrapper.name}: ${method} ${reached ? 'did not reach' : 'reached'} the provider's client`);
    }
  });

  test(`${wrapper.name} adds no member the client lacks (a store that cannot push must say so)`, async () => {
    const wrapped = await wrapper.wrap(minimalClient());
    for (const member of ['pushSecret', 'deleteSecret', 'pushUnsupported']) assert.ok(!(member in wrapped), `${wrapper.name} added ${member}`);
  });
}
