// SecretStore (namespaced) and ClusterSecretStore (cluster-wide): how to reach one external secret manager.
// Each provider's schema is a file of its own, src/api/providers/<name>.ts, listed once in src/api/providers/index.ts;
// spec.provider is built from that list. A provider this build does not register makes the store report
// "provider X is not available in this version".
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
import { FakeLimits } from './providers/fake.ts';
import { SecretKeySelectorSchema as WebhookKeySelectorSchema } from './providers/kit.ts';
import { PROVIDER_NAMES, type ProviderName, providerSchemas } from './providers/index.ts';
import { matchingString, typeMeta, withRules } from './schema-helpers.ts';

// The providers' schemas, re-exported so that modules importing them from here keep working; new code imports
// them from ./providers/<name>.ts (a new provider needs no line here).
export * from './providers/alibaba.ts';
export * from './providers/aws.ts';
export * from './providers/azurekv.ts';
export * from './providers/fake.ts';
export * from './providers/gcpsm.ts';
export * from './providers/vault.ts';
export { SecretKeySelectorSchema } from './providers/kit.ts';
export { PROVIDER_NAMES };

export const SecretStoreLimits = {
  /** The fake provider's limits (FakeLimits, ./providers/fake.ts), under their former names. */
  fakeData: FakeLimits.data,
  fakeKey: FakeLimits.key,
  fakeVersion: FakeLimits.version,
  fakeValue: FakeLimits.value,
  clusterConditions: 32,
  namespaces: 256,
  namespaceRegexes: 32,
  namespaceRegex: 256,
} as const;

/** spec.provider: one optional key per provider of the list (./providers/index.ts), in its order. */
const providerFields = Object.fromEntries(
  PROVIDER_NAMES.map((name) => [name, providerSchemas[name].schema.optional().describe(providerSchemas[name].description)]),
) as { readonly [K in ProviderName]: z.ZodOptional<(typeof providerSchemas)[K]['schema']> };

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

/** The most of spec.retrySettings honoured within one sync: a store's author may be a tenant, and a worker waiting on one store's retries serves no one else. */
export const PROVIDER_RETRY_LIMITS = { maxRetries: 10, intervalMs: 30_000 } as const;

export const RetrySettingsSchema = z
  .object({
    maxRetries: z
      .int()
      .min(0)
      .max(2147483647)
      .optional()
      .describe('How often a provider call that failed transiently (not a refusal, not a missing secret) is retried within a sync; default 3 (0 for vault), at most 10 are made.'),
    retryInterval: durationString('spec.retrySettings.retryInterval').optional().describe('The wait between those retries, e.g. "10s"; default 1s, at least 1s, at most 30s.'),
  })
  .meta(typeMeta('SecretStoreRetrySettings', "ESO's retry settings for provider calls: retries within a sync, before a failure reaches the operator's own backoff (1 s doubling to 5 min)."));

const secretStoreSpecFields = {
  provider: SecretStoreProviderSchema,
  controller: z
    .string()
    .max(253)
    .optional()
    .describe('The controller class (as ESO): only the installation started with --controller-class of this name serves the store and the ExternalSecrets using it; empty: every installation.'),
  retrySettings: RetrySettingsSchema.optional(),
  changeWebhook: z
    .object({
      secretRef: WebhookKeySelectorSchema.describe(
        'The HMAC-SHA256 key senders sign with (at least 32 bytes). A SecretStore names a Secret of its own namespace; a ClusterSecretStore must name the namespace.',
      ),
    })
    .meta(typeMeta('StoreChangeWebhook', "Accept signed change notifications for this store on the operator's webhook listener (docs/change-feeds.md)."))
    .optional()
    .describe('Refresh on change through the signed webhook (CI pipelines, rotation functions, any provider): ExternalSecrets reading a named key refresh within seconds.'),
  refreshInterval: durationString('spec.refreshInterval')
    .default('5m')
    .describe('How often the store is validated again (its Ready condition), e.g. "5m"; "0" validates only on change.'),
};


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
        .describe('Namespaces allowed by regular expressions (Go RE2 syntax), matched anywhere in the name as in ESO: "team-a" also admits "not-team-a-prod"; anchor with ^…$ to match whole names (the store warns about an unanchored pattern).'),
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

export const SecretStoreSpecSchema = z
  .object({
    ...secretStoreSpecFields,
    conditions: z
      .array(ClusterSecretStoreConditionSchema)
      .max(SecretStoreLimits.clusterConditions)
      .optional()
      .describe('Namespace conditions; ESO has them on every store but they only mean something on a ClusterSecretStore, so a SecretStore ignores them (a warning).'),
  })
  .meta(typeMeta('SecretStoreSpec', 'How to reach the external secret manager.'));

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

export const StoreChangeFeedStatusSchema = z
  .object({
    source: z.string().max(32).describe('Where notifications come from: aws-sqs, vault-events, webhook …'),
    connected: z.boolean().describe('Whether the feed is subscribed now. False: rotations reach the cluster at refreshInterval (polling) until it reconnects.'),
    lastHeardTime: z.iso.datetime({ offset: true }).max(64).optional().describe('When the feed last delivered a notification or reconnected (written at most every 30 s).'),
    message: z.string().max(1024).optional().describe('Why the feed is not connected, and what to check.'),
  })
  .meta(typeMeta('StoreChangeFeedStatus', 'The state of one change feed of the store (docs/change-feeds.md).'));

export const SecretStoreStatusSchema = z
  .object({
    conditions: conditionsSchema('Ready, with a reason from StoreReason.'),
    changeFeeds: z.array(StoreChangeFeedStatusSchema).max(4).optional().describe('The change feeds of the store; a feed that cannot connect leaves Ready alone (polling still works) and says so here and in a Warning Event.'),
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
