import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate, createPrivateKey } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { createTemplateEngine } from '../../../src/templates/engine.ts';
import { TemplateError } from '../../../src/templates/errors.ts';
import { BinaryValue } from '../../../src/templates/binary-value.ts';
import {
  CA_CERT_PEM,
  EC_CHAIN_P12_BASE64,
  LEAF_CERT_PEM,
  LEAF_KEY_PEM,
  RSA_CERT_PEM,
  RSA_KEY_PEM,
  RSA_LEGACY_P12_BASE64,
} from './fixtures.ts';

const engine = createTemplateEngine();
const render = (source: string, context: Record<string, unknown> = {}) => engine.session().render(source, context, 'test');

function renderError(source: string, context: Record<string, unknown> = {}): TemplateError {
  try {
    render(source, context);
  } catch (err) {
    assert.ok(err instanceof TemplateError, `expected a TemplateError, got ${String(err)}`);
    return err;
  }
  assert.fail(`${source} rendered without error`);
}

const cases: Array<{ title: string; source: string; context?: Record<string, unknown>; expected: string }> = [
  { title: 'base64_encode', source: '{{ v | base64_encode }}', context: { v: 'user:pa ss?' }, expected: 'dXNlcjpwYSBzcz8=' },
  { title: 'base64_decode', source: '{{ v | base64_decode }}', context: { v: 'dXNlcjpwYSBzcz8=' }, expected: 'user:pa ss?' },
  { title: 'base64_decode without padding, with line breaks', source: '{{ v | base64_decode }}', context: { v: 'dXNlcjpw\nYSBzcz8' }, expected: 'user:pa ss?' },
  { title: 'base64url_encode', source: '{{ v | base64url_encode }}', context: { v: 'user:pa ss?' }, expected: 'dXNlcjpwYSBzcz8=' },
  { title: 'base64url_encode uses - and _', source: '{{ v | base64url_encode }}', context: { v: '\u00fb\u00ff' }, expected: 'w7vDvw==' },
  { title: 'base64url_decode', source: '{{ v | base64url_decode }}', context: { v: 'w7vDvw' }, expected: '\u00fb\u00ff' },
  { title: 'base64 round trip of binary', source: '{{ v | base64_decode | base64_encode }}', context: { v: '/+7dzA==' }, expected: '/+7dzA==' },
  { title: 'parse_json then a field', source: '{% assign c = v | parse_json %}{{ c.db.host }}:{{ c.db.port }}', context: { v: '{"db":{"host":"pg","port":5432}}' }, expected: 'pg:5432' },
  { title: 'parse_json then a list', source: '{% assign c = v | parse_json %}{{ c | join: "," }}', context: { v: '["a","b"]' }, expected: 'a,b' },
  { title: 'to_json', source: '{{ v | parse_json | to_json }}', context: { v: '{ "a" : [1, "x"] }' }, expected: '{"a":[1,"x"]}' },
  { title: 'to_json of a string quotes it', source: '{{ v | to_json }}', context: { v: 'say "hi"' }, expected: '"say \\"hi\\""' },
  { title: 'to_yaml', source: '{{ v | parse_json | to_yaml }}', context: { v: '{"user":"u","ports":[1,2]}' }, expected: 'user: u\nports:\n  - 1\n  - 2\n' },
  { title: 'lower', source: '{{ v | lower }}', context: { v: 'MiXeD' }, expected: 'mixed' },
  { title: 'upper', source: '{{ v | upper }}', context: { v: 'MiXeD' }, expected: 'MIXED' },
  { title: 'downcase (liquid\'s own)', source: '{{ v | downcase }}', context: { v: 'ABC' }, expected: 'abc' },
  { title: 'sha256', source: '{{ v | sha256 }}', context: { v: 'abc' }, expected: createHash('sha256').update('abc').digest('hex') },
  { title: 'sha256 of binary', source: '{{ v | base64_decode | sha256 }}', context: { v: '/w==' }, expected: createHash('sha256').update(Buffer.from([0xff])).digest('hex') },
  { title: 'pem_certificates', source: '{{ v | pem_certificates }}', context: { v: `${LEAF_KEY_PEM}${LEAF_CERT_PEM}junk\n${CA_CERT_PEM}` }, expected: `${LEAF_CERT_PEM}${CA_CERT_PEM}` },
  { title: 'pem_private_key', source: '{{ v | pem_private_key }}', context: { v: `${LEAF_CERT_PEM}${LEAF_KEY_PEM}` }, expected: LEAF_KEY_PEM },
  { title: 'pem_blocks', source: '{{ v | pem_blocks: "PRIVATE KEY" }}', context: { v: `${LEAF_CERT_PEM}${LEAF_KEY_PEM}` }, expected: LEAF_KEY_PEM },
  { title: 'pem_certificates | first leaf via split', source: '{{ v | pem_certificates | size }}', context: { v: LEAF_CERT_PEM }, expected: String(LEAF_CERT_PEM.length) },
];

for (const { title, source, context, expected } of cases) {
  test(`filter ${title}`, () => {
    assert.equal(render(source, context), expected);
  });
}

