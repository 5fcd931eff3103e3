// Inputs a hostile tenant would write, built the way an attacker builds them: a real PKCS#12 bundle with its
// iteration counts patched (re-encoded DER, so every length is right), the gjson wildcard bomb of issue 26, and
// liquid templates that loop to their limits.

interface Node {
  tag: number;
  /** Children of a constructed element, or of an OCTET STRING that holds DER. */
  children?: Node[];
  /** Content of a primitive element. */
  bytes?: Uint8Array;
  /** Set for an OCTET STRING whose content was parsed as DER (re-encoded as content). */
  wrapsDer?: boolean;
}

function readLength(der: Uint8Array, at: number): [number, number] {
  const first = der[at]!;
  if (first < 0x80) return [first, at + 1];
  const n = first & 0x7f;
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + der[at + 1 + i]!;
  return [length, at + 1 + n];
}

function parse(der: Uint8Array, start = 0, end = der.length): Node[] {
  const out: Node[] = [];
  for (let at = start; at < end; ) {
    const tag = der[at]!;
    const [length, content] = readLength(der, at + 1);
    const body = der.subarray(content, content + length);
    if (tag & 0x20) out.push({ tag, children: parse(der, content, content + length) });
    else if (tag === 0x04 && body[0] === 0x30) {
      try {
        const inner = parse(body);
        const reencoded = encode(inner);
        if (Buffer.compare(Buffer.from(reencoded), Buffer.from(body)) === 0) out.push({ tag, children: inner, wrapsDer: true });
        else out.push({ tag, bytes: body });
      } catch {
        out.push({ tag, bytes: body });
      }
    } else out.push({ tag, bytes: body });
    at = content + length;
  }
  return out;
}

function encodeLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return [0x80 | bytes.length, ...bytes];
}

function encode(nodes: Node[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const node of nodes) {
    const content = node.children ? encode(node.children) : node.bytes!;
    parts.push(new Uint8Array([node.tag, ...encodeLength(content.length)]), content);
  }
  return new Uint8Array(Buffer.concat(parts));
}

function integer(value: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0);
  return new Uint8Array(bytes);
}

const OID_PBKDF2 = Buffer.from('2a864886f70d01050c', 'hex');

/** Every PBKDF2-params iteration count under `node` (SEQUENCE { OID pbkdf2, SEQUENCE { salt, INTEGER, … } }). */
function patchPbkdf2(node: Node, count: number): number {
  let patched = 0;
  const kids = node.children ?? [];
  if (node.tag === 0x30 && kids[0]?.tag === 0x06 && Buffer.from(kids[0].bytes!).equals(OID_PBKDF2) && kids[1]?.children?.[1]?.tag === 0x02) {
    kids[1].children[1].bytes = integer(count);
    patched++;
  }
  for (const kid of kids) patched += patchPbkdf2(kid, count);
  return patched;
}

/**
 * A real bundle with its MAC iteration count (and, with `encryption`, every PBKDF2 count) set to `count`:
 * 0x7fffffff by default, the two-hour bomb of issue 26.
 */
export function pkcs12Bomb(bundle: Uint8Array, options: { count?: number; mac?: boolean; encryption?: boolean } = {}): Uint8Array {
  const count = options.count ?? 0x7fffffff;
  const [pfx] = parse(bundle);
  if (!pfx?.children) throw new Error('not a PKCS#12 bundle');
  if (options.mac ?? true) {
    const macData = pfx.children[2];
    if (!macData?.children) throw new Error('the bundle has no MAC');
    macData.children[2] = { tag: 0x02, bytes: integer(count) };
  }
  if (options.encryption && patchPbkdf2(pfx, count) === 0) throw new Error('the bundle has no PBKDF2 parameters');
  return encode([pfx]);
}

/** The gjson wildcard bomb: `*a*a…*b*` (1,001+ characters) against keys of `keyLength` a's. */
export function gjsonBomb(keys = 50, keyLength = 6000): { json: string; property: string } {
  const object: Record<string, number> = {};
  for (let i = 0; i < keys; i++) object[`${'a'.repeat(keyLength - String(i).length)}${i}`] = i;
  return { json: JSON.stringify(object), property: `${'*a'.repeat(500)}*b*` };
}

/** A liquid template that loops to its limits: nested loops whose body allocates (memory and render time). */
export const LOOPING_TEMPLATE =
  '{% assign s = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" %}' +
  '{% for a in (1..100000) %}{% for b in (1..100000) %}{% assign t = s | append: s %}{% endfor %}{% endfor %}';
