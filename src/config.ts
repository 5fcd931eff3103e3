import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { DEFAULT_REFRESH_TIME_PERIOD_MS } from './controller/externalsecret/reconciler.ts';
import { DEFAULT_CONTROLLER_CLASS } from './controller/runtime/controller-class.ts';
import { DurationError, formatDuration, parseDuration } from './util/duration.ts';
import { LOG_LEVELS } from './log.ts';
import type { LogLevel } from './log.ts';
import { OPERATOR_IDENTITY_POLICIES, type TenancyPolicy } from './providers/kit/tenancy.ts';

/**
 * Operator configuration from flags and environment, validated once at start.
 *
 * Every option `--some-option` is also read from `SECRET_RELAY_SOME_OPTION`; a flag wins over
 * the environment. Secret-bearing options are never flags (a command line is visible in `ps`):
 * they come from `SECRET_RELAY_<NAME>`, `SECRET_RELAY_<NAME>_FILE` or `--<name>-file`.
 * Flags are `--name=value` or `--name value`; booleans also accept a bare `--name`.
 */
export interface Config {
  /** Port of the /metrics, /healthz and /readyz server; 0 picks a free one. */
  readonly metricsPort: number;
  readonly metricsHost: string;
  /** Reconcile workers per controller. */
  readonly concurrency: number;
  readonly logLevel: LogLevel;
  /** The operator's own namespace: the HMAC key Secret and the leader Lease live here. */
  readonly namespace: string;
  /** Namespaces to watch; empty means all. Sorted, without duplicates. */
  readonly watchNamespaces: readonly string[];
  readonly leaderElect: boolean;
  readonly leaseName: string;
  /** The controller class this installation serves (ESO's spec.controller on stores); `default` as ESO. */
  readonly controllerClass: string;
  readonly leaseDurationMs: number;
  /** The leader gives up leading when it could not renew for this long; < leaseDurationMs. */
  readonly leaseRenewDeadlineMs: number;
  /** How often candidates try to acquire and the leader renews; < leaseRenewDeadlineMs. */
  readonly leaseRetryPeriodMs: number;
  readonly auditLogFile: string | undefined;
  /** Kubeconfig path; undefined means the in-cluster ServiceAccount config. */
  readonly kubeconfig: string | undefined;
  /** Bearer token for the apiserver instead of the kubeconfig's user (secret). */
  readonly kubeToken: string | undefined;
  /** Client-side rate limit towards the apiserver: sustained requests per second … */
  readonly qps: number;
  /** … and the burst above it. */
  readonly burst: number;
  /**
   * How fast each controller's work queue hands keys to workers: sustained keys per second … It protects the
   * secret managers from a wave of reconciles (a store change requeues all its ExternalSecrets); the apiserver
   * is protected by `qps`.
   */
  readonly queueQps: number;
  /** … and how many keys may go out back to back above it. */
  readonly queueBurst: number;
  /** Name of the Secret in `namespace` holding the drift-detection HMAC key (created when absent). */
  /** How old status.refreshTime may get before a refresh that changed nothing else writes it; 0 = every refresh. */
  readonly refreshTimePeriodMs: number;
  readonly hmacKeySecret: string;
  /** The HMAC key given directly (secret); when set, `hmacKeySecret` is not used. */
  readonly hmacKey: Uint8Array | undefined;
  /** This process's identity as leader-election candidate. */
  readonly identity: string;
  // One tenant cannot stall the operator (docs/templates.md, "The sandbox").
  /** Worker threads for templates and property reads on tenant values. */
  readonly sandboxWorkers: number;
  /** Hard deadline of one piece of sandboxed work; the worker is terminated at it. */
  readonly sandboxTimeoutMs: number;
  /** Heap limit of one sandbox worker, MiB. */
  readonly sandboxMemoryMb: number;
  /** Sandbox worker time one namespace may spend per minute; 0 = unlimited. */
  readonly namespaceSandboxBudgetMs: number;
  /** A shorter non-zero spec.refreshInterval is raised to this; 0 = no floor. */
  readonly minRefreshIntervalMs: number;
  /** Values up to this size read with a property without wildcards stay on the main thread; 0 = every read in a worker. */
  readonly sandboxInlineBytes: number;
  /** Tenant isolation: which stores may act as the operator, which endpoint hosts SecretStores may name (docs/security.md). */
  readonly tenancy: TenancyPolicy;
  /** The operator's own ServiceAccount (in `namespace`), for stores allowed to act as the operator through a minted token. */
  readonly serviceAccountName: string;
  /** The HTTPS listener for signed change notifications (docs/change-feeds.md); undefined: off. */
  readonly changeWebhook?: { readonly port: number; readonly host: string; readonly certFile: string; readonly keyFile: string } | undefined;
  /** Where Vault/OpenBao socket audit devices connect (vault change feeds); undefined: off. */
  readonly vaultAuditListen?: { readonly host: string; readonly port: number } | undefined;
}

