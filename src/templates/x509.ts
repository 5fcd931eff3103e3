// The few X.509 fields ESO's filterCertChain and certSANs read that node:crypto's X509Certificate does not expose:
// the subject and authority key identifiers and the subject alternative names, each kept by kind as Go's
// crypto/x509 keeps them. node:crypto parses the certificate first (so what it refuses is refused); a short DER
// walk then reads the extensions.
import { X509Certificate } from 'node:crypto';
import { FilterError } from './errors.ts';

interface Tlv {
  readonly tag: number;
  /** Offset of the contents. */
  readonly start: number;
  /** Offset just past the contents. */
  readonly end: number;
}

class DerError extends Error {}

function readTlv(der: Uint8Array, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new DerError('truncated');
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used in certificates');
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4 || start + octets > limit) throw new DerError('bad length');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[start + i]!;
    start += octets;
  }
  if (start + length > limit) throw new DerError('truncated');
  return { tag, start, end: start + length };
}

function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const child = readTlv(der, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

const OID_SUBJECT_KEY_ID = '551d0e';
const OID_AUTHORITY_KEY_ID = '551d23';
const OID_SUBJECT_ALT_NAME = '551d11';

export interface CertificateInfo {
  /** The DER bytes. */
  readonly raw: Uint8Array;
  /** As Go's Certificate.SubjectKeyId / AuthorityKeyId: undefined when the extension (or the key id) is absent. */
  readonly subjectKeyId: Uint8Array | undefined;
  readonly authorityKeyId: Uint8Array | undefined;
  readonly dnsNames: string[];
  readonly ipAddresses: string[];
  readonly emailAddresses: string[];
  readonly uris: string[];
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Parses one DER certificate; refuses (without quoting it) what is not one. */
export function parseCertificate(raw: Uint8Array, filter: string): CertificateInfo {
  try {
    // OpenSSL's parse: refuses what is not a certificate at all.
    new X509Certificate(raw);
    const certificate = readTlv(raw, 0, raw.length);
    // Go refuses bytes after the certificate ("x509: trailing data").
    if (certificate.end !== raw.length || certificate.tag !== 0x30) throw new DerError('trailing data');
    const tbs = children(raw, certificate)[0];
    if (tbs?.tag !== 0x30) throw new DerError('no tbsCertificate');
    const info: CertificateInfo = { raw, subjectKeyId: undefined, authorityKeyId: undefined, dnsNames: [], ipAddresses: [], emailAddresses: [], uris: [] };
    let subjectKeyId: Uint8Array | undefined;
    let authorityKeyId: Uint8Array | undefined;
    const extensions = children(raw, tbs).find((field) => field.tag === 0xa3);
    const list = extensions === undefined ? [] : children(raw, children(raw, extensions)[0] ?? extensions);
    for (const extension of list) {
      const parts = children(raw, extension);
      const oid = parts[0];
      const value = parts[parts.length - 1];
      if (oid?.tag !== 0x06 || value?.tag !== 0x04) throw new DerError('bad extension');
      const id = hex(raw.subarray(oid.start, oid.end));
      const inner = readTlv(raw, value.start, value.end);
      if (id === OID_SUBJECT_KEY_ID) {
        if (inner.tag !== 0x04) throw new DerError('bad subject key id');
        subjectKeyId = raw.slice(inner.start, inner.end);
      } else if (id === OID_AUTHORITY_KEY_ID) {
        if (inner.tag !== 0x30) throw new DerError('bad authority key id');
        const keyId = children(raw, inner).find((field) => field.tag === 0x80);
        if (keyId !== undefined) authorityKeyId = raw.slice(keyId.start, keyId.end);
      } else if (id === OID_SUBJECT_ALT_NAME) {
        if (inner.tag !== 0x30) throw new DerError('bad subject alternative names');
        for (const name of children(raw, inner)) readGeneralName(raw, name, info);
      }
    }
    return { ...info, subjectKeyId, authorityKeyId };
  } catch (err) {
    if (err instanceof FilterError) throw err;
    throw new FilterError(`${filter}: a PEM block is not a certificate that can be parsed`);
  }
}

function ascii(raw: Uint8Array, tlv: Tlv, what: string): string {
  const bytes = raw.subarray(tlv.start, tlv.end);
  // Go refuses SANs that are not IA5String (ASCII) text.
  if (bytes.some((b) => b > 0x7f)) throw new FilterError(`a certificate's ${what} SAN is not ASCII`);
  return Buffer.from(bytes).toString('latin1');
}

function readGeneralName(raw: Uint8Array, name: Tlv, info: CertificateInfo): void {
  switch (name.tag) {
    case 0x81:
      info.emailAddresses.push(ascii(raw, name, 'email'));
      break;
    case 0x82:
      info.dnsNames.push(ascii(raw, name, 'DNS'));
      break;
    case 0x86:
      info.uris.push(ascii(raw, name, 'URI'));
      break;
    case 0x87:
      info.ipAddresses.push(ipString(raw.subarray(name.start, name.end)));
      break;
    default:
      break;
  }
}

/** Go's net.IP.String: dotted IPv4 (also for IPv4-mapped IPv6), RFC 5952 IPv6 (first longest zero run as ::). */
export function ipString(ip: Uint8Array): string {
  if (ip.length === 4) return [...ip].join('.');
  if (ip.length !== 16) throw new FilterError(`a certificate's IP address SAN has ${ip.length} bytes (4 or 16 expected)`);
  if (ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff) return [...ip.subarray(12)].join('.');
  const groups = Array.from({ length: 8 }, (_, i) => (ip[2 * i]! << 8) | ip[2 * i + 1]!);
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i >= 2 && j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const text = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return text(0, 8);
  return `${text(0, bestStart)}::${text(bestStart + bestLength, 8)}`;
}
