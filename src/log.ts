import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const REDACTED = '[redacted]';

/**
 * Field names that carry secret material somewhere in what we log: Secret `data`/`stringData`,
 * provider values, tokens, credentials, HTTP bodies (an ApiException carries the response body)
 * and authorization headers. Each is redacted at the top level and one level down
 * (`{ secret: { data } }`, `{ err: { body } }`, `{ headers: { authorization } }`).
 */
const SENSITIVE_KEYS = [
  'data',
  'stringData',
  'value',
  'values',
  'token',
  'accessToken',
  'idToken',
  'refreshToken',
  'bearerToken',
  'kubeToken',
  'password',
  'clientSecret',
  'secretAccessKey',
  'sessionToken',
  'accessKeySecret',
  'securityToken',
  'privateKey',
  'hmacKey',
  'body',
  'authorization',
  'cookie',
] as const;

/**
 * The keys most likely to sit deeper (`{ err: { response: { body } } }`, a Secret nested in an
 * event) are also redacted two levels down. Every wildcard level costs ~10 µs per log line
 * across all keys, which is why the others stop at one.
 */
const DEEP_SENSITIVE_KEYS = ['data', 'stringData', 'value', 'token', 'body', 'authorization', 'cookie'] as const;

export const REDACT_PATHS: readonly string[] = [
  ...SENSITIVE_KEYS.flatMap((key) => [key, `*.${key}`]),
  ...DEEP_SENSITIVE_KEYS.map((key) => `*.*.${key}`),
];

export interface LoggerOptions {
  readonly level: LogLevel;
  /** Where JSON lines go; stdout when absent. Tests pass a stream and read the lines back. */
  readonly destination?: DestinationStream | NodeJS.WritableStream;
}

/** JSON logs on one line each, `name: 'secret-relay'`, with secret-bearing fields censored. */
export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    level: options.level,
    base: { name: 'secret-relay' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
  };
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}
