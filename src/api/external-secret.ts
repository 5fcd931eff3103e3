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
import { RolloutSpecSchema, RolloutStatusSchema, RolloutTargetsSchema } from './rollout.ts';

export const ExternalSecretLimits = {
  /** Entries of spec.data. The uniqueness rule is quadratic; 256² comparisons stay well inside the CEL cost budget. */
  data: 256,
  secretKey: 253,
  remoteKey: 1024,
  property: 1024,
  version: 256,
  /** Entries of spec.dataFrom. */
  dataFrom: 64,
  /** Steps of one dataFrom[].rewrite. */
  rewrite: 32,
  regexp: 1024,
  findTags: 64,
  tag: 256,
  /** Keys of target.template.data and of template metadata maps. */
  templateKeys: 256,
  /** A template's text; the whole object is bounded by etcd's 1.5 MiB anyway. */
  template: 256 * 1024,
  templateFrom: 32,
  templateItems: 64,
  /** Label/annotation keys: an optional DNS-subdomain prefix, '/', and a name of at most 63 characters. */
  metadataKey: 317,
  secretType: 253,
} as const;

/**
 * A field ESO has and secret-relay accepts without acting on it yet: its content is kept as written (any shape), and
 * the ExternalSecret reports it as not supported (src/api/eso-compat.ts) instead of the apiserver refusing it.
 */
export function notSupportedYet(what: string) {
  return z.object({}).loose().optional().describe(`${what} Accepted for ESO compatibility; not supported by secret-relay yet: an ExternalSecret using it reports Ready=False naming the field.`);
}

export const NullBytePolicySchema = z
  .enum(['Ignore', 'Fail'])
  .meta(typeMeta('NullBytePolicy', 'What a fetched value holding a NUL byte does: Ignore (kept, the default) or Fail (the ExternalSecret fails naming the key).'));

/** What a key of a Secret's data may look like (as the apiserver checks it). */
export const SECRET_KEY_PATTERN = '^[-._a-zA-Z0-9]+$';

/**
 * Secret types the apiserver fills with, or accepts as, credentials: the token controller writes a non-expiring token
 * of any ServiceAccount a kubernetes.io/service-account-token Secret names, and the bootstrap authenticator accepts a
 * bootstrap.kubernetes.io/token. secret-relay never writes either (the incumbent's CVE-2026-42876).
 */
export const CREDENTIAL_SECRET_TYPES = ['kubernetes.io/service-account-token', 'bootstrap.kubernetes.io/token'] as const;
export const CREDENTIAL_SECRET_TYPE_MESSAGE =
  'secret-relay never writes Secrets of type kubernetes.io/service-account-token or bootstrap.kubernetes.io/token: the apiserver would fill them with, or accept them as, credentials; use Opaque or another type';


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
  .enum(['Owner', 'Orphan', 'Merge', 'None', 'CreateOrMerge'])
  .meta(typeMeta('CreationPolicy', 'Whether and how the target Secret is created, and who owns it.'));

export const DeletionPolicySchema = z
  .enum(['Retain', 'Delete', 'Merge'])
  .meta(typeMeta('DeletionPolicy', 'What happens to the target Secret when the remote secret is gone.'));

export const DecodingStrategySchema = z
  .enum(['None', 'Base64', 'Base64URL', 'Auto'])
  .meta(typeMeta('DecodingStrategy', 'How a fetched value is decoded before it is written.'));

export const MetadataPolicySchema = z
  .enum(['None', 'Fetch'])
  .meta(typeMeta('ExternalSecretMetadataPolicy', "Whether a remote ref reads the secret's value (None) or its metadata (Fetch)."));

export const ConversionStrategySchema = z
  .enum(['Default', 'Unicode'])
  .meta(
    typeMeta(
      'ConversionStrategy',
      'How dataFrom turns remote names into Secret keys when no rewrite is given. Default: each character a Secret key cannot hold becomes "_". ' +
        'Unicode: it becomes "_U" + its 4-digit hex code point + "_".',
    ),
  );

