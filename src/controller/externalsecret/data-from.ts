// spec.dataFrom: turning fetched maps into Secret keys — rewrite (regexp, transform, merge) or conversionStrategy,
// decodingStrategy, then every source merged with data[] without silent overwrites. Pure functions; the
// reconciler fetches, these decide the keys. Key names are remote names (not values), so messages name them.
import type { ExternalSecretDataFrom, ExternalSecretRewrite, RewriteMerge } from '../../api/types.generated.ts';
import { goFormatFloat, goJsonMarshal } from '../../util/go-json.ts';
import { TerminalError } from '../../providers/provider.ts';
import type { DecodingStrategy } from '../../providers/provider.ts';
import { decode } from '../../providers/decoding.ts';
import { compileGoRegexp } from '../../util/go-regexp.ts';
import { convertKey, type ConversionStrategy } from '../../util/key-conversion.ts';
import type { RenderSession, TemplateEngine } from '../../templates/engine.ts';
import { TemplateError } from '../../templates/errors.ts';
import { SECRET_KEY } from '../../templates/secret-key.ts';

/** A dataFrom (or data) result that cannot become the Secret the user expects; retried, since remote names can change. */
export class DataFromError extends Error {
  override readonly name = 'DataFromError';
}

/** A spec.dataFrom entry that can never work (invalid regular expression or rewrite template): fix the spec. */
export class DataFromSpecError extends TerminalError {}

export type { ConversionStrategy };
export { convertKey };


/** The rewrite steps, applied in order to every key. Two keys becoming one is refused. */
export function rewriteKeys(
  steps: readonly ExternalSecretRewrite[],
  data: ReadonlyMap<string, Uint8Array>,
  engine: TemplateEngine,
  where: string,
  /** One render budget for every transform step (else each step gets its own session). */
  session?: RenderSession,
): Map<string, Uint8Array> {
  let current = new Map(data);
  steps.forEach((step, index) => {
    const at = `${where}.rewrite[${index}]`;
    if (step.merge) {
      current = mergeValues(step.merge, current, at);
      return;
    }
    let rename: (key: string) => string;
    if (step.regexp) {
      let pattern: ReturnType<typeof compileGoRegexp>;
      try {
        pattern = compileGoRegexp(step.regexp.source);
      } catch (err) {
        throw new DataFromSpecError(`${at}.regexp.source: "${step.regexp.source}" is not a valid Go regular expression (${err instanceof Error ? err.message : String(err)}); fix its syntax`);
      }
      const target = step.regexp.target;
      rename = (key) => pattern.replaceAll(key, target);
    } else if (step.transform) {
      const template = step.transform.template;
      const templateAt = `${at}.transform.template`;
      try {
        engine.checkSyntax(template, templateAt);
      } catch (err) {
        throw err instanceof TemplateError ? new DataFromSpecError(err.message) : err;
      }
      const stepSession = session ?? engine.session();
      rename = (key) => stepSession.render(template, { value: key }, templateAt);
    } else {
      throw new DataFromSpecError(`${at} must set one of regexp, transform or merge`);
    }
    const next = new Map<string, Uint8Array>();
    const origin = new Map<string, string>();
    for (const [key, value] of current) {
      const renamed = rename(key);
      const earlier = origin.get(renamed);
      if (earlier !== undefined) {
        throw new DataFromError(`${at} renames both "${earlier}" and "${key}" to "${renamed}"; make the rewrite keep them apart`);
      }
      origin.set(renamed, key);
      next.set(renamed, value);
    }
    current = next;
  });
  return current;
}

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

/**
 * ESO's merge rewrite (runtime/esutils RewriteMerge): every value is a JSON object; their fields are merged key by
 * key — the keys not in `priority` first, in byte order, then the priority keys in their order — and a field seen
 * twice is a conflict. Extract makes each field a key (strings as they are, numbers without exponent, objects and
 * arrays as Go's json.Marshal writes them, null empty); JSON writes the merged object under `into`, beside the input.
 * Errors name keys and fields, never values.
 */
