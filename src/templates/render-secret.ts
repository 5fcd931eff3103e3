// spec.target.template → the Secret's data, labels, annotations and type: a pure function of the fetched
// values, the template and the ConfigMaps/Secrets it names (read beforehand by the reconciler). Nothing is
// written unless every template renders and every resulting key is valid, so an error leaves the Secret as it was.
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { ExternalSecretTemplate, TemplateFrom } from '../api/types.generated.ts';
import { SECRET_KEY } from './secret-key.ts';
import { templateValue } from './binary-value.ts';
import type { RenderSession, TemplateEngine } from './engine.ts';
import { TemplateError } from './errors.ts';

const textEncoder = new TextEncoder();

/** The ConfigMaps and Secrets templateFrom names, as read from the ExternalSecret's namespace; absent ones missing. */
export interface TemplateSources {
  readonly configMaps: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Secret data, decoded from base64. */
  readonly secrets: ReadonlyMap<string, Readonly<Record<string, Uint8Array>>>;
}

export interface RenderedSecret {
  readonly type: string;
  readonly data: Map<string, Uint8Array>;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

/** The ConfigMaps and Secrets a template reads, so the reconciler fetches exactly these. */
export function templateSourceNames(template: ExternalSecretTemplate | undefined): { configMaps: string[]; secrets: string[] } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const entry of template?.templateFrom ?? []) {
    if (entry.configMap) configMaps.add(entry.configMap.name);
    if (entry.secret) secrets.add(entry.secret.name);
  }
  return { configMaps: [...configMaps], secrets: [...secrets] };
}

/** The values templates see: each fetched key, as UTF-8 text (or a binary value when it is not text). */
export function templateContext(fetched: ReadonlyMap<string, Uint8Array>): Record<string, unknown> {
  return Object.fromEntries([...fetched].map(([key, bytes]) => [key, templateValue(bytes)]));
}

