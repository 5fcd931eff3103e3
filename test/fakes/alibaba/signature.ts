// Alibaba Cloud's RPC signature V1, as published ("Signature method" of the RPC API style): the request's parameters
// (query ∪ form body, without Signature) sorted by name, each name and value percent-encoded per RFC 3986 (space →
// %20, * → %2A, ~ kept), joined as name=value with &; StringToSign = METHOD & %2F & encode(that);
// Signature = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)). Written from the documentation, not from the
// SDK, so the fake checks the SDK rather than repeating it.
import { createHmac, timingSafeEqual } from 'node:crypto';

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