export function mergeValues(merge: RewriteMerge, data: ReadonlyMap<string, Uint8Array>, at: string): Map<string, Uint8Array> {
  const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const priority = merge.priority ?? [];
  const order = [...[...data.keys()].filter((key) => !priority.includes(key)).sort(byteOrder), ...priority];
  const merged = new Map<string, unknown>();
  const conflicts: string[] = [];
  for (const key of order) {
    const value = data.get(key);
    if (value === undefined) {
      if (merge.priorityPolicy === 'IgnoreNotFound') continue;
      throw new DataFromError(`${at}.merge: priority key "${key}" is not among the keys to merge; add it, or set priorityPolicy: IgnoreNotFound`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(utf8.decode(value));
    } catch {
      throw new DataFromError(`${at}.merge: the value of key "${key}" is not JSON; merge needs every value to be a JSON object`);
    }
    if (parsed === null) continue; // Go decodes null into a nil map: nothing to merge, no error
    if (typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new DataFromError(`${at}.merge: the value of key "${key}" is not a JSON object; merge needs every value to be one`);
    }
    for (const [field, fieldValue] of Object.entries(parsed as Record<string, unknown>)) {
      if (merged.has(field)) conflicts.push(field);
      merged.set(field, fieldValue);
    }
  }
  if (merge.conflictPolicy !== 'Ignore' && conflicts.length > 0) {
    throw new DataFromError(`${at}.merge: fields ${conflicts.map((f) => `"${f}"`).join(', ')} are in more than one key; set conflictPolicy: Ignore to let the later key win, or priority to order them`);
  }
  try {
    if (merge.strategy === 'JSON') {
      const out = new Map(data);
      out.set(merge.into ?? '', encoder.encode(goJsonMarshal(merged, false)));
      return out;
    }
    const out = new Map<string, Uint8Array>();
    for (const [field, value] of merged) out.set(field, encoder.encode(extractedText(value)));
    return out;
  } catch (err) {
    if (err instanceof DataFromError) throw err;
    throw new DataFromError(`${at}.merge: a number in the values is out of float64 range`);
  }
}

/** A merged field's value as ESO's GetByteValue writes it. */
function extractedText(value: unknown): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return goFormatFloat(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return goJsonMarshal(value, true);
}

/** Without rewrite steps, conversionStrategy makes the keys; two names converting to one key are refused. */
export function convertKeys(strategy: ConversionStrategy, data: ReadonlyMap<string, Uint8Array>, where: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const origin = new Map<string, string>();
  for (const [key, value] of data) {
    const converted = convertKey(strategy, key);
    const earlier = origin.get(converted);
    if (earlier !== undefined) {
      throw new DataFromError(`${where}: "${earlier}" and "${key}" both become key "${converted}" (conversionStrategy ${strategy}); use a rewrite to name them apart`);
    }
    origin.set(converted, key);
    out.set(converted, value);
  }
  return out;
}

/**
 * One dataFrom entry's fetched map → its Secret keys: rewrite (or conversionStrategy when there is none),
 * then decodingStrategy on each value, as ESO orders them.
 */
export function shapeDataFrom(
  entry: ExternalSecretDataFrom,
  fetched: ReadonlyMap<string, Uint8Array>,
  engine: TemplateEngine,
  where: string,
): Map<string, Uint8Array> {
  const ref = entry.extract ?? entry.find;
  const strategy: ConversionStrategy = ref?.conversionStrategy ?? 'Default';
  const decoding: DecodingStrategy = ref?.decodingStrategy ?? 'None';
  // After a rewrite the conversion still runs (it changes only characters a key cannot hold), so a rewrite that
  // leaves a "/" gives a usable key, as ESO's docs imply; without a rewrite it makes the keys.
  const rewritten = (entry.rewrite?.length ?? 0) > 0 ? rewriteKeys(entry.rewrite!, fetched, engine, where) : fetched;
  const renamed = convertKeys(strategy, rewritten, where);
  const out = new Map<string, Uint8Array>();
  for (const [key, value] of renamed) out.set(key, decode(value, decoding, key));
  return out;
}

/** Keys of one source, with where they came from. */
export interface KeySource {
  /** e.g. `spec.data[0]` or `spec.dataFrom[1] (find)`. */
  readonly where: string;
  readonly data: ReadonlyMap<string, Uint8Array>;
}

/** All sources into one map: every key must be a valid Secret key and come from exactly one source. */
export function mergeSources(sources: readonly KeySource[]): Map<string, Uint8Array> {
  const merged = new Map<string, Uint8Array>();
  const origin = new Map<string, string>();
  for (const source of sources) {
    for (const [key, value] of source.data) {
      if (!SECRET_KEY.test(key) || key.length > 253) {
        throw new DataFromError(
          `${source.where} produces key "${key}", which is not a valid Secret key (letters, digits, '-', '_' and '.' only, at most 253); ` +
            'rename it with a rewrite or a conversionStrategy',
        );
      }
      const earlier = origin.get(key);
      if (earlier !== undefined) {
        throw new DataFromError(`key "${key}" comes from both ${earlier} and ${source.where}; each key of the Secret must come from one source (use a rewrite to rename one)`);
      }
      origin.set(key, source.where);
      merged.set(key, value);
    }
  }
  return merged;
}
