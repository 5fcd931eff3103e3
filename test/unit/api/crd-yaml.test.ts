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
