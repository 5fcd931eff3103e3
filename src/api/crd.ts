// Builds the CustomResourceDefinitions from the zod schemas. Pure: generate.ts writes the result.
// z.toJSONSchema gives OpenAPI 3.0; a CRD needs a *structural* schema, so the output is reshaped here and anything
// a CRD cannot hold (anyOf, const, …) fails generation instead of reaching the apiserver.
import { z } from 'zod';
import { ClusterExternalSecretSchema } from './cluster-external-secret.ts';
import { ExternalSecretSchema } from './external-secret.ts';
import { API_GROUP, API_VERSION, CATEGORY, Kind, type KindName, Plural, ShortName } from './meta.ts';
import { TYPE_DOC_META, TYPE_NAME_META } from './schema-helpers.ts';
import { ClusterSecretStoreSchema, SecretStoreSchema } from './secret-store.ts';
import { VaultDynamicSecretSchema } from './vault-dynamic-secret.ts';
import { ClusterPushSecretSchema, PushSecretSchema } from './push-secret.ts';
import { PasswordSchema, SSHKeySchema, UUIDSchema } from './generators.ts';

export type JsonSchema = { [key: string]: unknown };

interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'date' | 'integer' | 'boolean';
  readonly jsonPath: string;
  readonly description?: string;
}

export interface KindDefinition {
  readonly kind: KindName;
  readonly plural: string;
  readonly shortName: string;
  readonly scope: 'Namespaced' | 'Cluster';
  readonly schema: z.ZodType;
  readonly printerColumns: readonly PrinterColumn[];
}

const readyReason = '.status.conditions[?(@.type=="Ready")].reason';
const readyStatus = '.status.conditions[?(@.type=="Ready")].status';
const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
const storeColumns: readonly PrinterColumn[] = [
  age,
  { name: 'Status', type: 'string', jsonPath: readyReason },
  { name: 'Ready', type: 'string', jsonPath: readyStatus },
];

/** `kubectl get es` and `kubectl get ces`: the store, how often, and whether it is Ready and why. */
function externalSecretColumns(storePath: string, refreshPath: string): readonly PrinterColumn[] {
  return [
    { name: 'Store', type: 'string', jsonPath: storePath },
    { name: 'Refresh Interval', type: 'string', jsonPath: refreshPath },
    { name: 'Status', type: 'string', jsonPath: readyReason },
    { name: 'Ready', type: 'string', jsonPath: readyStatus },
    age,
  ];
}

export const KIND_DEFINITIONS: readonly KindDefinition[] = [
  {
    kind: Kind.ExternalSecret,
    plural: Plural.ExternalSecret,
    shortName: ShortName.ExternalSecret,
    scope: 'Namespaced',
    schema: ExternalSecretSchema,
    printerColumns: externalSecretColumns('.spec.secretStoreRef.name', '.spec.refreshInterval'),
  },
  {
    kind: Kind.SecretStore,
    plural: Plural.SecretStore,
    shortName: ShortName.SecretStore,
    scope: 'Namespaced',
    schema: SecretStoreSchema,
    printerColumns: storeColumns,
  },
  {
    kind: Kind.ClusterSecretStore,
    plural: Plural.ClusterSecretStore,
    shortName: ShortName.ClusterSecretStore,
    scope: 'Cluster',
    schema: ClusterSecretStoreSchema,
    printerColumns: storeColumns,
  },
  {
    kind: Kind.VaultDynamicSecret,
    plural: Plural.VaultDynamicSecret,
    shortName: ShortName.VaultDynamicSecret,
    scope: 'Namespaced',
    schema: VaultDynamicSecretSchema,
    printerColumns: [{ name: 'Path', type: 'string', jsonPath: '.spec.path' }, age],
  },
  {
    kind: Kind.ClusterExternalSecret,
    plural: Plural.ClusterExternalSecret,
    shortName: ShortName.ClusterExternalSecret,
    scope: 'Cluster',
    schema: ClusterExternalSecretSchema,
    printerColumns: externalSecretColumns('.spec.externalSecretSpec.secretStoreRef.name', '.spec.refreshTime'),
  },
  {
    kind: Kind.PushSecret,
    plural: Plural.PushSecret,
    shortName: ShortName.PushSecret,
    scope: 'Namespaced',
    schema: PushSecretSchema,
    printerColumns: [
      { name: 'Refresh Interval', type: 'string', jsonPath: '.spec.refreshInterval' },
      { name: 'Status', type: 'string', jsonPath: readyReason },
      { name: 'Ready', type: 'string', jsonPath: readyStatus },
      age,
    ],
  },
  {
    kind: Kind.ClusterPushSecret,
    plural: Plural.ClusterPushSecret,
    shortName: ShortName.ClusterPushSecret,
    scope: 'Cluster',
    schema: ClusterPushSecretSchema,
    printerColumns: [{ name: 'Status', type: 'string', jsonPath: readyReason }, { name: 'Ready', type: 'string', jsonPath: readyStatus }, age],
  },
  { kind: Kind.Password, plural: Plural.Password, shortName: ShortName.Password, scope: 'Namespaced', schema: PasswordSchema, printerColumns: [age] },
  { kind: Kind.SSHKey, plural: Plural.SSHKey, shortName: ShortName.SSHKey, scope: 'Namespaced', schema: SSHKeySchema, printerColumns: [{ name: 'Type', type: 'string', jsonPath: '.spec.keyType' }, age] },
  { kind: Kind.UUID, plural: Plural.UUID, shortName: ShortName.UUID, scope: 'Namespaced', schema: UUIDSchema, printerColumns: [age] },
];

