// ESO's rsaDecrypt (runtime/template/v2/decrypt.go) with node:crypto: rsaDecrypt(scheme, hash, ciphertext,
// privateKeyPEM). Scheme "None" returns the input unchanged; "RSA-OAEP" decrypts with OAEP (MGF1 on the same hash,
// empty label) using the first PEM block of the key text, read as PKCS#1, PKCS#8 or SEC 1 as ESO tries them. Hash
// "SHA1" or "SHA512" as named; anything else ("SHA256", "None", a typo) is SHA-256, as in ESO. Any other scheme is
// refused. Messages never carry the ciphertext, the key, or the scheme text (which a value may supply).
import { constants, createPrivateKey, privateDecrypt, type KeyObject } from 'node:crypto';
import { BinaryValue, inputBytes, templateValue } from './binary-value.ts';
import { FilterError } from './errors.ts';
import { decodePemBlocks } from './pem.ts';

const FILTER = 'rsa_decrypt';

/**
 * RSA modulus bits accepted. Go's crypto/rsa refuses keys under 1024 bits. A private-key operation grows with the
 * cube of the size: 7 ms at 4096 bits, 55 ms at 8192, 230 ms at 16384 on a test machine; 16384 keeps one call far
 * under a render's 2 s budget (liquid checks that budget between calls, not inside one).
 */
export const RSA_MIN_BITS = 1024;
export const RSA_MAX_BITS = 16384;

/** A private key's text holds one block; a few more (a certificate alongside) are read past, not thousands. */
const MAX_KEY_BLOCKS = 16;

function parsePrivateKey(der: Uint8Array): KeyObject {
  for (const type of ['pkcs1', 'pkcs8', 'sec1'] as const) {
    try {
      return createPrivateKey({ key: Buffer.from(der), format: 'der', type });
    } catch {
      // the next encoding, as ESO's parsePrivateKey
    }
  }
  throw new FilterError(`${FILTER}: could not parse the private key (PKCS#1, PKCS#8 or SEC 1 DER expected)`);
}

function oaepHash(hash: string): string {
  if (hash === 'SHA1') return 'sha1';
  if (hash === 'SHA512') return 'sha512';
  return 'sha256';
}

export function rsaDecrypt(ciphertext: unknown, scheme: unknown, hash: unknown, privateKey: unknown): string | BinaryValue {
  if (typeof scheme !== 'string' || typeof hash !== 'string') throw new FilterError(`${FILTER} needs the scheme and the hash, e.g. rsa_decrypt: "RSA-OAEP", "SHA256", private_key`);
  if (scheme === 'None') {
    if (typeof ciphertext === 'string' || ciphertext instanceof BinaryValue) return ciphertext;
    return templateValue(inputBytes(ciphertext, FILTER));
  }
  if (scheme !== 'RSA-OAEP') throw new FilterError(`${FILTER}: the decryption scheme is not supported (RSA-OAEP and None are)`);
  if (typeof privateKey !== 'string') throw new FilterError(`${FILTER}: the private key must be PEM text`);
  const block = decodePemBlocks(privateKey, MAX_KEY_BLOCKS, FILTER).blocks[0];
  if (block === undefined) throw new FilterError(`${FILTER}: failed to decode a PEM block from the private key`);
  const key = parsePrivateKey(block.bytes);
  if (key.asymmetricKeyType !== 'rsa') throw new FilterError(`${FILTER}: the private key is not an RSA key`);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) throw new FilterError(`${FILTER}: the RSA key has ${bits} bits; ${RSA_MIN_BITS} to ${RSA_MAX_BITS} are accepted`);
  const input = inputBytes(ciphertext, FILTER);
  try {
    return templateValue(new Uint8Array(privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHash(hash) }, input)));
  } catch {
    // OpenSSL's reason (padding check failed, data too large) is not quoted: it is the same for every wrong input.
    throw new FilterError(`${FILTER}: error decrypting data with RSA (the ciphertext does not match this key, scheme and hash)`);
  }
}
