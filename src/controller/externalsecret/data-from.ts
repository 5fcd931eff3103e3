// spec.dataFrom: turning fetched maps into Secret keys — rewrite (regexp, transform) or conversionStrategy,
// decodingStrategy, then every source merged with data[] without silent overwrites. Pure functions; the
// reconciler fetches, these decide the keys. Key names are remote names (not values), so messages name them.
import type { ExternalSecretDataFrom, ExternalSecretRewrite } from '../../api/types.generated.ts';
import { SECRET_KEY_PATTERN } from '../../api/external-secret.ts';
import { TerminalError } from '../../providers/provider.ts';
import type { DecodingStrategy } from '../../providers/provider.ts';
import { decode } from '../../providers/decoding.ts';
import type { TemplateEngine } from '../../templates/engine.ts';
import { TemplateError } from '../../templates/errors.ts';

/** A dataFrom (or data) result that cannot become the Secret the user expects; retried, since remote names can change. */
export class DataFromError extends Error {
  override readonly name = 'DataFromError';
}

/** A spec.dataFrom entry that can never work (invalid regular expression or rewrite template): fix the spec. */
export class DataFromSpecError extends TerminalError {}

export type ConversionStrategy = 'Default' | 'Unicode';

const SECRET_KEY = new RegExp(SECRET_KEY_PATTERN);
const KEY_CHARACTER = /[-._a-zA-Z0-9]/;

/**
 * conversionStrategy, as ESO's ConvertKeys: each character a Secret key cannot hold becomes "_" (Default) or
 * "_U" + 4 hex digits + "_" (Unicode). ESO keeps any Unicode letter or digit; only ASCII ones are valid in a
 * Secret key, so only those are kept here.
 */
export function convertKey(strategy: ConversionStrategy, key: string): string {
  let out = '';
  for (const char of key) {
    if (KEY_CHARACTER.test(char)) out += char;
    else if (strategy === 'Unicode') out += `_U${char.codePointAt(0)!.toString(16).padStart(4, '0')}_`;
    else out += '_';
  }
  return out;
}

/** Go's regexp syntax where it differs from JavaScript's: (?P<name>…) groups and a leading (?i)/(?s)/(?m). */
export function compileGoRegexp(source: string, where: string): RegExp {
  let pattern = source.replace(/\(\?P</g, '(?<');
  let flags = 'gu';
  const leading = /^\(\?([ims]+)\)/.exec(pattern);
  if (leading) {
    flags += leading[1];
    pattern = pattern.slice(leading[0].length);
  }
  try {
    return new RegExp(pattern, flags);
  } catch {
    throw new DataFromSpecError(`${where}: "${source}" is not a valid regular expression; fix its syntax`);
  }
}

/**
 * Go's Regexp.Expand for a replacement template: $name or ${name} (name = letters, digits, '_'; the longest
 * such run, so "$1x" means group "1x"), $$ for "$". Unknown or unmatched groups expand to "".
 */
export function expandGoTemplate(target: string, match: RegExpExecArray): string {
  return target.replace(/\$(\$|\{(\w+)\}|(\w+))/g, (_whole, token: string, braced?: string, bare?: string) => {
    if (token === '$') return '$';
    const name = braced ?? bare ?? '';
    const value = /^\d+$/.test(name) ? match[Number(name)] : match.groups?.[name];
    return value ?? '';
  });
}

function rewriteRegexp(key: string, pattern: RegExp, target: string): string {
  pattern.lastIndex = 0;
  return key.replace(pattern, (...args: unknown[]) => {
    // Rebuild an exec-style match from replace()'s arguments: match, groups…, offset, string[, named groups].
    const hasNamed = typeof args[args.length - 1] === 'object' && args[args.length - 1] !== null;
    const groupsEnd = args.length - (hasNamed ? 3 : 2);
    const match = args.slice(0, groupsEnd) as string[] as unknown as RegExpExecArray;
    if (hasNamed) (match as { groups?: Record<string, string> }).groups = args[args.length - 1] as Record<string, string>;
    return expandGoTemplate(target, match);
  });
}

/** The rewrite steps, applied in order to every key. Two keys becoming one is refused. */
export function rewriteKeys(
  steps: readonly ExternalSecretRewrite[],
  data: ReadonlyMap<string, Uint8Array>,
  engine: TemplateEngine,
  where: string,
): Map<string, Uint8Array> {
  let current = new Map(data);
  steps.forEach((step, index) => {
    const at = `${where}.rewrite[${index}]`;
    let rename: (key: string) => string;
    if (step.regexp) {
      const pattern = compileGoRegexp(step.regexp.source, `${at}.regexp.source`);
      const target = step.regexp.target;
      rename = (key) => rewriteRegexp(key, pattern, target);
    } else if (step.transform) {
      const template = step.transform.template;
      const templateAt = `${at}.transform.template`;
      try {
        engine.checkSyntax(template, templateAt);
      } catch (err) {
        throw err instanceof TemplateError ? new DataFromSpecError(err.message) : err;
      }
      const session = engine.session();
      rename = (key) => session.render(template, { value: key }, templateAt);
    } else {
      throw new DataFromSpecError(`${at} must set one of regexp or transform`);
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
  const renamed = (entry.rewrite?.length ?? 0) > 0 ? rewriteKeys(entry.rewrite!, fetched, engine, where) : convertKeys(strategy, fetched, where);
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
