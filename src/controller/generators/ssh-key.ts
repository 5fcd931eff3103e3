// The SSHKey generator: an rsa (2048/3072/4096), ecdsa (P-256/384/521) or ed25519 key pair from node:crypto, written
// as OpenSSH writes them — privateKey in the openssh-key-v1 format (unencrypted), publicKey as an authorized_keys
// line with the comment. Keys privateKey and publicKey, as ESO's. Generated with the asynchronous generateKeyPair,
// which runs on libuv's thread pool: an RSA 4096 key takes 0.2–0.5 s of CPU, which must not stop the event loop
// that serves every other tenant.
import { generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { SSHKeyLimits, type SSHKeySpec } from '../../api/index.ts';
import { TerminalError } from '../../util/errors.ts';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const sshString = (data: Buffer | string) => {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([u32(bytes.length), bytes]);
};
/** An SSH mpint: big-endian two's complement, a leading zero when the top bit is set. */
const mpint = (base64url: string) => {
  let bytes = Buffer.from(base64url, 'base64url');
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  bytes = bytes.subarray(start);
  if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return sshString(bytes);
};

interface KeyParts {
  readonly type: string;
  readonly publicBlob: Buffer;
  readonly privateFields: Buffer;
}

function ed25519Parts(publicKey: KeyObject, privateKey: KeyObject): KeyParts {
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  return { type: 'ssh-ed25519', publicBlob, privateFields: Buffer.concat([sshString('ssh-ed25519'), sshString(pub), sshString(Buffer.concat([seed, pub]))]) };
}

function rsaParts(privateKey: KeyObject): KeyParts {
  const jwk = privateKey.export({ format: 'jwk' });
  const publicBlob = Buffer.concat([sshString('ssh-rsa'), mpint(jwk.e!), mpint(jwk.n!)]);
  // OpenSSH's order: n, e, d, iqmp, p, q.
  const privateFields = Buffer.concat([sshString('ssh-rsa'), mpint(jwk.n!), mpint(jwk.e!), mpint(jwk.d!), mpint(jwk.qi!), mpint(jwk.p!), mpint(jwk.q!)]);
  return { type: 'ssh-rsa', publicBlob, privateFields };
}

/** OpenSSH's curve names by ESO's keySize (crypto/elliptic P256, P384, P521). */
const ECDSA_CURVES: Readonly<Record<number, { readonly nodeCurve: string; readonly sshCurve: string }>> = {
  256: { nodeCurve: 'P-256', sshCurve: 'nistp256' },
  384: { nodeCurve: 'P-384', sshCurve: 'nistp384' },
  521: { nodeCurve: 'P-521', sshCurve: 'nistp521' },
};

function ecdsaParts(privateKey: KeyObject, sshCurve: string): KeyParts {
  const jwk = privateKey.export({ format: 'jwk' });
  const type = `ecdsa-sha2-${sshCurve}`;
  // The public point Q, uncompressed (SEC 1: 0x04 ‖ X ‖ Y; the JWK's x and y are already full-width).
  const q = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  const publicBlob = Buffer.concat([sshString(type), sshString(sshCurve), sshString(q)]);
  return { type, publicBlob, privateFields: Buffer.concat([sshString(type), sshString(sshCurve), sshString(q), mpint(jwk.d!)]) };
}

const generateKeyPairAsync = promisify(generateKeyPair);

function opensshPrivateKey(parts: KeyParts, comment: string): string {
  const check = randomBytes(4);
  let section = Buffer.concat([check, check, parts.privateFields, sshString(comment)]);
  const padding: number[] = [];
  for (let i = 1; (section.length + padding.length) % 8 !== 0; i++) padding.push(i);
  section = Buffer.concat([section, Buffer.from(padding)]);
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0'), sshString('none'), sshString('none'), sshString(''), u32(1), sshString(parts.publicBlob), sshString(section)]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

export async function sshKeyValues(spec: SSHKeySpec): Promise<Map<string, Uint8Array>> {
  const keyType = spec.keyType ?? 'rsa';
  const comment = spec.comment ?? '';
  let parts: KeyParts;
  if (keyType === 'ed25519') {
    const { publicKey, privateKey } = await generateKeyPairAsync('ed25519');
    parts = ed25519Parts(publicKey, privateKey);
  } else if (keyType === 'rsa') {
    const modulusLength = spec.keySize ?? 2048;
    // Also refused by the CRD; checked here too, for an object the schema let through (an older CRD): an RSA 8192
    // key takes ~10 s of CPU.
    if (!(SSHKeyLimits.rsaSizes as readonly number[]).includes(modulusLength)) throw new TerminalError(`SSHKey: spec.keySize ${modulusLength} is refused for rsa keys: use 2048, 3072 or 4096`);
    parts = rsaParts((await generateKeyPairAsync('rsa', { modulusLength, publicExponent: 65537 })).privateKey);
  } else if (keyType === 'ecdsa') {
    const curve = ECDSA_CURVES[spec.keySize ?? 256];
    if (!curve) throw new TerminalError(`SSHKey: spec.keySize ${spec.keySize} is refused for ecdsa keys: use 256, 384 or 521`);
    parts = ecdsaParts((await generateKeyPairAsync('ec', { namedCurve: curve.nodeCurve })).privateKey, curve.sshCurve);
  } else {
    throw new TerminalError(`SSHKey: keyType ${String(keyType)} is not supported; use rsa, ecdsa or ed25519`);
  }
  const publicLine = `${parts.type} ${parts.publicBlob.toString('base64')}${comment ? ` ${comment}` : ''}\n`;
  return new Map([
    ['privateKey', Buffer.from(opensshPrivateKey(parts, comment))],
    ['publicKey', Buffer.from(publicLine)],
  ]);
}
