// The local generators: Password keeps ESO's rules (counts per class, no repeats unless allowed, encodings);
// SSHKey writes keys OpenSSH itself reads (checked with ssh-keygen, a second implementation); UUID is a v4 UUID;
// keepGenerated keeps what the Secret holds unless a rotation is asked for.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { base32, DEFAULT_SYMBOL_CHARACTERS, encodePassword, generatePassword, passwordValues } from '../../../src/controller/generators/password.ts';
import { sshKeyValues } from '../../../src/controller/generators/ssh-key.ts';
import { createLocalGenerators, keepGenerated } from '../../../src/controller/generators/local.ts';
import { parsePassword } from '../../../src/api/index.ts';
import { TerminalError } from '../../../src/util/errors.ts';

/** test/setup/install-ssh-keygen.sh: the system's, else the one unpacked into .cache/openssh. */
const unpacked = join(import.meta.dirname, '../../../.cache/openssh/usr/bin/ssh-keygen');
const SSH_KEYGEN = existsSync(unpacked) ? unpacked : 'ssh-keygen';

const spec = (fields: Record<string, unknown> = {}) => {
  const parsed = parsePassword({ apiVersion: 'secret-relay.dev/v1alpha1', kind: 'Password', metadata: { name: 'p', namespace: 'n' }, spec: fields });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  return parsed.value.spec;
};

test('Password: ESO defaults — 24 characters, 6 digits, 6 symbols, no character twice', () => {
  for (let i = 0; i < 50; i++) {
    const password = generatePassword(spec());
    assert.equal(password.length, 24);
    assert.equal([...password].filter((c) => /[0-9]/.test(c)).length, 6);
    assert.equal([...password].filter((c) => DEFAULT_SYMBOL_CHARACTERS.includes(c)).length, 6);
    assert.equal(new Set(password).size, 24, 'no repeats');
  }
});

test('Password: digits, symbols, symbolCharacters, noUpper, allowRepeat, secretKeys and encodings', () => {
  const password = generatePassword(spec({ length: 40, digits: 10, symbols: 2, symbolCharacters: '-_', noUpper: true, allowRepeat: true }));
  assert.equal(password.length, 40);
  assert.match(password, /^[a-z0-9_-]+$/);
  assert.equal([...password].filter((c) => c === '-' || c === '_').length, 2);
  const values = passwordValues(spec({ secretKeys: ['a', 'b'], encoding: 'hex' }));
  assert.deepEqual([...values.keys()], ['a', 'b']);
  assert.notEqual(Buffer.from(values.get('a')!).toString(), Buffer.from(values.get('b')!).toString(), 'each key its own password');
  assert.match(Buffer.from(values.get('a')!).toString(), /^[0-9a-f]{48}$/);
  assert.equal(base32(Buffer.from('foobar')), 'MZXW6YTBOI======');
  assert.equal(encodePassword('foob', 'base64url'), 'Zm9vYg');
  assert.equal(encodePassword('foob', 'base64'), 'Zm9vYg==');
  assert.throws(() => generatePassword(spec({ length: 100 })), (err: unknown) => err instanceof TerminalError && /allowRepeat/.test((err as Error).message));
  const refused = parsePassword({ apiVersion: 'secret-relay.dev/v1alpha1', kind: 'Password', metadata: { name: 'p' }, spec: { length: 4, digits: 3, symbols: 3 } });
  assert.ok(!refused.ok && /digits \+ spec.symbols must not exceed spec.length/.test(refused.error));
});

test('SSHKey: ed25519 and rsa keys that ssh-keygen reads, with the public line it derives and the comment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sshkey-'));
  try {
    for (const keySpec of [{ keyType: 'ed25519' as const, comment: 'relay@test' }, { keyType: 'rsa' as const, keySize: 2048, comment: 'rsa key' }]) {
      const values = sshKeyValues(keySpec);
      const file = join(dir, keySpec.keyType);
      writeFileSync(file, values.get('privateKey')!, { mode: 0o600 });
      const derived = execFileSync(SSH_KEYGEN, ['-y', '-f', file], { encoding: 'utf8' }).trim();
      const publicLine = Buffer.from(values.get('publicKey')!).toString().trim();
      assert.equal(derived.split(' ').slice(0, 2).join(' '), publicLine.split(' ').slice(0, 2).join(' '), `${keySpec.keyType}: the public key ssh-keygen derives`);
      assert.ok(publicLine.endsWith(` ${keySpec.comment}`));
      const fingerprint = execFileSync(SSH_KEYGEN, ['-l', '-f', file], { encoding: 'utf8' });
      assert.match(fingerprint, keySpec.keyType === 'rsa' ? /^2048 SHA256:.*\(RSA\)/ : /^256 SHA256:.*\(ED25519\)/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => sshKeyValues({ keyType: 'ecdsa' }), /not supported/);
});

test('UUID and the generator object: a v4 UUID; a missing or invalid generator is refused by name', async () => {
  const objects: Record<string, unknown> = {
    'uuids/n/id': { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'UUID', metadata: { name: 'id', namespace: 'n' }, spec: {} },
    'passwords/n/bad': { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'Password', metadata: { name: 'bad', namespace: 'n' }, spec: { length: 0 } },
  };
  const generators = createLocalGenerators(async (plural, namespace, name) => objects[`${plural}/${namespace}/${name}`]);
  const signal = AbortSignal.timeout(5000);
  const uuid = Buffer.from((await generators.generate('n', { kind: 'UUID', name: 'id' }, signal)).get('uuid')!).toString();
  assert.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  await assert.rejects(generators.generate('n', { kind: 'Password', name: 'gone' }, signal), /Password n\/gone does not exist/);
  await assert.rejects(generators.generate('n', { kind: 'Password', name: 'bad' }, signal), /Password n\/bad is invalid: spec.length/);
});

test('keepGenerated: what the Secret holds is kept (all keys or none), fresh values on rotation or for a missing key', () => {
  const fresh = new Map([['privateKey', Buffer.from('new-priv')], ['publicKey', Buffer.from('new-pub')]]);
  const kept = new Map([['privateKey', Buffer.from('old-priv')], ['publicKey', Buffer.from('old-pub')], ['other', Buffer.from('x')]]);
  assert.deepEqual([...keepGenerated(fresh, kept, false)].map(([k, v]) => [k, v.toString()]), [['privateKey', 'old-priv'], ['publicKey', 'old-pub']]);
  assert.deepEqual([...keepGenerated(fresh, kept, true)].map(([k, v]) => [k, v.toString()]), [['privateKey', 'new-priv'], ['publicKey', 'new-pub']]);
  assert.deepEqual([...keepGenerated(fresh, new Map([['privateKey', Buffer.from('old-priv')]]), false)].map(([k, v]) => [k, v.toString()]), [['privateKey', 'new-priv'], ['publicKey', 'new-pub']]);
});
