// PushSecret and ClusterPushSecret: a Secret made in the cluster (or a generator's output) written to secret
// managers. ESO's field names (external-secrets.io/v1alpha1 PushSecret, ClusterPushSecret) where the concept is the
// same; status.syncedPushSecrets also keeps, per destination, a keyed HMAC of what was pushed, so a refresh that
// found nothing new writes nothing remotely.
import { z } from 'zod';
import { conditionsSchema, DNS_LABEL_PATTERN, DNS_SUBDOMAIN_PATTERN, durationString, LabelSelectorSchema, Limits, ObjectMetaSchema } from './common.ts';
import { GeneratorRefSchema, RewriteRegexpSchema, RewriteTransformSchema, StoreKindSchema, ExternalSecretLimits, ExternalSecretTemplateSchema } from './external-secret.ts';
import { API_GROUP_VERSION, Kind } from './meta.ts';
import { formatIssues, type ParseResult } from './parse.ts';
import { matchingString, nonEmptyString, typeMeta, withRules } from './schema-helpers.ts';
import type { ClusterPushSecret, PushSecret } from './types.generated.ts';

export const PushSecretLimits = {
  storeRefs: 16,
  data: 128,
  dataTo: 32,
  rewrite: 16,
  remoteKey: ExternalSecretLimits.remoteKey,
  property: ExternalSecretLimits.property,
  /** Entries of status.syncedPushSecrets (stores, and destinations per store). */
  syncedStores: 64,
  syncedEntries: 1024,
  namespaces: 1024,
  namespaceSelectors: 32,
  statusNamespaces: 10_000,
  failureReason: 1024,
} as const;

export const PushSecretStoreRefSchema = withRules(
  z
    .object({
      name: matchingString({ pattern: DNS_SUBDOMAIN_PATTERN, maxLength: Limits.name, message: 'spec.secretStoreRefs[].name must name a SecretStore or ClusterSecretStore' })
        .optional()
        .describe('The store of this name.'),
      labelSelector: LabelSelectorSchema.optional().describe('Or: every store of the kind whose labels match.'),
      kind: StoreKindSchema.default('SecretStore').describe("SecretStore (in the PushSecret's namespace) or ClusterSecretStore."),
    })
    .meta(typeMeta('PushSecretStoreRef', 'Stores to push to: one by name, or all matching a label selector.')),
  [
    {
      rule: '(has(self.name) ? 1 : 0) + (has(self.labelSelector) ? 1 : 0) == 1',
      message: 'spec.secretStoreRefs[] must set exactly one of name or labelSelector',
      holds: (ref) => (ref.name === undefined) !== (ref.labelSelector === undefined),
    },
  ],
);

export const PushSecretUpdatePolicySchema = z
  .enum(['Replace', 'IfNotExists'])
  .meta(typeMeta('PushSecretUpdatePolicy', 'Replace: keep the remote secret equal to the source. IfNotExists: create it once, never update it.'));

export const PushSecretDeletionPolicySchema = z
  .enum(['Delete', 'None'])
  .meta(typeMeta('PushSecretDeletionPolicy', 'Delete: remote secrets this PushSecret created go with it (and when a destination is dropped). None: they stay.'));

export const PushSecretConversionStrategySchema = z
  .enum(['None', 'ReverseUnicode'])
  .meta(typeMeta('PushSecretConversionStrategy', 'None: keys as they are. ReverseUnicode: "_U0024_"-style escapes in keys turned back into their characters.'));

export const PushSecretSecretSchema = withRules(
  z
    .object({
      name: matchingString({ pattern: DNS_SUBDOMAIN_PATTERN, maxLength: Limits.name, message: 'spec.selector.secret.name must be a Secret name' })
        .optional()
        .describe("The Secret, in the PushSecret's namespace."),
      selector: LabelSelectorSchema.optional().describe("Or: the Secrets of the PushSecret's namespace whose labels match (ESO field); each is pushed (at most 64), and two pushing to one remote key are refused."),
    })
    .meta(typeMeta('PushSecretSecret', 'The Secret whose data is pushed.')),
  [
    {
      rule: '(has(self.name) ? 1 : 0) + (has(self.selector) ? 1 : 0) == 1',
      message: 'spec.selector.secret must set exactly one of name or selector',
      holds: (secret) => (secret.name === undefined) !== (secret.selector === undefined),
    },
  ],
);