/** Keywords a structural schema cannot hold; generation fails on them rather than emit a CRD the apiserver rejects. */
const UNSUPPORTED = ['anyOf', 'oneOf', 'not', 'const', 'nullable', 'patternProperties', 'if', 'then', 'else'];
/** Keywords that carry no meaning for the apiserver. */
const DROPPED = ['$schema', 'id', '$id', 'propertyNames', TYPE_NAME_META, TYPE_DOC_META];
/** Keys in the order a reader of the YAML expects them; anything else (x-kubernetes-*) follows. */
const KEY_ORDER = [
  'description', 'type', 'format', 'default', 'enum', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern',
  'minItems', 'maxItems', 'required', 'properties', 'additionalProperties', 'items',
];

function ordered(node: JsonSchema): JsonSchema {
  const rank = (key: string) => (KEY_ORDER.includes(key) ? KEY_ORDER.indexOf(key) : KEY_ORDER.length);
  return Object.fromEntries(Object.entries(node).sort(([a], [b]) => rank(a) - rank(b)));
}

function isObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function resolveRef(ref: string, definitions: JsonSchema): JsonSchema {
  const name = ref.replace(/^#\/(\$defs|definitions|components\/schemas)\//, '');
  const target = definitions[name];
  if (!isObject(target)) throw new Error(`cannot inline ${ref}: no such definition`);
  return target;
}

/**
 * Reshapes one JSON-schema node (and its children) into a structural-schema node:
 * refs inlined, `additionalProperties: false` and empty `properties` dropped (a CRD may not combine the former with properties),
 * an open object (`additionalProperties: {}`) becomes `x-kubernetes-preserve-unknown-fields`,
 * JavaScript's safe-integer bounds become `format: int64`, and zod's JavaScript date-time pattern is dropped
 * (`format: date-time` is checked by the apiserver).
 */
export function toStructural(node: JsonSchema, definitions: JsonSchema = {}, path = ''): JsonSchema {
  let source: JsonSchema = { ...node };
  if (typeof source['$ref'] === 'string') {
    const { $ref, ...rest } = source;
    source = { ...resolveRef($ref as string, definitions), ...rest };
  }
  if (Array.isArray(source['allOf'])) {
    const { allOf, ...rest } = source;
    if (allOf.length !== 1 || !isObject(allOf[0])) throw new Error(`${path || '/'}: allOf with ${allOf.length} parts is not structural`);
    source = { ...toStructural(allOf[0], definitions, path), ...rest };
  }
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(source)) {
    if (UNSUPPORTED.includes(key)) throw new Error(`${path || '/'}: "${key}" cannot appear in a structural CRD schema`);
    if (DROPPED.includes(key) || key === 'definitions' || key === '$defs') continue;
    if (key === 'properties' && isObject(value)) {
      const properties: JsonSchema = {};
      for (const [name, child] of Object.entries(value)) {
        if (!isObject(child)) throw new Error(`${path}/${name}: not a schema`);
        properties[name] = toStructural(child, definitions, `${path}/${name}`);
      }
      out['properties'] = properties;
    } else if (key === 'items' && isObject(value)) {
      out['items'] = toStructural(value, definitions, `${path}[]`);
    } else if (key === 'additionalProperties') {
      if (value === false) continue;
      if (value === true || (isObject(value) && Object.keys(value).length === 0)) {
        out['x-kubernetes-preserve-unknown-fields'] = true;
      } else if (isObject(value)) {
        out['additionalProperties'] = toStructural(value, definitions, `${path}/*`);
      }
    } else if (key === 'required' && Array.isArray(value) && value.length === 0) {
      continue;
    } else {
      out[key] = value;
    }
  }
  // An empty map is what the apiserver drops when it stores the CRD (Go's omitempty): kept, the file would differ from
  // the stored CRD, and a second server-side applier of the same file would conflict on spec.versions.
  if (isObject(out['properties']) && Object.keys(out['properties']).length === 0) delete out['properties'];
  if (out['type'] === 'integer') {
    if (out['maximum'] === Number.MAX_SAFE_INTEGER) delete out['maximum'];
    if (out['minimum'] === Number.MIN_SAFE_INTEGER) delete out['minimum'];
    out['format'] ??= 'int64';
  }
  if (out['format'] === 'date-time') delete out['pattern'];
  return ordered(out);
}

