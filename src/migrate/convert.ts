// ESO manifests (external-secrets.io/v1 and v1beta1, generators.external-secrets.io VaultDynamicSecret) →
// secret-relay.dev/v1alpha1. Pure: file texts in, converted texts and a per-document report out; the CLI
// (cli.ts) does the reading and writing. Documents are edited in place in yaml's document model, so comments,
// key order, scalar styles and document order survive; a document that cannot be converted exactly is kept as
// it was and reported as refused, with the file, the line and why.
import { isMap, isScalar, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { ADOPT_ANNOTATION, API_GROUP_VERSION, PROVIDER_NAMES } from '../api/meta.ts';
import { providerSchemas } from '../api/providers/index.ts';
import type { TenancyDeclaration } from '../api/providers/kit.ts';
import { parseClusterExternalSecret, parseClusterSecretStore, parseExternalSecret, parseSecretStore } from '../api/parse.ts';
import { parseVaultDynamicSecret } from '../api/vault-dynamic-secret.ts';
import { externalSecretCompat, storeCompat } from '../api/eso-compat.ts';
import type { ParseResult } from '../api/parse.ts';
import { createTemplateEngine, type TemplateEngine } from '../templates/engine.ts';
import { TemplateError } from '../templates/errors.ts';
import { translateGoTemplate } from './go-template.ts';
import { parseClusterPushSecret, parsePushSecret, pushSecretCompat } from '../api/push-secret.ts';
import { parsePassword, parseSSHKey, parseUUID } from '../api/generators.ts';
import type { ClusterPushSecret, PushSecret } from '../api/types.generated.ts';
import { convertGeneratorRef, convertPushSecret, LOCAL_GENERATOR_KINDS, PUSH_API_VERSION, PUSH_KINDS } from './push-secret.ts';

export type Outcome = 'converted' | 'converted-with-notes' | 'refused' | 'unchanged';

export interface DocumentReport {
  readonly file: string;
  /** 1-based line of the document's first line in the file. */
  readonly line: number;
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly outcome: Outcome;
  /** Why a refused document was refused: each one line, with the line of the construct where there is one. */
  readonly reasons: readonly string[];
  /** What a converted document's user should know (behaviour that differs, fields not acted on). */
  readonly notes: readonly string[];
}

export interface FileResult {
  readonly file: string;
  readonly reports: readonly DocumentReport[];
  /** The converted text; undefined when nothing in the file changed (or it could not be parsed). */
  readonly output?: string;
  /** Some document does not parse: the file is never written. */
  readonly malformed: boolean;
}

export interface ConvertOptions {
  /** Annotate converted ExternalSecrets with secret-relay.dev/adopt: "true" (docs/migrating-from-eso.md). */
  readonly adopt: boolean;
}

const ESO_GROUP = 'external-secrets.io';
const ESO_VERSIONS = ['v1', 'v1beta1'];
const GENERATOR_API_VERSION = 'generators.external-secrets.io/v1alpha1';
const CONVERTED_KINDS = ['ExternalSecret', 'SecretStore', 'ClusterSecretStore', 'ClusterExternalSecret'];

type Path = readonly (string | number)[];

/** Collects what one document's conversion found, then decides its outcome. */
class DocumentConversion {
  readonly reasons: string[] = [];
  readonly notes = new Set<string>();
  readonly doc: Document;
  private readonly lines: LineCounter;
  private readonly engine: TemplateEngine;

  readonly sources: TemplateSources;
  /** ConfigMap items this document's templateFrom reads, translated; kept only if the document converts. */
  readonly pendingCopies: { source: ConfigMapSource; key: string; liquid: string }[] = [];

  constructor(doc: Document, lines: LineCounter, engine: TemplateEngine, sources: TemplateSources) {
    this.doc = doc;
    this.lines = lines;
    this.engine = engine;
    this.sources = sources;
    this.original = doc.toJS();
  }

  /** Translates a Go template held elsewhere (a ConfigMap item): the liquid, or undefined with the reason recorded. */
  translateElsewhere(source: string, file: string, line: number, where: string): string | undefined {
    const result = translateGoTemplate(source);
    if (!result.ok) {
      this.reasons.push(`${file}:${line + result.line - 1}: ${where}: ${result.construct}: ${result.reason}`);
      return undefined;
    }
    try {
      this.engine.checkSyntax(result.liquid, where);
    } catch {
      this.reasons.push(`${file}:${line}: ${where}: the translation is not valid liquid; translate it by hand`);
      return undefined;
    }
    return result.liquid;
  }

  /** The document as plain values, as it was before any edit (paths stay valid while edits replace scalars). */
  private readonly original: unknown;

  get(path: Path): unknown {
    let value: unknown = this.original;
    for (const key of path) {
      if (value === null || typeof value !== 'object') return undefined;
      value = (value as Record<string | number, unknown>)[key];
    }
    return value;
  }

  lineOf(path: Path): number {
    const node = this.doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    return node?.range ? this.lines.linePos(node.range[0]).line : 0;
  }

  /** Replaces a scalar's value, keeping its style (block literal, quotes) and comments. */
  setScalar(path: Path, value: string): void {
    const node = this.doc.getIn(path, true);
    if (isScalar(node)) node.value = value;
    else this.doc.setIn(path, value);
  }

  /** Translates the Go template at `path` into liquid in place, or records why it cannot. */
  template(path: Path, field: string): void {
    const source = this.get(path);
    if (typeof source !== 'string') return;
    const result = translateGoTemplate(source);
    const startLine = this.lineOf(path);
    if (!result.ok) {
      // A block scalar's text starts on the line after its key; a plain or quoted one on the key's line.
      const node = this.doc.getIn(path, true);
      const block = isScalar(node) && (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED');
      const line = startLine + result.line - 1 + (block ? 1 : 0);
      this.reasons.push(`line ${line}: ${field}: ${result.construct}: ${result.reason}`);
      return;
    }
    try {
      this.engine.checkSyntax(result.liquid, field);
    } catch (err) {
      this.reasons.push(`line ${startLine}: ${field}: the translation is not valid liquid (${err instanceof TemplateError ? err.reason : 'parse error'}); translate it by hand`);
      return;
    }
    for (const note of result.notes) this.notes.add(`${field}: ${note}`);
    if (result.liquid !== source) this.setScalar(path, result.liquid);
  }
}

function entries(value: unknown): [string, unknown][] {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : [];
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** An ExternalSecret spec at `base` (spec, or a ClusterExternalSecret's spec.externalSecretSpec). */
function convertExternalSecretSpec(c: DocumentConversion, base: Path, prefix: string, namespace: string | undefined): void {
  const spec = c.get(base) as Record<string, unknown> | undefined;
  if (spec === undefined || spec === null || typeof spec !== 'object') return;
  const template = (spec['target'] as Record<string, unknown> | undefined)?.['template'] as Record<string, unknown> | undefined;
  const templatePath = [...base, 'target', 'template'];
  if (template !== undefined && template !== null) {
    const engineVersion = template['engineVersion'];
    if (engineVersion !== undefined && engineVersion !== 'v2') {
      c.reasons.push(`line ${c.lineOf([...templatePath, 'engineVersion'])}: ${prefix}.target.template.engineVersion ${String(engineVersion)}: ESO's v1 template engine (the deprecated one) is not translated; move it to v2 first`);
    }
    if (engineVersion !== undefined) c.doc.deleteIn([...templatePath, 'engineVersion']);
    for (const [key] of entries(template['data'])) c.template([...templatePath, 'data', key], `${prefix}.target.template.data[${JSON.stringify(key)}]`);
    for (const part of ['labels', 'annotations']) {
      for (const [key] of entries((template['metadata'] as Record<string, unknown> | undefined)?.[part])) {
        c.template([...templatePath, 'metadata', part, key], `${prefix}.target.template.metadata.${part}[${JSON.stringify(key)}]`);
      }
    }
    list(template['templateFrom']).forEach((entry, index) => {
      const from = entry as Record<string, unknown>;
      const field = `${prefix}.target.template.templateFrom[${index}]`;
      if (typeof from['literal'] === 'string') c.template([...templatePath, 'templateFrom', index, 'literal'], `${field}.literal`);
      const configMap = from['configMap'] as { name?: unknown; items?: { key?: unknown }[] } | undefined;
      if (configMap !== undefined) templateFromConfigMap(c, [...templatePath, 'templateFrom', index, 'configMap'], `${field}.configMap`, configMap, namespace);
      const secret = from['secret'] as { name?: unknown } | undefined;
      if (secret !== undefined) {
        c.reasons.push(
          `line ${c.lineOf([...templatePath, 'templateFrom', index])}: ${field}.secret ${String(secret.name)} holds Go templates in a Secret, which migrate does not rewrite; ` +
            'translate them into a new Secret (docs/templates.md), point templateFrom at it, and run migrate again',
        );
      }
    });
  }
  list(spec['dataFrom']).forEach((entry, index) => {
    const item = entry as Record<string, unknown>;
    list(item['rewrite']).forEach((step, stepIndex) => {
      if ((step as Record<string, unknown>)['transform'] !== undefined) {
        c.template([...base, 'dataFrom', index, 'rewrite', stepIndex, 'transform', 'template'], `${prefix}.dataFrom[${index}].rewrite[${stepIndex}].transform.template`);
      }
    });
    generatorRef(c, [...base, 'dataFrom', index, 'sourceRef', 'generatorRef'], `${prefix}.dataFrom[${index}].sourceRef.generatorRef`);
  });
  list(spec['data']).forEach((_entry, index) => generatorRef(c, [...base, 'data', index, 'sourceRef', 'generatorRef'], `${prefix}.data[${index}].sourceRef.generatorRef`));
}

function generatorRef(c: DocumentConversion, path: Path, field: string): void {
  const ref = c.get(path) as { apiVersion?: unknown; kind?: unknown } | undefined;
  if (ref === undefined || ref === null) return;
  if (LOCAL_GENERATOR_KINDS.has(String(ref.kind))) return convertGeneratorRef(c, path, field, LOCAL_GENERATOR_KINDS);
  if (ref.kind !== 'VaultDynamicSecret') {
    c.reasons.push(`line ${c.lineOf(path)}: ${field}: the ${String(ref.kind)} generator is not supported by secret-relay (only VaultDynamicSecret)`);
    return;
  }
  if (ref.apiVersion !== undefined && ref.apiVersion !== GENERATOR_API_VERSION) {
    c.reasons.push(`line ${c.lineOf(path)}: ${field}: apiVersion ${String(ref.apiVersion)} is not ESO's ${GENERATOR_API_VERSION}`);
    return;
  }
  c.doc.setIn([...path, 'apiVersion'], API_GROUP_VERSION);
}

/** The suffix of the liquid copy of a ConfigMap of Go templates (the original stays for ESO until the switch). */
export const CONFIGMAP_COPY_SUFFIX = '-secret-relay';

/** A ConfigMap of the input, which templateFrom entries may read templates from. */
interface ConfigMapSource {
  readonly file: string;
  readonly doc: Document;
  readonly lines: LineCounter;
  readonly data: Record<string, unknown>;
  /** Item key → its liquid, for the items converted ExternalSecrets read. */
  readonly translated: Map<string, string>;
}

/** Every ConfigMap of the inputs, by namespace/name ('' for a manifest without namespace, as Kustomize bases are). */
export class TemplateSources {
  readonly configMaps = new Map<string, ConfigMapSource>();

  add(file: string, doc: Document, lines: LineCounter): void {
    const value = doc.toJS() as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown }; data?: unknown };
    if (value?.apiVersion !== 'v1' || value.kind !== 'ConfigMap' || typeof value.metadata?.name !== 'string') return;
    const namespace = typeof value.metadata.namespace === 'string' ? value.metadata.namespace : '';
    this.configMaps.set(`${namespace}/${value.metadata.name}`, { file, doc, lines, data: (value.data ?? {}) as Record<string, unknown>, translated: new Map() });
  }
}

/**
 * templateFrom[].configMap: when the ConfigMap is among the inputs (same namespace), its items are translated into
 * a copy named <name>-secret-relay written beside it, and the entry points at the copy. ESO keeps reading the
 * original until it is stopped, so the switch never has a moment where either operator reads the other's language.
 */
function templateFromConfigMap(c: DocumentConversion, path: Path, field: string, ref: { name?: unknown; items?: { key?: unknown }[] }, namespace: string | undefined): void {
  const line = c.lineOf(path);
  const name = String(ref.name);
  const source = namespace === undefined ? undefined : c.sources.configMaps.get(`${namespace}/${name}`);
  if (source === undefined) {
    c.reasons.push(
      `line ${line}: ${field} ${name} holds Go templates` +
        (namespace === undefined ? ' in each selected namespace' : ', and that ConfigMap is not among the input files') +
        `; add it to the input (migrate then writes a translated copy ${name}${CONFIGMAP_COPY_SUFFIX}) or translate it by hand (docs/templates.md)`,
    );
    return;
  }
  const copyName = `${name}${CONFIGMAP_COPY_SUFFIX}`;
  if (copyName.length > 253) {
    c.reasons.push(`line ${line}: ${field} ${name}: the name of its translated copy would exceed 253 characters`);
    return;
  }
  let ok = true;
  for (const item of ref.items ?? []) {
    const key = String(item.key);
    if (source.translated.has(key)) continue;
    const text = source.data[key];
    const node = source.doc.getIn(['data', key], true) as { range?: [number, number, number]; type?: string } | undefined;
    if (typeof text !== 'string' || node?.range === undefined) {
      c.reasons.push(`line ${line}: ${field}: ConfigMap ${name} has no key ${JSON.stringify(key)}`);
      ok = false;
      continue;
    }
    const block = node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED';
    const liquid = c.translateElsewhere(text, source.file, source.lines.linePos(node.range[0]).line + (block ? 1 : 0), `ConfigMap ${name} data[${JSON.stringify(key)}] (${field})`);
    if (liquid === undefined) ok = false;
    else c.pendingCopies.push({ source, key, liquid });
  }
  if (!ok) return;
  c.setScalar([...path, 'name'], copyName);
  c.notes.add(`${field}: reads ${copyName}, the liquid copy of ConfigMap ${name} migrate writes beside it (the original stays for ESO until the switch)`);
}

/** The liquid copy of a ConfigMap whose items converted ExternalSecrets read; undefined when none does. */
function configMapCopy(source: ConfigMapSource): Document | undefined {
  if (source.translated.size === 0) return undefined;
  const copy = source.doc.clone();
  const name = String(copy.getIn(['metadata', 'name']));
  copy.setIn(['metadata', 'name'], `${name}${CONFIGMAP_COPY_SUFFIX}`);
  for (const [key, liquid] of source.translated) {
    const node = copy.getIn(['data', key], true);
    if (isScalar(node)) node.value = liquid;
  }
  // A document of its own (`---`), with its own comment instead of the original's.
  if (copy.directives) copy.directives.docStart = true;
  copy.commentBefore = null;
  const firstKey = isMap(copy.contents) ? (copy.contents.items[0]?.key as { commentBefore?: string | null } | undefined) : undefined;
  if (firstKey) firstKey.commentBefore = null;
  if (isMap(copy.contents)) copy.contents.commentBefore = ` secret-relay migrate: the liquid translation of ConfigMap ${name}, for secret-relay's templateFrom`;
  return copy;
}

/**
 * --adopt: Owner and Orphan ExternalSecrets take the Secret ESO wrote over (docs/lifecycle.md). Merge, CreateOrMerge
 * and None never need it (they write into a Secret that exists, or not at all), and adoption would remove the
 * keys they do not declare, so they are left without it.
 */
function adopt(c: DocumentConversion, kind: string): void {
  const base = kind === 'ExternalSecret' ? ['spec'] : ['spec', 'externalSecretSpec'];
  const policy = c.get([...base, 'target', 'creationPolicy']) ?? 'Owner';
  if (policy !== 'Owner' && policy !== 'Orphan') {
    c.notes.add(`not annotated ${ADOPT_ANNOTATION}: creationPolicy ${String(policy)} writes into the existing Secret without adopting it`);
    return;
  }
  const annotations = kind === 'ExternalSecret' ? ['metadata', 'annotations'] : ['spec', 'externalSecretMetadata', 'annotations'];
  c.doc.setIn([...annotations, ADOPT_ANNOTATION], 'true');
  c.notes.add(`${ADOPT_ANNOTATION}: "true" added${kind === 'ClusterExternalSecret' ? ' to the ExternalSecrets it creates' : ''}: the Secret ESO's ExternalSecret wrote is taken over (docs/migrating-from-eso.md)`);
}

function convertStore(c: DocumentConversion): void {
  const provider = c.get(['spec', 'provider']);
  const names = entries(provider).map(([name]) => name);
  const unsupported = names.filter((name) => !(PROVIDER_NAMES as readonly string[]).includes(name));
  if (unsupported.length > 0) {
    c.reasons.push(`line ${c.lineOf(['spec', 'provider', unsupported[0]!])}: spec.provider.${unsupported[0]}: the ${unsupported[0]} provider is not supported by secret-relay (supported: ${PROVIDER_NAMES.join(', ')})`);
  }
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/:$/, '');
}

function validate(kind: string, value: unknown): ParseResult<unknown> {
  switch (kind) {
    case 'ExternalSecret':
      return parseExternalSecret(value);
    case 'SecretStore':
      return parseSecretStore(value);
    case 'ClusterSecretStore':
      return parseClusterSecretStore(value);
    case 'ClusterExternalSecret':
      return parseClusterExternalSecret(value);
    case 'PushSecret':
      return parsePushSecret(value);
    case 'ClusterPushSecret':
      return parseClusterPushSecret(value);
    case 'Password':
      return parsePassword(value);
    case 'SSHKey':
      return parseSSHKey(value);
    case 'UUID':
      return parseUUID(value);
    default:
      return parseVaultDynamicSecret(value);
  }
}

/**
 * What the tenancy rules (docs/security.md) will say of a converted store under the operator's default policy: ESO lets
 * a namespaced store act as the controller's own identity and name any endpoint; secret-relay does not unless told.
 */
function tenancyNotes(spec: { provider: Record<string, unknown> }, kind: string): string[] {
  const notes: string[] = [];
  for (const name of PROVIDER_NAMES) {
    if (spec.provider[name] === undefined) continue;
    const definition = providerSchemas[name];
    const parsed = definition.schema.safeParse(spec.provider[name]);
    if (!parsed.success) continue;
    const declared = (definition.tenancy as (s: unknown) => TenancyDeclaration)(parsed.data);
    if (kind === 'SecretStore' && declared.operatorIdentity) {
      notes.push(
        `${declared.operatorIdentity.mode} acts as the operator's own identity: secret-relay refuses that in a SecretStore (Ready=False OperatorIdentityNotAllowed) unless the operator runs with --operator-identity=all; give the store its own identity (${declared.operatorIdentity.instead}) or make it a ClusterSecretStore`,
      );
    }
    if (kind === 'SecretStore') {
      for (const endpoint of declared.endpoints ?? []) {
        notes.push(`${endpoint.field} overrides an endpoint: a SecretStore may name only hosts on the operator's --trusted-endpoint-hosts (else Ready=False EndpointNotAllowed)`);
      }
    }
    for (const file of declared.operatorFiles ?? []) {
      notes.push(`${file.field} names a token file of the operator's pod: only a ClusterSecretStore may, and only a path listed in the operator's --operator-token-files (else Ready=False OperatorFileNotAllowed)`);
    }
  }
  return notes;
}

/** After conversion: our schema must accept the result, and fields we accept but do not act on are reported. */
function checkConverted(c: DocumentConversion, kind: string): void {
  const parsed = validate(kind, c.doc.toJS());
  if (!parsed.ok) {
    c.reasons.push(`the converted ${kind} is not valid for secret-relay: ${parsed.error}`);
    return;
  }
  const value = parsed.value as { spec: Record<string, unknown> };
  if (kind === 'SecretStore' || kind === 'ClusterSecretStore') {
    const verdict = storeCompat(value.spec as Parameters<typeof storeCompat>[0], kind === 'ClusterSecretStore');
    c.reasons.push(...verdict.errors);
    for (const warning of verdict.warnings) c.notes.add(warning);
    for (const note of tenancyNotes(value.spec as { provider: Record<string, unknown> }, kind)) c.notes.add(note);
  }
  if (kind === 'PushSecret') c.reasons.push(...pushSecretCompat((value as unknown as PushSecret).spec));
  if (kind === 'ClusterPushSecret') c.reasons.push(...pushSecretCompat((value as unknown as ClusterPushSecret).spec.pushSecretSpec).map((reason) => reason.replace(/^spec\./, 'spec.pushSecretSpec.')));
  if (kind === 'ExternalSecret') c.reasons.push(...externalSecretCompat(value.spec as unknown as Parameters<typeof externalSecretCompat>[0]));
  if (kind === 'ClusterExternalSecret') {
    const spec = value.spec['externalSecretSpec'] as Parameters<typeof externalSecretCompat>[0];
    c.reasons.push(...externalSecretCompat(spec).map((reason) => reason.replace(/^spec\./, 'spec.externalSecretSpec.')));
  }
}

function convertDocument(doc: Document, lines: LineCounter, engine: TemplateEngine, options: ConvertOptions, sources: TemplateSources): { outcome: Outcome; reasons: string[]; notes: string[]; doc: Document } {
  const apiVersion = doc.get('apiVersion');
  const kind = doc.get('kind');
  const [group, version] = typeof apiVersion === 'string' ? (apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion]) : ['', ''];
  if (group === 'generators.external-secrets.io') {
    if (kind !== 'VaultDynamicSecret' && !LOCAL_GENERATOR_KINDS.has(String(kind))) return { outcome: 'refused', reasons: [`the ${String(kind)} generator is not supported by secret-relay (VaultDynamicSecret, Password, SSHKey, UUID)`], notes: [], doc };
    if (apiVersion !== GENERATOR_API_VERSION) return { outcome: 'refused', reasons: [`apiVersion ${apiVersion as string} is not read; ESO's generators are ${GENERATOR_API_VERSION}`], notes: [], doc };
  } else if (group === ESO_GROUP) {
    if (PUSH_KINDS.has(String(kind))) {
      if (apiVersion !== PUSH_API_VERSION) return { outcome: 'refused', reasons: [`apiVersion ${apiVersion as string} is not read; ESO's ${String(kind)} is ${PUSH_API_VERSION}`], notes: [], doc };
    } else if (!CONVERTED_KINDS.includes(String(kind))) return { outcome: 'refused', reasons: [`unknown kind ${String(kind)} of ${ESO_GROUP}: migrate converts ${CONVERTED_KINDS.join(', ')}, PushSecret, ClusterPushSecret and the VaultDynamicSecret, Password, SSHKey and UUID generators`], notes: [], doc };
    else if (!ESO_VERSIONS.includes(version ?? '')) return { outcome: 'refused', reasons: [`apiVersion ${apiVersion as string} is not read; migrate reads ${ESO_VERSIONS.map((v) => `${ESO_GROUP}/${v}`).join(' and ')}`], notes: [], doc };
  } else {
    return { outcome: 'unchanged', reasons: [], notes: [], doc };
  }
  if (!isMap(doc.contents)) return { outcome: 'refused', reasons: ['the document is not a mapping'], notes: [], doc };
  const c = new DocumentConversion(doc.clone(), lines, engine, sources);
  c.doc.set('apiVersion', API_GROUP_VERSION);
  const kindName = String(kind);
  if (kindName === 'SecretStore' || kindName === 'ClusterSecretStore') convertStore(c);
  const namespace = c.get(['metadata', 'namespace']);
  if (kindName === 'ExternalSecret') convertExternalSecretSpec(c, ['spec'], 'spec', typeof namespace === 'string' ? namespace : '');
  // A ClusterExternalSecret's ExternalSecrets read ConfigMaps in each namespace it selects: none can be matched.
  if (kindName === 'ClusterExternalSecret') convertExternalSecretSpec(c, ['spec', 'externalSecretSpec'], 'spec.externalSecretSpec', undefined);
  if ((kindName === 'ExternalSecret' || kindName === 'ClusterExternalSecret') && options.adopt) adopt(c, kindName);
  if (PUSH_KINDS.has(kindName)) convertPushSecret(c, kindName, options.adopt);
  if (c.reasons.length === 0) checkConverted(c, kindName);
  if (c.reasons.length > 0) return { outcome: 'refused', reasons: c.reasons, notes: [], doc };
  for (const { source, key, liquid } of c.pendingCopies) source.translated.set(key, liquid);
  return { outcome: c.notes.size > 0 ? 'converted-with-notes' : 'converted', reasons: [], notes: [...c.notes], doc: c.doc };
}