export const PushSecretSelectorSchema = withRules(
  z
    .object({
      secret: PushSecretSecretSchema.optional().describe('A Secret of the namespace.'),
      generatorRef: GeneratorRefSchema.optional().describe('Or: a generator (Password, SSHKey, UUID); its value is generated once and kept in a Secret named <pushsecret>-generated.'),
    })
    .meta(typeMeta('PushSecretSelector', 'Where the pushed data comes from.')),
  [
    {
      rule: '(has(self.secret) ? 1 : 0) + (has(self.generatorRef) ? 1 : 0) == 1',
      message: 'spec.selector must set exactly one of secret or generatorRef',
      holds: (selector) => (selector.secret === undefined) !== (selector.generatorRef === undefined),
    },
  ],
);

export const PushSecretRemoteRefSchema = z
  .object({
    remoteKey: nonEmptyString({ maxLength: PushSecretLimits.remoteKey, message: 'spec.data[].match.remoteRef.remoteKey must name the remote secret' }).describe(
      'Name of the remote secret (the store\'s prefix or mount applies).',
    ),
    property: z.string().max(PushSecretLimits.property).optional().describe('A field of the remote secret (a JSON object) to set; the other fields are kept.'),
  })
  .meta(typeMeta('PushSecretRemoteRef', 'Where a value goes in the store.'));

export const PushSecretMatchSchema = z
  .object({
    secretKey: z.string().max(ExternalSecretLimits.secretKey).optional().describe('The key of the Secret to push; left out, the whole Secret is pushed as a JSON object of its keys.'),
    remoteRef: PushSecretRemoteRefSchema.describe('Where it goes.'),
  })
  .meta(typeMeta('PushSecretMatch', 'A key of the Secret and where it goes.'));

const metadataField = () =>
  z
    .record(z.string(), z.unknown())
    .optional()
    .describe('Provider-specific metadata of the remote secret, as in ESO (apiVersion kubernetes.external-secrets.io/v1alpha1, kind PushSecretMetadata, spec: tags, labels, annotations …); see docs/push-secret.md.');

export const PushSecretDataSchema = z
  .object({
    match: PushSecretMatchSchema,
    metadata: metadataField(),
    conversionStrategy: PushSecretConversionStrategySchema.default('None').describe('How secretKey is read (ESO field).'),
  })
  .meta(typeMeta('PushSecretData', 'One value to push.'));

export const PushSecretRewriteSchema = withRules(
  z
    .object({
      regexp: RewriteRegexpSchema.optional(),
      transform: RewriteTransformSchema.optional(),
    })
    .meta(typeMeta('PushSecretRewrite', 'One renaming step from a Secret key to a remote key.')),
  [
    {
      rule: '(has(self.regexp) ? 1 : 0) + (has(self.transform) ? 1 : 0) == 1',
      message: 'spec.dataTo[].rewrite[] must set exactly one of regexp or transform',
      holds: (step) => (step.regexp === undefined) !== (step.transform === undefined),
    },
  ],
);

export const PushSecretDataToSchema = z
  .object({
    storeRef: PushSecretStoreRefSchema.optional().describe('The store these keys go to, by name (listed in spec.secretStoreRefs) or labels; required, as in ESO.'),
    remoteKey: z.string().max(PushSecretLimits.remoteKey).optional().describe('All matched keys bundled as one JSON remote secret of this name.'),
    match: z
      .object({ regexp: z.string().max(ExternalSecretLimits.regexp).optional().describe('Keys matching this regular expression; all keys when left out.') })
      .meta(typeMeta('PushSecretDataToMatch', 'Which keys of the Secret.'))
      .optional(),
    rewrite: z.array(PushSecretRewriteSchema).max(PushSecretLimits.rewrite).optional().describe('Renaming steps from key to remote key.'),
    metadata: metadataField(),
    conversionStrategy: PushSecretConversionStrategySchema.default('None'),
  })
  .meta(typeMeta('PushSecretDataTo', 'Many keys at once (ESO 2.x): each key matching match.regexp its own remote secret (renamed by rewrite), or all of them one JSON remote secret (remoteKey), in the stores storeRef selects.'));

