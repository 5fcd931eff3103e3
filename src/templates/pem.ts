// PEM bundles: pick blocks of one type (certificates, the private key) out of a bundle.
import { FilterError } from './errors.ts';

export interface PemBlock {
  readonly type: string;
  /** The whole block, BEGIN to END line, with a trailing newline. */
  readonly text: string;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

/** Every well-formed PEM block, in order; text between blocks (comments, "Bag Attributes") is skipped. */
export function pemBlocks(text: string): PemBlock[] {
  return [...text.matchAll(BLOCK)].map((match) => ({ type: match[1]!, text: `${match[0].replace(/\r\n/g, '\n')}\n` }));
}

/** The blocks of one type, joined; refuses an input without any. */
export function pemOfType(text: string, type: string, filter: string): string {
  const blocks = pemBlocks(text).filter((block) => block.type === type);
  if (blocks.length === 0) throw new FilterError(`${filter}: the input holds no PEM block of type "${type}"`);
  return blocks.map((block) => block.text).join('');
}

const PRIVATE_KEY_TYPES = ['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'ENCRYPTED PRIVATE KEY'];

/** The one private key of a bundle; refuses none or several (which one would be meant is not known). */
export function pemPrivateKey(text: string, filter: string): string {
  const keys = pemBlocks(text).filter((block) => PRIVATE_KEY_TYPES.includes(block.type));
  if (keys.length !== 1) {
    throw new FilterError(`${filter}: the input holds ${keys.length} private keys; it needs exactly one`);
  }
  return keys[0]!.text;
}

export function derToPem(type: string, der: Uint8Array): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}
