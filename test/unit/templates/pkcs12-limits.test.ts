// PKCS#12 iteration counts are read from the DER before node-forge derives anything, and capped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { checkPkcs12Iterations, guardForgeDerivations, IterationLimitError, PKCS12_MAX_ITERATIONS, pkcs12IterationCounts } from '../../../src/templates/pkcs12-limits.ts';
import { readPkcs12 } from '../../../src/templates/pkcs12.ts';
import { FilterError } from '../../../src/templates/errors.ts';
import { EC_CHAIN_P12_BASE64, RSA_LEGACY_P12_BASE64 } from './fixtures.ts';
import { pkcs12Bomb } from '../../support/hostile-inputs.ts';

const ecChain = new Uint8Array(Buffer.from(EC_CHAIN_P12_BASE64, 'base64'));
const legacy = new Uint8Array(Buffer.from(RSA_LEGACY_P12_BASE64, 'base64'));

test('the counts OpenSSL wrote are read without decrypting: MAC and each encrypted part (PBES2 and legacy PBE)', () => {
  assert.deepEqual(pkcs12IterationCounts(ecChain), { mac: 2048, encryption: [2048, 2048] });
  assert.deepEqual(pkcs12IterationCounts(legacy), { mac: 2048, encryption: [2048, 2048] });
  assert.equal(pkcs12IterationCounts(new TextEncoder().encode('not DER at all')), undefined);
});

test('a MAC count of 0x7fffffff is refused before node-forge runs, naming the documented cap', () => {
  const bomb = pkcs12Bomb(ecChain);
  assert.equal(pkcs12IterationCounts(bomb)?.mac, 0x7fffffff);
  assert.throws(() => readPkcs12(bomb, 'p12-pass', 'pkcs12_to_pem'), (err: unknown) =>
    err instanceof IterationLimitError && err instanceof FilterError && err.message === `pkcs12_to_pem: the PKCS#12 bundle's MAC asks for more than ${PKCS12_MAX_ITERATIONS} key-derivation iterations (the documented cap); re-export it with fewer`);
});

test('a PBKDF2 count above the cap is refused too; counts at the cap pass the check', () => {
  assert.throws(() => readPkcs12(pkcs12Bomb(ecChain, { mac: false, encryption: true, count: PKCS12_MAX_ITERATIONS + 1 }), 'p12-pass', 'f'), /encryption asks for more than/);
  assert.doesNotThrow(() => checkPkcs12Iterations(pkcs12Bomb(ecChain, { count: PKCS12_MAX_ITERATIONS, encryption: true }), 'f'));
  // An honest bundle opens as before.
  assert.equal(readPkcs12(ecChain, 'p12-pass', 'f').certificates.length, 2);
});

test('counts only visible after decryption meet the same cap inside node-forge', () => {
  const forge = createRequire(import.meta.url)('node-forge');
  guardForgeDerivations(forge);
  assert.throws(() => forge.pkcs5.pbkdf2('pw', 'salt', 0x7fffffff, 32, 'sha256'), IterationLimitError);
  assert.throws(() => forge.pkcs12.generateKey('pw', 'salt', 3, 0x7fffffff, 20), IterationLimitError);
  assert.throws(() => forge.pki.pbe.generatePkcs12Key('pw', 'salt', 1, 0x7fffffff, 24), IterationLimitError);
  assert.equal(forge.pkcs5.pbkdf2('pw', 'salt', 1, 8, 'sha256').length, 8);
});