/** A bad option: the message names the option as the user wrote it and what is accepted. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** The option's flag name without dashes, e.g. 'concurrency'. */
  readonly option: string;
  constructor(option: string, message: string) {
    super(message);
    this.option = option;
  }
}

/** `--help` was given; the message is the usage text (print it, exit 0). */
export class HelpRequested extends Error {
  override readonly name = 'HelpRequested';
}

export type ReadFile = (path: string) => Uint8Array;

/** The impure inputs of the default identity, injectable for tests. */
export interface IdentitySource {
  hostname(): string;
  randomSuffix(): string;
}

export const IN_CLUSTER_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
export const DEFAULT_NAMESPACE = 'secret-relay-system';
export const ENV_PREFIX = 'SECRET_RELAY_';

const systemIdentity: IdentitySource = {
  hostname: () => hostname(),
  randomSuffix: () => randomBytes(4).toString('hex'),
};

// ---------------------------------------------------------------------------------------------
// Option table: one entry per option, the single source of flags, env names, defaults, usage.

interface OptionSpec {
  /** Flag name without dashes. */
  readonly name: string;
  readonly boolean?: boolean;
  /** Secret-bearing: no flag for the value, `*_FILE` variants, never echoed in errors. */
  readonly secret?: boolean;
  readonly help: string;
  readonly defaultText?: string;
}