export const MergePolicySchema = z
  .enum(['Replace', 'Merge'])
  .meta(typeMeta('TemplateMergePolicy', 'Whether a template replaces the fetched data or is merged over it.'));

export const TemplateScopeSchema = z
  .enum(['Values', 'KeysAndValues'])
  .meta(
    typeMeta(
      'TemplateScope',
      'Values: the item is one template, rendered under its own key. KeysAndValues: the item renders a YAML map of keys to values.',
    ),
  );

export const TemplateTargetSchema = z
  .enum(['Data', 'Labels', 'Annotations'])
  .meta(typeMeta('TemplateTarget', 'Where the rendered keys go: the Secret\'s data, labels or annotations.'));

/** A map of template texts; `what` names it in messages. */
function templateMap(what: string, keyRule?: { rule: string; message: string; pattern: RegExp }) {
  const map = z
    .record(z.string().max(ExternalSecretLimits.metadataKey), z.string().max(ExternalSecretLimits.template))
    .meta({ maxProperties: ExternalSecretLimits.templateKeys });
  if (!keyRule) return map.optional().describe(what);
  return withRules(map, [
    { rule: keyRule.rule, message: keyRule.message, holds: (value) => Object.keys(value).every((key) => keyRule.pattern.test(key)) },
  ])
    .optional()
    .describe(what);
}

export const TemplateRefItemSchema = z
  .object({
    key: nonEmptyString({ maxLength: ExternalSecretLimits.secretKey, message: 'templateFrom[].items[].key must name a key of the ConfigMap or Secret' })
      .describe('The key of the ConfigMap or Secret that holds the template.'),
    templateAs: TemplateScopeSchema.default('Values').describe(
      'Values: render the template under the same key. KeysAndValues: the template renders a YAML map of keys to values.',
    ),
  })
  .meta(typeMeta('TemplateRefItem', 'One template held in a ConfigMap or Secret.'));

export const TemplateRefSchema = z
  .object({
    name: matchingString({
      pattern: DNS_SUBDOMAIN_PATTERN,
      maxLength: Limits.name,
      message: 'templateFrom[].configMap.name and templateFrom[].secret.name must be object names (DNS subdomains)',
    }).describe("Name of the ConfigMap or Secret, in the ExternalSecret's namespace."),
    items: z
      .array(TemplateRefItemSchema)
      .min(1)
      .max(ExternalSecretLimits.templateItems)
      .describe('The keys holding templates.'),
  })
  .meta(typeMeta('TemplateRef', "Templates held in a ConfigMap or Secret of the ExternalSecret's namespace."));

export const TemplateFromSchema = withRules(
  z
    .object({
      configMap: TemplateRefSchema.optional().describe("Templates in a ConfigMap of the ExternalSecret's namespace."),
      secret: TemplateRefSchema.optional().describe("Templates in a Secret of the ExternalSecret's namespace."),
      literal: z
        .string()
        .max(ExternalSecretLimits.template)
        .optional()
        .describe('A template written here that renders a YAML map of keys to values.'),
      target: TemplateTargetSchema.default('Data').describe('Where the rendered keys go: Data (default), Labels or Annotations.'),
      valuesDecodingStrategy: DecodingStrategySchema.optional().describe(
        'How values of a Secret templateFrom source are decoded (ESO field). Only None is supported; others report Ready=False.',
      ),
    })
    .meta(typeMeta('TemplateFrom', 'Templates kept outside the ExternalSecret, or a literal that renders many keys.')),
  [
    {
      rule: "(has(self.configMap) ? 1 : 0) + (has(self.secret) ? 1 : 0) + (has(self.literal) ? 1 : 0) == 1",
      message: 'spec.target.template.templateFrom[] must set exactly one of configMap, secret or literal',
      holds: (entry) => [entry.configMap, entry.secret, entry.literal].filter((x) => x !== undefined).length === 1,
    },
  ],
);

