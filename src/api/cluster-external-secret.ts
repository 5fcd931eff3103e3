// ClusterExternalSecret: one declaration, an ExternalSecret in every selected namespace. ESO's field names
// (external-secrets.io/v1 ClusterExternalSecret); externalSecretSpec is the ExternalSecret spec itself, so the
// apiserver refuses a bad one with the same CEL messages as an ExternalSecret.
import { z } from 'zod';
import { conditionsSchema, DNS_LABEL_PATTERN, DNS_SUBDOMAIN_PATTERN, durationString, LabelSelectorSchema, Limits, ObjectMetaSchema } from './common.ts';
import { ExternalSecretSpecSchema } from './external-secret.ts';
import { API_GROUP_VERSION, Kind } from './meta.ts';
import { matchingString, typeMeta } from './schema-helpers.ts';

export const ClusterExternalSecretLimits = {
  namespaceSelectors: 32,
  namespaces: 1024,
  metadataEntries: 64,
  /** Status lists: the namespaces of the cluster, bounded so the status stays well under etcd's object size. */
  statusNamespaces: 10_000,
  failureReason: 1024,
} as const;

const stringMap = (what: string) =>
  z.record(z.string().max(Limits.name), z.string().max(4096)).meta({ maxProperties: ClusterExternalSecretLimits.metadataEntries }).optional().describe(what);

export const ExternalSecretMetadataSchema = z
  .object({
    labels: stringMap('Labels of every ExternalSecret created.'),
    annotations: stringMap('Annotations of every ExternalSecret created.'),
  })
  .meta(typeMeta('ExternalSecretMetadata', 'Labels and annotations given to the ExternalSecrets a ClusterExternalSecret creates.'));

export const ClusterExternalSecretSpecSchema = z
  .object({
    externalSecretSpec: ExternalSecretSpecSchema.describe('The spec of the ExternalSecret created in each selected namespace.'),
    externalSecretName: matchingString({
      pattern: DNS_SUBDOMAIN_PATTERN,
      maxLength: Limits.name,
      message: 'spec.externalSecretName must be a valid object name (lowercase letters, digits, - and .)',
    })
      .optional()
      .describe("Name of the ExternalSecrets created (default: the ClusterExternalSecret's name)."),
    externalSecretMetadata: ExternalSecretMetadataSchema.optional().describe('Labels and annotations of the ExternalSecrets created.'),
    namespaceSelector: LabelSelectorSchema.optional().describe('Deprecated (as in ESO): use namespaceSelectors. Namespaces whose labels match.'),
    namespaceSelectors: z
      .array(LabelSelectorSchema)
      .max(ClusterExternalSecretLimits.namespaceSelectors)
      .optional()
      .describe('Namespaces whose labels match any of these selectors get the ExternalSecret.'),
    namespaces: z
      .array(
        matchingString({ pattern: DNS_LABEL_PATTERN, maxLength: 63, message: 'spec.namespaces[] must be namespace names' }),
      )
      .max(ClusterExternalSecretLimits.namespaces)
      .optional()
      .describe('Namespaces chosen by name, in addition to those the selectors choose.'),
    refreshTime: durationString('spec.refreshTime')
      .default('1m')
      .describe('How often the set of namespaces is evaluated again, besides at once on every namespace change (default 1m).'),
  })
  .meta(typeMeta('ClusterExternalSecretSpec', 'Which ExternalSecret to create, and in which namespaces.'));

export const ClusterExternalSecretNamespaceFailureSchema = z
  .object({
    namespace: z.string().max(63).describe('The namespace.'),
    reason: z.string().max(ClusterExternalSecretLimits.failureReason).optional().describe('Why its ExternalSecret could not be created or updated.'),
  })
  .meta(typeMeta('ClusterExternalSecretNamespaceFailure', 'A selected namespace whose ExternalSecret could not be written.'));

export const ClusterExternalSecretStatusSchema = z
  .object({
    externalSecretName: z.string().max(Limits.name).optional().describe('The name of the ExternalSecrets created.'),
    provisionedNamespaces: z
      .array(z.string().max(63))
      .max(ClusterExternalSecretLimits.statusNamespaces)
      .optional()
      .describe('The namespaces that hold an ExternalSecret of this ClusterExternalSecret.'),
    failedNamespaces: z
      .array(ClusterExternalSecretNamespaceFailureSchema)
      .max(ClusterExternalSecretLimits.statusNamespaces)
      .optional()
      .describe('Selected namespaces whose ExternalSecret could not be written, with the reason.'),
    conditions: conditionsSchema('Ready, with a reason from ClusterExternalSecretReason.'),
  })
  .meta(typeMeta('ClusterExternalSecretStatus', 'What the operator created and where it failed.'));

export const ClusterExternalSecretSchema = z
  .object({
    apiVersion: z.literal(API_GROUP_VERSION),
    kind: z.literal(Kind.ClusterExternalSecret),
    metadata: ObjectMetaSchema,
    spec: ClusterExternalSecretSpecSchema,
    status: ClusterExternalSecretStatusSchema.optional(),
  })
  .meta(
    typeMeta(
      'ClusterExternalSecret',
      'A ClusterExternalSecret creates the same ExternalSecret in every namespace it selects, and removes it from namespaces that stop matching.',
    ),
  );

/** The name of the ExternalSecrets a ClusterExternalSecret creates. */
export function clusterExternalSecretChildName(ces: { readonly metadata: { readonly name: string }; readonly spec: { readonly externalSecretName?: string | undefined } }): string {
  return ces.spec.externalSecretName ?? ces.metadata.name;
}
