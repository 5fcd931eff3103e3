// deploy/manifests/ and the chart's copy of the CRDs are generated; these fail when either is stale.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHART_CRDS_DIR, expectedChartCrds, MANIFESTS_DIR, readFiles, renderComponents, renderManifests } from '../../../scripts/render-manifests.ts';

const FIX = 'run `node scripts/render-manifests.ts` (after `npm run generate` when the API changed)';

test('the chart holds the CRDs of crds/', () => {
  const actual = readFiles(CHART_CRDS_DIR);
  const expected = expectedChartCrds();
  assert.deepEqual([...actual.keys()], [...expected.keys()], `deploy/helm/secret-relay/files/crds/ lists other files than crds/: ${FIX}`);
  for (const [name, content] of expected) assert.ok(actual.get(name) === content, `files/crds/${name} is stale: ${FIX}`);
});

test('deploy/manifests/ (and its components/) is what the chart renders', () => {
  const actual = readFiles(MANIFESTS_DIR);
  const expected = new Map([...renderManifests(), ...renderComponents()]);
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `deploy/manifests/ holds other files than the chart renders: ${FIX}`);
  for (const [name, content] of expected) assert.ok(actual.get(name) === content, `deploy/manifests/${name} is stale: ${FIX}`);
});
