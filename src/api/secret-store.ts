// SecretStore (namespaced) and ClusterSecretStore (cluster-wide): how to reach one external secret manager.
// Only the fake provider has a schema yet; each other provider is a placeholder that keeps whatever the user
// wrote (the store controller reports "provider X is not available in this version") until its issue replaces
// the placeholder with a schema — one entry in `providerFields`.
import { z } from 'zod';
import {
  conditionsSchema,
  DNS_LABEL_PATTERN,
  durationString,
  LabelSelectorSchema,
  Limits,
  ObjectMetaSchema,
} from './common.ts';
import { API_GROUP_VERSION, Kind } from './meta.ts';
import { matchingString, nonEmptyString, typeMeta, uniqueBy, withRules } from './schema-helpers.ts';

export const SecretStoreLimits = {
  /** Entries of spec.provider.fake.data; the uniqueness rule is quadratic in it. */
  fakeData: 256,
  fakeKey: 256,
  fakeVersion: 64,
  /** A Secret holds at most 1 MiB. */
  fakeValue: 1024 * 1024,
  clusterConditions: 32,
  namespaces: 256,
  namespaceRegexes: 32,
  namespaceRegex: 256,
} as const;

/** The keys of spec.provider, in the order messages list them. */
export const PROVIDER_NAMES = ['aws', 'gcpsm', 'azurekv', 'alibaba', 'vault', 'fake'] as const;

export const FakeProviderDataSchema = z
  .object({
    key: nonEmptyString({
      maxLength: SecretStoreLimits.fakeKey,
      message: 'spec.provider.fake.data[].key must not be empty',
    }).describe('The remote key an ExternalSecret asks for (remoteRef.key).'),
    value: z
      .string()
      .max(SecretStoreLimits.fakeValue)
      .describe('The value returned for the key; a JSON object here lets remoteRef.property pick a field.'),
    version: z
      .string()
      .max(SecretStoreLimits.fakeVersion)
      .optional()
      .describe('The version this value is returned for (remoteRef.version); an entry without one is the latest.'),
  })
  .meta(typeMeta('FakeProviderData', 'One remote secret served by the fake provider.'));