const MAX_SECRET_KEY = 253;
/** An optional DNS-subdomain prefix and '/', then a name of at most 63 characters (qualified name). */
const QUALIFIED_NAME = /^(([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)\/)?([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const RESERVED_PREFIX = 'secret-relay.dev/';

type Target = 'Data' | 'Labels' | 'Annotations';

/** One rendered key and where it came from, for messages. `keyIsTemplateText` is false when a key was rendered. */
interface RenderedEntry {
  readonly key: string;
  readonly value: string;
  readonly where: string;
  readonly keyIsTemplateText: boolean;
}

function describeKey(entry: RenderedEntry, index: number): string {
  // A key rendered from values may itself be derived from a secret: name its position, not its text.
  return entry.keyIsTemplateText ? `key "${entry.key}"` : `the key at position ${index + 1} of its rendered map`;
}

function checkKey(entry: RenderedEntry, index: number, target: Target): void {
  const key = describeKey(entry, index);
  if (target === 'Data') {
    if (!SECRET_KEY.test(entry.key) || entry.key.length > MAX_SECRET_KEY) {
      throw new TemplateError(entry.where, `${key} is not a valid Secret key: use letters, digits, '-', '_' and '.' only (at most 253)`);
    }
    return;
  }
  const kind = target === 'Labels' ? 'label' : 'annotation';
  if (entry.key.length > 317 || !QUALIFIED_NAME.test(entry.key)) {
    throw new TemplateError(entry.where, `${key} is not a valid ${kind} key: an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.'`);
  }
  if (entry.key.startsWith(RESERVED_PREFIX)) {
    throw new TemplateError(entry.where, `${key} is reserved: ${kind}s under ${RESERVED_PREFIX} are written by secret-relay itself`);
  }
  if (target === 'Labels' && (entry.value.length > 63 || !LABEL_VALUE.test(entry.value))) {
    throw new TemplateError(
      entry.where,
      `the rendered value of label ${key} is not a valid label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
    );
  }
}

/** Adds entries to `into`, refusing a key two templates both produce. */
function collect(into: Map<string, RenderedEntry>, entries: readonly RenderedEntry[], target: Target): void {
  entries.forEach((entry, index) => {
    checkKey(entry, index, target);
    const earlier = into.get(entry.key);
    if (earlier) {
      const key = entry.keyIsTemplateText && earlier.keyIsTemplateText ? `key "${entry.key}"` : 'the same key';
      throw new TemplateError(entry.where, `renders ${key} that ${earlier.where} renders too; each key must come from one template`);
    }
    into.set(entry.key, entry);
  });
}

/** A rendered YAML map of keys to scalar values (KeysAndValues, literal). Parse errors give a line, never the text. */
function parseKeysAndValues(rendered: string, where: string): Array<[string, string]> {
  let parsed: unknown;
  try {
    parsed = parseYaml(rendered, { schema: 'core', uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    const line = err instanceof YAMLParseError ? err.linePos?.[0]?.line : undefined;
    throw new TemplateError(where, `the rendered text is not a YAML map of keys to values${line === undefined ? '' : ` (rendered line ${line})`}`);
  }
  if (parsed === null || parsed === undefined) return [];
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TemplateError(where, 'the rendered text must be a YAML map of keys to values');
  }
  return Object.entries(parsed as Record<string, unknown>).map(([key, value], index) => {
    if (value === null || value === undefined) return [key, ''];
    if (typeof value === 'object') {
      throw new TemplateError(where, `the value at position ${index + 1} of the rendered map is not a scalar; quote it or serialise it with to_json`);
    }
    return [key, String(value)];
  });
}

function renderSource(
  session: RenderSession,
  context: Record<string, unknown>,
  entry: TemplateFrom,
  index: number,
  sources: TemplateSources,
): RenderedEntry[] {
  const at = `spec.target.template.templateFrom[${index}]`;
  if (entry.literal !== undefined) {
    const where = `${at}.literal`;
    return parseKeysAndValues(session.render(entry.literal, context, where), where).map(([key, value]) => ({ key, value, where, keyIsTemplateText: false }));
  }
  const ref = entry.configMap ?? entry.secret;
  if (!ref) throw new TemplateError(at, 'set one of configMap, secret or literal');
  const kind = entry.configMap ? 'ConfigMap' : 'Secret';
  const held: Readonly<Record<string, string | Uint8Array>> | undefined = entry.configMap
    ? sources.configMaps.get(ref.name)
    : sources.secrets.get(ref.name);
  if (held === undefined) {
    throw new TemplateError(at, `${kind} ${ref.name} does not exist in the ExternalSecret's namespace; create it or fix the name`);
  }
  const out: RenderedEntry[] = [];
  for (const item of ref.items) {
    const where = `${at} (${kind} ${ref.name}, key "${item.key}")`;
    const raw = Object.hasOwn(held, item.key) ? held[item.key] : undefined;
    if (raw === undefined) throw new TemplateError(where, `${kind} ${ref.name} has no key "${item.key}"`);
    const source = typeof raw === 'string' ? raw : new TextDecoder().decode(raw);
    const rendered = session.render(source, context, where);
    if ((item.templateAs ?? 'Values') === 'Values') {
      out.push({ key: item.key, value: rendered, where, keyIsTemplateText: true });
    } else {
      for (const [key, value] of parseKeysAndValues(rendered, where)) out.push({ key, value, where, keyIsTemplateText: false });
    }
  }
  return out;
}

function renderMap(
  session: RenderSession,
  context: Record<string, unknown>,
  templates: Readonly<Record<string, string>> | undefined,
  at: string,
): RenderedEntry[] {
  return Object.entries(templates ?? {}).map(([key, source]) => {
    const where = `${at}["${key}"]`;
    return { key, value: session.render(source, context, where), where, keyIsTemplateText: true };
  });
}

/**
 * Applies a template to the fetched data. Without templates that produce data, the fetched data passes
 * through (as in ESO). mergePolicy Merge keeps the fetched keys under the rendered ones.
 * Throws TemplateError; the message never holds a value.
 */
export function renderSecret(
  engine: TemplateEngine,
  fetched: ReadonlyMap<string, Uint8Array>,
  template: ExternalSecretTemplate,
  sources: TemplateSources,
): RenderedSecret {
  const session = engine.session();
  const context = templateContext(fetched);
  const byTarget: Record<Target, Map<string, RenderedEntry>> = { Data: new Map(), Labels: new Map(), Annotations: new Map() };

  (template.templateFrom ?? []).forEach((entry, index) => {
    const target: Target = entry.target ?? 'Data';
    collect(byTarget[target], renderSource(session, context, entry, index, sources), target);
  });
  collect(byTarget.Data, renderMap(session, context, template.data, 'spec.target.template.data'), 'Data');
  collect(byTarget.Labels, renderMap(session, context, template.metadata?.labels, 'spec.target.template.metadata.labels'), 'Labels');
  collect(
    byTarget.Annotations,
    renderMap(session, context, template.metadata?.annotations, 'spec.target.template.metadata.annotations'),
    'Annotations',
  );

  const producesData = Object.keys(template.data ?? {}).length > 0 || (template.templateFrom ?? []).some((entry) => (entry.target ?? 'Data') === 'Data');
  const data = new Map<string, Uint8Array>();
  if (!producesData || template.mergePolicy === 'Merge') for (const [key, value] of fetched) data.set(key, value);
  for (const [key, entry] of byTarget.Data) data.set(key, textEncoder.encode(entry.value));

  const values = (entries: Map<string, RenderedEntry>) => Object.fromEntries([...entries].map(([key, entry]) => [key, entry.value]));
  return {
    type: template.type ?? 'Opaque',
    data,
    labels: values(byTarget.Labels),
    annotations: values(byTarget.Annotations),
  };
}
