import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, REDACTED } from '../../../src/log.ts';
import type { LogLevel } from '../../../src/log.ts';

/** A destination that keeps each JSON line; pino writes synchronously to a plain Writable. */
function capture(level: LogLevel = 'trace') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { logger: createLogger({ level, destination }), lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const SECRETS = ['hunter2', 'sekrit-token', 'AKIA-sak', 'bearer-xyz', 'string-data', 'the-body', 'val-123', 'tok-deep', 'cookie-c', 'hmac-k'];

test('secret-bearing fields are censored wherever callers usually put them', () => {
  const { logger, lines, records } = capture();
  logger.info({ data: { password: 'hunter2' } }, 'top-level data');
  logger.info({ secret: { data: { a: 'val-123' }, stringData: { b: 'string-data' } } }, 'a Secret object');
  logger.info({ credentials: { token: 'sekrit-token', secretAccessKey: 'AKIA-sak' } }, 'credentials');
  logger.info({ req: { headers: { authorization: 'Bearer bearer-xyz', cookie: 'cookie-c' } } }, 'request');
  logger.info({ headers: { authorization: 'Bearer bearer-xyz' } }, 'headers');
  logger.warn({ err: Object.assign(new Error('apiserver said no'), { body: 'the-body', code: 500 }) }, 'error with body');
  logger.info({ es: { remote: { value: 'val-123', token: 'tok-deep' } } }, 'two levels down');
  logger.info({ password: 'hunter2', value: 'val-123', hmacKey: 'hmac-k' }, 'top level');

  const out = lines.join('\n');
  for (const s of SECRETS) assert.ok(!out.includes(s), `"${s}" leaked: ${out}`);
  assert.equal(lines.length, 8);

  const [first, second, , , , errLine] = records();
  assert.equal(first?.data, REDACTED);
  assert.deepEqual(second?.secret, { data: REDACTED, stringData: REDACTED });
  // What is not secret survives, so the lines stay useful.
  assert.equal((errLine?.err as Record<string, unknown>).message, 'apiserver said no');
  assert.equal((errLine?.err as Record<string, unknown>).code, 500);
});

test('child logger bindings are censored too', () => {
  const { logger, lines } = capture();
  logger.child({ token: 'sekrit-token', controller: 'externalsecret' }).info('from a child');
  assert.equal(lines.length, 1);
  assert.ok(!lines[0]?.includes('sekrit-token'), lines[0]);
  assert.ok(lines[0]?.includes('"controller":"externalsecret"'));
});

test('lines are JSON with name secret-relay, an ISO time and the message', () => {
  const { logger, records } = capture();
  logger.info({ key: 'team-a/db' }, 'reconciled');
  const [record] = records();
  assert.equal(record?.name, 'secret-relay');
  assert.equal(record?.msg, 'reconciled');
  assert.equal(record?.key, 'team-a/db');
  assert.equal(record?.level, 30);
  assert.match(String(record?.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('the level filters lower levels', () => {
  const { logger, records } = capture('warn');
  logger.info('hidden');
  logger.debug('hidden');
  logger.warn('shown');
  logger.error('shown too');
  assert.deepEqual(records().map((r) => r.msg), ['shown', 'shown too']);
});
