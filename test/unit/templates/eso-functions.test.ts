// The filters that stand for ESO's cert, JWK and RSA functions, checked against ESO v2.9.0's own Go code
// (test/go-template-reference runs runtime/template/v2's filterCertChain, certSANs, jwk*Pem and rsaDecrypt):
// for each input, our liquid renders what ESO's Go template renders, byte for byte, or both refuse. The
// certificates are ESO's own test data (runtime/template/v2/_testdata); keys are generated per run.
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, publicEncrypt, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { templateValue } from '../../../src/templates/binary-value.ts';
import { MAX_CHAIN_CERTIFICATES } from '../../../src/templates/cert-chain.ts';
import { createTemplateEngine } from '../../../src/templates/engine.ts';
import { TemplateError } from '../../../src/templates/errors.ts';
import { ipString } from '../../../src/templates/x509.ts';
import { goRender } from '../../support/go-template-reference.ts';
import { CA_CERT_PEM, LEAF_CERT_PEM, LEAF_KEY_PEM, SANS_ESCAPES_CERT_PEM } from './fixtures.ts';

const esoData = (name: string) => readFileSync(new URL(`./eso-testdata/${name}`, import.meta.url), 'utf8');
const chain = esoData('chain.pem');
const leaf = esoData('foo.crt');
const intermediate = esoData('intermediate-ca.crt');
const root = esoData('root-ca.crt');
const sans = esoData('sans.crt');

const engine = createTemplateEngine();

interface Case {
  readonly go: string;
  readonly liquid: string;
  readonly data: Record<string, string>;
  /** Values that are bytes, not text. */
  readonly binary?: Record<string, Uint8Array>;
}

function ours(c: Case): { ok: true; output: string } | { ok: false; error: TemplateError } {
  const context: Record<string, unknown> = { ...c.data };
  for (const [key, bytes] of Object.entries(c.binary ?? {})) context[key] = templateValue(bytes);
  try {
    return { ok: true, output: engine.session().render(c.liquid, context, 'test') };
  } catch (err) {
    assert.ok(err instanceof TemplateError, `${c.liquid}: ${String(err)}`);
    return { ok: false, error: err };
  }
}

