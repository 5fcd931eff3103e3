// The filters secret-relay adds to liquid's own, for shaping real Secrets. Each is a pure function of its
// input and arguments; each refusal is a FilterError whose message names the filter and never the value.
// docs/templates.md shows every one with an example.
import { createHash } from 'node:crypto';
import { stringify as yamlStringify } from 'yaml';
import { BinaryValue, describeType, inputBytes, templateValue } from './binary-value.ts';
import { certChain, certSans } from './cert-chain.ts';
import { FilterError } from './errors.ts';
import { jwkPrivateKeyPem, jwkPublicKeyPem } from './jwk.ts';
import { filterPem, pemOfType, pemPrivateKey } from './pem.ts';
import { readPkcs12 } from './pkcs12.ts';
import { rsaDecrypt } from './rsa-decrypt.ts';

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;
const base64UrlPattern = /^[A-Za-z0-9_-]*={0,2}$/;

function text(value: unknown, filter: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new FilterError(`${filter} takes a string; it was given ${describeType(value)}`);
}

function decodeBase64(value: unknown, url: boolean, filter: string): string | BinaryValue {
  // Padding is optional on input (many tools drop it); whitespace and line breaks are ignored.
  const compact = text(value, filter).replace(/\s+/g, '');
  const unpadded = compact.replace(/=+$/, '');
  if (!(url ? base64UrlPattern : base64Pattern).test(compact) || unpadded.length % 4 === 1) {
    throw new FilterError(`${filter}: the input is not valid ${url ? 'base64url' : 'base64'}`);
  }
  return templateValue(new Uint8Array(Buffer.from(unpadded, url ? 'base64url' : 'base64')));
}

function parseJson(value: unknown): unknown {
  try {
    return JSON.parse(text(value, 'parse_json'));
  } catch (err) {
    if (err instanceof FilterError) throw err;
    // JSON.parse's own message quotes the input.
    throw new FilterError('parse_json: the input is not valid JSON');
  }
}

