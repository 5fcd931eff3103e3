// spec.provider.fake: serves the secrets listed in the store itself (demos, tests of your own manifests).
import { z } from 'zod';
import { nonEmptyString, typeMeta, uniqueBy, withRules } from '../schema-helpers.ts';
import { type ProviderDefinition } from './kit.ts';

export const FakeLimits = {
  /** Entries of spec.provider.fake.data; the uniqueness rule is quadratic in it. */
  data: 256,
  key: 256,
  version: 64,
  /** A Secret holds at most 1 MiB. */
  value: 1024 * 1024,
} as const;

export const FakeProviderDataSchema = z
  .object({
    key: nonEmptyString({
      maxLength: FakeLimits.key,
      message: 'spec.provider.fake.data[].key must not be empty',
    }).describe('The remote key an ExternalSecret asks for (remoteRef.key).'),
    value: z
      .string()
      .max(FakeLimits.value)
      .describe('The value returned for the key; a JSON object here lets remoteRef.property pick a field.'),
    version: z
      .string()
      .max(FakeLimits.version)
      .optional()
      .describe('The version this value is returned for (remoteRef.version); an entry without one is the latest.'),
    tags: z
      .record(z.string().max(FakeLimits.key), z.string().max(FakeLimits.key))
      .meta({ maxProperties: 64 })
      .optional()
      .describe('Tags of the remote secret, matched by dataFrom[].find.tags.'),
  })
  .meta(typeMeta('FakeProviderData', 'One remote secret served by the fake provider.'));

export const FakeProviderSchema = z
  .object({
    data: withRules(
      z.array(FakeProviderDataSchema).max(FakeLimits.data),
      [
        {
          rule: "self.all(x, self.exists_one(y, y.key == x.key && (has(y.version) ? y.version : '') == (has(x.version) ? x.version : '')))",
          message: 'spec.provider.fake.data must not repeat a key with the same version',
          holds: (data) => uniqueBy(data, (entry) => JSON.stringify([entry.key, entry.version ?? ''])),
        },
      ],
    )
      .default([])
      .describe('The remote secrets it serves.'),
    validationResult: z
      .int()
      .min(0)
      .max(2)
      .optional()
      .describe("What validating the store answers, as ESO's fake: 0 Ready (default), 1 Unknown, 2 Error — to test how ExternalSecrets treat a store that is not ready."),
  })
  .meta(typeMeta('FakeProvider', 'Serves the secrets listed in the store itself: for demos and for tests of your own manifests.'));

export const fakeProvider = {
  schema: FakeProviderSchema,
  description: 'A provider configured with its own data, for demos and tests.',
  // Values live in the spec: no identity, no endpoint, no file.
  tenancy: () => ({}),
} as const satisfies ProviderDefinition<typeof FakeProviderSchema>;
