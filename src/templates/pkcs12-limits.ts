// What a PKCS#12 bundle asks for before node-forge derives a single key. A bundle carries its own iteration
// counts (the MAC's, each PBE or PBES2/PBKDF2 parameter set); forge honours them, and one count of 0x7fffffff keeps
// a CPU busy for hours. So the DER is walked first, far enough to read every count it shows, and a bundle whose
// counts exceed PKCS12_MAX_ITERATIONS is refused before any derivation. Counts hidden inside encrypted content
// (a key bag inside an encrypted SafeContents) are only readable after decryption: `guardForgeDerivations`
// makes forge's own derivation functions refuse them too.
import { FilterError } from './errors.ts';

/**
 * The highest iteration count a bundle may ask for, for the MAC and for each encrypted part. Tools write far less:
 * OpenSSL 2,048, Java's keytool 10,000, Windows 2,000; 600,000 is OWASP's PBKDF2-SHA256 advice for password
 * storage, which bundles do not follow. node-forge derives ~300,000 iterations a second here (2,000,000 took 6.5 s),
 * and a bundle needs up to three derivations (MAC, certificates, key): at 200,000 the slowest honest bundle stays
 * near 2 s, inside the sandbox's deadline.
 */
export const PKCS12_MAX_ITERATIONS = 200_000;

/** Deeper nesting than any bundle has; walking stops there (and the input is refused as unreadable). */
const MAX_DEPTH = 48;

const OID_PBES2 = '1.2.840.113549.1.5.13';
const OID_PBKDF2 = '1.2.840.113549.1.5.12';
/** PKCS#12 PBE (pbeWithSHAAnd…) and PKCS#5 PBES1 (pbeWithMD5AndDES-CBC …): params SEQUENCE { salt, iterations }. */
const PBE_PREFIXES = ['1.2.840.113549.1.12.1.', '1.2.840.113549.1.5.'];

export class IterationLimitError extends FilterError {}

interface Tlv {
  readonly tag: number;
  readonly constructed: boolean;
  /** Content bytes (for an indefinite length: up to the end-of-contents marker). */
  readonly start: number;
  readonly end: number;
  /** Where the next element starts. */
  readonly next: number;
}

class NotDer extends Error {}

function readTlv(der: Uint8Array, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new NotDer();
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) throw new NotDer(); // high tag numbers: not in PKCS#12
  const constructed = (tag & 0x20) !== 0;
  let i = at + 1;
  const first = der[i++]!;
  if (first === 0x80) {
    // BER indefinite length (some bundles are BER): children until 00 00.
    if (!constructed) throw new NotDer();
    let j = i;
    for (;;) {
      if (j + 2 > limit) throw new NotDer();
      if (der[j] === 0 && der[j + 1] === 0) return { tag, constructed, start: i, end: j, next: j + 2 };
      j = readTlv(der, j, limit).next;
    }
  }
  let length = first;
  if (first & 0x80) {
    const bytes = first & 0x7f;
    if (bytes > 4 || i + bytes > limit) throw new NotDer();
    length = 0;
    for (let k = 0; k < bytes; k++) length = length * 256 + der[i++]!;
  }
  if (i + length > limit) throw new NotDer();
  return { tag, constructed, start: i, end: i + length, next: i + length };
}

function children(der: Uint8Array, tlv: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = tlv.start; at < tlv.end; ) {
    const child = readTlv(der, at, tlv.end);
    out.push(child);
    at = child.next;
  }
  return out;
}