/** A default as a reader of a description writes it: strings bare, anything else as JSON. */
function defaultText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Without its default a field may be absent, and CEL reading an absent field fails with "no such key": every rule
 * that reads a defaulted field must ask has() first (and treat absence as the default).
 */
function assertRulesReadDefaultsSafely(node: JsonSchema, path: string): void {
  const rules = Array.isArray(node['x-kubernetes-validations']) ? (node['x-kubernetes-validations'] as { rule: string }[]) : [];
  const properties = isObject(node['properties']) ? node['properties'] : {};
  for (const { rule } of rules) {
    for (const [, field] of rule.matchAll(/\bself\.([A-Za-z0-9_]+)/g)) {
      const property = properties[field!];
      if (isObject(property) && 'default' in property && !rule.includes(`has(self.${field})`)) {
        throw new Error(`${path}: the rule "${rule}" reads ${field}, which may be absent (its default is not stored); guard it with has(self.${field})`);
      }
    }
  }
}

/**
 * The spec schema without `default`: the apiserver would write each default into the stored object, so what a user
 * applied (and keeps in Git) would differ from what they read back — Argo CD and Flux then report drift forever
 * (ESO 2.9 removed its spec defaults for the same reason). The operator applies the same defaults when it parses an
 * object (the zod schemas keep them), and each field's description says its default.
 */
export function withoutDefaults(node: JsonSchema, path = 'spec'): JsonSchema {
  assertRulesReadDefaultsSafely(node, path);
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'default') continue;
    if (key === 'properties' && isObject(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [name, isObject(child) ? withoutDefaults(child, `${path}.${name}`) : child]),
      );
    } else if ((key === 'items' || key === 'additionalProperties') && isObject(value)) {
      out[key] = withoutDefaults(value, `${path}[]`);
    } else {
      out[key] = value;
    }
  }
  if ('default' in node) {
    const said = typeof node['description'] === 'string' ? node['description'] : '';
    const isEmptyContainer = isObject(node['default']) || Array.isArray(node['default']);
    if (!/\bdefault/.test(said) && !isEmptyContainer) {
      out['description'] = `${said}${said === '' || said.endsWith('.') ? '' : '.'}${said === '' ? '' : ' '}Default: ${defaultText(node['default'])}.`;
    }
  }
  return ordered(out);
}

/** The openAPIV3Schema of a kind: spec and status from zod; apiVersion, kind and metadata as the apiserver expects. */
export function openApiSchemaOf(definition: KindDefinition): JsonSchema {
  const json = z.toJSONSchema(definition.schema, { target: 'openapi-3.0', io: 'input' }) as JsonSchema;
  const definitions = { ...(isObject(json['definitions']) ? json['definitions'] : {}), ...(isObject(json['$defs']) ? json['$defs'] : {}) };
  const structural = toStructural(json, definitions);
  const properties = structural['properties'] as JsonSchema;
  return {
    description: structural['description'],
    type: 'object',
    required: ['spec'],
    properties: {
      apiVersion: {
        description: 'APIVersion defines the versioned schema of this representation of an object.',
        type: 'string',
      },
      kind: {
        description: 'Kind is a string value representing the REST resource this object represents.',
        type: 'string',
      },
      metadata: { type: 'object' },
      spec: withoutDefaults(properties['spec'] as JsonSchema),
      status: properties['status'],
    },
  };
}

export function buildCrd(definition: KindDefinition): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${definition.plural}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      names: {
        kind: definition.kind,
        listKind: `${definition.kind}List`,
        plural: definition.plural,
        singular: definition.kind.toLowerCase(),
        shortNames: [definition.shortName],
        categories: [CATEGORY],
      },
      scope: definition.scope,
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: definition.printerColumns,
          schema: { openAPIV3Schema: openApiSchemaOf(definition) },
        },
      ],
    },
  };
}
