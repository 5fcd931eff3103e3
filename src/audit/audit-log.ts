import { closeSync, openSync, writeSync } from 'node:fs';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../log.ts';

/**
 * The audit log: one JSON line per provider read and per Secret write, separate from the
 * ordinary logs. Schema and tag are documented in ./README.md — keep the two in step.
 */

/** Every audit line starts with this field, so `grep '^{"audit":"secret-relay"'` splits stdout. */
export const AUDIT_TAG = { audit: 'secret-relay' } as const;

export const AUDIT_ACTIONS = [
  'provider.read',
  'provider.find',
  'provider.revoke',
  'secret.create',
  'secret.update',
  'secret.delete',
  'workload.rollout',
  /** An existing Secret taken over on the secret-relay.dev/adopt opt-in. */
  'secret.adopt',
  /** Nothing written: the target Secret exists and is not this ExternalSecret's (result denied). */
  'secret.refuse',
  /** PushSecret: a remote secret created or updated (result denied when it exists without our mark). */
  'provider.write',
  /** PushSecret: a remote secret (or property) deleted under deletionPolicy Delete. */
  'provider.delete',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_RESULTS = ['success', 'error', 'not_found', 'denied'] as const;
export type AuditResult = (typeof AUDIT_RESULTS)[number];

export interface ObjectRef {
  readonly namespace: string;
  readonly name: string;
}

/**
 * What a caller reports. Only names, never values: there is no free-form field, and the
 * writer copies exactly these keys, so extra properties smuggled in through a wider object
 * are dropped.
 */
export interface AuditRecord {
  readonly action: AuditAction;
  /** The ExternalSecret being served; for provider.write/provider.delete, pushSecret instead. */
  readonly externalSecret?: ObjectRef | undefined;
  /** The PushSecret being served (provider.write, provider.delete). */
  readonly pushSecret?: ObjectRef | undefined;
  readonly store: { readonly kind: string; readonly name: string };
  readonly provider: string;
  /** Who the operator acted as: a role ARN, `system:serviceaccount:ns:name`, 'static key' … */
  readonly identity: string;
  /** The remote key read (provider.read) or the find criteria summary (provider.find). */
  readonly remoteKey?: string | undefined;
  /** The Secret written (secret.*), or whose change a rollout was for (workload.rollout). */
  readonly targetSecret?: ObjectRef | undefined;
  /** The workload whose pod template was patched (workload.rollout). */
  readonly workload?: { readonly kind: string; readonly namespace: string; readonly name: string } | undefined;
  readonly result: AuditResult;
  readonly durationMs: number;
  /** Why it failed, as a message. Never a value. */
  readonly error?: string | undefined;
}

/** One written line: the tag, the time from the clock, then the record's fields. */
export interface AuditLine extends AuditRecord {
  readonly audit: 'secret-relay';
  /** ISO 8601, UTC, from the injected clock. */
  readonly time: string;
}

export interface AuditLog {
  /** Writes one line to stdout (and the file when configured). Never throws. */
  record(record: AuditRecord): void;
  /** Stops writing and closes the file; later records are dropped. */
  close(): Promise<void>;
}

export interface AuditLogOptions {
  /** Where tagged lines go besides the file; process.stdout when absent. */
  readonly stdout?: NodeJS.WritableStream;
  /** Also append each line to this file (created if missing, mode 0600). */
  readonly filePath?: string | undefined;
  readonly clock: Clock;
  /** Told about write failures; the operator keeps running. */
  readonly logger: Pick<Logger, 'error' | 'warn' | 'info'>;
}

/** Long strings are cut so a caller cannot turn a field into a bulk channel. */
const MAX_FIELD_LENGTH = 512;
const MAX_ERROR_LENGTH = 1024;
/** After a file write fails, how long to wait before reopening the file. */
const FILE_RETRY_MS = 5_000;

/**
 * Opens the file sink at once, so a bad `--audit-log-file` stops the operator at start
 * (it throws, naming the path); failures after that are only reported through the logger.
 */
export function createAuditLog(options: AuditLogOptions): AuditLog {
  const stdout = options.stdout ?? process.stdout;
  const { clock, logger, filePath } = options;
  const file = filePath === undefined ? undefined : openFileSink(filePath, clock, logger);
  let closed = false;

  const onStdoutError = (err: Error): void => {
    logger.error({ err }, 'audit log: writing to stdout failed');
  };
  stdout.on('error', onStdoutError);

  return {
    record(record) {
      if (closed) {
        logger.warn({ action: String(record.action) }, 'audit log: record after close dropped');
        return;
      }
      let line: string;
      try {
        line = `${JSON.stringify(toAuditLine(record, clock))}\n`;
      } catch (err) {
        logger.error({ err }, 'audit log: malformed record dropped');
        return;
      }
      try {
        stdout.write(line);
      } catch (err) {
        onStdoutError(err as Error);
      }
      file?.write(line);
    },
    async close() {
      if (closed) return;
      closed = true;
      file?.close();
      stdout.off('error', onStdoutError);
    },
  };
}

/**
 * Copies the known fields one by one. Anything else on the object — `value`, `data`,
 * a whole Secret — never reaches the output.
 */
export function toAuditLine(record: AuditRecord, clock: Clock): AuditLine {
  const action = oneOf(record.action, AUDIT_ACTIONS, 'action');
  const result = oneOf(record.result, AUDIT_RESULTS, 'result');
  const line: { -readonly [K in keyof AuditLine]: AuditLine[K] } = {
    audit: AUDIT_TAG.audit,
    time: new Date(clock.now()).toISOString(),
    action,
    ...(record.pushSecret !== undefined ? { pushSecret: objectRef(record.pushSecret, 'pushSecret') } : { externalSecret: objectRef(record.externalSecret, 'externalSecret') }),
    store: { kind: text(record.store?.kind, 'store.kind'), name: text(record.store?.name, 'store.name') },
    provider: text(record.provider, 'provider'),
    identity: text(record.identity, 'identity'),
    result,
    durationMs: duration(record.durationMs),
  };
  if (record.remoteKey !== undefined) line.remoteKey = text(record.remoteKey, 'remoteKey');
  if (record.targetSecret !== undefined) line.targetSecret = objectRef(record.targetSecret, 'targetSecret');
  if (record.workload !== undefined) line.workload = { kind: text(record.workload.kind, 'workload.kind'), ...objectRef(record.workload, 'workload') };
  if (record.error !== undefined) line.error = text(record.error, 'error', MAX_ERROR_LENGTH);
  // Fixed key order: tag first, so the tag prefix is greppable.
  return line;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new TypeError(`audit record: ${field} must be one of ${allowed.join(', ')}`);
}

function text(value: unknown, field: string, max = MAX_FIELD_LENGTH): string {
  if (typeof value !== 'string') throw new TypeError(`audit record: ${field} must be a string`);
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

function objectRef(value: ObjectRef | undefined, field: string): ObjectRef {
  return { namespace: text(value?.namespace, `${field}.namespace`), name: text(value?.name, `${field}.name`) };
}

function duration(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return 0;
  return Math.round(value * 1000) / 1000;
}

interface FileSink {
  write(line: string): void;
  close(): void;
}

/**
 * Synchronous appends on an O_APPEND descriptor: each line reaches the file whole and at once
 * (line-buffered), and lines from several processes sharing the file do not interleave.
 */
function openFileSink(path: string, clock: Clock, logger: AuditLogOptions['logger']): FileSink {
  const open = (): number => openSync(path, 'a', 0o600);
  let fd: number | undefined;
  try {
    fd = open();
  } catch (err) {
    throw new Error(
      `cannot open the audit log file '${path}' for appending: ${(err as Error).message}; ` +
        'fix the path or its permissions, or leave --audit-log-file unset to audit to stdout only',
      { cause: err },
    );
  }
  let failingSince: number | undefined;
  let dropped = 0;

  const fail = (err: unknown): void => {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Already unusable; reopening below is what matters.
      }
      fd = undefined;
    }
    if (failingSince === undefined) {
      logger.error(
        { err, path },
        'audit log: writing to the file failed; records still go to stdout, retrying the file every 5s',
      );
    }
    failingSince = clock.now();
  };

  return {
    write(line) {
      if (fd === undefined) {
        if (failingSince !== undefined && clock.now() - failingSince < FILE_RETRY_MS) {
          dropped++;
          return;
        }
        try {
          fd = open();
        } catch (err) {
          dropped++;
          fail(err);
          return;
        }
      }
      try {
        const bytes = Buffer.from(line);
        let offset = 0;
        while (offset < bytes.length) offset += writeSync(fd, bytes, offset);
      } catch (err) {
        dropped++;
        fail(err);
        return;
      }
      if (failingSince !== undefined) {
        logger.info({ path, dropped }, 'audit log: the file is writable again');
        failingSince = undefined;
        dropped = 0;
      }
    },
    close() {
      if (fd === undefined) return;
      try {
        closeSync(fd);
      } catch (err) {
        logger.error({ err, path }, 'audit log: closing the file failed');
      }
      fd = undefined;
    },
  };
}
