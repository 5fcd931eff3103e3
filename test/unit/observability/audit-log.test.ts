import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AUDIT_TAG, createAuditLog } from '../../../src/audit/audit-log.ts';
import type { AuditRecord } from '../../../src/audit/audit-log.ts';
import type { Clock } from '../../../src/util/clock.ts';

const T0 = Date.parse('2025-05-01T12:00:00.000Z');

function fakeClock(start = T0): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

function captureStream() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { stream, lines };
}

function captureLogger() {
  const calls: Array<{ level: string; obj: unknown; msg: string }> = [];
  const at = (level: string) => (obj: unknown, msg?: string) => void calls.push({ level, obj, msg: msg ?? '' });
  return { logger: { error: at('error'), warn: at('warn'), info: at('info') }, calls };
}

const READ: AuditRecord = {
  action: 'provider.read',
  externalSecret: { namespace: 'team-a', name: 'db' },
  store: { kind: 'ClusterSecretStore', name: 'aws-prod' },
  provider: 'aws',
  identity: 'arn:aws:iam::123456789012:role/team-a-reader',
  remoteKey: 'prod/db/password',
  result: 'success',
  durationMs: 41.2071,
};

const WRITE: AuditRecord = {
  action: 'secret.update',
  externalSecret: { namespace: 'team-a', name: 'db' },
  store: { kind: 'ClusterSecretStore', name: 'aws-prod' },
  provider: 'aws',
  identity: 'arn:aws:iam::123456789012:role/team-a-reader',
  targetSecret: { namespace: 'team-a', name: 'db-creds' },
  result: 'error',
  durationMs: 8.5,
  error: 'Secret team-a/db-creds is owned by another ExternalSecret',
};

test('each record becomes one tagged JSON line with the time from the clock and every field', () => {
  const clock = fakeClock();
  const { stream, lines } = captureStream();
  const { logger } = captureLogger();
  const audit = createAuditLog({ stdout: stream, clock, logger });

  audit.record(READ);
  clock.advance(52);
  audit.record(WRITE);

  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l.startsWith('{"audit":"secret-relay",')), 'the tag comes first so grep can split stdout');
  assert.deepEqual(JSON.parse(lines[0] ?? ''), {
    ...AUDIT_TAG,
    time: '2025-05-01T12:00:00.000Z',
    action: 'provider.read',
    externalSecret: { namespace: 'team-a', name: 'db' },
    store: { kind: 'ClusterSecretStore', name: 'aws-prod' },
    provider: 'aws',
    identity: 'arn:aws:iam::123456789012:role/team-a-reader',
    remoteKey: 'prod/db/password',
    result: 'success',
    durationMs: 41.207,
  });
  assert.deepEqual(JSON.parse(lines[1] ?? ''), {
    ...AUDIT_TAG,
    time: '2025-05-01T12:00:00.052Z',
    action: 'secret.update',
    externalSecret: { namespace: 'team-a', name: 'db' },
    store: { kind: 'ClusterSecretStore', name: 'aws-prod' },
    provider: 'aws',
    identity: 'arn:aws:iam::123456789012:role/team-a-reader',
    targetSecret: { namespace: 'team-a', name: 'db-creds' },
    result: 'error',
    durationMs: 8.5,
    error: 'Secret team-a/db-creds is owned by another ExternalSecret',
  });
});

test('values smuggled in through extra fields never reach the output', () => {
  const { stream, lines } = captureStream();
  const { logger } = captureLogger();
  const audit = createAuditLog({ stdout: stream, clock: fakeClock(), logger });

  // A wider object passes the type check; the writer must still drop what it does not know.
  const sneaky = {
    ...READ,
    value: 'hunter2',
    data: { password: 'hunter2' },
    secret: { data: { password: 'aHVudGVyMg==' } },
    externalSecret: { namespace: 'team-a', name: 'db', spec: { value: 'hunter2' } },
    store: { kind: 'ClusterSecretStore', name: 'aws-prod', token: 'hunter2' },
    targetSecret: { namespace: 'team-a', name: 'db', data: 'hunter2' },
    toJSON: () => ({ value: 'hunter2' }),
  };
  audit.record(sneaky);

  assert.equal(lines.length, 1);
  assert.ok(!lines[0]?.includes('hunter2'), lines[0]);
  assert.ok(!lines[0]?.includes('aHVudGVyMg'), lines[0]);
  const line = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
  assert.deepEqual(Object.keys(line).sort(), [
    'action', 'audit', 'durationMs', 'externalSecret', 'identity', 'provider', 'remoteKey', 'result', 'store', 'targetSecret', 'time',
  ]);
  assert.deepEqual(line.store, { kind: 'ClusterSecretStore', name: 'aws-prod' });
  assert.deepEqual(line.externalSecret, { namespace: 'team-a', name: 'db' });
});