function metadataOf(doc: Document): { namespace?: string; name?: string } {
  const name = doc.getIn(['metadata', 'name']);
  const namespace = doc.getIn(['metadata', 'namespace']);
  return { ...(typeof name === 'string' ? { name } : {}), ...(typeof namespace === 'string' ? { namespace } : {}) };
}

interface ParsedFile {
  readonly file: string;
  readonly lines: LineCounter;
  readonly docs: Document[];
}

/** Converts one file's text (several YAML documents). A file with malformed YAML is reported and never written. */
export function convertFile(file: string, text: string, options: ConvertOptions, engine: TemplateEngine = createTemplateEngine()): FileResult {
  return convertFiles([{ file, text }], options, engine)[0]!;
}

/**
 * Converts several files together, so an ExternalSecret's templateFrom can find its ConfigMap in another file of
 * the same tree. One result per input, in order.
 */
export function convertFiles(inputs: readonly { file: string; text: string }[], options: ConvertOptions, engine: TemplateEngine = createTemplateEngine()): FileResult[] {
  const sources = new TemplateSources();
  const parsed: ParsedFile[] = inputs.map(({ file, text }) => {
    const lines = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
    const list = Array.isArray(docs) ? docs : [];
    // A file that does not parse is never written, so its ConfigMaps cannot receive a copy.
    if (list.every((doc) => doc.errors.length === 0)) for (const doc of list) if (doc.contents !== null) sources.add(file, doc, lines);
    return { file, lines, docs: list };
  });
  const converted = parsed.map((p) => convertParsed(p, engine, options, sources));
  return converted.map(({ result, out, changed }) => {
    if (result.malformed) return result;
    // Liquid copies of ConfigMaps go right after their original.
    let withCopies = changed;
    const docs = out.flatMap((doc) => {
      const source = [...sources.configMaps.values()].find((s) => s.doc === doc);
      const copy = source && configMapCopy(source);
      if (copy === undefined) return [doc];
      withCopies = true;
      const meta = metadataOf(copy);
      (result.reports as DocumentReport[]).push({
        file: result.file,
        line: source!.lines.linePos((doc.contents as { range?: [number] } | null)?.range?.[0] ?? 0).line,
        apiVersion: 'v1',
        kind: 'ConfigMap',
        ...meta,
        outcome: 'converted-with-notes',
        reasons: [],
        notes: [`written after ConfigMap ${String(doc.getIn(['metadata', 'name']))}: its templates ${[...source!.translated.keys()].join(', ')} translated to liquid (the original stays for ESO until the switch)`],
      });
      return [doc, copy];
    });
    if (!withCopies) return result;
    return { ...result, output: docs.map((doc) => doc.toString({ lineWidth: 0 })).join('') };
  });
}

