import { NoSecretError, TerminalError } from './provider.ts';
import type { DecodingStrategy } from './provider.ts';
import { gjsonGet, gjsonString, parseJsonDocument, unsupportedGjsonSyntax } from '../util/gjson.ts';

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

/** Describes the remote key for messages; keys are names, never values. */
function keyLabel(key: string | undefined): string {
  return key === undefined ? 'the remote value' : `the value of key "${key}"`;
}

function textOf(bytes: Uint8Array): string | undefined {
  try {
    return textDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Reads `remoteRef.property` out of a JSON value as ESO does: the property is a gjson path (`a.b`, `a\.b` for a
 * dot inside a key, `na*`/`?` wildcards, `items.01`, `items.#`, `#(key=="v").x`, `a|b`) and the bytes are gjson's
 * Result.String() — strings unquoted, integers as written, other numbers in Go's float form (`1.0` → `1`,
 * `1e3` → `1000`), null → empty, objects and arrays as their stored text. When the path finds nothing, the whole
 * property is tried as one key name (so `"tls.crt"` works unescaped, as ESO's AWS provider does). An empty
 * property returns the value unchanged.
 * @param key the remote key, named in error messages.
 */
export function extractProperty(bytes: Uint8Array, property: string, key?: string): Uint8Array {
  if (property === '') return bytes;
  const unsupported = unsupportedGjsonSyntax(property);
  if (unsupported !== undefined) {
    throw new ValueFormatError(
      `remoteRef.property "${property}" uses gjson ${unsupported}, which secret-relay does not support; ` +
        'use a plain path (keys, indexes, wildcards, #, queries, pipes)',
    );
  }
  const text = textOf(bytes);
  if (text === undefined || parseJsonDocument(text) === undefined) {
    throw new ValueFormatError(
      `remoteRef.property "${property}": ${keyLabel(key)} is not JSON, so a property cannot be read from it; ` +
        `remove remoteRef.property to use the whole value, or store a JSON object`,
    );
  }
  let result = gjsonGet(text, property);
  if (!result.exists && property.includes('.')) result = gjsonGet(text, property.replaceAll('.', '\\.'));
  if (!result.exists) throw new NoSecretError(`property "${property}" not found in ${keyLabel(key)}`);
  return textEncoder.encode(gjsonString(result.node));
}

/**
 * Turns a JSON object value into a map of its top-level entries (for `dataFrom.extract`), as ESO's GetSecretMap:
 * strings unquoted, null → empty, everything else (numbers, booleans, objects, arrays) as its stored text byte for
 * byte; a key given twice keeps its last value; a top-level null is an empty map.
 */
export function jsonObjectEntries(bytes: Uint8Array, key?: string): Record<string, Uint8Array> {
  const text = textOf(bytes);
  const node = text === undefined ? undefined : parseJsonDocument(text);
  if (node?.kind === 'null') return {};
  if (node?.kind !== 'object') {
    throw new ValueFormatError(
      `${keyLabel(key)} is not a JSON object, so it cannot be split into keys; ` +
        `use spec.data with remoteRef instead of dataFrom.extract, or store a JSON object`,
    );
  }
  // fromEntries defines own properties, so a JSON key "__proto__" stays data; a later duplicate wins, as in Go.
  return Object.fromEntries(
    node.entries.map(([name, entry]) => [
      name,
      textEncoder.encode(entry.kind === 'string' ? entry.value : entry.kind === 'null' ? '' : entry.raw),
    ]),
  );
}