/** Every case renders as ESO renders it, or is refused where ESO refuses it (our message free of the values). */
function assertParity(cases: readonly Case[]): void {
  const go = goRender(cases.map((c) => ({
    template: c.go,
    data: c.data,
    data64: Object.fromEntries(Object.entries(c.binary ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  })));
  cases.forEach((c, i) => {
    const expected = go[i]!;
    const result = ours(c);
    const label = `${c.go} ⇔ ${c.liquid} with ${Object.keys(c.data).join(',')}`;
    if (expected.ok) {
      assert.ok(result.ok, `${label}: ESO renders it, we refused: ${result.ok ? '' : result.error.message}`);
      assert.equal(result.output, expected.output, label);
    } else {
      assert.equal(result.ok, false, `${label}: ESO refuses it (${expected.error}), we rendered it`);
      if (!result.ok) {
        for (const value of Object.values(c.data)) {
          if (value.length >= 8) assert.ok(!result.error.message.includes(value.slice(0, 40).trim()), `${label}: the message quotes a value: ${result.error.message}`);
        }
      }
    }
  });
}

test('cert_chain picks the leaf, the intermediates and the root as ESO\'s filterCertChain does', () => {
  const inputs = {
    chain,
    reversed: root + intermediate + leaf,
    junk: `junk before\n${chain}trailing junk\n`,
    crlf: chain.replace(/\n/g, '\r\n'),
    leafOnly: leaf,
    rootOnly: root,
    twoLevels: esoData('intermediate-chain.pem'),
    noRoot: leaf + intermediate,
    disjunct: esoData('disjunct-chain.pem'),
    disjunctRoot: esoData('disjunct-root-ca.crt'),
    sansSelfSigned: sans,
    notACert: `-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`,
    badBase64: `-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n${leaf}`,
    empty: '',
    text: 'no pem here',
  };
  const cases: Case[] = [];
  for (const [name, value] of Object.entries(inputs)) {
    for (const type of ['leaf', 'intermediate', 'root', 'other']) {
      cases.push({ go: `{{ .${name} | filterCertChain "${type}" }}`, liquid: `{{ ${name} | cert_chain: "${type}" }}`, data: { [name]: value } });
    }
  }
  // The ACM example: filterPEM first, then the chain.
  cases.push({ go: '{{ .c | filterPEM "CERTIFICATE" | filterCertChain "intermediate" }}', liquid: '{{ c | filter_pem: "CERTIFICATE" | cert_chain: "intermediate" }}', data: { c: chain } });
  assertParity(cases);
});

test('filter_pem picks blocks as ESO\'s filterPEM does: type in any case, re-encoded as Go writes PEM, \'\' when none', () => {
  const oneLine = LEAF_CERT_PEM.replace(/\n(?!-----)/g, '').replace('-----BEGIN CERTIFICATE-----', '-----BEGIN CERTIFICATE-----\n').replace('-----END', '\n-----END');
  const inputs: Record<string, [string, string]> = {
    bundle: [`${LEAF_CERT_PEM}${LEAF_KEY_PEM}${CA_CERT_PEM}`, 'CERTIFICATE'],
    key: [`${LEAF_CERT_PEM}${LEAF_KEY_PEM}${CA_CERT_PEM}`, 'PRIVATE KEY'],
    lowerCase: [LEAF_CERT_PEM, 'certificate'],
    noneOfThatType: [LEAF_CERT_PEM, 'PRIVATE KEY'],
    junkOnly: ['junk', 'CERTIFICATE'],
    emptyText: ['', 'CERTIFICATE'],
    oneLongLine: [oneLine, 'CERTIFICATE'],
    crlf: [LEAF_CERT_PEM.replace(/\n/g, '\r\n'), 'CERTIFICATE'],
    trailingSpaces: [LEAF_CERT_PEM.replace('-----BEGIN CERTIFICATE-----', '-----BEGIN CERTIFICATE-----  '), 'CERTIFICATE'],
    headers: [LEAF_KEY_PEM.replace('-----BEGIN PRIVATE KEY-----\n', '-----BEGIN PRIVATE KEY-----\nZ-Last: 1\nProc-Type: 4,ENCRYPTED\nA-First :  x \n\n'), 'PRIVATE KEY'],
    junkOnTheSameLine: [`junk${LEAF_CERT_PEM}`, 'CERTIFICATE'],
    badBase64First: [`-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n${CA_CERT_PEM}`, 'CERTIFICATE'],
    unterminated: [`-----BEGIN CERTIFICATE-----\nAAAA\n${CA_CERT_PEM}`, 'CERTIFICATE'],
    junkAfter: [`${LEAF_CERT_PEM}trailing`, 'PRIVATE KEY'],
  };
  assertParity(Object.entries(inputs).map(([name, [value, type]]) => ({ go: `{{ .${name} | filterPEM "${type}" }}`, liquid: `{{ ${name} | filter_pem: "${type}" }}`, data: { [name]: value } })));
});

test('cert_sans lists DNS names, IPs, emails and URIs as ESO\'s certSANs does', () => {
  assertParity([
    { go: '{{ .c | certSANs | join "," }}', liquid: '{{ c | cert_sans | join: "," }}', data: { c: sans } },
    { go: '{{ index (.c | certSANs) 0 }}', liquid: '{% assign s = c | cert_sans %}{{ s[0] }}', data: { c: sans } },
    { go: '{{ .c | certSANs | join "," }}', liquid: '{{ c | cert_sans | join: "," }}', data: { c: `junk-----BEGIN${sans.slice(sans.indexOf('-----BEGIN') + 10)}` } },
    { go: '{{ .c | certSANs | join "," }}', liquid: '{{ c | cert_sans | join: "," }}', data: { c: leaf } },
    { go: '{{ .c | certSANs | join "," }}', liquid: '{{ c | cert_sans | join: "," }}', data: { c: SANS_ESCAPES_CERT_PEM } },
    { go: '{{ .c | certSANs | join "," }}', liquid: '{{ c | cert_sans | join: "," }}', data: { c: root } },
    { go: '{{ .c | certSANs | join "," }}', liquid: '{{ c | cert_sans | join: "," }}', data: { c: 'not a certificate' } },
    { go: '{{ .c | filterPEM "CERTIFICATE" | filterCertChain "leaf" | certSANs | join "," }}', liquid: '{{ c | filter_pem: "CERTIFICATE" | cert_chain: "leaf" | cert_sans | join: "," }}', data: { c: chain } },
  ]);
});

test('IP SANs are written as Go writes net.IP', () => {
  const ip = (...bytes: number[]) => ipString(new Uint8Array(bytes));
  assert.equal(ip(10, 0, 0, 1), '10.0.0.1');
  assert.equal(ip(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 1), '192.168.1.1');
  assert.equal(ip(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), '2001:db8::1');
  assert.equal(ip(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1), '2001:db8:0:1::1');
  assert.equal(ip(0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1), '2001:0:0:1::1');
  assert.equal(ip(0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1), '2001::1:0:0:1:1');
  assert.equal(ip(0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1), '2001:db8:1:0:1:1:1:1');
  assert.equal(ip(...new Array<number>(16).fill(0)), '::');
});

function keyPair(type: 'rsa' | 'ec' | 'ed25519' | 'x25519' | 'ed448', options: Record<string, unknown> = {}): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync(type as 'rsa', options as { modulusLength: number });
}

test('jwk_public_key_pem and jwk_private_key_pem write the PEM ESO writes, for the key types ESO takes', () => {
  const keys = {
    rsa: keyPair('rsa', { modulusLength: 2048 }),
    p256: keyPair('ec', { namedCurve: 'P-256' }),
    p384: keyPair('ec', { namedCurve: 'P-384' }),
    p521: keyPair('ec', { namedCurve: 'P-521' }),
    ed25519: keyPair('ed25519'),
    x25519: keyPair('x25519'),
    secp256k1: keyPair('ec', { namedCurve: 'secp256k1' }),
    ed448: keyPair('ed448'),
  };
  const cases: Case[] = [];
  for (const [name, pair] of Object.entries(keys)) {
    const publicJwk = JSON.stringify(pair.publicKey.export({ format: 'jwk' }));
    const privateJwk = JSON.stringify({ kid: 'k1', use: 'sig', ...pair.privateKey.export({ format: 'jwk' }) });
    for (const [which, jwk] of [['public', publicJwk], ['private', privateJwk]] as const) {
      cases.push({ go: '{{ .k | jwkPublicKeyPem }}', liquid: '{{ k | jwk_public_key_pem }}', data: { k: jwk, name: `${name}-${which}` } });
      cases.push({ go: '{{ .k | jwkPrivateKeyPem }}', liquid: '{{ k | jwk_private_key_pem }}', data: { k: jwk, name: `${name}-${which}` } });
    }
  }
  for (const bad of ['not json', '[]', '{"kty":"oct","k":"c2VjcmV0"}', '{"kty":"RSA","n":"AQAB"}', '{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}']) {
    cases.push({ go: '{{ .k | jwkPublicKeyPem }}', liquid: '{{ k | jwk_public_key_pem }}', data: { k: bad } });
  }
  assertParity(cases);
});

function oaep(publicKey: KeyObject, hash: string, plain: string): Uint8Array {
  return new Uint8Array(publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, Buffer.from(plain)));
}

