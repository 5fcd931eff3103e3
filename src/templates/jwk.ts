// ESO's jwkPublicKeyPem / jwkPrivateKeyPem (runtime/template/v2/jwk.go, lestrrat-go/jwx v2 + crypto/x509) with
// node:crypto: a public JWK to SPKI PEM ("PUBLIC KEY"), a private JWK to PKCS#8 PEM ("PRIVATE KEY"). The DER is
// byte-identical to Go's (checked by test/unit/templates/eso-functions.test.ts against ESO's code). ESO takes
// exactly these: RSA, EC on P-256/P-384/P-521 and OKP Ed25519; a private JWK for the public filter (or the other
// way round) is refused, as in ESO.
import { createPrivateKey, createPublicKey, type JsonWebKey } from 'node:crypto';
import { FilterError } from './errors.ts';
import { derToPem } from './pem.ts';

/** A JWK's JSON: 64 KiB holds a 16384-bit RSA private key several times over. */
export const MAX_JWK_LENGTH = 64 * 1024;

const EC_CURVES = new Set(['P-256', 'P-384', 'P-521']);

function readJwk(input: string, filter: string, wantPrivate: boolean): JsonWebKey {
  if (input.length > MAX_JWK_LENGTH) throw new FilterError(`${filter}: the JWK is longer than ${MAX_JWK_LENGTH} characters (the limit)`);
  let jwk: unknown;
  try {
    jwk = JSON.parse(input);
  } catch {
    throw new FilterError(`${filter}: the input is not a JSON web key (not valid JSON)`);
  }
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) throw new FilterError(`${filter}: the input is not a JSON web key (not a JSON object)`);
  const key = jwk as Record<string, unknown>;
  const kty = key['kty'];
  const crv = key['crv'];
  const supported = kty === 'RSA' || (kty === 'EC' && typeof crv === 'string' && EC_CURVES.has(crv)) || (kty === 'OKP' && crv === 'Ed25519');
  if (!supported) {
    throw new FilterError(`${filter}: the JWK's key type is not supported (RSA, EC on P-256/P-384/P-521 and OKP Ed25519 are, as in ESO)`);
  }
  const isPrivate = key['d'] !== undefined;
  if (isPrivate !== wantPrivate) {
    throw new FilterError(wantPrivate ? `${filter}: the JWK is a public key; it has no private part` : `${filter}: the JWK is a private key; ESO's jwkPublicKeyPem refuses those too — use a public JWK`);
  }
  return key as JsonWebKey;
}

export function jwkPublicKeyPem(input: string): string {
  const filter = 'jwk_public_key_pem';
  const jwk = readJwk(input, filter, false);
  try {
    return derToPem('PUBLIC KEY', createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' }));
  } catch {
    // node:crypto's messages are not quoted: they could describe the key.
    throw new FilterError(`${filter}: the JWK is not a valid key`);
  }
}

export function jwkPrivateKeyPem(input: string): string {
  const filter = 'jwk_private_key_pem';
  const jwk = readJwk(input, filter, true);
  try {
    return derToPem('PRIVATE KEY', createPrivateKey({ key: jwk, format: 'jwk' }).export({ type: 'pkcs8', format: 'der' }));
  } catch {
    throw new FilterError(`${filter}: the JWK is not a valid key`);
  }
}
