// The provider kit: reference namespaces, the credential memo, Secret text and spec validation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { RefResolver, createCredentialMemo, readSecretText, checkProviderSpec, specOrThrow, serviceAccountTokenSource } from '../../../../src/providers/kit/index.ts';
import { TerminalError } from '../../../../src/util/errors.ts';

const never = new AbortController().signal;

test('references: explicit namespace, else the SecretStore’s, else the ExternalSecret’s (referent, ClusterSecretStore only)', () => {
  const store = new RefResolver({ storeKind: 'SecretStore', storeNamespace: 'team-a', namespace: 'team-a' });
  assert.deepEqual(store.secretKey({ name: 's', key: 'k' }), { namespace: 'team-a', name: 's', key: 'k' });
  assert.equal(store.referent, false);

  const cluster = new RefResolver({ storeKind: 'ClusterSecretStore', storeNamespace: undefined, namespace: 'app-1' });
  assert.deepEqual(cluster.serviceAccount({ name: 'sa', namespace: 'ops' }), { namespace: 'ops', name: 'sa' });
  assert.equal(cluster.referent, false, 'an explicit namespace serves every namespace with one identity');
  assert.deepEqual(cluster.serviceAccount({ name: 'sa' }), { namespace: 'app-1', name: 'sa' });
  assert.equal(cluster.referent, true);
});

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('credential memo: one fetch for concurrent callers, reused until shortly before expiry, then renewed', async () => {
  let now = 1_000_000;
  const clock = { now: () => now };
  const pending: ReturnType<typeof deferred<{ token: string; exp: number }>>[] = [];
  const memo = createCredentialMemo({
    exchange: () => 'SecretStore team-a/aws: STS at https://sts.example',
    fetch: () => {
      const d = deferred<{ token: string; exp: number }>();
      pending.push(d);
      return d.promise;
    },
    expiresAt: (v) => v.exp,
    clock,
    refreshBeforeMs: 60_000,
  });
  const a = memo.get(never);
  const b = memo.get(never);
  assert.equal(memo.fetches(), 1);
  pending[0]!.resolve({ token: 't1', exp: now + 3_600_000 });
  assert.deepEqual((await a).token, 't1');
  assert.deepEqual((await b).token, 't1');

  now += 3_600_000 - 60_001;
  assert.equal((await memo.get(never)).token, 't1', 'still fresh');
  now += 2;
  const c = memo.get(never);
  assert.equal(memo.fetches(), 2, 'renewed within the margin');
  pending[1]!.resolve({ token: 't2', exp: now + 3_600_000 });
  assert.equal((await c).token, 't2');
});

test('credential memo: a short-lived value is renewed at half its life, not at once', async () => {
  let now = 0;
  const memo = createCredentialMemo({ exchange: () => 'test', fetch: async () => ({ exp: now + 120_000 }), expiresAt: (v) => v.exp, clock: { now: () => now }, refreshBeforeMs: 300_000 });
  await memo.get(never);
  now += 59_000;
  await memo.get(never);
  assert.equal(memo.fetches(), 1);
  now += 2_000;
  await memo.get(never);
  assert.equal(memo.fetches(), 2);
});

test('credential memo: a caller that aborts stops waiting at once; the shared fetch goes on for the others', async () => {
  const d = deferred<string>();
  let fetchSignal: AbortSignal | undefined;
  const memo = createCredentialMemo({
    exchange: () => 'SecretStore team-a/aws: STS at https://sts.example',
    fetch: (signal) => {
      fetchSignal = signal;
      return d.promise;
    },
    expiresAt: () => undefined,
    clock: { now: () => 0 },
  });
  const impatient = new AbortController();
  const first = memo.get(impatient.signal);
  const second = memo.get(never);
  impatient.abort(new Error('reconcile cancelled'));
  await assert.rejects(first, /reconcile cancelled/);
  assert.equal(fetchSignal?.aborted, false);
  d.resolve('value');
  assert.equal(await second, 'value');
  assert.equal(memo.fetches(), 1);
});

test('credential memo: a failed fetch is not remembered; a hung fetch is aborted at its deadline', async () => {
  let calls = 0;
  const memo = createCredentialMemo({
    exchange: () => 'SecretStore team-a/aws: STS at https://sts.example',
    fetch: (signal) =>
      ++calls === 1
        ? Promise.reject(new Error('denied'))
        : new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('token endpoint did not answer')))),
    expiresAt: () => undefined,
    clock: { now: () => 0 },
    fetchTimeoutMs: 50,
  });
  await assert.rejects(memo.get(never), /denied/);
  await assert.rejects(memo.get(never), /SecretStore team-a\/aws: STS at https:\/\/sts\.example: no answer within 0\.05 s/);
  assert.equal(calls, 2);
});

