// Template values are strings; a value whose bytes are not UTF-8 (a PKCS#12 bundle, a keystore) would be
// corrupted as one, so it travels as a BinaryValue instead. Only binary-aware filters (base64_encode,
// sha256, pkcs12_*) open it; printing it or passing it to a text filter fails with a message that says so.
import { FilterError } from './errors.ts';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export class BinaryValue {
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  static bytesOf(value: BinaryValue): Uint8Array {
    return value.#bytes;
  }

  toString(): string {
    throw new FilterError(
      'a binary value (not UTF-8 text) cannot be written as text; pipe it through base64_encode, or a pkcs12_* filter',
    );
  }

  valueOf(): string {
    return this.toString();
  }

  toJSON(): string {
    return this.toString();
  }
}

/** A UTF-8 string when the bytes are valid UTF-8, else a BinaryValue. */
export function templateValue(bytes: Uint8Array): string | BinaryValue {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return new BinaryValue(bytes);
  }
}

/** The bytes a filter input stands for: strings as UTF-8, BinaryValues as they are. */
export function inputBytes(value: unknown, filter: string): Uint8Array {
  if (value instanceof BinaryValue) return BinaryValue.bytesOf(value);
  if (typeof value === 'string') return new TextEncoder().encode(value);
  if (typeof value === 'number' || typeof value === 'boolean') return new TextEncoder().encode(String(value));
  throw new FilterError(`${filter} takes a string; it was given ${describeType(value)}`);
}

/** A type name for messages; never the value. */
export function describeType(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (nil)';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof BinaryValue) return 'a binary value';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
