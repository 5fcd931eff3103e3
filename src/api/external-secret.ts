// ExternalSecret: which remote values to fetch, from which store, into which Secret. Field names follow ESO's
// external-secrets.io/v1. Each spec object is built from a `…Fields` shape, so adding a field (target.template,
// dataFrom) is one entry there plus, where it changes a rule, that rule.
import { z } from 'zod';
import {
  conditionsSchema,
  DNS_SUBDOMAIN_PATTERN,
  durationString,
  Limits,
  ObjectMetaSchema,
} from './common.ts';
import { API_GROUP_VERSION, Kind } from './meta.ts';
import { matchingString, nonEmptyString, typeMeta, uniqueBy, withRules } from './schema-helpers.ts';

export const ExternalSecretLimits = {
  /** Entries of spec.data. The uniqueness rule is quadratic; 256² comparisons stay well inside the CEL cost budget. */
  data: 256,
  secretKey: 253,
  remoteKey: 1024,
  property: 1024,
  version: 256,
} as const;

export const StoreKindSchema = z
  .enum(['SecretStore', 'ClusterSecretStore'])
  .meta(typeMeta('StoreKind', 'The kind of store an ExternalSecret refers to.'));

export const SecretStoreRefSchema = z
  .object({
    name: nonEmptyString({ maxLength: Limits.name, message: 'spec.secretStoreRef.name must name a SecretStore or ClusterSecretStore' })
      .describe('Name of the store.'),
    kind: StoreKindSchema.default('SecretStore').describe(
      'SecretStore (in the ExternalSecret\'s namespace) or ClusterSecretStore.',
    ),
  })
  .meta(typeMeta('SecretStoreRef', 'The store to fetch from.'));

export const RefreshPolicySchema = z
  .enum(['Periodic', 'OnChange', 'CreatedOnce'])
  .meta(typeMeta('RefreshPolicy', 'When an ExternalSecret fetches its remote values again.'));

export const CreationPolicySchema = z
  .enum(['Owner', 'Orphan', 'Merge', 'None'])
  .meta(typeMeta('CreationPolicy', 'Whether and how the target Secret is created, and who owns it.'));

export const DeletionPolicySchema = z
  .enum(['Retain', 'Delete', 'Merge'])
  .meta(typeMeta('DeletionPolicy', 'What happens to the target Secret when the remote secret is gone.'));

export const DecodingStrategySchema = z
  .enum(['None', 'Base64', 'Base64URL', 'Auto'])
  .meta(typeMeta('DecodingStrategy', 'How a fetched value is decoded before it is written.'));

const targetFields = {
  name: matchingString({
    pattern: DNS_SUBDOMAIN_PATTERN,
    maxLength: Limits.name,
    message:
      "spec.target.name must be a DNS subdomain name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
  })
    .optional()
    .describe('Name of the Secret to write. Defaults to the name of the ExternalSecret.'),
  creationPolicy: CreationPolicySchema.default('Owner').describe(
    'Owner: create the Secret and own it (deleted with the ExternalSecret). Orphan: create it, do not own it. ' +
      'Merge: only merge keys into an existing Secret. None: never write a Secret.',
  ),
  deletionPolicy: DeletionPolicySchema.default('Retain').describe(
    'What happens when the remote secret is gone. Retain: keep the Secret as it is. ' +
      'Delete: delete the Secret (requires creationPolicy Owner). Merge: remove only the keys secret-relay wrote.',
  ),
  immutable: z.boolean().default(false).describe('Write the Secret as immutable; a change of data then recreates it.'),
};

export const ExternalSecretTargetSchema = withRules(
  z.object(targetFields).meta(typeMeta('ExternalSecretTarget', 'The Secret secret-relay writes.')),
  [
    {
      rule: "!has(self.deletionPolicy) || self.deletionPolicy != 'Delete' || !has(self.creationPolicy) || self.creationPolicy == 'Owner'",
      fieldPath: '.deletionPolicy',
      message:
        'spec.target.deletionPolicy Delete only deletes Secrets secret-relay owns; set creationPolicy: Owner or deletionPolicy: Retain',
      holds: (target) => target.deletionPolicy !== 'Delete' || target.creationPolicy === 'Owner',
    },
    {
      rule: "!has(self.deletionPolicy) || self.deletionPolicy != 'Merge' || !has(self.creationPolicy) || self.creationPolicy != 'None'",
      fieldPath: '.deletionPolicy',
      message:
        'spec.target.deletionPolicy Merge cannot be used with creationPolicy: None, which never writes the Secret; set deletionPolicy: Retain or another creationPolicy',
      holds: (target) => !(target.deletionPolicy === 'Merge' && target.creationPolicy === 'None'),
    },
    {
      rule: "!has(self.immutable) || !self.immutable || !has(self.creationPolicy) || self.creationPolicy != 'None'",
      fieldPath: '.immutable',
      message:
        'spec.target.immutable has no effect with creationPolicy: None, which never writes the Secret; remove immutable or choose another creationPolicy',
      holds: (target) => !(target.immutable && target.creationPolicy === 'None'),
    },
  ],
);