export const PushSecretSpecSchema = withRules(
  z
    .object({
      refreshInterval: durationString('spec.refreshInterval').default('1h').describe('How often the source is read again and, when it changed, pushed; "0" pushes once.'),
      secretStoreRefs: z.array(PushSecretStoreRefSchema).min(1).max(PushSecretLimits.storeRefs).describe('The stores to push to.'),
      updatePolicy: PushSecretUpdatePolicySchema.default('Replace').describe('Replace (default) or IfNotExists.'),
      deletionPolicy: PushSecretDeletionPolicySchema.default('None').describe(
        'None (default): remote secrets stay when the PushSecret goes. Delete: those it created (marked as ours) are deleted with it, and when a destination is dropped.',
      ),
      selector: PushSecretSelectorSchema.describe('The source: a Secret or a generator.'),
      data: z.array(PushSecretDataSchema).max(PushSecretLimits.data).optional().describe('The values to push and where.'),
      dataTo: z.array(PushSecretDataToSchema).max(PushSecretLimits.dataTo).optional().describe('Bulk rules (ESO 2.x); a key spec.data names is pushed by spec.data only.'),
      template: ExternalSecretTemplateSchema.optional().describe("A template over each source Secret's data (liquid, as an ExternalSecret's target.template): the rendered keys are added over the Secret's own, then pushed."),
    })
    .meta(typeMeta('PushSecretSpec', 'What to push, from where, to which stores.')),
  [
    {
      rule: '(has(self.data) && size(self.data) > 0) || (has(self.dataTo) && size(self.dataTo) > 0)',
      fieldPath: '.data',
      message: 'spec.data must list at least one entry (or spec.dataTo one rule)',
      holds: (spec) => (spec.data?.length ?? 0) > 0 || (spec.dataTo?.length ?? 0) > 0,
    },
  ],
);

export const PushSecretSyncedEntrySchema = z
  .object({
    match: PushSecretMatchSchema,
    conversionStrategy: PushSecretConversionStrategySchema.optional(),
    hmac: z.string().max(128).optional().describe('A keyed HMAC of what was last pushed here (never the value); the same HMAC means nothing to push.'),
    created: z.boolean().optional().describe('True when this PushSecret created (or adopted) the remote secret: only then may deletionPolicy Delete remove it.'),
  })
  .meta(typeMeta('PushSecretSyncedEntry', 'One destination pushed to.'));

export const PushSecretStatusSchema = z
  .object({
    refreshTime: z.iso.datetime({ offset: true }).max(64).optional().describe('When the source was last read and pushed (RFC 3339).'),
    syncedResourceVersion: z.string().max(256).optional().describe('The PushSecret generation last pushed.'),
    syncedPushSecrets: z
      .record(z.string().max(512), z.record(z.string().max(2200), PushSecretSyncedEntrySchema).meta({ maxProperties: PushSecretLimits.syncedEntries }))
      .meta({ maxProperties: PushSecretLimits.syncedStores })
      .optional()
      .describe('Per store ("SecretStore/name"), the remote keys ("key" or "key/property") pushed to.'),
    conditions: conditionsSchema('Ready, with a reason from PushSecretReason.'),
  })
  .meta(typeMeta('PushSecretStatus', 'What was pushed where.'));

export const PushSecretSchema = z
  .object({
    apiVersion: z.literal(API_GROUP_VERSION),
    kind: z.literal(Kind.PushSecret),
    metadata: ObjectMetaSchema,
    spec: PushSecretSpecSchema,
    status: PushSecretStatusSchema.optional(),
  })
  .meta(typeMeta('PushSecret', 'A PushSecret writes a Secret of its namespace (or a generated value) to secret managers through SecretStores, never overwriting a remote secret it did not create.'));