test('rsa_decrypt decrypts as ESO\'s rsaDecrypt does: RSA-OAEP with SHA1, SHA256, SHA512 and its defaults', () => {
  const { publicKey, privateKey } = keyPair('rsa', { modulusLength: 2048 });
  const other = keyPair('rsa', { modulusLength: 2048 });
  const small = keyPair('rsa', { modulusLength: 512 });
  const ec = keyPair('ec', { namedCurve: 'P-256' });
  const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const plain = 'p@ss<&>word';
  const cases: Case[] = [];
  const add = (scheme: string, hash: string, ciphertext: Uint8Array, key: string) => {
    cases.push({
      go: `{{ rsaDecrypt "${scheme}" "${hash}" .ct .key }}`,
      liquid: `{{ ct | rsa_decrypt: "${scheme}", "${hash}", key }}`,
      data: { key },
      binary: { ct: ciphertext },
    });
  };
  for (const [hash, node] of [['SHA1', 'sha1'], ['SHA256', 'sha256'], ['SHA512', 'sha512'], ['None', 'sha256'], ['sha1', 'sha256'], ['MD5', 'sha256']] as const) {
    add('RSA-OAEP', hash, oaep(publicKey, node, plain), pkcs1);
    add('RSA-OAEP', hash, oaep(publicKey, node, plain), pkcs8);
  }
  add('RSA-OAEP', 'SHA1', oaep(publicKey, 'sha256', plain), pkcs1); // wrong hash
  add('RSA-OAEP', 'SHA256', oaep(publicKey, 'sha256', plain), other.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string); // wrong key
  add('RSA-OAEP', 'SHA1', oaep(small.publicKey, 'sha1', plain), small.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string); // under 1024 bits
  add('RSA-OAEP', 'SHA256', new Uint8Array([1, 2, 3]), pkcs1); // too short
  add('RSA-OAEP', 'SHA256', oaep(publicKey, 'sha256', plain), ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string); // not RSA
  add('RSA-OAEP', 'SHA256', oaep(publicKey, 'sha256', plain), 'no key here');
  add('RSA-OAEP', 'SHA256', oaep(publicKey, 'sha256', plain), `junk\n${pkcs8}`);
  add('RSA-PKCS1v15', 'SHA256', oaep(publicKey, 'sha256', plain), pkcs1); // ESO has no PKCS#1 v1.5
  add('None', 'SHA256', new TextEncoder().encode('kept as it is'), pkcs1);
  // Ciphertext stored base64: decoded in the template.
  cases.push({
    go: '{{ rsaDecrypt "RSA-OAEP" "SHA256" (.ct | b64dec) .key }}',
    liquid: '{{ ct | base64_decode | rsa_decrypt: "RSA-OAEP", "SHA256", key }}',
    data: { ct: Buffer.from(oaep(publicKey, 'sha256', plain)).toString('base64'), key: pkcs1 },
  });
  assertParity(cases);
});

