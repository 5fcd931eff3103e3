// The aws provider's pure parts: store validation, auth planning (referent auth, partitions), credential
// memoization on a fake clock, version selectors and error mapping. Reads against moto are in
// test/integration/aws.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAwsProvider, validateAwsSpec } from '../../../../src/providers/aws/provider.ts';
import { buildAwsSession, planAwsAuth, STATIC_KEYS_REREAD_MS, roleSessionName } from '../../../../src/providers/aws/auth.ts';
import { mapAwsError } from '../../../../src/providers/aws/errors.ts';
import { secretVersionSelector } from '../../../../src/providers/aws/secrets-manager.ts';
import { parameterName } from '../../../../src/providers/aws/parameter-store.ts';
import { AccessDeniedError, NoSecretError, TerminalError, ThrottledError } from '../../../../src/providers/provider.ts';
import type { AwsProvider } from '../../../../src/api/types.generated.ts';
import { fakeClock, storeContext } from '../helpers.ts';

const role = 'arn:aws:iam::123456789012:role/reader';
const base: AwsProvider = { service: 'SecretsManager', region: 'eu-west-1' };
const jwt = (namespace?: string): AwsProvider => ({
  ...base,
  auth: { jwt: { serviceAccountRef: { name: 'reader', ...(namespace ? { namespace } : {}) } } },
});

test('store validation names each problem a user must fix', () => {
  assert.deepEqual(validateAwsSpec(base), { warnings: [], errors: [] });
  const cases: [unknown, RegExp][] = [
    [{ ...base, region: 'Europe' }, /region must be an AWS region such as us-east-1/],
    [{ service: 'SecretsManager' }, /spec\.provider\.aws\.region/],
    [{ ...base, service: 'S3' }, /spec\.provider\.aws\.service/],
    [{ ...base, role: 'reader' }, /spec\.provider\.aws\.role must be an IAM role ARN/],
    [{ ...base, additionalRoles: ['arn:aws:iam::12:role/x'] }, /additionalRoles\[\] must be an IAM role ARN/],
    [{ ...base, auth: {} }, /auth must set exactly one of jwt and secretRef/],
    [
      {
        ...base,
        auth: {
          jwt: { serviceAccountRef: { name: 'sa' } },
          secretRef: { accessKeyIDSecretRef: { name: 's', key: 'id' }, secretAccessKeySecretRef: { name: 's', key: 'key' } },
        },
      },
      /exactly one of jwt and secretRef/,
    ],
    [{ ...base, endpoint: 'localhost:4566' }, /endpoint must be an http\(s\) URL/],
  ];
  for (const [spec, message] of cases) {
    const { errors } = validateAwsSpec(spec);
    assert.ok(errors.some((error) => message.test(error)), `${JSON.stringify(spec)} → ${JSON.stringify(errors)}`);
  }
  assert.deepEqual(validateAwsSpec({ ...base, role: 'arn:aws-us-gov:iam::123456789012:role/path/to/reader' }).errors, []);
  assert.match(validateAwsSpec({ ...base, externalID: 'x' }).warnings.join(), /apply only when assuming/);
});