export const ExternalSecretTemplateMetadataSchema = z
  .object({
    labels: templateMap('Labels of the Secret; each value is a template.'),
    annotations: templateMap('Annotations of the Secret; each value is a template.'),
    finalizers: z
      .array(z.string().max(ExternalSecretLimits.metadataKey))
      .max(ExternalSecretLimits.templateKeys)
      .optional()
      .describe('Finalizers for the Secret (ESO field). Not supported by secret-relay yet: an ExternalSecret using it reports Ready=False.'),
  })
  .meta(typeMeta('ExternalSecretTemplateMetadata', 'Labels and annotations of the Secret, rendered as templates.'));

export const ExternalSecretTemplateSchema = z
  .object({
    type: withRules(z.string().max(ExternalSecretLimits.secretType), [
      {
        rule: CREDENTIAL_SECRET_TYPES.map((type) => `self != '${type}'`).join(' && '),
        message: `spec.target.template.type: ${CREDENTIAL_SECRET_TYPE_MESSAGE}`,
        holds: (type) => !(CREDENTIAL_SECRET_TYPES as readonly string[]).includes(type),
      },
    ])
      .optional()
      .describe('The type of the Secret: Opaque (default), kubernetes.io/tls, kubernetes.io/dockerconfigjson, …'),
    metadata: ExternalSecretTemplateMetadataSchema.optional(),
    data: templateMap('Keys of the Secret and the liquid template each renders, e.g. {"url": "postgres://{{ user }}:{{ password }}@db"}.', {
      rule: `self.all(k, k.matches('${SECRET_KEY_PATTERN}'))`,
      message: "spec.target.template.data keys must be Secret keys: letters, digits, '-', '_' and '.' only",
      pattern: new RegExp(SECRET_KEY_PATTERN),
    }),
    engineVersion: z
      .enum(['v1', 'v2'])
      .optional()
      .describe(
        "ESO's Go-template engine version. secret-relay templates are Liquid; an ExternalSecret naming an engineVersion reports Ready=False until its templates are translated and the field removed (docs/eso-differences.md).",
      ),
    mergePolicy: MergePolicySchema.default('Replace').describe(
      'Replace (default): the Secret holds what the templates render. Merge: the fetched keys too, with rendered keys over them.',
    ),
    templateFrom: z
      .array(TemplateFromSchema)
      .max(ExternalSecretLimits.templateFrom)
      .optional()
      .describe('Templates held in ConfigMaps, Secrets or literals.'),
  })
  .meta(
    typeMeta(
      'ExternalSecretTemplate',
      'Shapes the Secret from the fetched values with liquid templates: its type, labels, annotations and data.',
    ),
  );

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
      'Both leave an existing Secret they did not create untouched unless the ExternalSecret is annotated secret-relay.dev/adopt: "true". ' +
      'Merge: only merge keys into an existing Secret. CreateOrMerge: create the Secret when missing, else merge keys into it; never owned. ' +
      'None: never write a Secret.',
  ),
  deletionPolicy: DeletionPolicySchema.default('Retain').describe(
    'What happens when the remote secret is gone. Retain: keep the Secret as it is. ' +
      'Delete: delete the Secret (requires creationPolicy Owner). Merge: remove only the keys secret-relay wrote.',
  ),
  immutable: z.boolean().default(false).describe('Write the Secret as immutable; a change of data then recreates it.'),
  manifest: notSupportedYet('A non-Secret target kind (ESO: apiVersion and kind of a generic target).'),
  template: ExternalSecretTemplateSchema.optional().describe(
    'Shapes the Secret with templates; without one, each fetched key is written as it is.',
  ),
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
    metadataPolicy: MetadataPolicySchema.default('None').describe(
      "None: the secret's value. Fetch: its metadata instead (Vault KV v2: custom_metadata), as a JSON object property can pick from.",
    ),
    conversionStrategy: ConversionStrategySchema.optional().describe('Accepted for ESO compatibility; a spec.data entry names its key itself (secretKey), so it has no effect, as in ESO.'),
    nullBytePolicy: NullBytePolicySchema.optional().describe('Ignore (default): a NUL byte in the value is kept. Fail: the ExternalSecret fails naming the key.'),
  })
  .meta(typeMeta('ExternalSecretDataRemoteRef', 'Which remote value to fetch.'));

