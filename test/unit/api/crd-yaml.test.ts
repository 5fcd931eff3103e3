// kubectl and Go's yaml read YAML 1.1, where an unquoted Off, On, yes or no is a boolean: an enum value or
// default such as rollout.policy "Off" must reach the apiserver as the string. Each generated file must mean
// the same to a YAML 1.1 reader as to a YAML 1.2 one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { renderGeneratedFiles } from '../../../src/api/generate.ts';
import { renderComponents, renderManifests } from '../../../scripts/render-manifests.ts';

const read = (text: string, version: '1.1' | '1.2') => parseAllDocuments(text, { version }).map((d) => d.toJS());

test('generated CRDs and manifests read the same under YAML 1.1 (kubectl) and 1.2', () => {
  const files = [...renderGeneratedFiles()].filter(([path]) => path.endsWith('.yaml'));
  assert.ok(files.length >= 4);
  for (const [path, text] of [...files, ...renderManifests(), ...renderComponents()]) assert.deepEqual(read(text, '1.1'), read(text, '1.2'), `${path} has a scalar YAML 1.1 reads differently (quote it)`);
});

// The apiserver stores a CRD without the empty values Go's JSONSchemaProps omits (`properties: {}`), so the stored
// spec.versions differs from the file: a second server-side applier of the same file (kubectl apply --server-side
// -k deploy/manifests/ after npm run demo, or helm after kubectl) got "conflict with …: .spec.versions".
test('CRD schemas hold no empty properties map (the apiserver drops it, and a second applier conflicts)', () => {
  const empty: string[] = [];
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) node.forEach((child, i) => walk(child, `${where}[${i}]`));
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'properties' && value && typeof value === 'object' && Object.keys(value).length === 0) empty.push(`${where}/properties`);
        walk(value, `${where}/${key}`);
      }
    }
  };
  for (const [path, text] of renderGeneratedFiles()) if (path.endsWith('.yaml')) walk(read(text, '1.1'), path);
  assert.deepEqual(empty, []);
});
