import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SECRET_KEY_PATTERN } from '../../../src/api/external-secret.ts';
import { SECRET_KEY_CHARACTERS } from '../../../src/templates/secret-key.ts';

test('the schema-free Secret key rule the sandbox workers use is the CRD\'s', () => {
  assert.equal(SECRET_KEY_CHARACTERS, SECRET_KEY_PATTERN);
});