export const ExternalSecretDataSchema = z
  .object({
    secretKey: matchingString({
      pattern: SECRET_KEY_PATTERN,
      maxLength: ExternalSecretLimits.secretKey,
      message: "spec.data[].secretKey must be a Secret key: letters, digits, '-', '_' and '.' only",
    }).describe('The key in the target Secret.'),
    remoteRef: ExternalSecretDataRemoteRefSchema,
    sourceRef: z
      .object({
        storeRef: SecretStoreRefSchema.optional().describe('The store this entry reads from instead of spec.secretStoreRef (as ESO).'),
        generatorRef: notSupportedYet('ESO field, not implemented by ESO in data[] either (deprecated there): use dataFrom[].sourceRef.generatorRef.'),
      })
      .meta(typeMeta('StoreSourceRef', 'Where one data entry comes from when it is not spec.secretStoreRef.'))
      .optional(),
  })
  .meta(typeMeta('ExternalSecretData', 'One key of the target Secret and the remote value it holds.'));

export const ExternalSecretExtractSchema = z
  .object({
    key: nonEmptyString({
      maxLength: ExternalSecretLimits.remoteKey,
      message: 'spec.dataFrom[].extract.key must name the remote secret; it cannot be empty',
    }).describe('Key (name or path) of a remote secret holding a JSON object; each field becomes a key of the Secret.'),
    property: z
      .string()
      .max(ExternalSecretLimits.property)
      .optional()
      .describe('A nested object of the JSON value to split instead of the whole value; dots reach nested fields.'),
    version: z.string().max(ExternalSecretLimits.version).optional().describe('Version of the remote secret; the latest when absent.'),
    decodingStrategy: DecodingStrategySchema.default('None').describe('How to decode each field value: None, Base64, Base64URL or Auto.'),
    metadataPolicy: MetadataPolicySchema.default('None').describe("None: the secret's value. Fetch: its metadata instead (Vault KV v2: custom_metadata), split into keys."),
    nullBytePolicy: NullBytePolicySchema.optional().describe('Ignore (default) or Fail on a value holding a NUL byte.'),
    conversionStrategy: ConversionStrategySchema.default('Default').describe(
      'How field names become Secret keys when no rewrite is given: Default or Unicode.',
    ),
  })
  .meta(typeMeta('ExternalSecretExtract', 'One remote JSON object, split into one key per field (nested values as JSON).'));

export const FindNameSchema = z
  .object({
    regexp: nonEmptyString({
      maxLength: ExternalSecretLimits.regexp,
      message: 'spec.dataFrom[].find.name.regexp must not be empty',
    }).describe('A regular expression the remote name must match (unanchored).'),
  })
  .meta(typeMeta('FindName', 'Selects remote secrets by name.'));

export const ExternalSecretFindSchema = withRules(
  z
    .object({
      name: FindNameSchema.optional(),
      tags: z
        .record(z.string().max(ExternalSecretLimits.tag), z.string().max(ExternalSecretLimits.tag))
        .meta({ maxProperties: ExternalSecretLimits.findTags })
        .optional()
        .describe('Tags every selected remote secret must carry, with these values.'),
      path: z
        .string()
        .max(ExternalSecretLimits.remoteKey)
        .optional()
        .describe('A path (prefix) under which to search.'),
      decodingStrategy: DecodingStrategySchema.default('None').describe('How to decode each value: None, Base64, Base64URL or Auto.'),
      nullBytePolicy: NullBytePolicySchema.optional().describe('Ignore (default) or Fail on a value holding a NUL byte.'),
      conversionStrategy: ConversionStrategySchema.default('Default').describe(
        'How remote names become Secret keys when no rewrite is given: Default or Unicode.',
      ),
    })
    .meta(typeMeta('ExternalSecretFind', 'Selects many remote secrets; each becomes one key of the Secret, named after it.')),
  [
    {
      rule: 'has(self.name) || has(self.path) || (has(self.tags) && size(self.tags) > 0)',
      message: "spec.dataFrom[].find must select by name.regexp, tags or path: an empty find would copy every secret the store can read into the Secret (to mean that, write name: {regexp: '.*'})",
      holds: (find) => find.name !== undefined || find.path !== undefined || Object.keys(find.tags ?? {}).length > 0,
    },
  ],
);

