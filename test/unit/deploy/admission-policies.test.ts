// The chart's ValidatingAdmissionPolicies (templates/admission-policies.yaml), rendered by the real helm: bound to
// the release's own ServiceAccount whatever it is called, configurable, off when asked, and bad values refused.
// What they refuse is proven against a real apiserver in test/integration/admission-policy.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHART_DIR, helmLint, helmTemplate, runHelm, splitDocuments, type RenderOptions, type RenderedDocument } from '../../../scripts/render-manifests.ts';

interface PolicySpec {
  readonly failurePolicy: string;
  readonly matchConditions: readonly { name: string; expression: string }[];
  readonly variables?: readonly { name: string; expression: string }[];
  readonly validations: readonly { expression: string; message: string; reason: string }[];
}

function policies(options: RenderOptions = {}): Map<string, PolicySpec> {
  const docs: RenderedDocument[] = splitDocuments(helmTemplate(options));
  const out = new Map<string, PolicySpec>();
  for (const d of docs.filter((x) => x.kind === 'ValidatingAdmissionPolicy')) out.set(d.name, d.object['spec'] as unknown as PolicySpec);
  const bindings = docs.filter((x) => x.kind === 'ValidatingAdmissionPolicyBinding');
  assert.deepEqual(
    bindings.map((b) => [b.name, b.object['spec']]).sort(),
    [...out.keys()].sort().map((name) => [name, { policyName: name, validationActions: ['Deny'] }]),
    'one Deny binding per policy, named as it',
  );
  return out;
}

test('by default: three policies, failing closed, matched to the release ServiceAccount only', () => {
  const found = policies({ release: 'relay', namespace: 'ops' });
  assert.deepEqual([...found.keys()].sort(), ['relay-secret-relay-secrets', 'relay-secret-relay-token-requests', 'relay-secret-relay-workloads']);
  for (const [name, spec] of found) {
    assert.equal(spec.failurePolicy, 'Fail', name);
    assert.deepEqual(spec.matchConditions, [{ name: 'is-secret-relay', expression: "request.userInfo.username == 'system:serviceaccount:ops:relay-secret-relay'" }], name);
    for (const v of spec.validations) assert.equal(v.reason, 'Forbidden', `${name}: ${v.message}`);
  }
  const tokens = found.get('relay-secret-relay-token-requests')!;
  assert.equal(tokens.validations[0]!.expression, 'object.spec.?expirationSeconds.orValue(3600) <= 3600');
  assert.equal(
    tokens.variables!.find((v) => v.name === 'apiServerAudiences')!.expression,
    "['https://kubernetes.default.svc.cluster.local', 'https://kubernetes.default.svc', 'kubernetes.default.svc']",
  );
});

test('an existing ServiceAccount, a shorter token cap and other apiserver audiences are honoured', () => {
  const found = policies({
    values: {
      serviceAccount: { create: false, name: 'relay-sa' },
      admissionPolicies: { tokenRequest: { maxExpirationSeconds: 1800, apiServerAudiences: ['https://oidc.example/cluster'] } },
    },
  });
  for (const spec of found.values()) assert.equal(spec.matchConditions[0]!.expression, "request.userInfo.username == 'system:serviceaccount:secret-relay-system:relay-sa'");
  const tokens = found.get('secret-relay-token-requests')!;
  assert.equal(tokens.validations[0]!.expression, 'object.spec.?expirationSeconds.orValue(3600) <= 1800');
  assert.match(tokens.validations[0]!.message, /more than 1800 seconds/);
  assert.equal(tokens.variables!.find((v) => v.name === 'apiServerAudiences')!.expression, "['https://oidc.example/cluster']");
  assert.match(helmLint({ values: { admissionPolicies: { tokenRequest: { maxExpirationSeconds: 1800 } } } }), /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test('admissionPolicies.enabled=false renders none', () => {
  assert.equal(policies({ values: { admissionPolicies: { enabled: false } } }).size, 0);
});

test('admission policy values that cannot work fail rendering with a reason', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ admissionPolicies: { tokenRequest: { maxExpirationSeconds: 300 } } }, /maxExpirationSeconds must be at least 600/],
    [{ admissionPolicies: { tokenRequest: { apiServerAudiences: [] } } }, /apiServerAudiences must list the apiserver's audiences/],
    [{ admissionPolicies: { tokenRequest: { apiServerAudiences: ["x' || true || '"] } } }, /must not contain quotes or backslashes/],
  ];
  for (const [values, message] of cases) assert.throws(() => helmTemplate({ values }), message, JSON.stringify(values));
});

test('before Kubernetes 1.30 (no ValidatingAdmissionPolicy v1) the chart asks to upgrade or turn the policies off', () => {
  assert.throws(() => runHelm(['template', 'r', CHART_DIR, '--kube-version', '1.29.4']), /admissionPolicies need Kubernetes 1.30 or later .* set admissionPolicies.enabled=false/);
  assert.ok(!runHelm(['template', 'r', CHART_DIR, '--kube-version', '1.29.4', '--set', 'admissionPolicies.enabled=false']).includes('ValidatingAdmissionPolicy'));
  assert.ok(runHelm(['template', 'r', CHART_DIR, '--kube-version', '1.30.0']).includes('kind: ValidatingAdmissionPolicy\n'));
});