const OPTIONS = [
  { name: 'metrics-port', help: 'port of /metrics, /healthz and /readyz (0 = any free port)', defaultText: '8080' },
  { name: 'metrics-host', help: 'address the metrics/probe server binds to', defaultText: '0.0.0.0' },
  { name: 'concurrency', help: 'reconcile workers per controller (1-64)', defaultText: '4' },
  { name: 'log-level', help: `one of ${LOG_LEVELS.join(', ')}`, defaultText: 'info' },
  {
    name: 'namespace',
    help: 'the operator namespace (HMAC key Secret, leader Lease)',
    defaultText: `$POD_NAMESPACE, else the in-cluster namespace, else ${DEFAULT_NAMESPACE}`,
  },
  { name: 'watch-namespaces', help: 'comma-separated namespaces to watch; empty = all', defaultText: '' },
  { name: 'leader-elect', boolean: true, help: 'only the holder of the Lease reconciles', defaultText: 'true' },
  { name: 'lease-name', help: 'name of the leader-election Lease', defaultText: 'secret-relay-leader, or secret-relay-leader-<class> with --controller-class' },
  { name: 'controller-class', help: "the controller class served (ESO's spec.controller): stores of this class or none, and their ExternalSecrets; others are left untouched", defaultText: 'default' },
  { name: 'lease-duration', help: 'how long a Lease is valid without renewal', defaultText: '15s' },
  { name: 'lease-renew-deadline', help: 'the leader steps down if it could not renew for this long', defaultText: '10s' },
  { name: 'lease-retry-period', help: 'interval between acquire/renew attempts', defaultText: '2s' },
  { name: 'change-webhook-port', help: 'port of the HTTPS listener for signed change notifications (0 = any free port); off when unset', defaultText: 'off' },
  { name: 'change-webhook-host', help: 'address the change webhook listener binds to', defaultText: '0.0.0.0' },
  { name: 'change-webhook-tls-cert-file', help: 'PEM certificate (chain) of the change webhook listener; required with --change-webhook-port', defaultText: 'none' },
  { name: 'change-webhook-tls-key-file', help: 'PEM private key of the change webhook listener; required with --change-webhook-port', defaultText: 'none' },
  { name: 'vault-audit-listen', help: 'host:port where Vault/OpenBao socket audit devices connect, for vault change feeds; off when unset', defaultText: 'off' },
  { name: 'audit-log-file', help: 'also append audit records to this file', defaultText: 'stdout only' },
  { name: 'kubeconfig', help: 'kubeconfig path', defaultText: '$KUBECONFIG, else in-cluster config' },
  { name: 'kube-token', secret: true, help: 'bearer token for the apiserver instead of the kubeconfig user' },
  { name: 'qps', help: 'sustained apiserver requests per second (0 < qps <= 10000)', defaultText: '50' },
  { name: 'burst', help: 'apiserver request burst (1-100000)', defaultText: '100' },
  { name: 'queue-qps', help: 'reconciles started per second per controller, sustained (0 < queue-qps <= 100000)', defaultText: '200' },
  { name: 'queue-burst', help: 'reconciles that may start back to back above --queue-qps (1-1000000)', defaultText: '1000' },
  { name: 'refresh-time-period', help: 'how old status.refreshTime may get before a refresh that changed nothing writes it (0 = every refresh, as ESO)', defaultText: '10m' },
  { name: 'hmac-key-secret', help: 'Secret in --namespace holding the drift HMAC key', defaultText: 'secret-relay-hmac-key' },
  { name: 'hmac-key', secret: true, help: 'the drift HMAC key itself (>= 32 bytes), instead of the Secret' },
  { name: 'identity', help: 'leader-election identity', defaultText: 'hostname + random suffix' },
  { name: 'sandbox-workers', help: 'worker threads that run templates and property reads on tenant values (1-16)', defaultText: '2' },
  { name: 'sandbox-timeout', help: "hard deadline of one ExternalSecret's template or property read; its worker is terminated at it (100ms-5m)", defaultText: '5s' },
  { name: 'sandbox-memory', help: 'heap limit of one sandbox worker in MiB (32-4096)', defaultText: '64' },
  { name: 'namespace-sandbox-budget', help: 'sandbox worker time one namespace may spend per minute; past it its ExternalSecrets wait (0 = unlimited)', defaultText: '30s' },
  { name: 'min-refresh-interval', help: 'a shorter non-zero spec.refreshInterval is raised to this (0 = no floor)', defaultText: '0s' },
  { name: 'sandbox-inline-bytes', help: 'remote values up to this size, read with a property without wildcards, are parsed on the main thread (0 = every read in a worker; at most 1048576)', defaultText: '65536' },
  // Tenant isolation (docs/security.md).
  { name: 'operator-identity', help: `which stores may authenticate as the operator itself (no auth, ADC, managed identity, its token files): ${OPERATOR_IDENTITY_POLICIES.join(' | ')}`, defaultText: 'cluster-stores' },
  { name: 'trusted-endpoint-hosts', help: 'comma-separated hosts (or *.suffix) a namespaced SecretStore may name as an endpoint override', defaultText: 'none' },
  { name: 'allow-insecure-http', boolean: true, help: 'let stores use plain http to hosts other than loopback (tokens in clear text)', defaultText: 'false' },
  { name: 'operator-token-files', help: 'comma-separated token files of the pod a ClusterSecretStore may name (alibaba rrsa.oidcTokenFilePath)', defaultText: 'none' },
  { name: 'service-account-name', help: "the operator's own ServiceAccount in --namespace (tokens minted for it, audience vault, where --operator-identity allows)", defaultText: 'secret-relay' },
] as const satisfies readonly OptionSpec[];

type OptionName = (typeof OPTIONS)[number]['name'];

export function envName(option: string): string {
  return ENV_PREFIX + option.toUpperCase().replaceAll('-', '_');
}