export const RewriteRegexpSchema = z
  .object({
    source: nonEmptyString({
      maxLength: ExternalSecretLimits.regexp,
      message: 'spec.dataFrom[].rewrite[].regexp.source must not be empty',
    }).describe('A regular expression; every match in a key is replaced.'),
    target: z
      .string()
      .max(ExternalSecretLimits.regexp)
      .describe('The replacement; $1, ${1} or ${name} insert a captured group.'),
  })
  .meta(typeMeta('RewriteRegexp', 'Renames keys by regular expression.'));

export const RewriteTransformSchema = z
  .object({
    template: nonEmptyString({
      maxLength: ExternalSecretLimits.regexp,
      message: 'spec.dataFrom[].rewrite[].transform.template must not be empty',
    }).describe('A liquid template rendering the new key from `value`, the current key, e.g. "{{ value | upcase }}".'),
  })
  .meta(typeMeta('RewriteTransform', 'Renames keys with a template.'));

export const RewriteMergeSchema = withRules(
  z
    .object({
      into: z
        .string()
        .max(ExternalSecretLimits.secretKey)
        .optional()
        .describe('The key the merged JSON object is written to, beside the other keys; needed by strategy JSON, ignored otherwise.'),
      priority: z
        .array(z.string().max(ExternalSecretLimits.secretKey))
        .max(ExternalSecretLimits.dataFrom)
        .optional()
        .describe('Keys merged last, in this order, so their fields win a conflict; the others are merged first in alphabetical order.'),
      priorityPolicy: z
        .enum(['Strict', 'IgnoreNotFound'])
        .optional()
        .describe('Strict (default): a priority key that is not in the input fails the merge. IgnoreNotFound: it is skipped.'),
      conflictPolicy: z
        .enum(['Error', 'Ignore'])
        .optional()
        .describe('Error (default): a field found in two keys fails the merge. Ignore: the later key (by the order above) wins.'),
      strategy: z
        .enum(['Extract', 'JSON'])
        .optional()
        .describe('Extract (default): the fields of every JSON value become the keys. JSON: they are merged into one JSON object written under `into`.'),
    })
    .meta(typeMeta('RewriteMerge', "ESO's merge rewrite: every value is a JSON object, and their fields are merged into one.")),
  [
    {
      rule: "!has(self.strategy) || self.strategy != 'JSON' || (has(self.into) && self.into != '')",
      message: 'spec.dataFrom[].rewrite[].merge with strategy JSON needs into, the key to write the merged object to (ESO fails every sync without it)',
      holds: (merge) => merge.strategy !== 'JSON' || (merge.into ?? '') !== '',
    },
  ],
);

export const ExternalSecretRewriteSchema = withRules(
  z
    .object({
      regexp: RewriteRegexpSchema.optional(),
      transform: RewriteTransformSchema.optional(),
      merge: RewriteMergeSchema.optional(),
    })
    .meta(typeMeta('ExternalSecretRewrite', 'One renaming step applied to the keys of a dataFrom source.')),
  [
    {
      rule: '(has(self.regexp) ? 1 : 0) + (has(self.transform) ? 1 : 0) + (has(self.merge) ? 1 : 0) == 1',
      message: 'spec.dataFrom[].rewrite[] must set exactly one of regexp, transform or merge',
      holds: (step) => [step.regexp, step.transform, step.merge].filter((x) => x !== undefined).length === 1,
    },
  ],
);

/** The apiVersion of generator kinds (same group as every other secret-relay kind). */
export const GENERATOR_API_VERSION = API_GROUP_VERSION;

