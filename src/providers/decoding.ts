import { NoSecretError, TerminalError } from './provider.ts';
import type { DecodingStrategy } from './provider.ts';

/**
 * The remote value cannot be turned into what the ExternalSecret asked for (bad base64, not JSON …).
 * Terminal: retrying the same value cannot help; the user changes the spec or the remote value.
 * Messages never contain the value.
 */
export class ValueFormatError extends TerminalError {}

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;
const base64UrlPattern = /^[A-Za-z0-9_-]*={0,2}$/;

const textDecoder = new TextDecoder('utf-8', { fatal: true });
const textEncoder = new TextEncoder();

/**
 * Applies `remoteRef.decodingStrategy`. Auto tries base64, then base64url, else keeps the raw bytes (as ESO).
 * Base64 and Base64URL are strict and padded (Go's StdEncoding/URLEncoding), so Auto does not mistake short
 * plain strings for unpadded base64. CR/LF are ignored, as Go does.
 * @param key the remote key, named in error messages (never the value).
 */
export function decode(bytes: Uint8Array, strategy: DecodingStrategy | undefined, key?: string): Uint8Array {
  return decodeDescribed(bytes, strategy, key === undefined ? 'the value' : `the value of key "${key}"`);
}

/** `subject` names what is decoded in error messages, e.g. 'the value of key "db"'. */
function decodeDescribed(bytes: Uint8Array, strategy: DecodingStrategy | undefined, subject: string): Uint8Array {
  switch (strategy) {
    case undefined:
    case 'None':
      return bytes;
    case 'Base64':
      return decodeBase64(bytes, false) ?? fail('Base64', 'base64', subject);
    case 'Base64URL':
      return decodeBase64(bytes, true) ?? fail('Base64URL', 'base64url', subject);
    case 'Auto':
      return decodeBase64(bytes, false) ?? decodeBase64(bytes, true) ?? bytes;
    default:
      throw new ValueFormatError(
        `remoteRef.decodingStrategy ${String(strategy)} is not known; use one of None, Base64, Base64URL, Auto`,
      );
  }
}

function fail(strategy: string, encoding: string, subject: string): never {
  throw new ValueFormatError(
    `remoteRef.decodingStrategy ${strategy}: ${subject} is not valid ${encoding}; ` +
      `store it ${encoding}-encoded (padded) or change decodingStrategy`,
  );
}

/** Returns undefined when the bytes are not valid (padded) base64 of the chosen alphabet. */
function decodeBase64(bytes: Uint8Array, urlAlphabet: boolean): Uint8Array | undefined {
  let text: string;
  try {
    text = textDecoder.decode(bytes);
  } catch {
    return undefined;
  }
  text = text.replace(/[\r\n]/g, '');
  if (text.length % 4 !== 0) return undefined;
  if (!(urlAlphabet ? base64UrlPattern : base64Pattern).test(text)) return undefined;
  const standard = urlAlphabet ? text.replace(/-/g, '+').replace(/_/g, '/') : text;
  return new Uint8Array(Buffer.from(standard, 'base64'));
}

// JSON.rawJSON / reviver source access exist in Node ≥ 21 but not yet in TypeScript's lib.
interface RawJsonApi {
  rawJSON(text: string): unknown;
  isRawJSON(value: unknown): boolean;
}
const rawJson = JSON as unknown as RawJsonApi;

/**
 * Parses JSON keeping numbers as written (as raw JSON), so a 20-digit account number or "1.0"
 * comes back unchanged instead of rounded by float conversion.
 * Returns `{ ok: false }` for non-JSON input; the parser's own message is dropped because it quotes the input.
 */
export function parseJsonValue(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    const text = textDecoder.decode(bytes);
    const value: unknown = JSON.parse(text, (_key: string, value: unknown, context?: { source?: string }) =>
      typeof value === 'number' && context?.source !== undefined ? rawJson.rawJSON(context.source) : value,
    );
    return { ok: true, value };
  } catch {
    return { ok: false };
  }
}

/** Bytes of one JSON value: strings raw (UTF-8), everything else serialised as JSON. */
export function jsonValueBytes(value: unknown): Uint8Array {
  return textEncoder.encode(typeof value === 'string' ? value : JSON.stringify(value));
}

/**
 * Splits `a.b\.c.0` into ['a', 'b.c', '0']: dots separate, a backslash makes the next character literal.
 */
export function splitPropertyPath(property: string): string[] {
  const segments: string[] = [];
  let current = '';
  for (let i = 0; i < property.length; i++) {
    const char = property[i];
    if (char === '\\' && i + 1 < property.length) {
      current += property[++i];
    } else if (char === '.') {
      segments.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  segments.push(current);
  return segments;
}

function lookup(value: unknown, segments: readonly string[]): { found: true; value: unknown } | { found: false } {
  let current = value;
  for (const segment of segments) {
    if (Array.isArray(current)) {
      if (!/^(0|[1-9][0-9]*)$/.test(segment)) return { found: false };
      const index = Number(segment);
      if (index >= current.length) return { found: false };
      current = current[index];
    } else if (current !== null && typeof current === 'object' && !rawJson.isRawJSON(current)) {
      if (!Object.hasOwn(current, segment)) return { found: false };
      current = (current as Record<string, unknown>)[segment];
    } else {
      return { found: false };
    }
  }
  return { found: true, value: current };
}

/** Describes the remote key for messages; keys are names, never values. */
function keyLabel(key: string | undefined): string {
  return key === undefined ? 'the remote value' : `the value of key "${key}"`;
}

/**
 * Reads `remoteRef.property` out of a JSON value: dot-separated path, `\.` for a dot inside a key name,
 * numeric segments index arrays. If the path does not resolve, the whole property is tried as one key
 * name (so `"tls.crt"` works unescaped, as in ESO). An empty property returns the value unchanged.
 * Strings come back raw; other JSON values serialised.
 * @param key the remote key, named in error messages.
 */
export function extractProperty(bytes: Uint8Array, property: string, key?: string): Uint8Array {
  if (property === '') return bytes;
  const parsed = parseJsonValue(bytes);
  if (!parsed.ok) {
    throw new ValueFormatError(
      `remoteRef.property "${property}": ${keyLabel(key)} is not JSON, so a property cannot be read from it; ` +
        `remove remoteRef.property to use the whole value, or store a JSON object`,
    );
  }
  const result = lookup(parsed.value, splitPropertyPath(property));
  if (result.found) return jsonValueBytes(result.value);
  const literal = lookup(parsed.value, [property]);
  if (literal.found) return jsonValueBytes(literal.value);
  throw new NoSecretError(`property "${property}" not found in ${keyLabel(key)}`);
}

/**
 * Turns a JSON object value into a map of its top-level entries (for `dataFrom.extract`):
 * strings raw, nested values serialised.
 */
export function jsonObjectEntries(bytes: Uint8Array, key?: string): Record<string, Uint8Array> {
  const parsed = parseJsonValue(bytes);
  const value = parsed.ok ? parsed.value : undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value) || rawJson.isRawJSON(value)) {
    throw new ValueFormatError(
      `${keyLabel(key)} is not a JSON object, so it cannot be split into keys; ` +
        `use spec.data with remoteRef instead of dataFrom.extract, or store a JSON object`,
    );
  }
  // fromEntries defines own properties, so a JSON key "__proto__" stays data.
  return Object.fromEntries(Object.entries(value).map(([name, entry]) => [name, jsonValueBytes(entry)]));
}
