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

test('Password: symbolCharacters outside the BMP are whole characters, never half a surrogate pair', () => {
  for (let i = 0; i < 20; i++) {
    const password = generatePassword(spec({ length: 8, digits: 0, symbols: 2, symbolCharacters: '🔑🗝', allowRepeat: true }));
    assert.equal([...password].filter((c) => c === '🔑' || c === '🗝').length, 2, password);
    assert.ok(!/[\uD800-\uDFFF]/.test(password.replace(/🔑|🗝/gu, '')), 'no lone surrogate');
  }
});

test('SSHKey: ed25519, rsa and ecdsa (P-256/384/521) keys that ssh-keygen reads, with the public line it derives and the comment', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sshkey-'));
  try {
    const cases = [
      { spec: { keyType: 'ed25519' as const, comment: 'relay@test' }, fingerprint: /^256 SHA256:.*\(ED25519\)/ },
      { spec: { keyType: 'rsa' as const, keySize: 2048, comment: 'rsa key' }, fingerprint: /^2048 SHA256:.*\(RSA\)/ },
      { spec: { keyType: 'ecdsa' as const, comment: 'ec default' }, fingerprint: /^256 SHA256:.*\(ECDSA\)/, prefix: 'ecdsa-sha2-nistp256 ' },
      { spec: { keyType: 'ecdsa' as const, keySize: 384, comment: 'ec 384' }, fingerprint: /^384 SHA256:.*\(ECDSA\)/, prefix: 'ecdsa-sha2-nistp384 ' },
      { spec: { keyType: 'ecdsa' as const, keySize: 521, comment: 'ec 521' }, fingerprint: /^521 SHA256:.*\(ECDSA\)/, prefix: 'ecdsa-sha2-nistp521 ' },
    ];
    for (const [index, { spec: keySpec, fingerprint, prefix }] of cases.entries()) {
      const values = await sshKeyValues(keySpec);
      const file = join(dir, `key-${index}`);
      writeFileSync(file, values.get('privateKey')!, { mode: 0o600 });
      const derived = execFileSync(SSH_KEYGEN, ['-y', '-f', file], { encoding: 'utf8' }).trim();
      const publicLine = Buffer.from(values.get('publicKey')!).toString().trim();
      assert.equal(derived.split(' ').slice(0, 2).join(' '), publicLine.split(' ').slice(0, 2).join(' '), `${keySpec.keyType}: the public key ssh-keygen derives`);
      assert.ok(publicLine.endsWith(` ${keySpec.comment}`));
      if (prefix) assert.ok(publicLine.startsWith(prefix), publicLine);
      assert.match(execFileSync(SSH_KEYGEN, ['-l', '-f', file], { encoding: 'utf8' }), fingerprint);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SSHKey: an RSA key is generated off the main thread — the event loop keeps turning while a 4096-bit key is made', async () => {
  let done = false;
  const generation = sshKeyValues({ keyType: 'rsa', keySize: 4096 }).then((values) => {
    done = true;
    return values;
  });
  // A synchronous generation would finish before this callback could run (it blocks the loop for 0.2–0.5 s).
  const turnedWhileGenerating = await new Promise<boolean>((resolve) => setImmediate(() => resolve(!done)));
  assert.ok(turnedWhileGenerating, 'the event loop ran while the key was generated');
  assert.ok((await generation).get('privateKey')!.length > 3000);
});

test('bounds a tenant cannot pass: a huge Password length or SSHKey keySize is refused with a readable message, before any work', async () => {
  const objects: Record<string, unknown> = {
    'passwords/n/huge': { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'Password', metadata: { name: 'huge', namespace: 'n' }, spec: { length: 1_000_000_000, allowRepeat: true } },
    'sshkeys/n/rsa8192': { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SSHKey', metadata: { name: 'rsa8192', namespace: 'n' }, spec: { keyType: 'rsa', keySize: 8192 } },
    'sshkeys/n/rsa4000': { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SSHKey', metadata: { name: 'rsa4000', namespace: 'n' }, spec: { keySize: 4000 } },
    'sshkeys/n/ec2048': { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SSHKey', metadata: { name: 'ec2048', namespace: 'n' }, spec: { keyType: 'ecdsa', keySize: 2048 } },
  };
  const generators = createLocalGenerators(async (plural, namespace, name) => objects[`${plural}/${namespace}/${name}`]);
  const signal = AbortSignal.timeout(5000);
  // The refusal comes from the schema, before anything is generated: an operator with an older CRD installed is as safe.
  await assert.rejects(generators.generate('n', { kind: 'Password', name: 'huge' }, signal), (err: unknown) => err instanceof TerminalError && /Password n\/huge is invalid: spec.length.*1024/.test((err as Error).message));
  await assert.rejects(generators.generate('n', { kind: 'SSHKey', name: 'rsa8192' }, signal), (err: unknown) => err instanceof TerminalError && /SSHKey n\/rsa8192 is invalid: spec.keySize.*4096/.test((err as Error).message));
  await assert.rejects(generators.generate('n', { kind: 'SSHKey', name: 'rsa4000' }, signal), /spec.keySize must be 2048, 3072 or 4096 for rsa keys/);
  await assert.rejects(generators.generate('n', { kind: 'SSHKey', name: 'ec2048' }, signal), /spec.keySize must be 256, 384 or 521 for ecdsa keys/);
  // And in the generator itself, whatever its caller parsed.
  await assert.rejects(sshKeyValues({ keyType: 'rsa', keySize: 8192 }), /keySize 8192 is refused for rsa keys: use 2048, 3072 or 4096/);
  await assert.rejects(sshKeyValues({ keyType: 'ecdsa', keySize: 300 }), /keySize 300 is refused for ecdsa keys/);
  assert.throws(() => generatePassword({ ...spec(), length: 1_000_000_000, allowRepeat: true }), /spec.length 1000000000 is refused: at most 1024/);
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

test('SSHKey: one key pair at a time per controller, so key generation never takes more than one of libuv\'s shared threads; a failed one does not block the next', async () => {
  let running = 0;
  let most = 0;
  let calls = 0;
  const make = async () => {
    calls++;
    running++;
    most = Math.max(most, running);
    await new Promise((resolve) => setImmediate(resolve));
    running--;
    if (calls === 2) throw new TerminalError('keygen failed');
    return new Map([['publicKey', new Uint8Array([1])]]);
  };
  const generators = createLocalGenerators(async () => ({ apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SSHKey', metadata: { name: 'k', namespace: 'n' }, spec: { keyType: 'rsa', keySize: 4096 } }), make);
  const results = await Promise.allSettled([1, 2, 3, 4].map(() => generators.generate('n', { kind: 'SSHKey', name: 'k' }, AbortSignal.timeout(5000))));
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  assert.equal(most, 1, 'never two key pairs at once');
});