test('jwt auth: the ServiceAccount is the store namespace’s, or for a ClusterSecretStore the ExternalSecret’s (referent)', () => {
  const inStore = planAwsAuth(jwt(), { storeKind: 'SecretStore', storeNamespace: 'team-a', namespace: 'team-a' });
  assert.deepEqual(inStore.base, { kind: 'jwt', serviceAccount: { namespace: 'team-a', name: 'reader' }, audiences: ['sts.amazonaws.com'] });
  assert.equal(inStore.referent, false);

  const referent = planAwsAuth(jwt(), { storeKind: 'ClusterSecretStore', storeNamespace: undefined, namespace: 'team-b' });
  assert.deepEqual(referent.base, { kind: 'jwt', serviceAccount: { namespace: 'team-b', name: 'reader' }, audiences: ['sts.amazonaws.com'] });
  assert.equal(referent.referent, true);

  const fixed = planAwsAuth(jwt('identities'), { storeKind: 'ClusterSecretStore', storeNamespace: undefined, namespace: 'team-b' });
  assert.equal(fixed.referent, false);

  const provider = createAwsProvider();
  assert.equal(provider.clientPartition?.(jwt(), { storeKind: 'ClusterSecretStore', namespace: 'team-b' }), 'team-b');
  assert.equal(provider.clientPartition?.(jwt('identities'), { storeKind: 'ClusterSecretStore', namespace: 'team-b' }), undefined);
  assert.equal(provider.clientPartition?.(jwt(), { storeKind: 'SecretStore', namespace: 'team-b' }), undefined);
  assert.equal(provider.clientPartition?.(base, { storeKind: 'ClusterSecretStore', namespace: 'team-b' }), undefined);

  const audiences = planAwsAuth(
    { ...base, auth: { jwt: { serviceAccountRef: { name: 'reader', audiences: ['custom'] } } } },
    { storeKind: 'SecretStore', storeNamespace: 'a', namespace: 'a' },
  );
  assert.deepEqual(audiences.base.kind === 'jwt' && audiences.base.audiences, ['custom']);
});

test('secretRef auth on a ClusterSecretStore without namespaces reads the keys from the ExternalSecret’s namespace', () => {
  const spec: AwsProvider = {
    ...base,
    auth: { secretRef: { accessKeyIDSecretRef: { name: 'aws', key: 'id' }, secretAccessKeySecretRef: { name: 'aws', key: 'key', namespace: 'ops' } } },
  };
  const plan = planAwsAuth(spec, { storeKind: 'ClusterSecretStore', storeNamespace: undefined, namespace: 'team-c' });
  assert.equal(plan.referent, true);
  assert.ok(plan.base.kind === 'secretRef');
  assert.equal(plan.base.accessKeyId.namespace, 'team-c');
  assert.equal(plan.base.secretAccessKey.namespace, 'ops');
});

/** A static-keys session whose Secret reads are counted (and can be made to fail). */
function staticKeysSession() {
  const clock = fakeClock(0);
  const reads = { count: 0, fail: false };
  const spec = { service: 'SecretsManager', region: 'eu-west-1', auth: { secretRef: { accessKeyIDSecretRef: { name: 'k', key: 'id' }, secretAccessKeySecretRef: { name: 'k', key: 'secret' } } } } as AwsProvider;
  const ctx = storeContext({
    clock,
    kube: {
      async readSecretKey(ref) {
        reads.count++;
        if (reads.fail) throw new Error('apiserver unavailable');
        return new TextEncoder().encode(ref.key === 'id' ? `AKIA${reads.count}\n` : 'secret');
      },
      readServiceAccountAnnotations: async () => ({}),
      readConfigMapKey: async () => {
        throw new Error('not used by these tests');
      },
      createServiceAccountToken: async () => ({ token: 't', expiresAt: 0 }),
    },
  });
  const session = buildAwsSession(spec, planAwsAuth(spec, ctx), { ctx, clock, settings: { region: 'eu-west-1', maxAttempts: 1 } });
  return { clock, reads, session };
}

test('credentials are fetched once, shared by concurrent askers, and read again before they expire (rotated keys)', async () => {
  const { clock, reads, session } = staticKeysSession();
  const [a, b] = await Promise.all([session.credentials(), session.credentials()]);
  assert.equal(reads.count, 2, 'one fetch (two keys) for both askers');
  assert.equal(a, b);
  assert.equal(a.accessKeyId, 'AKIA1', 'the trailing newline is trimmed');
  clock.advance(STATIC_KEYS_REREAD_MS - 1);
  assert.equal((await session.credentials()).accessKeyId, 'AKIA1', 'still fresh');
  clock.advance(1);
  assert.equal((await session.credentials()).accessKeyId, 'AKIA3', 'read again once the re-read interval passed');
});

test('a failed credential fetch is not remembered', async () => {
  const { reads, session } = staticKeysSession();
  reads.fail = true;
  await assert.rejects(session.credentials(), /apiserver unavailable/);
  reads.fail = false;
  assert.match((await session.credentials()).accessKeyId, /^AKIA/);
});

