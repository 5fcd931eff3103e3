// Secrets the apiserver fills with credentials are never written (issue 24, item 6): the pure build refuses a
// credential type and token-controller annotations from any source, an existing target of that kind is not
// written into, and the ExternalSecret schema (the CRD's CEL rule and the operator's parse) refuses the type.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExternalSecret } from '../../../src/api/index.ts';
import { CREDENTIAL_SECRET_TYPES } from '../../../src/api/external-secret.ts';
import {
  assertWritableTarget,
  buildDesiredSecret,
  CredentialSecretError,
  type DesiredSecretInput,
  type ExistingSecret,
} from '../../../src/controller/externalsecret/desired-secret.ts';

const input = (over: Partial<DesiredSecretInput> = {}): DesiredSecretInput => ({
  namespace: 'ns',
  name: 'app',
  creationPolicy: 'Owner',
  immutable: false,
  owner: { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', name: 'app', uid: 'u1' },
  data: new Map([['password', Buffer.from('s3cret')]]),
  hmacKey: Buffer.from('k'.repeat(32)),
  ...over,
});

function refusal(run: () => unknown): CredentialSecretError {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof CredentialSecretError, `expected a CredentialSecretError, got ${String(err)}`);
    return err;
  }
  assert.fail('nothing was refused');
}

test('a credential Secret type is refused whatever the creation policy; the error is terminal and reads InvalidSpec', () => {
  for (const type of CREDENTIAL_SECRET_TYPES) {
    for (const creationPolicy of ['Owner', 'Orphan', 'Merge', 'CreateOrMerge'] as const) {
      const err = refusal(() => buildDesiredSecret(input({ type, creationPolicy })));
      assert.equal(err.reason, 'InvalidSpec');
      assert.match(err.message, /^spec\.target\.template\.type: secret-relay never writes Secrets of type kubernetes\.io\/service-account-token or bootstrap\.kubernetes\.io\/token/);
      assert.equal(err.name, 'TerminalError', 'not retried until the ExternalSecret changes');
    }
  }
});

test('annotations under kubernetes.io/service-account. are refused without quoting the key; neighbours are fine', () => {
  for (const key of ['kubernetes.io/service-account.name', 'kubernetes.io/service-account.uid', 'kubernetes.io/service-account.anything']) {
    const err = refusal(() => buildDesiredSecret(input({ annotations: { [key]: 'default' } })));
    assert.match(err.message, /secret-relay never writes Secrets with annotations under kubernetes\.io\/service-account\. \(the token controller acts on them\)/);
    assert.doesNotMatch(err.message, /default/, 'the value is not quoted');
    assert.ok(!err.message.includes(key), 'the key is not quoted (a rendered key may come from a value)');
  }
  for (const key of ['kubernetes.io/service-account', 'example.com/service-account.name', 'kubernetes.io/description']) {
    assert.doesNotThrow(() => buildDesiredSecret(input({ annotations: { [key]: 'x' } })), key);
  }
  // A label of that name steers nothing: allowed.
  assert.doesNotThrow(() => buildDesiredSecret(input({ labels: { 'kubernetes.io/service-account.name': 'x' } })));
  assert.equal(buildDesiredSecret(input({ type: 'kubernetes.io/tls' })).type, 'kubernetes.io/tls');
});

test('an existing target of a credential type, or carrying a token-controller annotation, is not written into', () => {
  const existing = (over: Partial<ExistingSecret>): ExistingSecret => ({ labels: {}, annotations: {}, data: {}, immutable: false, ownerUids: [], ...over });
  const err = refusal(() => assertWritableTarget('ns', 'sa-token', existing({ type: 'kubernetes.io/service-account-token' })));
  assert.match(err.message, /^target Secret ns\/sa-token is of type kubernetes\.io\/service-account-token: secret-relay never writes Secrets of type/);
  assert.match(refusal(() => assertWritableTarget('ns', 'b', existing({ type: 'bootstrap.kubernetes.io/token' }))).message, /bootstrap\.kubernetes\.io\/token/);
  assert.match(
    refusal(() => assertWritableTarget('ns', 'x', existing({ annotations: { 'kubernetes.io/service-account.name': 'default' } }))).message,
    /^target Secret ns\/x carries an annotation under kubernetes\.io\/service-account\./,
  );
  assert.doesNotThrow(() => assertWritableTarget('ns', 'x', undefined));
  assert.doesNotThrow(() => assertWritableTarget('ns', 'x', existing({ type: 'Opaque', annotations: { 'example.com/a': 'b' } })));
});

test('the ExternalSecret schema refuses a credential template.type (the same rule the CRD holds)', () => {
  const es = (type: string) => ({
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'x', namespace: 'ns' },
    spec: { secretStoreRef: { name: 's' }, data: [{ secretKey: 'a', remoteRef: { key: 'a' } }], target: { template: { type } } },
  });
  for (const type of CREDENTIAL_SECRET_TYPES) {
    const parsed = parseExternalSecret(es(type));
    assert.equal(parsed.ok, false, type);
    assert.match(parsed.ok ? '' : parsed.error, /spec\.target\.template\.type: secret-relay never writes Secrets of type kubernetes\.io\/service-account-token or bootstrap\.kubernetes\.io\/token/);
  }
  assert.equal(parseExternalSecret(es('kubernetes.io/dockerconfigjson')).ok, true);
});