/** The --help text, generated from the option table. */
export function usage(): string {
  const lines = ['Usage: secret-relay [options]', '', 'Each option is also read from the environment; flags win.', ''];
  for (const o of OPTIONS as readonly OptionSpec[]) {
    const flag = o.secret ? `--${o.name}-file=PATH` : o.boolean ? `--${o.name}[=true|false]` : `--${o.name}=VALUE`;
    const env = o.secret ? `${envName(o.name)} or ${envName(o.name)}_FILE` : envName(o.name);
    lines.push(`  ${flag}`, `      ${o.help}`, `      env ${env}${o.defaultText ? `; default: ${o.defaultText}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Raw values and where they came from.

interface RawValue {
  readonly value: string;
  /** How the user set it, as they would recognise it: '--concurrency', 'SECRET_RELAY_QPS', 'POD_NAMESPACE'. */
  readonly source: string;
}

function parseArgv(argv: readonly string[]): Map<string, RawValue> {
  const specs = new Map<string, OptionSpec>();
  for (const o of OPTIONS as readonly OptionSpec[]) specs.set(o.secret ? `${o.name}-file` : o.name, o);
  const flags = new Map<string, RawValue>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') throw new HelpRequested(usage());
    if (!arg.startsWith('--') || arg === '--') {
      throw new ConfigError('', `unexpected argument '${arg}': options are written --name=value; run with --help to list them`);
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const spec = specs.get(flag);
    if (spec === undefined) {
      const isSecretValueFlag = (OPTIONS as readonly OptionSpec[]).some((o) => o.secret && o.name === flag);
      throw new ConfigError(
        flag,
        isSecretValueFlag
          ? `--${flag} cannot be given on the command line (it would be visible to every process); use --${flag}-file=PATH, ${envName(flag)}_FILE or ${envName(flag)}`
          : `unknown flag --${flag}; run with --help to list the options`,
      );
    }
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (spec.boolean) value = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new ConfigError(spec.name, `--${flag} needs a value: write --${flag}=VALUE`);
      }
      value = next;
      i++;
    }
    flags.set(flag, { value, source: `--${flag}` });
  }
  return flags;
}

// ---------------------------------------------------------------------------------------------
// Validation: a zod schema per kind of value, and the sentence the user reads when it fails.

interface Rule<T> {
  readonly schema: z.ZodType<T, string>;
  /** Completes "<option> must be …". */
  readonly accepts: string;
}

const integer = (min: number, max: number): Rule<number> => ({
  schema: z
    .string()
    .regex(/^-?[0-9]+$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max)),
  accepts: `an integer between ${min} and ${max}`,
});

const positiveNumber = (max: number): Rule<number> => ({
  schema: z
    .string()
    .regex(/^[0-9]+(\.[0-9]+)?$/)
    .transform(Number)
    .pipe(z.number().gt(0).max(max)),
  accepts: `a number greater than 0 and at most ${max}`,
});

const booleanRule: Rule<boolean> = {
  schema: z.enum(['true', 'false', '1', '0']).transform((s) => s === 'true' || s === '1'),
  accepts: 'true or false',
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const namespaceRule: Rule<string> = {
  schema: z.string().max(63).regex(DNS_LABEL),
  accepts: 'a namespace name (lowercase letters, digits and "-", at most 63 characters)',
};

const objectNameRule: Rule<string> = {
  schema: z.string().max(253).regex(DNS_SUBDOMAIN),
  accepts: 'a Kubernetes object name (lowercase letters, digits, "-" and ".", at most 253 characters)',
};

const namespaceListRule: Rule<readonly string[]> = {
  schema: z
    .string()
    .transform((s) => [...new Set(s.split(',').map((n) => n.trim()).filter((n) => n !== ''))].sort())
    .pipe(z.array(z.string().max(63).regex(DNS_LABEL))),
  accepts: 'a comma-separated list of namespace names (empty for all namespaces)',
};

const durationRule = (minMs: number): Rule<number> => ({
  schema: z
    .string()
    .transform((s, ctx) => {
      try {
        return parseDuration(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: err instanceof DurationError ? err.reason : String(err) });
        return z.NEVER;
      }
    })
    .pipe(z.number().min(minMs)),
  accepts: `a duration of at least ${formatDuration(minMs)}, like "15s", "1m30s" or "500ms"`,
});

const nonEmptyRule = (what: string): Rule<string> => ({
  schema: z.string().min(1).max(4096),
  accepts: what,
});

const logLevelRule: Rule<LogLevel> = {
  schema: z.enum(LOG_LEVELS),
  accepts: `one of ${LOG_LEVELS.join(', ')}`,
};

const portRule = integer(0, 65535);
const identityRule: Rule<string> = {
  schema: z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/),
  accepts: 'a non-empty string of printable characters without spaces, at most 128 long',
};