test('jwt auth without a role-arn annotation or role is refused naming both fixes; the token is never minted', async () => {
  let minted = 0;
  const ctx = storeContext({
    kube: {
      readSecretKey: async () => new Uint8Array(),
      readServiceAccountAnnotations: async () => ({}),
      readConfigMapKey: async () => {
        throw new Error('not used by these tests');
      },
      createServiceAccountToken: async () => {
        minted++;
        return { token: 't', expiresAt: 0 };
      },
    },
  });
  await assert.rejects(createAwsProvider().newClient(jwt(), ctx), (error: unknown) => {
    assert.ok(error instanceof TerminalError);
    assert.match(error.message, /ServiceAccount team-a\/reader has no eks\.amazonaws\.com\/role-arn annotation/);
    assert.match(error.message, /set role/);
    return true;
  });
  assert.equal(minted, 0);
});

test('role session names are valid for STS and name the store', () => {
  assert.equal(roleSessionName({ storeKind: 'SecretStore', storeNamespace: 'team-a', storeName: 'aws' }), 'secret-relay.team-a.aws');
  const long = roleSessionName({ storeKind: 'ClusterSecretStore', storeNamespace: undefined, storeName: 'x'.repeat(100) });
  assert.equal(long.length, 64);
  assert.match(long, /^[\w+=,.@-]+$/);
});

test('remoteRef.version selects a VersionId (uuid/ prefix or a bare UUID) or a staging label', () => {
  assert.deepEqual(secretVersionSelector(undefined), {});
  assert.deepEqual(secretVersionSelector('AWSPREVIOUS'), { VersionStage: 'AWSPREVIOUS' });
  assert.deepEqual(secretVersionSelector('blue'), { VersionStage: 'blue' });
  assert.deepEqual(secretVersionSelector('uuid/abc'), { VersionId: 'abc' });
  assert.deepEqual(secretVersionSelector('0b8f2b1e-6c1d-4c7a-9d5e-3f2a1b0c9d8e'), { VersionId: '0b8f2b1e-6c1d-4c7a-9d5e-3f2a1b0c9d8e' });
  assert.equal(parameterName('/prod/', { key: 'db', version: '3' }), '/prod/db:3');
  assert.equal(parameterName('', { key: 'db', version: 'stable' }), 'db:stable');
  assert.equal(parameterName('', { key: 'db:2' }), 'db:2');
  assert.equal(parameterName('', { key: 'db' }), 'db');
});

test('AWS errors become NoSecretError, TerminalError naming identity and action, or ThrottledError', () => {
  const call = { action: 'secretsmanager:GetSecretValue', subject: 'db', identity: `role ${role}` };
  assert.ok(mapAwsError({ name: 'ResourceNotFoundException' }, call) instanceof NoSecretError);
  assert.ok(mapAwsError({ name: 'ParameterNotFound' }, call) instanceof NoSecretError);
  assert.ok(mapAwsError({ name: 'InvalidRequestException', message: 'secret is marked for deletion' }, call) instanceof NoSecretError);
  const denied = mapAwsError({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }, call);
  assert.ok(denied instanceof AccessDeniedError, 'a refusal is an AccessDeniedError (audited and counted as denied)');
  assert.equal(
    denied.message,
    `AWS denied secretsmanager:GetSecretValue on "db" to role ${role} (AccessDeniedException): allow secretsmanager:GetSecretValue for that identity (IAM policy, resource policy, trust policy) or change the store's auth/role`,
  );
  assert.ok(mapAwsError({ name: 'ThrottlingException' }, call) instanceof ThrottledError);
  assert.ok(mapAwsError({ name: 'Whatever', $metadata: { httpStatusCode: 429 } }, call) instanceof ThrottledError);
  const other = mapAwsError({ name: 'InternalServiceError', message: 'boom' }, call);
  assert.ok(!(other instanceof TerminalError) && !(other instanceof ThrottledError));
  assert.match(other.message, /secretsmanager:GetSecretValue on "db" failed for role .*: InternalServiceError: boom/);
});
