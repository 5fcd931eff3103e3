// migrate over ESO's own PushSecret and generator documentation examples (test/fixtures/eso-push-docs): each converts,
// or is refused naming what secret-relay does not serve; PushSecrets get the adopt note (or annotation with --adopt).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { convertFiles } from '../../../src/migrate/convert.ts';

const dir = join(import.meta.dirname, '../../fixtures/eso-push-docs');
const inputs = readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') }));

test("ESO's PushSecret and generator examples convert, or are refused naming the unsupported part", () => {
  const results = convertFiles(inputs, { adopt: false });
  const outcomes = results.flatMap((r) => r.reports.filter((d) => d.outcome !== 'unchanged').map((d) => ({ file: r.file, kind: d.kind, outcome: d.outcome, reasons: d.reasons.join('; ') })));
  const refused = outcomes.filter((o) => o.outcome === 'refused');
  assert.deepEqual(
    refused.map((o) => `${o.file} ${o.kind}`).sort(),
    ['full-cluster-push-secret.yaml ClusterPushSecret', 'full-pushsecret.yaml PushSecret', 'template-v2-push-secret.yaml PushSecret'],
  );
  assert.match(refused.find((o) => o.kind === 'ClusterPushSecret')!.reasons, /ECRAuthorizationToken generator is not supported/);
  assert.match(refused.find((o) => o.file === 'full-pushsecret.yaml')!.reasons, /line 44: spec\.template\.templateFrom\[0\]\.configMap holds Go templates elsewhere/);
  assert.ok(outcomes.some((o) => o.file === 'pushsecret-datato-basic.yaml' && o.outcome !== 'refused'), 'dataTo converts');
  const converted = outcomes.filter((o) => o.outcome !== 'refused');
  assert.ok(converted.filter((o) => o.kind === 'PushSecret').length >= 5, 'PushSecrets converted');
  assert.ok(converted.filter((o) => o.kind === 'Password').length >= 6 && converted.some((o) => o.kind === 'UUID') && converted.filter((o) => o.kind === 'SSHKey').length >= 3, 'rsa, ed25519 and ecdsa SSHKeys converted');
  const notes = results.flatMap((r) => r.reports).filter((d) => d.kind === 'PushSecret' && d.outcome !== 'refused').flatMap((d) => d.notes).join('\n');
  assert.match(notes, /refuses to overwrite them .* unless annotated secret-relay.dev\/adopt/);
});

test('converted documents are ours: the group, generatorRef apiVersions, and --adopt annotates PushSecrets', () => {
  const [result] = convertFiles(inputs.filter((i) => i.file === 'pushsecret-generator-rotation-example.yaml'), { adopt: true });
  const docs = parseAllDocuments(result!.output!).map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { annotations?: Record<string, string> }; spec: Record<string, unknown> });
  assert.deepEqual(docs.map((d) => `${d.apiVersion} ${d.kind}`), ['secret-relay.dev/v1alpha1 Password', 'secret-relay.dev/v1alpha1 PushSecret']);
  const push = docs[1]!;
  assert.equal(push.metadata.annotations?.['secret-relay.dev/adopt'], 'true');
  assert.deepEqual((push.spec['selector'] as { generatorRef: unknown }).generatorRef, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'Password', name: 'strong-password' });
  assert.match(result!.reports.find((d) => d.kind === 'PushSecret')!.notes.join('\n'), /generated once and kept; set a new secret-relay.dev\/rotate/);
});

test("a PushSecret's Go templates (spec.template, dataTo rewrite transforms) are translated into liquid", () => {
  const text = [
    'apiVersion: external-secrets.io/v1alpha1',
    'kind: PushSecret',
    'metadata: { name: t, namespace: n }',
    'spec:',
    '  secretStoreRefs: [{ name: s }]',
    '  selector: { secret: { name: src } }',
    '  template:',
    '    engineVersion: v2',
    '    data:',
    '      token: "{{ .token | upper }} was templated"',
    '  dataTo:',
    '    - storeRef: { name: s }',
    '      rewrite:',
    '        - transform: { template: "app/{{ .value | lower }}" }',
  ].join('\n');
  const [result] = convertFiles([{ file: 't.yaml', text }], { adopt: false });
  assert.equal(result!.reports[0]!.outcome === 'refused', false, result!.reports[0]!.reasons.join('; '));
  const doc = parseAllDocuments(result!.output!)[0]!.toJS() as { spec: { template: { data: Record<string, string>; engineVersion?: string }; dataTo: { rewrite: { transform: { template: string } }[] }[] } };
  assert.equal(doc.spec.template.engineVersion, undefined);
  assert.doesNotMatch(doc.spec.template.data['token']!, /\.token/);
  assert.match(doc.spec.template.data['token']!, /token/);
  assert.doesNotMatch(doc.spec.dataTo[0]!.rewrite[0]!.transform.template, /\.value/);
});