const hmacKeyRule: Rule<Uint8Array> = {
  schema: z
    .string()
    .transform((s) => new Uint8Array(Buffer.from(s, 'utf8')))
    .pipe(z.instanceof(Uint8Array).refine((b) => b.length >= 32)),
  accepts: 'at least 32 bytes long (e.g. `head -c 32 /dev/urandom > key`)',
};

const operatorIdentityRule: Rule<TenancyPolicy['operatorIdentity']> = {
  schema: z.enum(OPERATOR_IDENTITY_POLICIES),
  accepts: `one of ${OPERATOR_IDENTITY_POLICIES.join(', ')}`,
};

const HOST_ENTRY = /^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$|^\[?[0-9a-f:.]+\]?$/;
const hostListRule: Rule<readonly string[]> = {
  schema: z
    .string()
    .transform((s) => [...new Set(s.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== ''))])
    .pipe(z.array(z.string().max(253).regex(HOST_ENTRY))),
  accepts: 'a comma-separated list of host names or addresses, each optionally as *.suffix (no scheme, port or path)',
};

const absolutePathListRule: Rule<readonly string[]> = {
  schema: z
    .string()
    .transform((s) => [...new Set(s.split(',').map((p) => p.trim()).filter((p) => p !== ''))])
    .pipe(z.array(z.string().max(4096).regex(/^\/(?!.*(^|\/)\.\.?(\/|$))/))),
  accepts: 'a comma-separated list of absolute file paths without . or .. segments',
};

const kubeTokenRule: Rule<string> = {
  schema: z.string().min(1).regex(/^[\x21-\x7e]+$/),
  accepts: 'a non-empty token without spaces or control characters',
};

// ---------------------------------------------------------------------------------------------

/**
 * Reads the configuration from `argv` (without node and script: `process.argv.slice(2)`) and
 * `env`. Pure apart from `readFile` (for `*_FILE` options and the in-cluster namespace file)
 * and `identitySource` (for the default identity). Throws ConfigError naming the bad option,
 * or HelpRequested for --help.
 */