/** Values crossing into JSON or YAML: BinaryValues refuse (their toJSON throws), everything else as it is. */
function toJson(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

function toYaml(value: unknown): string {
  if (value instanceof BinaryValue) value.toString();
  return yamlStringify(value, { lineWidth: 0 });
}

function sha256(value: unknown): string {
  return createHash('sha256').update(inputBytes(value, 'sha256')).digest('hex');
}

function base64Encode(value: unknown, url: boolean, filter: string): string {
  const encoded = Buffer.from(inputBytes(value, filter)).toString('base64');
  return url ? encoded.replace(/\+/g, '-').replace(/\//g, '_') : encoded;
}

function pemBlocksOfType(value: unknown, type: unknown): string {
  if (typeof type !== 'string' || type === '') throw new FilterError('pem_blocks needs the block type, e.g. pem_blocks: "CERTIFICATE"');
  return pemOfType(text(value, 'pem_blocks'), type, 'pem_blocks');
}

function password(value: unknown, filter: string): string {
  if (value === undefined || value === null) return '';
  return text(value, `${filter}'s password`);
}

function pkcs12ToPem(value: unknown, pass: unknown): string {
  const contents = readPkcs12(inputBytes(value, 'pkcs12_to_pem'), password(pass, 'pkcs12_to_pem'), 'pkcs12_to_pem');
  return [...contents.keys, ...contents.certificates].join('');
}

function pkcs12Certificates(value: unknown, pass: unknown): string {
  const contents = readPkcs12(inputBytes(value, 'pkcs12_certificates'), password(pass, 'pkcs12_certificates'), 'pkcs12_certificates');
  if (contents.certificates.length === 0) throw new FilterError('pkcs12_certificates: the PKCS#12 bundle holds no certificate');
  return contents.certificates.join('');
}

function pkcs12PrivateKey(value: unknown, pass: unknown): string {
  const contents = readPkcs12(inputBytes(value, 'pkcs12_private_key'), password(pass, 'pkcs12_private_key'), 'pkcs12_private_key');
  if (contents.keys.length !== 1) {
    throw new FilterError(`pkcs12_private_key: the PKCS#12 bundle holds ${contents.keys.length} private keys; it needs exactly one`);
  }
  return contents.keys[0]!;
}

/** `.dockerconfigjson` for one registry, as `kubectl create secret docker-registry` writes it. */
function dockerConfigJson(registry: unknown, username: unknown, pass: unknown): string {
  const server = text(registry, 'dockerconfigjson');
  if (server === '') throw new FilterError('dockerconfigjson: the registry (the filter input) is empty');
  const user = text(username ?? '', "dockerconfigjson's username");
  const secret = text(pass ?? '', "dockerconfigjson's password");
  const auth = Buffer.from(`${user}:${secret}`, 'utf8').toString('base64');
  return JSON.stringify({ auths: { [server]: { username: user, password: secret, auth } } });
}

/**
 * PEM blocks `filter_pem` reads at most. CA bundles hold a few hundred certificates (Mozilla's about 150); the
 * blocks are found in one pass whatever their number, so the bound is on the blocks decoded and written again.
 */
export const MAX_FILTER_PEM_BLOCKS = 1024;

function filterPemOf(value: unknown, type: unknown): string {
  if (typeof type !== 'string' || type === '') throw new FilterError('filter_pem needs the block type, e.g. filter_pem: "CERTIFICATE"');
  return filterPem(text(value, 'filter_pem'), type, MAX_FILTER_PEM_BLOCKS, 'filter_pem');
}

function certChainOf(value: unknown, type: unknown): string {
  if (typeof type !== 'string') throw new FilterError('cert_chain needs which certificate: cert_chain: "leaf", "intermediate" or "root"');
  return certChain(text(value, 'cert_chain'), type);
}

function affix(value: unknown, part: unknown, filter: 'has_prefix' | 'has_suffix'): boolean {
  if (typeof part !== 'string') throw new FilterError(`${filter} needs the text to look for, e.g. ${filter}: "oci://"`);
  const whole = text(value, filter);
  return filter === 'has_prefix' ? whole.startsWith(part) : whole.endsWith(part);
}

/** Name → implementation. Arguments after the input are the filter's parameters (`value | f: a, b`). */
export const FILTERS: Readonly<Record<string, (value: unknown, ...args: unknown[]) => unknown>> = {
  base64_encode: (value) => base64Encode(value, false, 'base64_encode'),
  base64_decode: (value) => decodeBase64(value, false, 'base64_decode'),
  base64url_encode: (value) => base64Encode(value, true, 'base64url_encode'),
  base64url_decode: (value) => decodeBase64(value, true, 'base64url_decode'),
  parse_json: (value) => parseJson(value),
  to_json: (value) => toJson(value),
  to_yaml: (value) => toYaml(value),
  lower: (value) => text(value, 'lower').toLowerCase(),
  upper: (value) => text(value, 'upper').toUpperCase(),
  sha256: (value) => sha256(value),
  pem_blocks: (value, type) => pemBlocksOfType(value, type),
  pem_certificates: (value) => pemOfType(text(value, 'pem_certificates'), 'CERTIFICATE', 'pem_certificates'),
  pem_private_key: (value) => pemPrivateKey(text(value, 'pem_private_key'), 'pem_private_key'),
  pkcs12_to_pem: (value, pass) => pkcs12ToPem(value, pass),
  pkcs12_certificates: (value, pass) => pkcs12Certificates(value, pass),
  pkcs12_private_key: (value, pass) => pkcs12PrivateKey(value, pass),
  dockerconfigjson: (registry, username, pass) => dockerConfigJson(registry, username, pass),
  filter_pem: (value, type) => filterPemOf(value, type),
  cert_chain: (value, type) => certChainOf(value, type),
  cert_sans: (value) => certSans(text(value, 'cert_sans')),
  jwk_public_key_pem: (value) => jwkPublicKeyPem(text(value, 'jwk_public_key_pem')),
  jwk_private_key_pem: (value) => jwkPrivateKeyPem(text(value, 'jwk_private_key_pem')),
  rsa_decrypt: (value, scheme, hash, key) => rsaDecrypt(value, scheme, hash, key),
  has_prefix: (value, part) => affix(value, part, 'has_prefix'),
  has_suffix: (value, part) => affix(value, part, 'has_suffix'),
};