export const ClusterPushSecretSpecSchema = z
  .object({
    pushSecretSpec: PushSecretSpecSchema.describe('The spec of the PushSecret created in each selected namespace.'),
    pushSecretName: matchingString({ pattern: DNS_SUBDOMAIN_PATTERN, maxLength: Limits.name, message: 'spec.pushSecretName must be a valid object name' })
      .optional()
      .describe("Name of the PushSecrets created (default: the ClusterPushSecret's name)."),
    pushSecretMetadata: z
      .object({
        labels: z.record(z.string().max(Limits.name), z.string().max(4096)).optional(),
        annotations: z.record(z.string().max(Limits.name), z.string().max(4096)).optional(),
      })
      .meta(typeMeta('PushSecretMetadata', 'Labels and annotations of the PushSecrets created.'))
      .optional(),
    namespaceSelectors: z.array(LabelSelectorSchema).max(PushSecretLimits.namespaceSelectors).optional().describe('Namespaces whose labels match any of these get the PushSecret.'),
    namespaces: z
      .array(matchingString({ pattern: DNS_LABEL_PATTERN, maxLength: 63, message: 'spec.namespaces[] must be namespace names' }))
      .max(PushSecretLimits.namespaces)
      .optional()
      .describe('Namespaces chosen by name, besides those the selectors choose.'),
    refreshTime: durationString('spec.refreshTime').default('1m').describe('How often the namespaces are evaluated again (default 1m).'),
  })
  .meta(typeMeta('ClusterPushSecretSpec', 'Which PushSecret to create, and in which namespaces.'));

export const ClusterPushSecretStatusSchema = z
  .object({
    pushSecretName: z.string().max(Limits.name).optional(),
    provisionedNamespaces: z.array(z.string().max(63)).max(PushSecretLimits.statusNamespaces).optional(),
    failedNamespaces: z
      .array(
        z
          .object({ namespace: z.string().max(63), reason: z.string().max(PushSecretLimits.failureReason).optional() })
          .meta(typeMeta('ClusterPushSecretNamespaceFailure', 'A selected namespace whose PushSecret could not be written.')),
      )
      .max(PushSecretLimits.statusNamespaces)
      .optional(),
    conditions: conditionsSchema('Ready, with a reason from ClusterExternalSecretReason.'),
  })
  .meta(typeMeta('ClusterPushSecretStatus', 'Where the PushSecret was created and where it failed.'));

export const ClusterPushSecretSchema = z
  .object({
    apiVersion: z.literal(API_GROUP_VERSION),
    kind: z.literal(Kind.ClusterPushSecret),
    metadata: ObjectMetaSchema,
    spec: ClusterPushSecretSpecSchema,
    status: ClusterPushSecretStatusSchema.optional(),
  })
  .meta(typeMeta('ClusterPushSecret', 'A ClusterPushSecret creates the same PushSecret in every namespace it selects.'));

/** ESO fields accepted for compatibility that this version does not act on: each makes the PushSecret Ready=False. */
/** ESO fields of a PushSecret that secret-relay accepts but does not act on: none left (kept for migrate and the reconciler). */
export function pushSecretCompat(_spec: PushSecret['spec']): string[] {
  return [];
}

const pushSecretSchema: z.ZodType<PushSecret> = PushSecretSchema;
const clusterPushSecretSchema: z.ZodType<ClusterPushSecret> = ClusterPushSecretSchema;

function parse<T>(schema: z.ZodType<T>, kind: string, obj: unknown): ParseResult<T> {
  const result = schema.safeParse(obj, { error: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'required' : undefined) });
  if (result.success) return { ok: true, value: result.data };
  const meta = (obj as { metadata?: { namespace?: string; name?: string } } | undefined)?.metadata;
  const where = meta?.namespace ? `${meta.namespace}/${meta.name ?? ''}` : (meta?.name ?? '');
  return { ok: false, error: `${kind} ${where} is invalid: ${formatIssues(result.error.issues)}` };
}

export const parsePushSecret = (obj: unknown): ParseResult<PushSecret> => parse(pushSecretSchema, 'PushSecret', obj);
export const parseClusterPushSecret = (obj: unknown): ParseResult<ClusterPushSecret> => parse(clusterPushSecretSchema, 'ClusterPushSecret', obj);

/** The name of the PushSecrets a ClusterPushSecret creates. */
export function clusterPushSecretChildName(cps: { readonly metadata: { readonly name: string }; readonly spec: { readonly pushSecretName?: string | undefined } }): string {
  return cps.spec.pushSecretName ?? cps.metadata.name;
}

