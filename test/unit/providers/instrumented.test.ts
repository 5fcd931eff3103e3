// provider_requests_total is the bill and the health of each provider: every call counted once, with its result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { instrumentProvider } from '../../../src/providers/instrumented.ts';
import { createMetrics } from '../../../src/metrics/metrics.ts';
import { AccessDeniedError, NoSecretError, type Provider } from '../../../src/providers/provider.ts';
import { fakeClock, storeContext } from './helpers.ts';

test('results: success, not_found, denied (the provider refused the identity), error; identity read live', async () => {
  let identity = 'before the first call';
  const failures: Record<string, Error> = { missing: new NoSecretError('no such key'), denied: new AccessDeniedError('refused'), broken: new Error('boom') };
  const provider: Provider = {
    name: 'aws',
    validateStore: () => ({ warnings: [], errors: [] }),
    newClient: async () => ({
      get identity() {
        return identity;
      },
      async getSecret(ref) {
        identity = 'role arn:aws:iam::1:role/app';
        const failure = failures[ref.key];
        if (failure) throw failure;
        return new Uint8Array();
      },
      getAllSecrets: async () => ({}),
      validate: async () => 'Ready',
      close: async () => {},
    }),
  };
  const registry = new Registry();
  const client = await instrumentProvider(provider, createMetrics(registry), fakeClock()).newClient({}, storeContext());
  const signal = new AbortController().signal;
  await client.getSecret({ key: 'ok' }, signal);
  for (const key of Object.keys(failures)) await client.getSecret({ key }, signal).catch(() => {});
  assert.equal(client.identity, 'role arn:aws:iam::1:role/app');
  const text = await registry.metrics();
  for (const result of ['success', 'not_found', 'denied', 'error']) {
    assert.ok(text.includes(`secret_relay_provider_requests_total{provider="aws",operation="getSecret",result="${result}"} 1`), result);
  }
});
