import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProviderRegistry, providerOfStore } from '../../../src/providers/registry.ts';
import { createFakeProvider } from '../../../src/providers/fake/provider.ts';
import type { Provider } from '../../../src/providers/provider.ts';

test('the registry serves the providers it was built with, and nothing else', () => {
  const fake = createFakeProvider();
  const registry = createProviderRegistry([fake]);
  assert.equal(registry.get('fake'), fake);
  assert.equal(registry.get('aws'), undefined);
  assert.equal(registry.get('toString'), undefined);
  assert.deepEqual(registry.names(), ['fake']);
});

test('two registries do not share state', () => {
  const one = createProviderRegistry([createFakeProvider()]);
  const two = createProviderRegistry([]);
  assert.ok(one.get('fake'));
  assert.equal(two.get('fake'), undefined);
  assert.deepEqual(two.names(), []);
});

test('registering one provider name twice is refused', () => {
  assert.throws(() => createProviderRegistry([createFakeProvider(), createFakeProvider()]), {
    message: /provider "fake" is registered twice/,
  });
});

test('names() lists in registration order', () => {
  const stub = (name: Provider['name']): Provider => ({
    name,
    validateStore: () => ({ warnings: [], errors: [] }),
    newClient: async () => {
      throw new Error('unused');
    },
  });
  assert.deepEqual(createProviderRegistry([stub('vault'), stub('aws'), stub('fake')]).names(), ['vault', 'aws', 'fake']);
});

test('providerOfStore picks the one provider set', () => {
  const spec = { data: [{ key: 'k', value: 'v' }] };
  assert.deepEqual(providerOfStore({ provider: { fake: spec } }), { name: 'fake', spec });
  // Keys present but unset (undefined/null) do not count.
  assert.deepEqual(providerOfStore({ provider: { aws: undefined, vault: null, fake: spec } }), { name: 'fake', spec });
  assert.deepEqual(providerOfStore({ provider: { aws: {} } }), { name: 'aws', spec: {} });
});

const bad: Array<{ provider: unknown; message: RegExp }> = [
  { provider: {}, message: /^spec\.provider sets no provider; set exactly one of: aws, gcpsm, azurekv, alibaba, vault, fake$/ },
  { provider: { aws: {}, fake: {} }, message: /^spec\.provider sets 2 providers \(aws, fake\); set exactly one$/ },
  { provider: { oracle: {} }, message: /^spec\.provider\.oracle is not a known provider; use exactly one of: aws, / },
  { provider: { fake: {}, oracle: {} }, message: /spec\.provider\.oracle is not a known provider/ },
  { provider: null, message: /^spec\.provider must be an object/ },
  { provider: [], message: /^spec\.provider must be an object/ },
];

for (const { provider, message } of bad) {
  test(`providerOfStore rejects ${JSON.stringify(provider)}`, () => {
    const result = providerOfStore({ provider: provider as Record<string, unknown> });
    assert.ok('error' in result, JSON.stringify(result));
    assert.match(result.error, message);
  });
}