test('credential memo: a fetch that ignores its signal still ends at the deadline — every waiter gets an error naming the store and the endpoint', async () => {
  let fetchSignal: AbortSignal | undefined;
  const memo = createCredentialMemo({
    exchange: () => 'SecretStore team-a/aws: AWS sts:AssumeRoleWithWebIdentity at https://sts.example',
    // A token endpoint that never answers, behind a client that never looks at the signal (MSAL, the AWS SDK).
    fetch: (signal) => {
      fetchSignal = signal;
      return new Promise<string>(() => {});
    },
    expiresAt: () => undefined,
    clock: { now: () => 0 },
    fetchTimeoutMs: 50,
  });
  const waiters = [memo.get(never), memo.get(never), memo.get(never)];
  const started = Date.now();
  for (const waiter of waiters) {
    await assert.rejects(waiter, (err: Error) => {
      assert.equal(err.name, 'CredentialDeadlineError');
      assert.equal(
        err.message,
        'SecretStore team-a/aws: AWS sts:AssumeRoleWithWebIdentity at https://sts.example: no answer within 0.05 s; the credential exchange was abandoned and is retried with backoff',
      );
      return true;
    });
  }
  console.log(`# three waiters on a silent exchange released after ${Date.now() - started} ms (deadline 50 ms)`);
  assert.equal(fetchSignal?.aborted, true, 'the exchange was told to stop');
  assert.equal(memo.fetches(), 1, 'one exchange for all three');
  // The abandoned exchange is not waited on again: the next get starts anew.
  void memo.get(never).catch(() => {});
  assert.equal(memo.fetches(), 2);
});

test('credential memo: invalidate drops the value and ignores a fetch still in flight', async () => {
  const fetches: ReturnType<typeof deferred<string>>[] = [];
  const memo = createCredentialMemo({
    exchange: () => 'SecretStore team-a/aws: STS at https://sts.example',
    fetch: () => {
      const d = deferred<string>();
      fetches.push(d);
      return d.promise;
    },
    expiresAt: () => undefined,
    clock: { now: () => 0 },
  });
  const old = memo.get(never);
  memo.invalidate();
  const fresh = memo.get(never);
  fetches[0]!.resolve('old');
  fetches[1]!.resolve('new');
  assert.equal(await old, 'old');
  assert.equal(await fresh, 'new');
  assert.equal(await memo.get(never), 'new');
});

test('Secret text: UTF-8, trimmed; other bytes are refused naming the Secret and key, never their content', async () => {
  const kube = { readSecretKey: async (ref: { key: string }) => (ref.key === 'bin' ? new Uint8Array([0xff, 0xfe, 0x41]) : new TextEncoder().encode('AKIA123\n')) };
  assert.equal(await readSecretText(kube, { namespace: 'ns', name: 'keys', key: 'id' }, never), 'AKIA123');
  await assert.rejects(readSecretText(kube, { namespace: 'ns', name: 'keys', key: 'bin' }, never, 'the access key'), (err: Error) => {
    assert.ok(err instanceof TerminalError);
    assert.equal(err.message, 'key bin of Secret ns/keys is not UTF-8 text; store the access key as plain text');
    return true;
  });
});

test('spec validation: field paths as the user wrote them, cross-field checks, one parse', () => {
  const schema = z.object({ region: z.string().min(1), role: z.string().optional(), externalID: z.string().optional() });
  const bad = checkProviderSpec('aws', schema, { region: '' });
  assert.equal(bad.ok, false);
  assert.match(bad.errors[0]!, /^spec\.provider\.aws\.region: /);
  const warned = checkProviderSpec<z.infer<typeof schema>>('aws', schema, { region: 'eu-west-1', externalID: 'x' }, (s) => ({
    warnings: s.externalID && !s.role ? ['externalID applies only with role'] : [],
  }));
  assert.equal(warned.ok, true);
  assert.deepEqual(warned.warnings, ['externalID applies only with role']);
  assert.equal(specOrThrow('aws', warned).region, 'eu-west-1');
  assert.throws(() => specOrThrow('aws', bad), /the aws store's spec is invalid: spec\.provider\.aws\.region/);
});

test('ServiceAccount token source: mints with the audiences for the resolved ServiceAccount', async () => {
  const asked: unknown[] = [];
  const source = serviceAccountTokenSource(
    { createServiceAccountToken: async (ref) => (asked.push(ref), { token: 'jwt', expiresAt: 1 }) },
    { namespace: 'ns', name: 'sa' },
    ['sts.example'],
  );
  assert.equal(source.label, 'ServiceAccount ns/sa');
  assert.equal((await source.mint(never)).token, 'jwt');
  assert.deepEqual(asked, [{ namespace: 'ns', name: 'sa', audiences: ['sts.example'], expirationSeconds: 600 }]);
});
