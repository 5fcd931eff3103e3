// Go templates → liquid, checked against Go's own text/template + sprig (test/go-template-reference): for each
// template of the corpus, our engine's rendering of the translation must be byte-identical to Go's rendering of
// the original with the same data; the templates the translator refuses must be refused, naming the construct.
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, publicEncrypt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { goRender } from '../../support/go-template-reference.ts';
import { translateGoTemplate } from '../../../src/migrate/go-template.ts';
import { createTemplateEngine } from '../../../src/templates/engine.ts';
import { templateValue } from '../../../src/templates/binary-value.ts';
import { CA_CERT_PEM, EC_CHAIN_P12_BASE64, LEAF_CERT_PEM, LEAF_KEY_PEM, RSA_LEGACY_P12_BASE64, SANS_ESCAPES_CERT_PEM } from '../templates/fixtures.ts';

const esoData = (name: string) => readFileSync(new URL(`../templates/eso-testdata/${name}`, import.meta.url), 'utf8');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const oaep = (hash: string) => publicEncrypt({ key: rsa.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, Buffer.from('decrypted <&> secret')).toString('base64');

const data = {
  password: 's3cr3t<&>"quoted"',
  user: 'App-User',
  'tls.crt': 'cert-text',
  'db-host': 'pg.internal',
  empty: '',
  space: '  padded value \t',
  b64: 'dXNlcjpwYXNz',
  json: '{"host":"pg","port":"5432","tags":["a","b"]}',
  list: '["x","y","z"]',
  flag: 'true',
  mode: 'prod',
  unicode: 'grüße ✓',
  p12pass: 'p12-pass',
  p12b64: EC_CHAIN_P12_BASE64,
  bundle: `junk before\n${LEAF_CERT_PEM}${LEAF_KEY_PEM}${CA_CERT_PEM}`,
  // An ACM export: the leaf, its chain and the key in one PEM text (ESO's test chain).
  acm: `${esoData('chain.pem')}${LEAF_KEY_PEM}`,
  sanscert: SANS_ESCAPES_CERT_PEM,
  esosans: esoData('sans.crt'),
  jwkpub: JSON.stringify(ec.publicKey.export({ format: 'jwk' })),
  jwkpriv: JSON.stringify(rsa.privateKey.export({ format: 'jwk' })),
  privatekey: rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
  ct256b64: oaep('sha256'),
  uri: 'oci://registry.example/charts',
};

/** Values that are not text: the PKCS#12 bundles as the provider hands them over (bytes). */
const binary = { p12: EC_CHAIN_P12_BASE64, legacy: RSA_LEGACY_P12_BASE64, ct1: oaep('sha1'), ct512: oaep('sha512') };

function ourContext(): Record<string, unknown> {
  const context: Record<string, unknown> = { ...data };
  for (const [key, b64] of Object.entries(binary)) context[key] = templateValue(new Uint8Array(Buffer.from(b64, 'base64')));
  return context;
}

const translated: string[] = [
  '{{ .password }}',
  '{{ .user }}',
  'plain text, no actions',
  '{{ index . "tls.crt" }}',
  '{{ index . "db-host" }}',
  '{{ .password | b64enc }}',
  '{{ b64enc .password }}',
  '{{ .b64 | b64dec }}',
  '{{ .b64 | b64dec | upper }}',
  '{{ .user | upper }}',
  '{{ .user | lower }}',
  '{{ upper .user }}',
  '{{ lower (index . "db-host") }}',
  '{{ .space | trim }}',
  '[{{ trim .space }}]',
  '{{ .empty | default "fallback" }}',
  '{{ .user | default "fallback" }}',
  '{{ default "x" .empty | upper }}',
  '{{ .user | toString }}',
  '{{ toString .password | b64enc }}',
  '{{ b64enc (upper .user) }}',
  '{{ .password | b64enc | b64dec }}',
  'user={{ .user }}\npassword={{ .password }}\n',
  'postgres://{{ .user }}:{{ .password }}@{{ index . "db-host" }}:5432/app',
  'a  {{- .user -}}  b',
  'a\n\t{{- .user }}\n b',
  '{{ .user -}}\n\n  tail',
  '{{- .user -}}',
  '{{ if .password }}yes{{ end }}',
  '{{ if .empty }}yes{{ else }}no{{ end }}',
  '{{ if .missingkeytest }}x{{ end }}'.replace('.missingkeytest', '.flag'),
  '{{ if not .empty }}empty{{ end }}',
  '{{ if eq .mode "prod" }}P{{ else if eq .mode "dev" }}D{{ else }}?{{ end }}',
  '{{ if ne .mode "prod" }}not prod{{ else }}prod{{ end }}',
  '{{ if and .user .password }}both{{ end }}',
  '{{ if or .empty .user }}one{{ end }}',
  '{{ if and .user .empty }}both{{ else }}not both{{ end }}',
  '{{ with .user }}[{{ . }}]{{ end }}',
  '{{ with .empty }}[{{ . }}]{{ else }}none{{ end }}',
  '{{ with .user }}{{ . | upper }}{{ end }}',
  '{{ with .user }}{{ $.password }}{{ end }}',
  '{{ range .list | fromJson }}<{{ . }}>{{ end }}',
  '{{ range $v := .list | fromJson }}{{ $v }},{{ end }}',
  '{{ range $i, $v := .list | fromJson }}{{ $i }}={{ $v }};{{ end }}',
  '{{- range $i, $v := .list | fromJson }}\n{{ $i }}: {{ $v | upper }}\n{{- end }}',
  '{{ range (fromJson .list) }}{{ . | b64enc }} {{ end }}',
  '{{ $c := .json | fromJson }}{{ $c.host }}:{{ $c.port }}',
  '{{ $c := fromJson .json }}{{ $c.host | upper }}',
  '{{ $u := .user }}{{ $u }}-{{ $u | lower }}',
  '{{ (.json | fromJson).host }}'.replace('{{ (.json | fromJson).host }}', '{{ $j := .json | fromJson }}{{ $j.port }}'),
  '{{/* a comment */}}value={{ .user }}',
  '{{- /* trimmed comment */ -}}\n  {{ .user }}',
  'literal {% not liquid %} {{ .user }}',
  '{{ "a string literal" }}',
  '{{ "tab\\there" | upper }}',
  '{{ `raw string` }}',
  '{{ .unicode }}',
  '{{ .unicode | b64enc }}',
  '{{ .password | b64enc | b64enc }}',
  '{{ index . "tls.crt" | b64enc | b64dec }}',
  'multi\nline\n{{ .user }}\n{{ .password }}\n',
  '{{ if .flag }}{{ if .user }}nested{{ end }}{{ end }}',
  '{{ range $i, $t := (.json | fromJson).tags }}{{ $t }}{{ end }}'.replace('{{ range $i, $t := (.json | fromJson).tags }}{{ $t }}{{ end }}', '{{ range $t := .list | fromJson }}{{ if eq $t "y" }}Y{{ else }}{{ $t }}{{ end }}{{ end }}'),
  '{{ printf "%s-%s" .user .password }}',
  '{{ printf "%s" .user | b64enc }}',
  '{{ printf "{{ .username | toString }}" }}',
  '{{ printf "100%% %s" .mode }}',
  '{{ printf "%s" (upper .user) }}',
  '{{ .user | replace "-" "_" }}',
  '{{ index . "db-host" | replace "pg." "postgres." | upper }}',
  '{{ .p12 | pkcs12keyPass .p12pass }}',
  '{{ .p12 | pkcs12certPass .p12pass }}',
  '{{ pkcs12keyPass .p12pass .p12 }}',
  '{{ .p12b64 | b64dec | pkcs12keyPass "p12-pass" }}',
  '{{ .legacy | pkcs12key }}',
  '{{ .legacy | pkcs12cert }}',
  '{{ .p12 | pkcs12certPass .p12pass | b64enc }}',
  '{{ .bundle | filterPEM "CERTIFICATE" }}',
  '{{ .bundle | filterPEM "PRIVATE KEY" }}',
  '{{ filterPEM "CERTIFICATE" .bundle | b64enc }}',
  // ESO's docs: ACM chain, certSANs, JWK, rsaDecrypt, hasPrefix.
  '{{ .acm | filterPEM "CERTIFICATE" | filterCertChain "intermediate" }}',
  '{{ .acm | filterPEM "CERTIFICATE" | filterCertChain "leaf" }}',
  '{{ .acm | filterPEM "PRIVATE KEY" }}',
  '{{ .acm | filterPEM "CERTIFICATE" | filterCertChain "root" | b64enc }}',
  '{{ filterCertChain "leaf" (filterPEM "CERTIFICATE" .acm) }}',
  '{{ .acm | filterPEM "CERTIFICATE" | filterCertChain "leaf" | certSANs | join "," }}',
  '{{ .sanscert | certSANs | join "," }}',
  '{{ index (.sanscert | certSANs) 0 }}',
  '{{ index (certSANs .sanscert) 4 }}',
  '{{ .sanscert | certSANs | toJson }}',
  '{{ .esosans | filterPEM "CERTIFICATE" | certSANs | toJson }}',
  '{{ join ", " (certSANs .esosans) }}',
  '{{ .jwkpub | jwkPublicKeyPem }}',
  '{{ .jwkpriv | jwkPrivateKeyPem }}',
  '{{ jwkPrivateKeyPem .jwkpriv | b64enc }}',
  '{{ rsaDecrypt "RSA-OAEP" "SHA1" .ct1 .privatekey }}',
  '{{ rsaDecrypt "RSA-OAEP" "SHA512" .ct512 .privatekey }}',
  '{{ rsaDecrypt "RSA-OAEP" "SHA256" (.ct256b64 | b64dec) .privatekey }}',
  '{{ .privatekey | rsaDecrypt "RSA-OAEP" "SHA1" .ct1 }}',
  '{{ rsaDecrypt "None" "None" .user .privatekey }}',
  '{{- if hasPrefix "oci://" .uri }}\nenableOCI: true\n{{- else }}\nenableOCI: false\n{{- end }}',
  '{{ if hasSuffix "/charts" .uri }}charts{{ end }}{{ if hasPrefix "https://" .uri }}https{{ else }}other{{ end }}',
  '{{ if contains "registry" .uri }}has{{ else }}not{{ end }}',
  '{{ if hasPrefix .mode "production" }}prefix{{ end }}',
];

const refused: { template: string; construct: string }[] = [
  { template: '{{ .json | fromJson | toJson }}', construct: 'toJson' },
  { template: '{{ .user | quote }}', construct: 'quote' },
  { template: '{{ printf "%d-%s" .user .password }}', construct: 'printf' },
  { template: '{{ .user | replace "" "x" }}', construct: 'replace' },
  { template: '{{ range $k, $v := . }}{{ $k }}={{ $v }}\n{{ end }}', construct: 'range' },
  { template: '{{ .json | fromJson | toYaml }}', construct: 'toYaml' },
  { template: '{{ define "x" }}a{{ end }}', construct: 'define' },
  { template: '{{ template "x" . }}', construct: 'template' },
  { template: '{{ .user | trimPrefix "a" }}', construct: 'trimPrefix' },
  { template: '{{ env "HOME" }}', construct: 'env' },
  { template: '{{ if .user }}unclosed', construct: 'if' },
  { template: '{{ .user ', construct: '{{ .user ' },
  { template: '{{ . }}', construct: '.' },
  { template: '{{ if .user }}{{ $x := .user }}{{ end }}', construct: '$x := .user' },
  { template: '{{ .json | fromJson }}', construct: 'fromJson' },
  { template: '{{ list "a" "b" | join "," }}', construct: 'list' },
  { template: '{{ .user | join "," }}', construct: 'join' },
  { template: '{{ index (.user | b64enc) 0 }}', construct: 'index' },
  { template: '{{ .sanscert | certSANs | toYaml }}', construct: 'toYaml' },
  { template: '{{ if eq .mode "x" }}a{{ else if hasPrefix "o" .uri }}b{{ end }}', construct: 'hasPrefix' },
  { template: '{{ htpasswd .user .password "bcrypt" }}', construct: 'htpasswd' },
  { template: '{{ .sanscert | certSANs }}', construct: 'certSANs' },
  { template: '{{ $s := .sanscert | certSANs }}{{ $s }}', construct: 'certSANs' },
  { template: '{{ with certSANs .sanscert }}{{ . }}{{ end }}', construct: 'certSANs' },
  { template: '{{ printf "%s" (certSANs .sanscert) }}', construct: 'printf' },
  { template: '{{ .sanscert | certSANs | b64enc }}', construct: 'b64enc' },
  { template: '{{ constructor .user }}', construct: 'constructor' },
];

test(`translations render byte-identical to Go text/template + sprig + ESO's pkcs12/PEM functions (${translated.length} templates)`, () => {
  assert.ok(translated.length + refused.length >= 60);
  const engine = createTemplateEngine();
  const expected = goRender(translated.map((template) => ({ template, data, data64: binary })));
  translated.forEach((template, i) => {
    const go = expected[i]!;
    assert.ok(go.ok === true, `Go refused corpus template ${JSON.stringify(template)}: ${go.error}`);
    const result = translateGoTemplate(template);
    assert.ok(result.ok, `refused ${JSON.stringify(template)}: ${JSON.stringify(result)}`);
    const ours = engine.session().render(result.liquid, ourContext(), 'corpus');
    assert.equal(ours, go.output, `${JSON.stringify(template)} → ${JSON.stringify(result.liquid)}`);
  });
});

test(`templates that cannot be translated exactly are refused, naming the construct (${refused.length})`, () => {
  for (const { template, construct } of refused) {
    const result = translateGoTemplate(template);
    assert.equal(result.ok, false, `translated ${JSON.stringify(template)}`);
    if (!result.ok) {
      assert.equal(result.construct, construct, template);
      assert.ok(result.line >= 1 && result.reason.length > 10);
    }
  }
});

test('a refusal names the line of the construct', () => {
  const result = translateGoTemplate('first {{ .user }}\nsecond\nthird {{ printf "%d" 1 }}');
  assert.deepEqual(result.ok ? undefined : [result.line, result.construct], [3, 'printf']);
});

test('the value-dependent differences the translator notes are real, and limited to the characters it names', () => {
  const engine = createTemplateEngine();
  const cases = [
    { template: '{{ .v | upper }}', data: { v: 'straße ﬁ' }, note: 'upper' },
    { template: '{{ .v | lower }}', data: { v: 'İ' }, note: 'lower' },
    { template: '{{ .v | lower }}', data: { v: 'ΣΑΣ' }, note: 'lower' },
    { template: '[{{ .v | trim }}]', data: { v: '\u0085x\u0085' }, note: 'trim' },
    { template: '{{ .v | upper }}', data: { v: 'grüne àéîõü ÆØÅ ΣΑΣ жизнь' }, note: undefined },
    { template: '{{ .v | lower }}', data: { v: 'GRÜẞE ÀÉÎÕÜ ÆØÅ ΣΑ ЖИЗНЬ' }, note: undefined },
  ];
  const go = goRender(cases.map(({ template, data }) => ({ template, data })));
  cases.forEach(({ template, data, note }, i) => {
    const result = translateGoTemplate(template);
    assert.ok(result.ok);
    assert.ok(note === undefined || result.notes.some((n) => n.startsWith(`${note}:`)), `${template} carries the ${note} note`);
    const ours = engine.session().render(result.liquid, { ...data }, 'corpus');
    if (note === undefined) assert.equal(ours, go[i]!.output, `${template} with ${data.v}`);
    else assert.notEqual(ours, go[i]!.output, `the ${note} difference still exists for ${JSON.stringify(data.v)}`);
  });
});

test('now translates to the time of rendering in Go\'s layout, without the monotonic reading Go adds; noted', () => {
  const [go] = goRender([{ template: '{{ now }}', data: {} }]);
  const result = translateGoTemplate('{{ now }}');
  assert.ok(result.ok && result.notes.some((n) => n.startsWith('now:')));
  const ours = createTemplateEngine().session().render(result.liquid, {}, 'corpus');
  // Go: 2026-12-06 07:57:46.737974817 +0000 UTC m=+0.002350163 (the reference runs in UTC, as ESO's pods do).
  const goMatch = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(\.\d+)? \+0000 UTC m=\+\d+\.\d+$/.exec(go!.output ?? '');
  const ourMatch = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.\d{3} \+0000 UTC$/.exec(ours);
  assert.ok(goMatch && ourMatch, `${go!.output} / ${ours}`);
  const seconds = (text: string) => Date.parse(`${text.replace(' ', 'T')}Z`) / 1000;
  assert.ok(Math.abs(seconds(goMatch[1]!) - seconds(ourMatch[1]!)) <= 5, `${go!.output} / ${ours}`);
});