test('has_prefix and has_suffix test as sprig\'s hasPrefix and hasSuffix', () => {
  const cases: Case[] = [];
  for (const uri of ['oci://registry/x', 'https://x', '', 'oci:/', 'OCI://x']) {
    cases.push({ go: '{{ if hasPrefix "oci://" .u }}y{{ else }}n{{ end }}', liquid: '{% assign p = u | has_prefix: "oci://" %}{% if p %}y{% else %}n{% endif %}', data: { u: uri } });
    cases.push({ go: '{{ if hasSuffix "/x" .u }}y{{ else }}n{{ end }}', liquid: '{% assign p = u | has_suffix: "/x" %}{% if p %}y{% else %}n{% endif %}', data: { u: uri } });
  }
  assertParity(cases);
});

test(`cert_chain refuses more than ${MAX_CHAIN_CERTIFICATES} certificates without parsing them, and an unterminated flood quickly`, () => {
  const many = leaf.repeat(MAX_CHAIN_CERTIFICATES + 1);
  const result = ours({ go: '', liquid: '{{ c | cert_chain: "leaf" }}', data: { c: many } });
  assert.ok(!result.ok && /more than 64 PEM blocks/.test(result.error.message), result.ok ? 'rendered' : result.error.message);
  // 64 BEGIN lines that never end, each followed by 16 KiB: every one is a scan to the end of the text.
  const flood = `${'-----BEGIN CERTIFICATE-----\n'.padEnd(16 * 1024, 'A')}\n`.repeat(MAX_CHAIN_CERTIFICATES);
  const started = performance.now();
  const refused = ours({ go: '', liquid: '{{ c | cert_chain: "leaf" }}', data: { c: flood } });
  console.log(`cert_chain over ${MAX_CHAIN_CERTIFICATES} unterminated blocks (${(flood.length / 1024).toFixed(0)} KiB): ${(performance.now() - started).toFixed(1)} ms`);
  assert.ok(!refused.ok && /no leaf certificate/.test(refused.error.message));
});