test('filter dockerconfigjson writes what kubectl create secret docker-registry writes', () => {
  const out = render('{{ registry | dockerconfigjson: user, password }}', { registry: 'ghcr.io', user: 'bot', password: 'tok:en' });
  assert.deepEqual(JSON.parse(out), {
    auths: { 'ghcr.io': { username: 'bot', password: 'tok:en', auth: Buffer.from('bot:tok:en').toString('base64') } },
  });
});

test('filter pkcs12_to_pem (OpenSSL 3 default: AES-256, SHA-256 MAC) gives the key and the whole chain', () => {
  const pem = render('{{ p12 | base64_decode | pkcs12_to_pem: pass }}', { p12: EC_CHAIN_P12_BASE64, pass: 'p12-pass' });
  assert.equal(pem, `${LEAF_KEY_PEM}${LEAF_CERT_PEM}${CA_CERT_PEM}`);
});

test('filter pkcs12_certificates and pkcs12_private_key, from a binary value fetched as it is', () => {
  const p12 = new BinaryValue(Buffer.from(EC_CHAIN_P12_BASE64, 'base64'));
  assert.equal(render('{{ p12 | pkcs12_certificates: "p12-pass" }}', { p12 }), `${LEAF_CERT_PEM}${CA_CERT_PEM}`);
  const key = render('{{ p12 | pkcs12_private_key: "p12-pass" }}', { p12 });
  assert.equal(key, LEAF_KEY_PEM);
  assert.equal(new X509Certificate(render('{{ p12 | pkcs12_certificates: "p12-pass" | pem_certificates }}', { p12 }).split('-----END CERTIFICATE-----')[0] + '-----END CERTIFICATE-----\n').subject, 'CN=leaf.test');
});

test('filter pkcs12_to_pem reads a legacy bundle (RC2/3DES) with an empty password; RSA keys come out as PKCS#8', () => {
  const pem = render('{{ p12 | base64_decode | pkcs12_to_pem }}', { p12: RSA_LEGACY_P12_BASE64 });
  assert.equal(pem, `${RSA_KEY_PEM}${RSA_CERT_PEM}`);
  assert.equal(createPrivateKey(pem).asymmetricKeyType, 'rsa');
});

const refusals: Array<{ title: string; source: string; context: Record<string, unknown>; reason: RegExp }> = [
  { title: 'base64_decode of non-base64', source: '{{ v | base64_decode }}', context: { v: 's3cr3t!value' }, reason: /base64_decode: the input is not valid base64/ },
  { title: 'base64url_decode of standard-alphabet text', source: '{{ v | base64url_decode }}', context: { v: 's3cr3t+/' }, reason: /not valid base64url/ },
  { title: 'parse_json of non-JSON', source: '{{ v | parse_json }}', context: { v: 's3cr3t-value' }, reason: /parse_json: the input is not valid JSON/ },
  { title: 'printing a binary value', source: '{{ v | base64_decode }}', context: { v: '/w==' }, reason: /binary value .* cannot be written as text/ },
  { title: 'a text filter on a binary value', source: '{{ v | base64_decode | upcase }}', context: { v: '/w==' }, reason: /binary value/ },
  { title: 'pem_certificates without certificates', source: '{{ v | pem_certificates }}', context: { v: 's3cr3t-value' }, reason: /no PEM block of type "CERTIFICATE"/ },
  { title: 'pem_private_key with two keys', source: '{{ v | pem_private_key }}', context: { v: `${LEAF_KEY_PEM}${RSA_KEY_PEM}` }, reason: /holds 2 private keys; it needs exactly one/ },
  { title: 'pem_blocks without a type', source: '{{ v | pem_blocks }}', context: { v: LEAF_KEY_PEM }, reason: /pem_blocks needs the block type/ },
  { title: 'pkcs12 with a wrong password', source: '{{ p | base64_decode | pkcs12_to_pem: "s3cr3t-wrong" }}', context: { p: EC_CHAIN_P12_BASE64 }, reason: /cannot be opened with this password/ },
  { title: 'pkcs12 of something else', source: '{{ p | pkcs12_to_pem: "x" }}', context: { p: 's3cr3t-value' }, reason: /pkcs12_to_pem: the input is not a PKCS#12 bundle/ },
  { title: 'pkcs12_private_key without a key', source: '{{ p | base64_decode | pkcs12_private_key }}', context: { p: '' }, reason: /not a PKCS#12 bundle/ },
  { title: 'dockerconfigjson without registry', source: '{{ r | dockerconfigjson: "u", "s3cr3t-value" }}', context: { r: '' }, reason: /the registry .* is empty/ },
  { title: 'sha256 of an object', source: '{{ v | parse_json | sha256 }}', context: { v: '{"s3cr3t":1}' }, reason: /sha256 takes a string; it was given an object/ },
];

for (const { title, source, context, reason } of refusals) {
  test(`filter refuses: ${title}, without quoting the value`, () => {
    const error = renderError(source, context);
    assert.match(error.reason, reason);
    for (const value of Object.values(context)) {
      if (typeof value === 'string' && value.length > 3) assert.ok(!error.message.includes(value), error.message);
    }
    assert.ok(!error.message.includes('s3cr3t'), error.message);
  });
}

test('to_yaml output parses back to the same data', () => {
  const source = '{"a":"x: y","b":"- list?","c":"multi\\nline","d":"123"}';
  assert.deepEqual(parseYaml(render('{{ v | parse_json | to_yaml }}', { v: source })), JSON.parse(source));
});
