// Store validations off the workers (src/controller/secretstore/validations.ts): a validation that answers at once
// is returned to its reconcile; one with no answer leaves the worker after the short inline wait, ends at its
// deadline even when the provider ignores the signal, and queues its store again; one tenant's dead stores take only
// their namespace's slots.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStoreValidations, ValidationDeadlineError, type ValidationLimits } from '../../../src/controller/secretstore/validations.ts';
import type { StoreValidationStatus } from '../../../src/providers/provider.ts';
import { waitUntil } from '../providers/helpers.ts';

const running = new AbortController().signal;
const limits: ValidationLimits = { deadlineMs: 200, inlineMs: 20, perNamespace: 2, total: 8 };
/** A provider behind a blackholed endpoint that also ignores its signal. */
const silent = (): Promise<StoreValidationStatus> => new Promise(() => {});
const answers = async (): Promise<StoreValidationStatus> => 'Ready';

test('an answer within the inline wait is returned at once; nothing is kept or queued', async () => {
  const queued: string[] = [];
  const validations = createStoreValidations((key) => queued.push(key), limits);
  assert.deepEqual(await validations.run('team/a', 'team', 'uid/1', answers, running, () => 'SecretStore team/a'), { ok: true, status: 'Ready' });
  assert.deepEqual(queued, []);
  assert.deepEqual(validations.stats(), { running: 0, waiting: 0 });
});

test('no answer: the reconcile leaves after the inline wait; at the deadline the store is queued again and its next reconcile reads a deadline error naming it', async () => {
  const queued: string[] = [];
  const validations = createStoreValidations((key) => queued.push(key), limits);
  const started = Date.now();
  assert.equal(await validations.run('team/dead', 'team', 'uid/1', silent, running, () => 'SecretStore team/dead (spec.provider.vault.server http://10.0.0.1)'), 'pending');
  const held = Date.now() - started;
  assert.ok(held < limits.deadlineMs, `the worker was held ${held} ms, less than the deadline`);
  assert.equal(await validations.run('team/dead', 'team', 'uid/1', silent, running, () => 'x'), 'pending', 'still running: not started twice');
  await waitUntil(() => queued.length === 1, 'the store is queued again', 5_000);
  const outcome = await validations.run('team/dead', 'team', 'uid/1', silent, running, () => 'x');
  assert.ok(outcome !== 'pending' && !outcome.ok);
  assert.ok(outcome.error instanceof ValidationDeadlineError);
  assert.equal(outcome.error.message, 'SecretStore team/dead (spec.provider.vault.server http://10.0.0.1): the provider did not answer the validation within 0.2 s; rechecked with backoff');
  assert.deepEqual(validations.stats(), { running: 0, waiting: 0 });
});

test('a new generation starts a new validation; the old one’s outcome is dropped', async () => {
  const queued: string[] = [];
  const validations = createStoreValidations((key) => queued.push(key), limits);
  assert.equal(await validations.run('team/s', 'team', 'uid/1', silent, running, () => 'x'), 'pending');
  assert.deepEqual(await validations.run('team/s', 'team', 'uid/2', answers, running, () => 'x'), { ok: true, status: 'Ready' });
  await waitUntil(() => validations.stats().running === 0, 'the old validation ended', 5_000);
  assert.deepEqual(queued, [], 'the old generation’s end queues nothing');
});

test('one namespace’s dead stores take only its own slots: another namespace’s store is validated at once', async () => {
  const queued: string[] = [];
  const validations = createStoreValidations((key) => queued.push(key), { ...limits, deadlineMs: 60_000 });
  for (let i = 0; i < 10; i++) assert.equal(await validations.run(`noisy/s${i}`, 'noisy', 'uid/1', silent, running, () => 'x'), 'pending');
  assert.deepEqual(validations.stats(), { running: 2, waiting: 8 });
  const started = Date.now();
  assert.deepEqual(await validations.run('quiet/s', 'quiet', 'uid/1', answers, running, () => 'x'), { ok: true, status: 'Ready' });
  console.log(`# another namespace validated in ${Date.now() - started} ms beside 10 dead stores (2 running, 8 waiting for a slot)`);
});

test('the operator stopping ends background validations too', async () => {
  const stop = new AbortController();
  const queued: string[] = [];
  const validations = createStoreValidations((key) => queued.push(key), { ...limits, deadlineMs: 60_000 });
  assert.equal(await validations.run('team/s', 'team', 'uid/1', silent, stop.signal, () => 'x'), 'pending');
  stop.abort(new Error('stopping'));
  await waitUntil(() => validations.stats().running === 0, 'the validation ended', 5_000);
});
