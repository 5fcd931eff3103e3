import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExternalSecretTemplate } from '../../../src/api/types.generated.ts';
import { createTemplateEngine } from '../../../src/templates/engine.ts';
import { TemplateError } from '../../../src/templates/errors.ts';
import { renderSecret, templateSourceNames, type TemplateSources } from '../../../src/templates/render-secret.ts';

const engine = createTemplateEngine();
const SECRET = 's3cr3t-pw';
const enc = (text: string) => new TextEncoder().encode(text);
const fetched = new Map([
  ['user', enc('admin')],
  ['password', enc(SECRET)],
  ['tls.crt', enc('CERT')],
]);
const noSources: TemplateSources = { configMaps: new Map(), secrets: new Map() };
const text = (data: ReadonlyMap<string, Uint8Array>) => Object.fromEntries([...data].map(([k, v]) => [k, new TextDecoder().decode(v)]));

function template(partial: Partial<ExternalSecretTemplate>): ExternalSecretTemplate {
  return { mergePolicy: 'Replace', ...partial };
}

function fails(t: ExternalSecretTemplate, sources: TemplateSources = noSources, data = fetched): TemplateError {
  try {
    renderSecret(engine, data, t, sources);
  } catch (err) {
    assert.ok(err instanceof TemplateError, String(err));
    assert.ok(!err.message.includes(SECRET), `value leaked: ${err.message}`);
    return err;
  }
  assert.fail('rendered');
}

test('template.data renders keys from fetched values; Replace keeps only rendered keys', () => {
  const out = renderSecret(engine, fetched, template({ data: { url: 'postgres://{{ user }}:{{ password }}@db/{{ ["tls.crt"] | downcase }}' } }), noSources);
  assert.deepEqual(text(out.data), { url: `postgres://admin:${SECRET}@db/cert` });
  assert.equal(out.type, 'Opaque');
});

test('mergePolicy Merge keeps fetched keys, rendered keys win', () => {
  const out = renderSecret(engine, fetched, template({ mergePolicy: 'Merge', data: { user: '{{ user | upcase }}', extra: 'x' } }), noSources);
  assert.deepEqual(text(out.data), { user: 'ADMIN', password: SECRET, 'tls.crt': 'CERT', extra: 'x' });
});

test('a template with only type and metadata passes the fetched data through', () => {
  const out = renderSecret(
    engine,
    fetched,
    template({ type: 'kubernetes.io/basic-auth', metadata: { labels: { team: '{{ user }}' }, annotations: { 'example.com/owner': 'team {{ user }}' } } }),
    noSources,
  );
  assert.deepEqual(text(out.data), text(fetched));
  assert.equal(out.type, 'kubernetes.io/basic-auth');
  assert.deepEqual(out.labels, { team: 'admin' });
  assert.deepEqual(out.annotations, { 'example.com/owner': 'team admin' });
});

const sources: TemplateSources = {
  configMaps: new Map([
    ['tpl', { 'config.yaml': 'user: {{ user }}\npassword: {{ password }}\n', many: 'a: "{{ user }}"\nb: 2\n' }],
  ]),
  secrets: new Map([['tpl-secret', { 'dsn': enc('{{ user }}@db') }]]),
};

test('templateFrom: ConfigMap Values, ConfigMap KeysAndValues, Secret, literal, into data, labels and annotations', () => {
  const out = renderSecret(
    engine,
    fetched,
    template({
      templateFrom: [
        { configMap: { name: 'tpl', items: [{ key: 'config.yaml', templateAs: 'Values' }, { key: 'many', templateAs: 'KeysAndValues' }] }, target: 'Data' },
        { secret: { name: 'tpl-secret', items: [{ key: 'dsn', templateAs: 'Values' }] }, target: 'Data' },
        { literal: 'app: "{{ user }}"', target: 'Labels' },
        { literal: 'example.com/rotated: "yes"', target: 'Annotations' },
      ],
    }),
    sources,
  );
  assert.deepEqual(text(out.data), { 'config.yaml': `user: admin\npassword: ${SECRET}\n`, a: 'admin', b: '2', dsn: 'admin@db' });
  assert.deepEqual(out.labels, { app: 'admin' });
  assert.deepEqual(out.annotations, { 'example.com/rotated': 'yes' });
});