function convertParsed({ file, lines, docs }: ParsedFile, engine: TemplateEngine, options: ConvertOptions, sources: TemplateSources): { result: FileResult; out: Document[]; changed: boolean } {
  const reports: DocumentReport[] = [];
  const out: Document[] = [];
  let changed = false;
  let malformed = false;
  for (const doc of docs) {
    const line = lines.linePos((doc.contents as { range?: [number] } | null)?.range?.[0] ?? doc.range?.[0] ?? 0).line;
    if (doc.errors.length > 0) {
      malformed = true;
      const error = doc.errors[0]!;
      const at = error.linePos?.[0]?.line ?? line;
      reports.push({ file, line: at, outcome: 'refused', reasons: [`malformed YAML at line ${at}: ${firstLine(error.message).replace(/ at line \d+, column \d+$/, '')}; the file is not written`], notes: [] });
      out.push(doc);
      continue;
    }
    if (doc.contents === null) {
      out.push(doc);
      continue;
    }
    const apiVersion = doc.get('apiVersion');
    const kind = doc.get('kind');
    const result = convertDocument(doc, lines, engine, options, sources);
    if (result.outcome !== 'unchanged' && result.outcome !== 'refused') changed = true;
    reports.push({
      file,
      line,
      ...(typeof apiVersion === 'string' ? { apiVersion } : {}),
      ...(typeof kind === 'string' ? { kind } : {}),
      ...metadataOf(doc),
      outcome: result.outcome,
      reasons: result.reasons.map((reason) => (/^line \d+:/.test(reason) || reason.startsWith(`${file}:`) || /^[^ ]+:\d+: /.test(reason) ? reason : `line ${line}: ${reason}`)),
      notes: result.notes,
    });
    out.push(result.doc);
  }
  if (malformed) {
    // Nothing of a file that does not parse is written: the other documents are reported as not written either.
    const refusedAll = reports.map((r) => (r.outcome === 'converted' || r.outcome === 'converted-with-notes' ? { ...r, outcome: 'refused' as const, reasons: [`line ${r.line}: not written: another document of this file is malformed YAML`], notes: [] } : r));
    return { result: { file, malformed: true, reports: refusedAll }, out, changed: false };
  }
  if (!changed) return { result: { file, reports, malformed: false }, out, changed };
  return { result: { file, reports, malformed: false, output: out.map((doc) => doc.toString({ lineWidth: 0 })).join('') }, out, changed };
}

export interface Summary {
  readonly documents: number;
  readonly converted: number;
  readonly convertedWithNotes: number;
  readonly refused: number;
  readonly unchanged: number;
}

export function summarize(reports: readonly DocumentReport[]): Summary {
  const count = (outcome: Outcome) => reports.filter((r) => r.outcome === outcome).length;
  return { documents: reports.length, converted: count('converted'), convertedWithNotes: count('converted-with-notes'), refused: count('refused'), unchanged: count('unchanged') };
}

/** The text report: one line per ESO document, its reasons and notes indented, then the summary line. */
export function formatReport(reports: readonly DocumentReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    if (r.outcome === 'unchanged') continue;
    const what = r.kind ? `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name ?? '(no name)'}` : 'document';
    lines.push(`${r.file}:${r.line}: ${what}: ${r.outcome}`);
    for (const reason of r.reasons) lines.push(`  refused: ${reason}`);
    for (const note of r.notes) lines.push(`  note: ${note}`);
  }
  const s = summarize(reports);
  lines.push(`${s.documents} documents: ${s.converted} converted, ${s.convertedWithNotes} converted with notes, ${s.refused} refused, ${s.unchanged} not ESO (unchanged)`);
  return lines.join('\n') + '\n';
}
