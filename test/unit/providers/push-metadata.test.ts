// data[].metadata of a PushSecret, read by every provider through pushMetadataSpec: the ownership mark (which decides
// what a PushSecret may overwrite or delete) cannot be forged through the user's own tags, labels or annotations, and
// a wrong type is one refusal naming the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MARK_MANAGED_BY_KEY, MARK_OWNER_KEY, pushMetadataSpec } from '../../../src/providers/push.ts';
import { parseSecretsManagerMetadata } from '../../../src/providers/aws/push-secrets-manager.ts';
import { parseParameterMetadata } from '../../../src/providers/aws/push-parameter-store.ts';
import { parseAlibabaMetadata } from '../../../src/providers/alibaba/push.ts';
import { parseKeyVaultMetadata } from '../../../src/providers/azure/push.ts';
import { parseGcpMetadata } from '../../../src/providers/gcp/push.ts';
import { TerminalError } from '../../../src/util/errors.ts';

const meta = (spec: unknown) => ({ apiVersion: 'kubernetes.external-secrets.io/v1alpha1', kind: 'PushSecretMetadata', spec });
const refused = (fn: () => unknown, message: RegExp) => assert.throws(fn, (e: unknown) => e instanceof TerminalError && message.test(e.message));

test('a tenant cannot forge the ownership mark through tags, labels or annotations, with any provider', () => {
  for (const key of [MARK_MANAGED_BY_KEY, MARK_OWNER_KEY]) {
    const tags = meta({ tags: { [key]: 'team-b/their-push' } });
    refused(() => parseSecretsManagerMetadata(tags), new RegExp(`spec\\.tags must not set ${key}: secret-relay sets it to mark the secret`));
    refused(() => parseParameterMetadata(tags), new RegExp(`spec\\.tags must not set ${key}: secret-relay sets it to mark the parameter`));
    refused(() => parseAlibabaMetadata(tags), new RegExp(`spec\\.tags must not set ${key}`));
    refused(() => parseKeyVaultMetadata(tags), new RegExp(`spec\\.tags must not set ${key}`));
  }
  refused(() => parseGcpMetadata(meta({ labels: { [MARK_MANAGED_BY_KEY]: 'secret-relay' } })), /spec\.labels must not set managed-by/);
  refused(() => parseGcpMetadata(meta({ annotations: { [MARK_OWNER_KEY]: 'team-b/x' } })), /spec\.annotations must not set secret-relay\.dev\/push-secret/);
});

test('wrong types are refused naming the field; other tags pass through', () => {
  refused(() => pushMetadataSpec(meta(['a'])), /data\[\]\.metadata\.spec must be an object/);
  refused(() => pushMetadataSpec(meta({ tags: ['a'] })).stringMap('tags', []), /spec\.tags must be a map of keys to values/);
  refused(() => pushMetadataSpec(meta({ tags: { team: 1 } })).stringMap('tags', []), /spec\.tags\.team must be a string/);
  refused(() => pushMetadataSpec(meta({ description: 7 })).text('description'), /spec\.description must be a string/);
  assert.deepEqual(parseKeyVaultMetadata(meta({ tags: { team: 'a' }, contentType: 'text/plain' })), { tags: { team: 'a' }, contentType: 'text/plain' });
  assert.deepEqual(parseSecretsManagerMetadata(undefined).tags, {});
});