test('templateSourceNames lists each ConfigMap and Secret once', () => {
  assert.deepEqual(
    templateSourceNames(template({ templateFrom: [
      { configMap: { name: 'a', items: [{ key: 'k', templateAs: 'Values' }] }, target: 'Data' },
      { configMap: { name: 'a', items: [{ key: 'j', templateAs: 'Values' }] }, target: 'Labels' },
      { secret: { name: 'b', items: [{ key: 'k', templateAs: 'Values' }] }, target: 'Data' },
    ] })),
    { configMaps: ['a'], secrets: ['b'] },
  );
});

const errors: Array<{ title: string; template: ExternalSecretTemplate; reason: RegExp; where?: RegExp; sources?: TemplateSources }> = [
  { title: 'a missing key names the template and line', template: template({ data: { url: 'x\n{{ pasword }}' } }), reason: /undefined variable in pasword/, where: /^spec\.target\.template\.data\["url"\] \(line 2, column 4\)/ },
  { title: 'a ConfigMap that does not exist', template: template({ templateFrom: [{ configMap: { name: 'nope', items: [{ key: 'k', templateAs: 'Values' }] }, target: 'Data' }] }), reason: /ConfigMap nope does not exist/ },
  { title: 'a key missing from the ConfigMap', template: template({ templateFrom: [{ configMap: { name: 'tpl', items: [{ key: 'nope', templateAs: 'Values' }] }, target: 'Data' }] }), reason: /ConfigMap tpl has no key "nope"/, sources },
  { title: 'KeysAndValues that is not a YAML map', template: template({ templateFrom: [{ literal: '- {{ password }}', target: 'Data' }] }), reason: /must be a YAML map/ },
  { title: 'KeysAndValues with bad YAML names a line, not the text', template: template({ templateFrom: [{ literal: 'a: 1\nb: [{{ password }}', target: 'Data' }] }), reason: /not a YAML map of keys to values/ },
  { title: 'a nested value', template: template({ templateFrom: [{ literal: 'a:\n  b: "{{ password }}"', target: 'Data' }] }), reason: /not a scalar/ },
  { title: 'an invalid rendered data key from a value', template: template({ templateFrom: [{ literal: '"{{ password }}/x": y', target: 'Data' }] }), reason: /the key at position 1 .* is not a valid Secret key/ },
  { title: 'an invalid label value', template: template({ metadata: { labels: { team: '{{ password }}!' } } }), reason: /rendered value of label key "team" is not a valid label value/ },
  { title: 'an invalid annotation key', template: template({ metadata: { annotations: { 'bad key': 'x' } } }), reason: /key "bad key" is not a valid annotation key/ },
  { title: 'a reserved label', template: template({ metadata: { labels: { 'secret-relay.dev/managed': 'false' } } }), reason: /reserved/ },
  { title: 'the same key from two templates', template: template({ data: { a: '1' }, templateFrom: [{ literal: 'a: "2"', target: 'Data' }] }), reason: /renders the same key that spec\.target\.template\.templateFrom\[0\]\.literal renders too/ },
  { title: 'the same key from two ConfigMap items', template: template({ templateFrom: [{ configMap: { name: 'tpl', items: [{ key: 'config.yaml', templateAs: 'Values' }] }, target: 'Data' }, { configMap: { name: 'tpl', items: [{ key: 'config.yaml', templateAs: 'Values' }] }, target: 'Data' }] }), reason: /renders key "config\.yaml" that .* renders too/, sources },
];

for (const { title, template: t, reason, where, sources: s } of errors) {
  test(`template error: ${title}`, () => {
    const error = fails(t, s);
    assert.match(error.reason, reason);
    if (where) assert.match(error.message, where);
  });
}