export const GeneratorRefSchema = z
  .object({
    apiVersion: z
      .enum([GENERATOR_API_VERSION])
      .default(GENERATOR_API_VERSION)
      .describe(`The generator's apiVersion: ${GENERATOR_API_VERSION}.`),
    kind: z
      .enum(['VaultDynamicSecret', 'Password', 'SSHKey', 'UUID'])
      .meta(typeMeta('GeneratorKind', 'A kind that generates values instead of reading them.'))
      .describe('The generator kind: VaultDynamicSecret, Password, SSHKey or UUID.'),
    name: matchingString({
      pattern: DNS_SUBDOMAIN_PATTERN,
      maxLength: Limits.name,
      message: 'spec.dataFrom[].sourceRef.generatorRef.name must be an object name (DNS subdomain)',
    }).describe("Name of the generator, in the ExternalSecret's namespace."),
  })
  .meta(typeMeta('GeneratorRef', "A generator in the ExternalSecret's namespace."));

export const ExternalSecretSourceRefSchema = z
  .object({
    generatorRef: GeneratorRefSchema.optional().describe('The generator whose output becomes keys of the Secret.'),
    storeRef: SecretStoreRefSchema.optional().describe('The store this entry (extract or find) reads from instead of spec.secretStoreRef (as ESO).'),
  })
  .meta(typeMeta('ExternalSecretSourceRef', 'Where a dataFrom entry comes from when it is not the store: a generator.'));

export const ExternalSecretDataFromSchema = withRules(
  z
    .object({
      extract: ExternalSecretExtractSchema.optional(),
      find: ExternalSecretFindSchema.optional(),
      sourceRef: ExternalSecretSourceRefSchema.optional().describe(
        'A generator (VaultDynamicSecret) producing the keys, e.g. short-lived database credentials; its lease is renewed, and revoked when replaced or when the ExternalSecret is deleted.',
      ),
      rewrite: z
        .array(ExternalSecretRewriteSchema)
        .max(ExternalSecretLimits.rewrite)
        .optional()
        .describe('Renaming steps applied in order to the keys this source produces.'),
    })
    .meta(typeMeta('ExternalSecretDataFrom', 'Many keys at once: the fields of one remote JSON object, or every remote secret found.')),
  [
    {
      rule:
        '(has(self.extract) ? 1 : 0) + (has(self.find) ? 1 : 0) + (has(self.sourceRef) && has(self.sourceRef.generatorRef) ? 1 : 0) == 1',
      message: 'spec.dataFrom[] must set exactly one of extract, find or sourceRef.generatorRef',
      holds: (entry) => [entry.extract, entry.find, entry.sourceRef?.generatorRef].filter((x) => x !== undefined).length === 1,
    },
    {
      rule: '!has(self.sourceRef) || ((has(self.sourceRef.generatorRef) ? 1 : 0) + (has(self.sourceRef.storeRef) ? 1 : 0) == 1)',
      message: 'spec.dataFrom[].sourceRef must set exactly one of generatorRef or storeRef',
      holds: (entry) => entry.sourceRef === undefined || (entry.sourceRef.generatorRef === undefined) !== (entry.sourceRef.storeRef === undefined),
    },
  ],
);

const externalSecretSpecFields = {
  secretStoreRef: SecretStoreRefSchema.optional().describe('The store to fetch from. Optional when every data and dataFrom entry names its own sourceRef.storeRef (or generatorRef).'),
  syncWindows: notSupportedYet('Time windows in which syncing is allowed or denied (ESO: kind and windows of schedule/duration).'),
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
  dataFrom: z
    .array(ExternalSecretDataFromSchema)
    .max(ExternalSecretLimits.dataFrom)
    .optional()
    .describe('Sources of many keys at once: extract splits a remote JSON object, find selects remote secrets by name, tags or path, sourceRef.generatorRef generates them (VaultDynamicSecret).'),
  rollout: RolloutSpecSchema.optional().describe('Rolling out the workloads that use the Secret when its data changes (docs/rollouts.md); off when absent.'),
  rolloutRestartTargets: RolloutTargetsSchema.optional().describe(
    'Workloads of this namespace rolled out when the Secret\'s data changes, whatever they read of it (Vault Secrets Operator\'s field).',
  ),
};