export function loadConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile = readFileSync,
  identitySource: IdentitySource = systemIdentity,
): Config {
  const flags = parseArgv(argv);

  const raw = (name: OptionName): RawValue | undefined => {
    const flag = flags.get(name);
    if (flag !== undefined) return flag;
    const fromEnv = env[envName(name)];
    return fromEnv === undefined ? undefined : { value: fromEnv, source: envName(name) };
  };

  const parse = <T>(name: string, input: RawValue, rule: Rule<T>, secret = false): T => {
    const result = rule.schema.safeParse(input.value);
    if (result.success) return result.data;
    const detail = result.error.issues.find((i) => i.code === 'custom')?.message;
    const got = secret ? '' : `, got '${input.value}'`;
    const because = detail && !secret ? ` (${detail})` : '';
    throw new ConfigError(name, `${input.source} must be ${rule.accepts}${got}${because}`);
  };

  const option = <T>(name: OptionName, rule: Rule<T>, fallback: T): T => {
    const input = raw(name);
    return input === undefined ? fallback : parse(name, input, rule);
  };
  const optional = <T>(name: OptionName, rule: Rule<T>): T | undefined => {
    const input = raw(name);
    return input === undefined ? undefined : parse(name, input, rule);
  };

  /** A secret from --name-file, SECRET_RELAY_NAME_FILE or SECRET_RELAY_NAME; at most one of them. */
  const secretOption = <T>(name: OptionName, rule: Rule<T>): T | undefined => {
    const fileFlag = flags.get(`${name}-file`);
    const fileEnv = env[`${envName(name)}_FILE`];
    const direct = env[envName(name)];
    const given = [
      fileFlag?.source,
      fileEnv === undefined ? undefined : `${envName(name)}_FILE`,
      direct === undefined ? undefined : envName(name),
    ].filter((s) => s !== undefined);
    if (given.length > 1) {
      throw new ConfigError(name, `${given.join(' and ')} are both set; set only one of them`);
    }
    if (direct !== undefined) return parse(name, { value: direct, source: envName(name) }, rule, true);
    const file = fileFlag ?? (fileEnv === undefined ? undefined : { value: fileEnv, source: `${envName(name)}_FILE` });
    if (file === undefined) return undefined;
    if (file.value === '') throw new ConfigError(name, `${file.source} must be a file path, got ''`);
    let content: string;
    try {
      content = Buffer.from(readFile(file.value)).toString('utf8');
    } catch (err) {
      throw new ConfigError(
        name,
        `${file.source} names '${file.value}', which cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); ` +
          'check the path and that the Secret is mounted there',
      );
    }
    // Files written by `echo` end with a newline that is not part of the secret.
    const trimmed = content.replace(/\r?\n$/, '');
    return parse(name, { value: trimmed, source: `the file '${file.value}' (${file.source})` }, rule, true);
  };

  const leaseDurationMs = option('lease-duration', durationRule(1_000), 15_000);
  const leaseRenewDeadlineMs = option('lease-renew-deadline', durationRule(100), 10_000);
  const leaseRetryPeriodMs = option('lease-retry-period', durationRule(10), 2_000);
  const shown = (name: OptionName, ms: number): string =>
    `${raw(name)?.source ?? `--${name}`} (${formatDuration(ms)}${raw(name) === undefined ? ', the default' : ''})`;
  if (leaseRenewDeadlineMs >= leaseDurationMs) {
    throw new ConfigError(
      'lease-renew-deadline',
      `${shown('lease-renew-deadline', leaseRenewDeadlineMs)} must be shorter than ${shown('lease-duration', leaseDurationMs)}, ` +
        'or two leaders could overlap; lower it or raise the lease duration',
    );
  }
  if (leaseRetryPeriodMs >= leaseRenewDeadlineMs) {
    throw new ConfigError(
      'lease-retry-period',
      `${shown('lease-retry-period', leaseRetryPeriodMs)} must be shorter than ${shown('lease-renew-deadline', leaseRenewDeadlineMs)}`,
    );
  }
  // The elector's own rules (src/controller/runtime/leader-election.ts), checked here so that what the
  // configuration accepts the elector accepts, instead of a refusal deep in start-up.
  if (leaseDurationMs % 1000 !== 0) {
    throw new ConfigError('lease-duration', `${raw('lease-duration')?.source ?? '--lease-duration'} must be a whole number of seconds (a Lease holds seconds), got '${raw('lease-duration')?.value ?? ''}'`);
  }
  if (leaseRetryPeriodMs * 1.2 >= leaseRenewDeadlineMs) {
    throw new ConfigError(
      'lease-retry-period',
      `${shown('lease-retry-period', leaseRetryPeriodMs)} plus its 20% jitter must be shorter than ${shown('lease-renew-deadline', leaseRenewDeadlineMs)}: ` +
        `at most ${formatDuration(Math.ceil(leaseRenewDeadlineMs / 1.2) - 1)}`,
    );
  }

  const changeWebhookOption = () => {
    const port = optional('change-webhook-port', portRule);
    const certFile = optional('change-webhook-tls-cert-file', nonEmptyRule('a file path'));
    const keyFile = optional('change-webhook-tls-key-file', nonEmptyRule('a file path'));
    if (port === undefined) return {};
    // Signed notifications still name stores and keys: never on plain http.
    if (certFile === undefined || keyFile === undefined) {
      throw new ConfigError('change-webhook-port', '--change-webhook-port needs --change-webhook-tls-cert-file and --change-webhook-tls-key-file (the listener serves HTTPS only)');
    }
    return { changeWebhook: { port, host: option('change-webhook-host', nonEmptyRule('an address to listen on, like 0.0.0.0 or 127.0.0.1'), '0.0.0.0'), certFile, keyFile } };
  };

  const vaultAuditListenOption = () => {
    const value = optional('vault-audit-listen', nonEmptyRule('host:port, like 0.0.0.0:9090'));
    if (value === undefined) return {};
    const match = /^(.+):(\d{1,5})$/.exec(value);
    const port = match ? Number(match[2]) : NaN;
    if (!match || port > 65535) throw new ConfigError('vault-audit-listen', `--vault-audit-listen must be host:port, like 0.0.0.0:9090, got '${value}'`);
    return { vaultAuditListen: { host: match[1]!.replace(/^\[|\]$/g, ''), port } };
  };

  const kubeconfig =
    optional('kubeconfig', nonEmptyRule('a kubeconfig file path')) ??
    (env.KUBECONFIG ? parse('kubeconfig', { value: env.KUBECONFIG, source: 'KUBECONFIG' }, nonEmptyRule('a kubeconfig file path')) : undefined);

  const controllerClass = option('controller-class', objectNameRule, DEFAULT_CONTROLLER_CLASS);
  return {
    metricsPort: option('metrics-port', portRule, 8080),
    metricsHost: option('metrics-host', nonEmptyRule('an address to listen on, like 0.0.0.0 or 127.0.0.1'), '0.0.0.0'),
    concurrency: option('concurrency', integer(1, 64), 4),
    logLevel: option('log-level', logLevelRule, 'info'),
    namespace: optional('namespace', namespaceRule) ?? defaultNamespace(env, readFile, parse),
    watchNamespaces: option('watch-namespaces', namespaceListRule, []),
    leaderElect: option('leader-elect', booleanRule, true),
    controllerClass,
    // Two installations of different classes in one namespace must not elect one leader between them.
    leaseName: option('lease-name', objectNameRule, controllerClass === DEFAULT_CONTROLLER_CLASS ? 'secret-relay-leader' : `secret-relay-leader-${controllerClass}`),
    leaseDurationMs,
    leaseRenewDeadlineMs,
    leaseRetryPeriodMs,
    auditLogFile: optional('audit-log-file', nonEmptyRule('a file path')),
    ...changeWebhookOption(),
    ...vaultAuditListenOption(),
    kubeconfig,
    kubeToken: secretOption('kube-token', kubeTokenRule),
    qps: option('qps', positiveNumber(10_000), 50),
    burst: option('burst', integer(1, 100_000), 100),
    queueQps: option('queue-qps', positiveNumber(100_000), 200),
    queueBurst: option('queue-burst', integer(1, 1_000_000), 1000),
    refreshTimePeriodMs: option('refresh-time-period', durationRule(0), DEFAULT_REFRESH_TIME_PERIOD_MS),
    hmacKeySecret: option('hmac-key-secret', objectNameRule, 'secret-relay-hmac-key'),
    hmacKey: secretOption('hmac-key', hmacKeyRule),
    identity: optional('identity', identityRule) ?? `${identitySource.hostname()}_${identitySource.randomSuffix()}`,
    sandboxWorkers: option('sandbox-workers', integer(1, 16), 2),
    sandboxTimeoutMs: option('sandbox-timeout', durationRule(100), 5_000),
    sandboxMemoryMb: option('sandbox-memory', integer(32, 4096), 64),
    namespaceSandboxBudgetMs: option('namespace-sandbox-budget', durationRule(0), 30_000),
    minRefreshIntervalMs: option('min-refresh-interval', durationRule(0), 0),
    sandboxInlineBytes: option('sandbox-inline-bytes', integer(0, 1024 * 1024), 64 * 1024),
    tenancy: {
      operatorIdentity: option('operator-identity', operatorIdentityRule, 'cluster-stores'),
      trustedEndpointHosts: option('trusted-endpoint-hosts', hostListRule, []),
      allowInsecureHttp: option('allow-insecure-http', booleanRule, false),
      operatorTokenFiles: option('operator-token-files', absolutePathListRule, []),
    },
    serviceAccountName: option('service-account-name', objectNameRule, 'secret-relay'),
  };
}

/** POD_NAMESPACE (downward API), else the ServiceAccount's namespace file, else the default. */
function defaultNamespace(
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile,
  parse: <T>(name: string, input: RawValue, rule: Rule<T>) => T,
): string {
  if (env.POD_NAMESPACE) return parse('namespace', { value: env.POD_NAMESPACE, source: 'POD_NAMESPACE' }, namespaceRule);
  let fromFile: string | undefined;
  try {
    fromFile = Buffer.from(readFile(IN_CLUSTER_NAMESPACE_FILE)).toString('utf8').trim();
  } catch {
    // Not in a pod: fall through to the default.
  }
  if (fromFile) return parse('namespace', { value: fromFile, source: IN_CLUSTER_NAMESPACE_FILE }, namespaceRule);
  return DEFAULT_NAMESPACE;
}