export const FakeProviderSchema = z
  .object({
    data: withRules(
      z.array(FakeProviderDataSchema).max(SecretStoreLimits.fakeData),
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
  })
  .meta(typeMeta('FakeProvider', 'Serves the secrets listed in the store itself: for demos and for tests of your own manifests.'));

/** A provider whose schema arrives with its own issue: any fields are kept, the store controller reports it unavailable. */
function placeholderProvider(title: string) {
  return z
    .object({})
    .loose()
    .optional()
    .describe(`${title}. Not available in this version: a store using it reports Ready=False (ProviderNotAvailable).`);
}

const providerFields = {
  aws: placeholderProvider('AWS Secrets Manager or Parameter Store'),
  gcpsm: placeholderProvider('Google Cloud Secret Manager'),
  azurekv: placeholderProvider('Azure Key Vault'),
  alibaba: placeholderProvider('Alibaba Cloud KMS Secrets Manager'),
  vault: placeholderProvider('HashiCorp Vault or OpenBao'),
  fake: FakeProviderSchema.optional().describe('A provider configured with its own data, for demos and tests.'),
};

const exactlyOneProviderRule = PROVIDER_NAMES.map((name) => `(has(self.${name}) ? 1 : 0)`).join(' + ') + ' == 1';

export const SecretStoreProviderSchema = withRules(
  z.object(providerFields).meta(typeMeta('SecretStoreProvider', 'The secret manager this store reads from: exactly one key.')),
  [
    {
      rule: exactlyOneProviderRule,
      message: `spec.provider must set exactly one of ${PROVIDER_NAMES.join(', ')}`,
      holds: (provider) => PROVIDER_NAMES.filter((name) => provider[name] !== undefined).length === 1,
    },
  ],
);

const secretStoreSpecFields = {
  provider: SecretStoreProviderSchema,
  refreshInterval: durationString('spec.refreshInterval')
    .default('5m')
    .describe('How often the store is validated again (its Ready condition), e.g. "5m"; "0" validates only on change.'),
};

export const SecretStoreSpecSchema = z.object(secretStoreSpecFields).meta(typeMeta('SecretStoreSpec', 'How to reach the external secret manager.'));

export const ClusterSecretStoreConditionSchema = withRules(
  z
    .object({
      namespaces: z
        .array(
          matchingString({
            pattern: DNS_LABEL_PATTERN,
            maxLength: Limits.namespace,
            message: 'spec.conditions[].namespaces must hold namespace names (DNS labels)',
          }),
        )
        .max(SecretStoreLimits.namespaces)
        .optional()
        .describe('Namespaces allowed by name.'),
      namespaceSelector: LabelSelectorSchema.optional().describe('Namespaces allowed by their labels.'),
      namespaceRegexes: z
        .array(z.string().max(SecretStoreLimits.namespaceRegex))
        .max(SecretStoreLimits.namespaceRegexes)
        .optional()
        .describe('Namespaces allowed by regular expressions (RE2, matched against the whole name).'),
    })
    .meta(typeMeta('ClusterSecretStoreCondition', 'Namespaces whose ExternalSecrets may use the store; a namespace matching any field is allowed.')),
  [
    {
      rule: '(has(self.namespaces) && size(self.namespaces) > 0) || has(self.namespaceSelector) || (has(self.namespaceRegexes) && size(self.namespaceRegexes) > 0)',
      message: 'each entry of spec.conditions must set namespaces, namespaceSelector or namespaceRegexes',
      holds: (condition) =>
        (condition.namespaces?.length ?? 0) > 0 ||
        condition.namespaceSelector !== undefined ||
        (condition.namespaceRegexes?.length ?? 0) > 0,
    },
  ],
);

export const ClusterSecretStoreSpecSchema = z
  .object({
    ...secretStoreSpecFields,
    conditions: z
      .array(ClusterSecretStoreConditionSchema)
      .max(SecretStoreLimits.clusterConditions)
      .default([])
      .describe(
        'Which namespaces may use the store; a namespace allowed by any entry may. Empty: every namespace.',
      ),
  })
  .meta(typeMeta('ClusterSecretStoreSpec', 'How to reach the external secret manager, and which namespaces may use it.'));

export const StoreCapabilitiesSchema = z
  .enum(['ReadOnly', 'WriteOnly', 'ReadWrite'])
  .meta(typeMeta('StoreCapabilities', 'What a store can do: read secrets, write them (push), or both.'));

export const SecretStoreStatusSchema = z
  .object({
    conditions: conditionsSchema('Ready, with a reason from StoreReason.'),
    capabilities: StoreCapabilitiesSchema.optional().describe('What the store can do; every provider here is ReadOnly.'),
  })
  .meta(typeMeta('SecretStoreStatus', 'The outcome of the last validation.'));

export const SecretStoreSchema = z
  .object({
    apiVersion: z.literal(API_GROUP_VERSION),
    kind: z.literal(Kind.SecretStore),
    metadata: ObjectMetaSchema,
    spec: SecretStoreSpecSchema,
    status: SecretStoreStatusSchema.optional(),
  })
  .meta(typeMeta('SecretStore', 'A SecretStore says how to reach an external secret manager; ExternalSecrets of its own namespace read through it.'));

export const ClusterSecretStoreSchema = z
  .object({
    apiVersion: z.literal(API_GROUP_VERSION),
    kind: z.literal(Kind.ClusterSecretStore),
    metadata: ObjectMetaSchema,
    spec: ClusterSecretStoreSpecSchema,
    status: SecretStoreStatusSchema.optional(),
  })
  .meta(typeMeta('ClusterSecretStore', 'A ClusterSecretStore is a SecretStore for the whole cluster; spec.conditions limit the namespaces whose ExternalSecrets may use it.'));