export const ExternalSecretDataRemoteRefSchema = z
  .object({
    key: nonEmptyString({
      maxLength: ExternalSecretLimits.remoteKey,
      message: 'spec.data[].remoteRef.key must name the remote secret; it cannot be empty',
    }).describe('Key (name or path) of the secret in the external store.'),
    property: z
      .string()
      .max(ExternalSecretLimits.property)
      .optional()
      .describe('A property of a structured (JSON) remote secret to take instead of the whole value; dots reach nested fields.'),
    version: z
      .string()
      .max(ExternalSecretLimits.version)
      .optional()
      .describe('Version of the remote secret; the latest when absent.'),
    decodingStrategy: DecodingStrategySchema.default('None').describe(
      'How to decode the fetched value before writing it: None, Base64, Base64URL, or Auto (decode when it is valid base64).',
    ),
  })
  .meta(typeMeta('ExternalSecretDataRemoteRef', 'Which remote value to fetch.'));

export const ExternalSecretDataSchema = z
  .object({
    secretKey: matchingString({
      pattern: '^[-._a-zA-Z0-9]+$',
      maxLength: ExternalSecretLimits.secretKey,
      message: "spec.data[].secretKey must be a Secret key: letters, digits, '-', '_' and '.' only",
    }).describe('The key in the target Secret.'),
    remoteRef: ExternalSecretDataRemoteRefSchema,
  })
  .meta(typeMeta('ExternalSecretData', 'One key of the target Secret and the remote value it holds.'));

const externalSecretSpecFields = {
  secretStoreRef: SecretStoreRefSchema,
  refreshInterval: durationString('spec.refreshInterval')
    .default('1h')
    .describe('How often to fetch again, e.g. "1h", "15m30s"; "0" fetches once.'),
  refreshPolicy: RefreshPolicySchema.default('Periodic').describe(
    'Periodic: fetch every refreshInterval. OnChange: fetch when the spec changes. CreatedOnce: fetch once, when the Secret is created.',
  ),
  target: ExternalSecretTargetSchema.prefault({}).describe(
    'The Secret to write; defaults to one named after the ExternalSecret, owned by it.',
  ),
  data: z
    .array(ExternalSecretDataSchema)
    .max(ExternalSecretLimits.data)
    .default([])
    .describe('The keys of the target Secret and where each comes from.'),
};

export const ExternalSecretSpecSchema = withRules(
  z.object(externalSecretSpecFields).meta(typeMeta('ExternalSecretSpec', 'What to fetch and where to write it.')),
  [
    {
      rule: 'has(self.data) && size(self.data) > 0',
      fieldPath: '.data',
      message: 'spec.data must list at least one entry',
      holds: (spec) => spec.data.length > 0,
    },
    {
      rule: '!has(self.data) || self.data.all(x, self.data.exists_one(y, y.secretKey == x.secretKey))',
      fieldPath: '.data',
      message: 'spec.data must not repeat a secretKey; each key of the Secret comes from one entry',
      holds: (spec) => uniqueBy(spec.data, (entry) => entry.secretKey),
    },
  ],
);

export const LocalObjectReferenceSchema = z
  .object({ name: z.string().max(Limits.name).describe('Name of the object.') })
  .meta(typeMeta('LocalObjectReference', 'A reference to an object in the same namespace.'));

export const ExternalSecretStatusSchema = z
  .object({
    conditions: conditionsSchema('Ready, with a reason from ExternalSecretReason.'),
    refreshTime: z.iso
      .datetime({ offset: true })
      .max(64)
      .optional()
      .describe('When the remote values were last fetched successfully (RFC 3339).'),
    syncedResourceVersion: z
      .string()
      .max(256)
      .optional()
      .describe('An opaque marker of the ExternalSecret generation the Secret was last synced for; the operator compares it to tell whether the spec changed since.'),
    binding: LocalObjectReferenceSchema.optional().describe(
      'The Secret this ExternalSecret currently manages; after spec.target.name changes it names the old Secret until that is cleaned up.',
    ),
  })
  .meta(typeMeta('ExternalSecretStatus', 'What the operator observed and did.'));

export const ExternalSecretSchema = z
  .object({
    apiVersion: z.literal(API_GROUP_VERSION),
    kind: z.literal(Kind.ExternalSecret),
    metadata: ObjectMetaSchema,
    spec: ExternalSecretSpecSchema,
    status: ExternalSecretStatusSchema.optional(),
  })
  .meta(typeMeta('ExternalSecret', 'An ExternalSecret keeps a Kubernetes Secret in sync with values held in an external secret manager, read through a SecretStore or ClusterSecretStore.'));

/** The name of the Secret an ExternalSecret writes: spec.target.name, else the ExternalSecret's own name. */
export function targetSecretName(es: { readonly metadata: { readonly name: string }; readonly spec: { readonly target: { readonly name?: string | undefined } } }): string {
  return es.spec.target.name ?? es.metadata.name;
}
