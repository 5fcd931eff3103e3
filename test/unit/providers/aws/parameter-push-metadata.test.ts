// Parameter Store PushSecret metadata, ESO's shape (providers/v1/aws/parameterstore PushSecretMetadataSpec):
// secretType, kmsKeyID, tier {type, policies}, description, tags → PutParameter's settings; what Parameter Store
// would refuse, or silently ignore, is refused here naming the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseParameterMetadata } from '../../../../src/providers/aws/push-parameter-store.ts';
import { TerminalError } from '../../../../src/providers/provider.ts';

const meta = (spec: Record<string, unknown>) => ({ apiVersion: 'kubernetes.external-secrets.io/v1alpha1', kind: 'PushSecretMetadata', spec });
const policies = [
  { type: 'Expiration', version: '1.0', attributes: { timestamp: '2030-12-02T21:34:33.000Z' } },
  { type: 'NoChangeNotification', version: '1.0', attributes: { after: '30', unit: 'Days' } },
];

test('tier Advanced with policies: Policies is the JSON list as written (as ESO sends it)', () => {
  const parsed = parseParameterMetadata(meta({ tier: { type: 'Advanced', policies } }));
  assert.equal(parsed.tier, 'Advanced');
  assert.deepEqual(JSON.parse(parsed.policies!), policies);
  assert.equal(parseParameterMetadata(meta({ tier: { type: 'Intelligent-Tiering', policies } })).tier, 'Intelligent-Tiering');
  assert.equal(parseParameterMetadata(meta({ tier: { type: 'Advanced' } })).policies, undefined);
  assert.equal(parseParameterMetadata(meta({ tier: { type: 'Advanced', policies: [] } })).policies, undefined);
  assert.equal(parseParameterMetadata(undefined).type, 'SecureString');
});

test('policies Parameter Store would not apply, or refuse, are refused naming the field', () => {
  const refused = (spec: Record<string, unknown>, message: RegExp) => assert.throws(() => parseParameterMetadata(meta(spec)), (err: unknown) => err instanceof TerminalError && message.test((err as Error).message));
  refused({ tier: { type: 'Standard', policies } }, /tier.policies need tier.type Advanced/);
  refused({ tier: { policies } }, /tier.policies need tier.type Advanced/);
  refused({ tier: { type: 'Advanced', policies: 'Expiration' } }, /tier.policies must be a list of policies/);
  refused({ tier: { type: 'Advanced', policies: [1] } }, /tier.policies must be a list of policies/);
  refused({ tier: { type: 'Advanced', policies: Array.from({ length: 11 }, () => policies[0]) } }, /lists 11 policies; Parameter Store takes at most 10/);
  refused({ tier: { type: 'Advanced', policies: [{ type: 'Expiration', version: '1.0', attributes: { note: 'x'.repeat(5000) } }] } }, /characters as JSON; PutParameter takes at most 4096/);
  refused({ tier: { type: 'Premium' } }, /tier.type must be Standard, Advanced or Intelligent-Tiering/);
});