function oidOf(der: Uint8Array, tlv: Tlv): string | undefined {
  if (tlv.tag !== 0x06 || tlv.end === tlv.start) return undefined;
  const parts: number[] = [];
  let value = 0;
  for (let i = tlv.start; i < tlv.end; i++) {
    const byte = der[i]!;
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

/** An INTEGER's value; Infinity past 2^53 (so any cap refuses it), NaN when negative or not an INTEGER. */
function integerOf(der: Uint8Array, tlv: Tlv): number {
  if (tlv.tag !== 0x02 || tlv.end === tlv.start) return Number.NaN;
  if (der[tlv.start]! & 0x80) return Number.NaN;
  let value = 0;
  for (let i = tlv.start; i < tlv.end; i++) value = value * 256 + der[i]!;
  return Number.isSafeInteger(value) ? value : Infinity;
}

/** An OCTET STRING's bytes, joining the pieces of a constructed (BER) one. */
function octetsOf(der: Uint8Array, tlv: Tlv, depth: number): Uint8Array {
  if (!tlv.constructed) return der.subarray(tlv.start, tlv.end);
  if (depth > MAX_DEPTH) throw new NotDer();
  return Buffer.concat(children(der, tlv).map((piece) => octetsOf(der, piece, depth + 1)));
}

export interface Pkcs12Counts {
  /** MacData.iterations (1 when absent, as the standard's DEFAULT). */
  readonly mac: number | undefined;
  /** The iteration count of every PBE/PBES2 parameter set the walk can see. */
  readonly encryption: number[];
}

/**
 * Reads the iteration counts a PKCS#12 bundle shows without decrypting anything: the MAC's and those of every
 * AlgorithmIdentifier naming a PBE scheme, anywhere in the structure (and inside OCTET STRINGs that hold DER, as
 * authSafe and SafeContents do). Throws NotDer (undefined result) when the input is not DER at all.
 */
export function pkcs12IterationCounts(der: Uint8Array): Pkcs12Counts | undefined {
  try {
    const pfx = readTlv(der, 0, der.length);
    if (pfx.tag !== 0x30) return undefined;
    const parts = children(der, pfx);
    let mac: number | undefined;
    const macData = parts[2];
    if (macData?.tag === 0x30) {
      const fields = children(der, macData);
      mac = fields[2] === undefined ? 1 : integerOf(der, fields[2]);
    }
    const encryption: number[] = [];
    walk(der, pfx, 0, encryption);
    return { mac, encryption };
  } catch (err) {
    if (err instanceof NotDer) return undefined;
    throw err;
  }
}

function walk(der: Uint8Array, tlv: Tlv, depth: number, counts: number[]): void {
  if (depth > MAX_DEPTH) throw new NotDer();
  if (tlv.tag === 0x04) {
    // An OCTET STRING may hold DER (authSafe, SafeContents) or opaque bytes (salts, ciphertext): look inside
    // only when it parses as one whole element.
    const bytes = octetsOf(der, tlv, depth);
    if (bytes.length < 2 || (bytes[0] !== 0x30 && bytes[0] !== 0x31)) return;
    let inner: Tlv;
    try {
      inner = readTlv(bytes, 0, bytes.length);
    } catch {
      return;
    }
    if (inner.next !== bytes.length) return;
    try {
      walk(bytes, inner, depth + 1, counts);
    } catch (err) {
      if (!(err instanceof NotDer)) throw err;
    }
    return;
  }
  if (!tlv.constructed) return;
  const kids = children(der, tlv);
  if (tlv.tag === 0x30 && kids[0]?.tag === 0x06) {
    const oid = oidOf(der, kids[0]);
    const params = kids[1];
    if (oid !== undefined && params?.tag === 0x30) {
      if (oid === OID_PBES2) {
        // PBES2-params { keyDerivationFunc AlgorithmIdentifier, encryptionScheme }: PBKDF2-params { salt, iterationCount, … }.
        const kdf = children(der, params)[0];
        if (kdf?.tag === 0x30) {
          const [kdfOid, kdfParams] = children(der, kdf);
          if (kdfOid && oidOf(der, kdfOid) === OID_PBKDF2 && kdfParams?.tag === 0x30) {
            const count = children(der, kdfParams)[1];
            counts.push(count === undefined ? Number.NaN : integerOf(der, count));
          }
        }
      } else if (oid !== OID_PBKDF2 && PBE_PREFIXES.some((prefix) => oid.startsWith(prefix))) {
        const count = children(der, params)[1];
        if (count !== undefined) counts.push(integerOf(der, count));
      }
    }
  }
  for (const kid of kids) walk(der, kid, depth + 1, counts);
}

/** Refuses a bundle whose visible counts exceed the cap; the message names the cap, never the input. */
export function checkPkcs12Iterations(der: Uint8Array, filter: string, max = PKCS12_MAX_ITERATIONS): void {
  const counts = pkcs12IterationCounts(der);
  if (counts === undefined) return; // not DER: forge's parse refuses it with its own message
  if (counts.mac !== undefined && !(counts.mac <= max)) {
    throw new IterationLimitError(`${filter}: the PKCS#12 bundle's MAC asks for more than ${max} key-derivation iterations (the documented cap); re-export it with fewer`);
  }
  if (counts.encryption.some((count) => !(count <= max))) {
    throw new IterationLimitError(`${filter}: the PKCS#12 bundle's encryption asks for more than ${max} key-derivation iterations (the documented cap); re-export it with fewer`);
  }
}

interface DerivingForge {
  pkcs12: { generateKey: (...args: unknown[]) => unknown };
  pki: { pbe: { generatePkcs12Key: (...args: unknown[]) => unknown } };
  pkcs5: { pbkdf2: (...args: unknown[]) => unknown };
}

const guarded = new WeakSet<object>();

/**
 * Makes forge's key derivations (PKCS#12 KDF for the MAC and PBE, PBKDF2 for PBES2) refuse counts above the cap,
 * for counts that only appear after decryption. Idempotent per forge instance.
 */
export function guardForgeDerivations(forge: DerivingForge, max = PKCS12_MAX_ITERATIONS): void {
  if (guarded.has(forge)) return;
  guarded.add(forge);
  const refuse = (count: unknown) => {
    if (typeof count === 'number' && count > max) {
      throw new IterationLimitError(`the PKCS#12 bundle asks for more than ${max} key-derivation iterations (the documented cap); re-export it with fewer`);
    }
  };
  const wrap = (owner: Record<string, unknown>, name: string, countAt: number) => {
    const original = owner[name] as (...args: unknown[]) => unknown;
    owner[name] = (...args: unknown[]) => {
      refuse(args[countAt]);
      return original.apply(owner, args);
    };
  };
  // generateKey(password, salt, id, iter, n, md); generatePkcs12Key(password, salt, id, iter, n, md); pbkdf2(p, s, c, dkLen, md, cb)
  wrap(forge.pkcs12 as unknown as Record<string, unknown>, 'generateKey', 3);
  wrap(forge.pki.pbe as unknown as Record<string, unknown>, 'generatePkcs12Key', 3);
  wrap(forge.pkcs5 as unknown as Record<string, unknown>, 'pbkdf2', 2);
}
