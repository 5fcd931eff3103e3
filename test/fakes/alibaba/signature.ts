// Alibaba Cloud's RPC signature V1, as published ("Signature method" of the RPC API style): the request's parameters
// (query ∪ form body, without Signature) sorted by name, each name and value percent-encoded per RFC 3986 (space →
// %20, * → %2A, ~ kept), joined as name=value with &; StringToSign = METHOD & %2F & encode(that);
// Signature = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)). Written from the documentation, not from the
// SDK, so the fake checks the SDK rather than repeating it.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export function percentEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function stringToSign(method: string, params: ReadonlyMap<string, string>): string {
  const canonical = [...params.entries()]
    .filter(([name]) => name !== 'Signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`)
    .join('&');
  return `${method.toUpperCase()}&${percentEncode('/')}&${percentEncode(canonical)}`;
}

export function signV1(method: string, params: ReadonlyMap<string, string>, accessKeySecret: string): string {
  return createHmac('sha1', `${accessKeySecret}&`).update(stringToSign(method, params)).digest('base64');
}

/** Constant-time comparison of the Signature sent with the one computed. */
export function signatureMatches(method: string, params: ReadonlyMap<string, string>, accessKeySecret: string): boolean {
  const sent = Buffer.from(params.get('Signature') ?? '');
  const expected = Buffer.from(signV1(method, params, accessKeySecret));
  return sent.length === expected.length && timingSafeEqual(sent, expected);
}

/**
 * Alibaba Cloud's signature V3, ACS3-HMAC-SHA256, as published: CanonicalRequest = METHOD \n URI \n sorted encoded
 * query \n "name:value\n" per signed header (lowercase, sorted) \n SignedHeaders \n hex SHA-256 of the body;
 * StringToSign = "ACS3-HMAC-SHA256\n" + hex(SHA-256(CanonicalRequest)); Signature = hex(HMAC-SHA256(secret, that)).
 * The signed headers must cover host, every x-acs-* header and content-type when present.
 */
export interface V3Authorization {
  readonly accessKeyId: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

export const ACS3_ALGORITHM = 'ACS3-HMAC-SHA256';

export function parseV3Authorization(header: string): V3Authorization | undefined {
  const match = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)$/.exec(header.trim());
  if (!match) return undefined;
  return { accessKeyId: match[1]!, signedHeaders: match[2]!.split(';'), signature: match[3]! };
}

export function missingSignedHeaders(signed: readonly string[], headers: Readonly<Record<string, string>>): string[] {
  const required = Object.keys(headers).filter((name) => name === 'host' || name.startsWith('x-acs-') || name === 'content-type');
  return required.filter((name) => !signed.includes(name));
}

export function canonicalRequestV3(
  method: string,
  path: string,
  query: ReadonlyMap<string, string>,
  headers: Readonly<Record<string, string>>,
  signedHeaders: readonly string[],
  payloadHash: string,
): string {
  const canonicalQuery = [...query.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`)
    .join('&');
  const canonicalHeaders = [...signedHeaders].sort().map((name) => `${name}:${(headers[name] ?? '').trim()}\n`).join('');
  return `${method.toUpperCase()}\n${path || '/'}\n${canonicalQuery}\n${canonicalHeaders}\n${[...signedHeaders].sort().join(';')}\n${payloadHash}`;
}

export function signV3(canonicalRequest: string, accessKeySecret: string): string {
  const stringToSign = `${ACS3_ALGORITHM}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
  return createHmac('sha256', accessKeySecret).update(stringToSign).digest('hex');
}

export function sha256Hex(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}
