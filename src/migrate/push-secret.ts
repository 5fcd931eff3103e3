// migrate: ESO's PushSecret and ClusterPushSecret (external-secrets.io/v1alpha1) and its Password, SSHKey and UUID
// generators (generators.external-secrets.io/v1alpha1) become ours. The fields are the same; what changes:
//  - the group (and generatorRefs' apiVersion);
//  - remote secrets ESO created carry ESO's tags, not our mark, so our PushSecret would refuse to overwrite them:
//    with --adopt the PushSecret is annotated secret-relay.dev/adopt: "true" (it takes them over), else a note says so;
//  - generated values are kept until secret-relay.dev/rotate changes (ESO generates anew at every refresh): a note;
//  - spec.template and dataTo rewrite templates are Go templates: translated into liquid, as an ExternalSecret's.
import { ADOPT_ANNOTATION, API_GROUP_VERSION } from '../api/meta.ts';
import type { Document } from 'yaml';

export const PUSH_KINDS: ReadonlySet<string> = new Set(['PushSecret', 'ClusterPushSecret']);
export const PUSH_API_VERSION = 'external-secrets.io/v1alpha1';
export const LOCAL_GENERATOR_KINDS: ReadonlySet<string> = new Set(['Password', 'SSHKey', 'UUID']);
const GENERATOR_API_VERSION = 'generators.external-secrets.io/v1alpha1';

type Path = readonly (string | number)[];

/** What the conversion of one document offers (src/migrate/convert.ts's DocumentConversion). */
export interface PushConversion {
  readonly reasons: string[];
  readonly notes: Set<string>;
  readonly doc: Document;
  get(path: Path): unknown;
  lineOf(path: Path): number;
  /** Translates the Go template at `path` into liquid in place, or records why it cannot. */
  template(path: Path, field: string): void;
}

/** A generatorRef to a kind secret-relay serves: apiVersion rewritten; others refused naming the line. */
export function convertGeneratorRef(c: PushConversion, path: Path, field: string, allowed: ReadonlySet<string>): void {
  const ref = c.get(path) as { apiVersion?: unknown; kind?: unknown } | undefined;
  if (ref === undefined || ref === null) return;
  if (!allowed.has(String(ref.kind))) {
    c.reasons.push(`line ${c.lineOf(path)}: ${field}: the ${String(ref.kind)} generator is not supported by secret-relay (${[...allowed].join(', ')})`);
    return;
  }
  if (ref.apiVersion !== undefined && ref.apiVersion !== GENERATOR_API_VERSION) {
    c.reasons.push(`line ${c.lineOf(path)}: ${field}: apiVersion ${String(ref.apiVersion)} is not ESO's ${GENERATOR_API_VERSION}`);
    return;
  }
  c.doc.setIn([...path, 'apiVersion'], API_GROUP_VERSION);
  if (LOCAL_GENERATOR_KINDS.has(String(ref.kind))) {
    c.notes.add(`${field}: the ${String(ref.kind)} value is generated once and kept; set a new secret-relay.dev/rotate annotation value to rotate it (ESO generates anew at every refresh; docs/push-secret.md)`);
  }
}

/** A PushSecret or ClusterPushSecret, converted in place (apiVersion already set by the caller). */
export function convertPushSecret(c: PushConversion, kind: string, adopt: boolean): void {
  const spec: Path = kind === 'PushSecret' ? ['spec'] : ['spec', 'pushSecretSpec'];
  const prefix = kind === 'PushSecret' ? 'spec' : 'spec.pushSecretSpec';
  convertGeneratorRef(c, [...spec, 'selector', 'generatorRef'], `${prefix}.selector.generatorRef`, LOCAL_GENERATOR_KINDS);
  convertPushTemplates(c, spec, prefix);
  const annotations: Path = kind === 'PushSecret' ? ['metadata', 'annotations'] : ['spec', 'pushSecretMetadata', 'annotations'];
  if (adopt) {
    c.doc.setIn([...annotations, ADOPT_ANNOTATION], 'true');
    c.notes.add(`${ADOPT_ANNOTATION}: "true" added${kind === 'ClusterPushSecret' ? ' to the PushSecrets it creates' : ''}: remote secrets ESO pushed (tagged by ESO, not by secret-relay) are taken over`);
  } else {
    c.notes.add(`remote secrets ESO pushed carry ESO's tags, not secret-relay's mark: the PushSecret refuses to overwrite them (Ready=False RemoteExistsNotOwned) unless annotated ${ADOPT_ANNOTATION}: "true" (migrate --adopt adds it)`);
  }
}

const mapKeys = (value: unknown): string[] => (value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : []);
const items = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/**
 * spec.template (ESO's v2 Go templates, as an ExternalSecret's target.template) and dataTo[].rewrite[].transform
 * templates, translated into liquid in place. templateFrom ConfigMaps and Secrets hold templates elsewhere: refused
 * naming the line, to be translated by hand (docs/templates.md).
 */
function convertPushTemplates(c: PushConversion, spec: Path, prefix: string): void {
  const templatePath = [...spec, 'template'];
  const template = c.get(templatePath) as Record<string, unknown> | undefined;
  if (template !== undefined && template !== null && typeof template === 'object') {
    const engineVersion = template['engineVersion'];
    if (engineVersion !== undefined && engineVersion !== 'v2') c.reasons.push(`line ${c.lineOf([...templatePath, 'engineVersion'])}: ${prefix}.template.engineVersion ${String(engineVersion)}: ESO's v1 template engine is not translated; move it to v2 first`);
    if (engineVersion !== undefined) c.doc.deleteIn([...templatePath, 'engineVersion']);
    for (const key of mapKeys(template['data'])) c.template([...templatePath, 'data', key], `${prefix}.template.data[${JSON.stringify(key)}]`);
    for (const part of ['labels', 'annotations']) {
      for (const key of mapKeys((template['metadata'] as Record<string, unknown> | undefined)?.[part])) c.template([...templatePath, 'metadata', part, key], `${prefix}.template.metadata.${part}[${JSON.stringify(key)}]`);
    }
    items(template['templateFrom']).forEach((entry, index) => {
      const from = (entry ?? {}) as Record<string, unknown>;
      const field = `${prefix}.template.templateFrom[${index}]`;
      if (typeof from['literal'] === 'string') c.template([...templatePath, 'templateFrom', index, 'literal'], `${field}.literal`);
      for (const holder of ['configMap', 'secret'] as const) {
        if (from[holder] === undefined) continue;
        c.reasons.push(`line ${c.lineOf([...templatePath, 'templateFrom', index])}: ${field}.${holder} holds Go templates elsewhere, which migrate does not rewrite for a PushSecret; translate them into a new ${holder === 'configMap' ? 'ConfigMap' : 'Secret'} (docs/templates.md) and point templateFrom at it`);
      }
    });
  }
  items(c.get([...spec, 'dataTo'])).forEach((entry, index) => {
    items((entry as Record<string, unknown> | null)?.['rewrite']).forEach((step, stepIndex) => {
      if ((step as Record<string, unknown> | null)?.['transform'] !== undefined) c.template([...spec, 'dataTo', index, 'rewrite', stepIndex, 'transform', 'template'], `${prefix}.dataTo[${index}].rewrite[${stepIndex}].transform.template`);
    });
  });
}