export const ExternalSecretSpecSchema = withRules(
  z.object(externalSecretSpecFields).meta(typeMeta('ExternalSecretSpec', 'What to fetch and where to write it.')),
  [
    {
      rule:
        '(has(self.data) && size(self.data) > 0) || (has(self.dataFrom) && size(self.dataFrom) > 0) || (has(self.target) && has(self.target.template))',
      fieldPath: '.data',
      message: 'spec.data must list at least one entry, or spec.dataFrom one source, or spec.target.template a template',
      holds: (spec) => spec.data.length > 0 || (spec.dataFrom?.length ?? 0) > 0 || spec.target.template !== undefined,
    },
    {
      rule: '!has(self.data) || self.data.all(x, self.data.exists_one(y, y.secretKey == x.secretKey))',
      fieldPath: '.data',
      message: 'spec.data must not repeat a secretKey; each key of the Secret comes from one entry (a repeated one would silently drop one of the values)',
      holds: (spec) => uniqueBy(spec.data, (entry) => entry.secretKey),
    },
  ],
);

export const LocalObjectReferenceSchema = z
  .object({ name: z.string().max(Limits.name).describe('Name of the object.') })
  .meta(typeMeta('LocalObjectReference', 'A reference to an object in the same namespace.'));

export const GeneratorLeaseSchema = z
  .object({
    source: z.int().min(0).describe('The index in spec.dataFrom of the generator entry that issued the lease.'),
    kind: z.string().max(64).describe('The generator kind.'),
    name: z.string().max(Limits.name).describe('The generator name.'),
    leaseId: z.string().max(2048).describe('The lease ID (not a credential: it cannot read anything).'),
    renewable: z.boolean().describe('Whether the lease can be renewed.'),
    leaseDurationSeconds: z.int().min(0).describe('The TTL granted at issue or at the last renewal.'),
    issueTime: z.iso.datetime({ offset: true }).max(64).describe('When the credentials were issued.'),
    renewTime: z.iso.datetime({ offset: true }).max(64).optional().describe('When the lease was last renewed.'),
    expireTime: z.iso.datetime({ offset: true }).max(64).describe('When the lease ends unless renewed.'),
    maxExpireTime: z.iso
      .datetime({ offset: true })
      .max(64)
      .optional()
      .describe('When the lease ends for good (its max TTL), once a renewal came back capped; new credentials are issued before then.'),
  })
  .meta(typeMeta('GeneratorLease', 'A lease on generated credentials held by the target Secret; never the credentials themselves.'));

export const RetiredLeaseSchema = GeneratorLeaseSchema.extend({
  retireTime: z.iso.datetime({ offset: true }).max(64).describe('When new credentials replaced it (the Secret stopped holding it).'),
  revokeAttempts: z.int().min(0).describe('Failed revocations so far; given up (with a Warning Event) after a bounded number, or once the lease has expired.'),
  nextRevokeTime: z.iso.datetime({ offset: true }).max(64).optional().describe('When the revocation is tried again after a failure.'),
}).meta(typeMeta('RetiredLease', 'A lease whose credentials the Secret no longer holds, to be revoked; never the credentials themselves.'));

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
    leases: z
      .array(GeneratorLeaseSchema)
      .max(ExternalSecretLimits.dataFrom)
      .optional()
      .describe('Leases of the generated credentials the Secret holds (dataFrom[].sourceRef.generatorRef): renewed, and revoked when replaced or when this ExternalSecret is deleted.'),
    retiredLeases: z
      .array(RetiredLeaseSchema)
      .max(ExternalSecretLimits.dataFrom)
      .optional()
      .describe('Leases of replaced generated credentials still to revoke: retried at the next reconciles until revoked, expired, or given up with a Warning Event.'),
    binding: LocalObjectReferenceSchema.optional().describe(
      'The Secret this ExternalSecret currently manages; after spec.target.name changes it names the old Secret until that is cleaned up.',
    ),
    rollout: RolloutStatusSchema.optional().describe('The last rollout of workloads this ExternalSecret\'s Secret caused.'),
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
