// `secret-relay migrate` end to end on files: the corpus tree (test/fixtures/migrate/eso: every kind, every provider
// secret-relay supports, Kustomize-style) converts with comments, names, labels, annotations and document order
// kept; --write, --out and --check write what they say and nothing else; bad input is reported per document with
// file and line, exits 1, never crashes and never leaves a partial file.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { runMigrate, type Io } from '../../../src/migrate/cli.ts';
import { convertFile, convertFiles } from '../../../src/migrate/convert.ts';

const corpus = new URL('../../fixtures/migrate/eso/', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'migrate-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function run(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdin: async () => stdin, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) };
  const code = await runMigrate(args, io);
  return { code, stdout, stderr };
}

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

function copyCorpus(): string {
  const dir = mkdtempSync(join(work, 'tree-'));
  cpSync(corpus, dir, { recursive: true });
  return dir;
}

test('the corpus converts: every ESO document of every kind and provider, exit 0, summary line', async () => {
  const { code, stdout } = await run(['--check', corpus]);
  assert.equal(code, 0, stdout);
  assert.match(stdout, /17 documents: 8 converted, 7 converted with notes, 0 refused, 2 not ESO \(unchanged\)/);
  // ESO lets a namespaced store act as the controller itself; the report says what secret-relay will do instead.
  assert.match(stdout, /SecretStore aws-ssm: converted-with-notes\n  note: spec\.provider\.aws without auth \(the default credential chain\) acts as the operator's own identity: secret-relay refuses that in a SecretStore \(Ready=False OperatorIdentityNotAllowed\) unless the operator runs with --operator-identity=all/);
  assert.match(stdout, /rrsa\.oidcTokenFilePath names a token file of the operator's pod: only a ClusterSecretStore may, and only a path listed in the operator's --operator-token-files/);
  for (const kind of ['ExternalSecret', 'SecretStore', 'ClusterSecretStore', 'ClusterExternalSecret', 'VaultDynamicSecret']) assert.match(stdout, new RegExp(`: ${kind} `));
});

test('--write rewrites in place: group renamed, comments, names, labels, annotations and order kept, templates translated', async () => {
  const dir = copyCorpus();
  const before = Object.fromEntries(files(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
  const { code } = await run(['--write', dir]);
  assert.equal(code, 0);
  const kustomization = readFileSync(join(dir, 'base/kustomization.yaml'), 'utf8');
  assert.equal(kustomization, before['base/kustomization.yaml'], 'a file without ESO documents is not touched');
  const text = readFileSync(join(dir, 'base/external-secrets.yaml'), 'utf8');
  for (const comment of ['# The application\'s secrets.', '# the connection string the app reads']) assert.ok(text.includes(comment), comment);
  assert.ok(readFileSync(join(dir, 'base/stores.yaml'), 'utf8').includes('annotations: { owner: platform } # kept'));
  const docs = parseAllDocuments(text).map((d) => (Array.isArray(d) ? undefined : d.toJS()));
  assert.deepEqual(docs.map((d) => d.metadata.name), ['db', 'found', 'dynamic', 'from-vault', 'props']);
  assert.ok(docs.every((d) => d.apiVersion === 'secret-relay.dev/v1alpha1'));
  const db = docs[0];
  assert.deepEqual([db.metadata.labels, db.metadata.annotations], [{ app: 'web' }, { note: 'rotated weekly' }]);
  assert.equal(db.spec.target.template.engineVersion, undefined);
  assert.equal(db.spec.target.template.data.url, 'postgres://{{ user }}:{{ password }}@{{ host }}:5432/app');
  assert.equal(db.spec.target.template.metadata.labels['db-user'], '{{ user | lower }}');
  assert.equal(docs[1].spec.dataFrom[0].rewrite[1].transform.template, 'KEY_{{ value | upper }}');
  assert.equal(docs[2].spec.dataFrom[0].sourceRef.generatorRef.apiVersion, 'secret-relay.dev/v1alpha1');
  assert.equal(docs[3].spec.target.template.templateFrom[0].literal, 'user: "{{ ["db-user"] }}"\n');
  assert.equal(docs[4].spec.target.template.templateFrom[0].configMap.name, 'app-templates-secret-relay');
  const templates = parseAllDocuments(readFileSync(join(dir, 'base/templates.yaml'), 'utf8')).map((d) => d.toJS());
  assert.deepEqual(templates.map((d) => d.metadata.name), ['app-templates', 'app-templates-secret-relay'], 'the liquid copy follows its original, which stays for ESO');
  assert.equal(templates[0].data['app.properties'], before['base/templates.yaml']!.match(/\|\n([\s\S]*)$/)![1]!.replace(/^    /gm, ''));
  assert.match(templates[1].data['app.properties'], /^db\.user=\{\{ user \}\}/);
  const generator = parseAllDocuments(readFileSync(join(dir, 'base/generator.yaml'), 'utf8'));
  assert.equal(generator[0]!.toJS().apiVersion, 'secret-relay.dev/v1alpha1');
  assert.deepEqual(files(dir), Object.keys(before).sort(), 'no temp file left behind');
});

test('--out writes the whole converted tree elsewhere and leaves the input alone; --check writes nothing', async () => {
  const dir = copyCorpus();
  const out = join(work, 'out');
  const before = files(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
  assert.equal((await run(['--out', out, dir])).code, 0);
  assert.deepEqual(files(out), files(dir));
  assert.deepEqual(files(dir).map((f) => readFileSync(join(dir, f), 'utf8')), before);
  assert.match(readFileSync(join(out, 'overlays/prod/cluster-external-secret.yaml'), 'utf8'), /apiVersion: secret-relay.dev\/v1alpha1/);
  const stamp = files(dir).map((f) => statSync(join(dir, f)).mtimeMs);
  assert.equal((await run(['--check', dir])).code, 0);
  assert.deepEqual(files(dir).map((f) => statSync(join(dir, f)).mtimeMs), stamp);
});

test('stdin to stdout, the report on stderr; --adopt annotates converted ExternalSecrets', async () => {
  const input = readFileSync(join(corpus, 'base/external-secrets.yaml'), 'utf8') + '---\n' + readFileSync(join(corpus, 'base/templates.yaml'), 'utf8');
  const { code, stdout, stderr } = await run(['--adopt'], input);
  assert.equal(code, 0, stderr);
  const docs = parseAllDocuments(stdout).map((d) => d.toJS());
  const externalSecrets = docs.filter((d) => d.kind === 'ExternalSecret');
  assert.equal(externalSecrets.length, 5);
  assert.ok(externalSecrets.every((d) => d.metadata.annotations['secret-relay.dev/adopt'] === 'true'));
  assert.equal(externalSecrets[0].metadata.annotations.note, 'rotated weekly');
  assert.deepEqual(docs.filter((d) => d.kind === 'ConfigMap').map((d) => d.metadata.name), ['app-templates', 'app-templates-secret-relay']);
  assert.match(stderr, /<stdin>:2: ExternalSecret db: converted-with-notes\n(  note: .*\n)*  note: secret-relay.dev\/adopt/);
});

const bad = `apiVersion: external-secrets.io/v1
kind: PushSecret
metadata: { name: push }
spec: {}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: { name: doppler }
spec:
  provider:
    doppler: { auth: { secretRef: { dopplerToken: { name: t, key: k } } } }
---
apiVersion: external-secrets.io/v1
kind: Frobnicator
metadata: { name: what }
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: templated }
spec:
  secretStoreRef: { name: fake }
  target:
    template:
      data:
        ok: "{{ .a }}"
        env: |
          {{ range $k, $v := . }}{{ $k }}={{ $v }}
          {{ end }}
  data:
    - { secretKey: a, remoteRef: { key: a } }
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: fine }
spec:
  secretStoreRef: { name: fake }
  data:
    - { secretKey: a, remoteRef: { key: a } }
`;

test('bad input is reported per document with file and line; the refused documents stay as they were; exit 1', async () => {
  const dir = mkdtempSync(join(work, 'bad-'));
  const file = join(dir, 'mixed.yaml');
  writeFileSync(file, bad);
  const { code, stdout } = await run(['--write', dir]);
  assert.equal(code, 1);
  assert.match(stdout, /mixed\.yaml:1: PushSecret push: refused\n  refused: line 1: apiVersion external-secrets\.io\/v1 is not read; ESO's PushSecret is external-secrets\.io\/v1alpha1/);
  assert.match(stdout, /mixed\.yaml:6: SecretStore doppler: refused\n  refused: line 11: spec\.provider\.doppler: the doppler provider is not supported by secret-relay/);
  assert.match(stdout, /mixed\.yaml:13: Frobnicator what: refused\n  refused: line 13: unknown kind Frobnicator of external-secrets\.io/);
  assert.match(stdout, /mixed\.yaml:17: ExternalSecret templated: refused\n  refused: line 27: spec\.target\.template\.data\["env"\]: range: /);
  assert.match(stdout, /mixed\.yaml:32: ExternalSecret fine: converted/);
  assert.match(stdout, /5 documents: 1 converted, 0 converted with notes, 4 refused/);
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => (Array.isArray(d) ? undefined : d.toJS()));
  assert.deepEqual(docs.map((d) => d.apiVersion), ['external-secrets.io/v1', 'external-secrets.io/v1', 'external-secrets.io/v1', 'external-secrets.io/v1', 'secret-relay.dev/v1alpha1']);
  assert.equal(docs[3].spec.target.template.data.ok, '{{ .a }}', 'a refused document is left entirely unconverted');
});

test('malformed YAML: the file is never written, the line is named, and --json says the same for CI', async () => {
  const dir = mkdtempSync(join(work, 'malformed-'));
  const file = join(dir, 'broken.yaml');
  const text = `apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: { name: ok }\nspec: { secretStoreRef: { name: s }, data: [{ secretKey: a, remoteRef: { key: a } }] }\n---\napiVersion: external-secrets.io/v1\nkind: SecretStore\nspec: [unclosed\n`;
  writeFileSync(file, text);
  const { code, stdout } = await run(['--write', '--json', dir]);
  assert.equal(code, 1);
  const report = JSON.parse(stdout) as { documents: { file: string; line: number; outcome: string; reasons: string[] }[]; summary: { refused: number } };
  assert.equal(readFileSync(file, 'utf8'), text, 'not a byte changed');
  assert.deepEqual(report.documents.map((d) => d.outcome), ['refused', 'refused']);
  assert.match(report.documents[1]!.reasons[0]!, /^malformed YAML at line \d+: .+; the file is not written$/);
  assert.match(report.documents[0]!.reasons[0]!, /not written: another document of this file is malformed YAML/);
  assert.equal(report.summary.refused, 2);
  assert.deepEqual(readdirSync(dir), ['broken.yaml']);
});

test('templateFrom: a ConfigMap missing from the input, a key it lacks, and an item that cannot be translated are refused; no copy is written then', () => {
  const es = (items: string) =>
    `apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: { name: t }\nspec:\n  secretStoreRef: { name: s }\n  target:\n    template:\n      templateFrom:\n        - configMap: { name: tpl, items: [${items}] }\n  data: [{ secretKey: a, remoteRef: { key: a } }]\n`;
  const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: tpl }\ndata:\n  good: "{{ .a }}"\n  bad: |\n    first line\n    {{ .a | toJson }}\n';
  const missing = convertFile('es.yaml', es('{ key: good }'), { adopt: false });
  assert.match(missing.reports[0]!.reasons[0]!, /^line 9: spec\.target\.template\.templateFrom\[0\]\.configMap tpl holds Go templates, and that ConfigMap is not among the input files; add it to the input/);
  const [esResult, cmResult] = convertFiles([{ file: 'es.yaml', text: es('{ key: good }, { key: bad }, { key: none }') }, { file: 'cm.yaml', text: configMap }], { adopt: false });
  assert.deepEqual(esResult!.reports[0]!.reasons, [
    'cm.yaml:8: ConfigMap tpl data["bad"] (spec.target.template.templateFrom[0].configMap): toJson: Go escapes <, > and & as \\u003c… and sorts map keys; to_json does neither, so the output could differ',
    'line 9: spec.target.template.templateFrom[0].configMap: ConfigMap tpl has no key "none"',
  ]);
  assert.equal(cmResult!.output, undefined, 'no copy for a refused ExternalSecret');
  const [ok, copy] = convertFiles([{ file: 'es.yaml', text: es('{ key: good }') }, { file: 'cm.yaml', text: configMap }], { adopt: false });
  assert.equal(ok!.reports[0]!.outcome, 'converted-with-notes');
  const docs = parseAllDocuments(copy!.output!).map((d) => d.toJS());
  assert.deepEqual([docs[1].metadata.name, docs[1].data.good, docs[1].data.bad], ['tpl-secret-relay', '{{ a }}', 'first line\n{{ .a | toJson }}\n']);
});

test('usage errors exit 2; unreadable paths are reported, not thrown', async () => {
  assert.equal((await run(['--write', '--check', corpus])).code, 2);
  assert.equal((await run(['--write'])).code, 2);
  assert.equal((await run(['--bogus'])).code, 2);
  const missing = await run(['--check', join(work, 'no-such-dir')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /cannot read: ENOENT/);
});

test('a write that fails leaves the target as it was and is reported', async () => {
  const out = join(work, 'blocked');
  writeFileSync(out, 'a file where the output directory should be');
  const { code, stdout } = await run(['--out', out, join(corpus, 'base/generator.yaml')]);
  assert.equal(code, 1);
  assert.match(stdout, /cannot write: (ENOTDIR|EEXIST)/);
  assert.equal(readFileSync(out, 'utf8'), 'a file where the output directory should be');
});

test('v1beta1 and v1 are read; other versions of the group are refused naming the version', () => {
  const result = convertFile('x.yaml', 'apiVersion: external-secrets.io/v1alpha1\nkind: ExternalSecret\nmetadata: { name: old }\n', { adopt: false });
  assert.match(result.reports[0]!.reasons[0]!, /apiVersion external-secrets.io\/v1alpha1 is not read; migrate reads external-secrets.io\/v1 and external-secrets.io\/v1beta1/);
  assert.equal(result.output, undefined);
});

test('--adopt annotates Owner and Orphan ExternalSecrets (and the children of a ClusterExternalSecret), never Merge ones', () => {
  const es = (name: string, policy?: string) =>
    `apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: { name: ${name} }\nspec:\n  secretStoreRef: { name: s }\n  target: { ${policy ? `creationPolicy: ${policy}` : ''} }\n  data: [{ secretKey: a, remoteRef: { key: a } }]\n`;
  const ces = 'apiVersion: external-secrets.io/v1\nkind: ClusterExternalSecret\nmetadata: { name: c }\nspec:\n  namespaces: [a]\n  externalSecretSpec:\n    secretStoreRef: { name: s }\n    data: [{ secretKey: a, remoteRef: { key: a } }]\n';
  const result = convertFile('x.yaml', [es('owner'), es('orphan', 'Orphan'), es('merge', 'Merge'), ces].join('---\n'), { adopt: true });
  const docs = parseAllDocuments(result.output!).map((d) => (Array.isArray(d) ? undefined : d.toJS()));
  assert.deepEqual(docs.slice(0, 3).map((d) => d.metadata.annotations?.['secret-relay.dev/adopt']), ['true', 'true', undefined]);
  assert.equal(docs[3].spec.externalSecretMetadata.annotations['secret-relay.dev/adopt'], 'true');
  assert.match(result.reports[2]!.notes[0]!, /creationPolicy Merge writes into the existing Secret without adopting it/);
});

test('an ExternalSecret without secretStoreRef whose entries name their own stores, and a merge rewrite, convert (group renamed, fields kept)', () => {
  const manifest = `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: combined, namespace: app }
spec:
  data:
    - secretKey: user
      remoteRef: { key: db, property: user }
      sourceRef: { storeRef: { name: db-store, kind: SecretStore } }
  dataFrom:
    - find: { name: { regexp: ".*-credentials" } }
      sourceRef: { storeRef: { name: shared, kind: ClusterSecretStore } }
      rewrite:
        - merge: { strategy: JSON, into: all, conflictPolicy: Ignore, priority: [a-credentials] }
`;
  const result = convertFile('es.yaml', manifest, { adopt: false });
  assert.deepEqual(result.reports.map((r) => [r.outcome, r.reasons]), [['converted', []]]);
  const converted = parseAllDocuments(result.output ?? '')[0]!.toJS() as { apiVersion: string; spec: unknown };
  assert.equal(converted.apiVersion, 'secret-relay.dev/v1alpha1');
  assert.deepEqual(converted.spec, (parseAllDocuments(manifest)[0]!.toJS() as { spec: unknown }).spec);
});