test('a malformed record from an untyped caller is dropped and reported, not thrown', () => {
  const { stream, lines } = captureStream();
  const { logger, calls } = captureLogger();
  const audit = createAuditLog({ stdout: stream, clock: fakeClock(), logger });

  audit.record({ ...READ, action: 'provider.peek' } as unknown as AuditRecord);
  audit.record({ ...READ, remoteKey: { value: 'hunter2' } } as unknown as AuditRecord);

  assert.equal(lines.length, 0);
  assert.equal(calls.filter((c) => c.level === 'error').length, 2);
  assert.ok(!JSON.stringify(calls.map((c) => [c.msg, String((c.obj as { err?: Error }).err?.message)])).includes('hunter2'));
});

test('long strings are cut so a field cannot carry bulk data', () => {
  const { stream, lines } = captureStream();
  const audit = createAuditLog({ stdout: stream, clock: fakeClock(), logger: captureLogger().logger });
  audit.record({ ...READ, remoteKey: 'k'.repeat(10_000), error: 'e'.repeat(10_000) });
  const line = JSON.parse(lines[0] ?? '') as { remoteKey: string; error: string };
  assert.ok(line.remoteKey.length <= 513, String(line.remoteKey.length));
  assert.ok(line.error.length <= 1025, String(line.error.length));
});

test('the file sink appends to an existing file, one line per record, written at once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'audit.log');
  writeFileSync(path, '{"earlier":"line"}\n');
  const { stream, lines } = captureStream();

  const audit = createAuditLog({ stdout: stream, filePath: path, clock: fakeClock(), logger: captureLogger().logger });
  audit.record(READ);
  // Line-buffered: on disk before close.
  assert.equal(readFileSync(path, 'utf8').split('\n').filter(Boolean).length, 2);
  audit.record(WRITE);
  await audit.close();

  const fileLines = readFileSync(path, 'utf8').split('\n');
  assert.equal(fileLines.at(-1), '', 'ends with a newline');
  assert.deepEqual(fileLines.slice(0, -1), ['{"earlier":"line"}', ...lines]);

  // A second writer (a restarted operator) appends after the first.
  const again = createAuditLog({ stdout: captureStream().stream, filePath: path, clock: fakeClock(), logger: captureLogger().logger });
  again.record(READ);
  await again.close();
  assert.equal(readFileSync(path, 'utf8').split('\n').filter(Boolean).length, 4);
});

test('a file that cannot be opened stops start-up with the path in the message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  try {
    assert.throws(
      () => createAuditLog({ filePath: join(dir, 'missing-dir', 'audit.log'), clock: fakeClock(), logger: captureLogger().logger, stdout: captureStream().stream }),
      /cannot open the audit log file '.*missing-dir\/audit\.log' for appending.*--audit-log-file/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('file write failures are reported once, stdout keeps every record, and the file is reopened later', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'audit.log');
  // Writes to /dev/full fail with ENOSPC: a full disk, reached through the configured path.
  symlinkSync('/dev/full', path);
  const clock = fakeClock();
  const { stream, lines } = captureStream();
  const { logger, calls } = captureLogger();
  const audit = createAuditLog({ stdout: stream, filePath: path, clock, logger });

  audit.record(READ);
  audit.record(WRITE);
  clock.advance(1_000);
  audit.record(READ);

  assert.equal(lines.length, 3, 'stdout has every record');
  const errors = calls.filter((c) => c.level === 'error');
  assert.equal(errors.length, 1, 'reported once, not per record');
  assert.match(errors[0]?.msg ?? '', /writing to the file failed/);
  assert.equal((errors[0]?.obj as { path: string }).path, path);

  // The disk is fixed; after the retry interval the file is reopened and written again.
  unlinkSync(path);
  clock.advance(5_000);
  audit.record(WRITE);
  await audit.close();

  assert.equal(readFileSync(path, 'utf8'), `${lines[3]}\n`);
  const recovered = calls.find((c) => c.level === 'info');
  assert.match(recovered?.msg ?? '', /writable again/);
  assert.equal((recovered?.obj as { dropped: number }).dropped, 3);
});

test('records after close are dropped with a warning, and close is idempotent', async () => {
  const { stream, lines } = captureStream();
  const { logger, calls } = captureLogger();
  const audit = createAuditLog({ stdout: stream, clock: fakeClock(), logger });
  await audit.close();
  await audit.close();
  audit.record(READ);
  assert.equal(lines.length, 0);
  assert.equal(calls.filter((c) => c.level === 'warn').length, 1);
});

test('an error event on stdout is reported, not thrown', async () => {
  const { stream } = captureStream();
  const { logger, calls } = captureLogger();
  const audit = createAuditLog({ stdout: stream, clock: fakeClock(), logger });
  stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
  assert.equal(calls.filter((c) => c.level === 'error').length, 1);
  await audit.close();
});
