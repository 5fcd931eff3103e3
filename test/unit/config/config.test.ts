import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, HelpRequested, IN_CLUSTER_NAMESPACE_FILE, loadConfig, usage } from '../../../src/config.ts';
import type { Config } from '../../../src/config.ts';

const KEY = 'k'.repeat(32);

/** A fake filesystem: only the listed paths exist. */
function files(contents: Record<string, string> = {}) {
  const read: string[] = [];
  const readFile = (path: string): Uint8Array => {
    read.push(path);
    const content = contents[path];
    if (content === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: 'ENOENT' });
    return Buffer.from(content);
  };
  return { readFile, read };
}

const identity = { hostname: () => 'node-1', randomSuffix: () => 'abcd1234' };

function load(argv: string[] = [], env: Record<string, string> = {}, fs: Record<string, string> = {}): Config {
  return loadConfig(argv, env, files(fs).readFile, identity);
}

function failure(argv: string[], env: Record<string, string> = {}, fs: Record<string, string> = {}): ConfigError {
  try {
    load(argv, env, fs);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${JSON.stringify(argv)} ${JSON.stringify(env)} to be rejected`);
}

test('defaults when nothing is given', () => {
  assert.deepEqual(load(), {
    metricsPort: 8080,
    metricsHost: '0.0.0.0',
    concurrency: 4,
    logLevel: 'info',
    namespace: 'secret-relay-system',
    watchNamespaces: [],
    leaderElect: true,
    controllerClass: 'default',
    leaseName: 'secret-relay-leader',
    leaseDurationMs: 15_000,
    leaseRenewDeadlineMs: 10_000,
    leaseRetryPeriodMs: 2_000,
    auditLogFile: undefined,
    kubeconfig: undefined,
    kubeToken: undefined,
    qps: 50,
    burst: 100,
    queueQps: 200,
    queueBurst: 1000,
    refreshTimePeriodMs: 600_000,
    hmacKeySecret: 'secret-relay-hmac-key',
    hmacKey: undefined,
    identity: 'node-1_abcd1234',
    sandboxWorkers: 2,
    sandboxTimeoutMs: 5_000,
    sandboxMemoryMb: 64,
    namespaceSandboxBudgetMs: 30_000,
    minRefreshIntervalMs: 0,
    sandboxInlineBytes: 65_536,
    tenancy: { operatorIdentity: 'cluster-stores', trustedEndpointHosts: [], allowInsecureHttp: false, operatorTokenFiles: [] },
    serviceAccountName: 'secret-relay',
  });
});

test('the change webhook listener serves HTTPS only', () => {
  assert.throws(() => load(['--change-webhook-port=8443']), /--change-webhook-port needs --change-webhook-tls-cert-file and --change-webhook-tls-key-file/);
});

test('every option from flags', () => {
  const config = load([
    '--metrics-port=9090',
    '--metrics-host=127.0.0.1',
    '--concurrency=16',
    '--log-level=debug',
    '--namespace=ops',
    '--watch-namespaces=team-b, team-a,,team-b',
    '--leader-elect=false',
    '--lease-name=relay.lease',
    '--lease-duration=30s',
    '--lease-renew-deadline=20s',
    '--lease-retry-period=500ms',
    '--audit-log-file=/var/log/audit.jsonl',
    '--kubeconfig=/home/me/.kube/config',
    '--qps=12.5',
    '--burst=25',
    '--queue-qps=75.5',
    '--queue-burst=150',
    '--refresh-time-period=0',
    '--hmac-key-secret=my-key',
    '--identity=pod-7',
    '--sandbox-workers=3',
    '--sandbox-timeout=2s',
    '--sandbox-memory=96',
    '--namespace-sandbox-budget=0',
    '--min-refresh-interval=30s',
    '--sandbox-inline-bytes=0',
    '--operator-identity=none',
    '--trusted-endpoint-hosts=Vault.Internal, *.corp.example,vault.internal',
    '--allow-insecure-http',
    '--operator-token-files=/var/run/secrets/tokens/rrsa',
    '--service-account-name=relay',
    '--change-webhook-port=8443',
    '--change-webhook-host=127.0.0.1',
    '--change-webhook-tls-cert-file=/tls/tls.crt',
    '--change-webhook-tls-key-file=/tls/tls.key',
    '--vault-audit-listen=0.0.0.0:9090',
  ]);
  assert.deepEqual(config, {
    metricsPort: 9090,
    metricsHost: '127.0.0.1',
    changeWebhook: { port: 8443, host: '127.0.0.1', certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' },
    vaultAuditListen: { host: '0.0.0.0', port: 9090 },
    concurrency: 16,
    logLevel: 'debug',
    namespace: 'ops',
    watchNamespaces: ['team-a', 'team-b'],
    leaderElect: false,
    controllerClass: 'default',
    leaseName: 'relay.lease',
    leaseDurationMs: 30_000,
    leaseRenewDeadlineMs: 20_000,
    leaseRetryPeriodMs: 500,
    auditLogFile: '/var/log/audit.jsonl',
    kubeconfig: '/home/me/.kube/config',
    kubeToken: undefined,
    qps: 12.5,
    burst: 25,
    queueQps: 75.5,
    queueBurst: 150,
    refreshTimePeriodMs: 0,
    hmacKeySecret: 'my-key',
    hmacKey: undefined,
    identity: 'pod-7',
    sandboxWorkers: 3,
    sandboxTimeoutMs: 2_000,
    sandboxMemoryMb: 96,
    namespaceSandboxBudgetMs: 0,
    minRefreshIntervalMs: 30_000,
    sandboxInlineBytes: 0,
    tenancy: { operatorIdentity: 'none', trustedEndpointHosts: ['vault.internal', '*.corp.example'], allowInsecureHttp: true, operatorTokenFiles: ['/var/run/secrets/tokens/rrsa'] },
    serviceAccountName: 'relay',
  });
});

test('tenancy options are refused with one line naming the option and what it takes', () => {
  assert.throws(() => load(['--operator-identity=everyone']), /--operator-identity must be one of cluster-stores, none, all, got 'everyone'/);
  assert.throws(() => load(['--trusted-endpoint-hosts=https://vault.internal']), /--trusted-endpoint-hosts must be a comma-separated list of host names or addresses, each optionally as \*\.suffix \(no scheme, port or path\)/);
  assert.throws(() => load(['--trusted-endpoint-hosts=vault.internal:8200']), /--trusted-endpoint-hosts must be/);
  assert.throws(() => load(['--operator-token-files=relative/token']), /--operator-token-files must be a comma-separated list of absolute file paths without \. or \.\. segments/);
  assert.throws(() => load(['--operator-token-files=/var/run/../../proc/self/environ']), /--operator-token-files must be/);
});

test('"--name value" works like "--name=value"; a bare boolean flag means true', () => {
  const config = load(['--concurrency', '8', '--leader-elect', '--log-level', 'warn'], { SECRET_RELAY_LEADER_ELECT: 'false' });
  assert.equal(config.concurrency, 8);
  assert.equal(config.leaderElect, true);
  assert.equal(config.logLevel, 'warn');
});

test('every option from SECRET_RELAY_* environment variables', () => {
  const config = load([], {
    SECRET_RELAY_METRICS_PORT: '0',
    SECRET_RELAY_CONCURRENCY: '2',
    SECRET_RELAY_LOG_LEVEL: 'error',
    SECRET_RELAY_NAMESPACE: 'ops',
    SECRET_RELAY_WATCH_NAMESPACES: 'x,y',
    SECRET_RELAY_LEADER_ELECT: '0',
    SECRET_RELAY_LEASE_NAME: 'l',
    SECRET_RELAY_LEASE_DURATION: '1m',
    SECRET_RELAY_AUDIT_LOG_FILE: '/a',
    SECRET_RELAY_KUBECONFIG: '/kc',
    SECRET_RELAY_QPS: '5',
    SECRET_RELAY_BURST: '10',
    SECRET_RELAY_QUEUE_QPS: '20',
    SECRET_RELAY_QUEUE_BURST: '40',
    SECRET_RELAY_HMAC_KEY_SECRET: 'hk',
    SECRET_RELAY_IDENTITY: 'me',
  });
  assert.equal(config.metricsPort, 0);
  assert.equal(config.concurrency, 2);
  assert.equal(config.logLevel, 'error');
  assert.equal(config.namespace, 'ops');
  assert.deepEqual(config.watchNamespaces, ['x', 'y']);
  assert.equal(config.leaderElect, false);
  assert.equal(config.leaseName, 'l');
  assert.equal(config.leaseDurationMs, 60_000);
  assert.equal(config.auditLogFile, '/a');
  assert.equal(config.kubeconfig, '/kc');
  assert.equal(config.qps, 5);
  assert.equal(config.burst, 10);
  assert.equal(config.queueQps, 20);
  assert.equal(config.queueBurst, 40);
  assert.equal(config.hmacKeySecret, 'hk');
  assert.equal(config.identity, 'me');
});

test('flags win over the environment', () => {
  const config = load(['--concurrency=3', '--namespace=from-flag', '--kubeconfig=/flag'], {
    SECRET_RELAY_CONCURRENCY: '9',
    SECRET_RELAY_NAMESPACE: 'from-env',
    POD_NAMESPACE: 'from-pod',
    SECRET_RELAY_KUBECONFIG: '/env',
    KUBECONFIG: '/kubeconfig-env',
  });
  assert.equal(config.concurrency, 3);
  assert.equal(config.namespace, 'from-flag');
  assert.equal(config.kubeconfig, '/flag');
});

test('the operator namespace: SECRET_RELAY_NAMESPACE, then POD_NAMESPACE, then the in-cluster file, then the default', () => {
  const inCluster = { [IN_CLUSTER_NAMESPACE_FILE]: 'from-file\n' };
  assert.equal(load([], { SECRET_RELAY_NAMESPACE: 'a', POD_NAMESPACE: 'b' }, inCluster).namespace, 'a');
  assert.equal(load([], { POD_NAMESPACE: 'b' }, inCluster).namespace, 'b');
  assert.equal(load([], {}, inCluster).namespace, 'from-file');
  assert.equal(load([], {}, {}).namespace, 'secret-relay-system');
});

test('kubeconfig: the flag, then SECRET_RELAY_KUBECONFIG, then KUBECONFIG, else in-cluster (undefined)', () => {
  assert.equal(load([], { SECRET_RELAY_KUBECONFIG: '/a', KUBECONFIG: '/b' }).kubeconfig, '/a');
  assert.equal(load([], { KUBECONFIG: '/b' }).kubeconfig, '/b');
  assert.equal(load([], { KUBECONFIG: '' }).kubeconfig, undefined);
  assert.equal(load().kubeconfig, undefined);
});

test('the HMAC key from SECRET_RELAY_HMAC_KEY_FILE, --hmac-key-file or SECRET_RELAY_HMAC_KEY', () => {
  const fs = { '/etc/relay/hmac': `${KEY}\n` };
  const fromEnvFile = load([], { SECRET_RELAY_HMAC_KEY_FILE: '/etc/relay/hmac' }, fs).hmacKey;
  assert.deepEqual(fromEnvFile, new Uint8Array(Buffer.from(KEY)), 'one trailing newline is not part of the key');
  assert.deepEqual(load(['--hmac-key-file=/etc/relay/hmac'], {}, fs).hmacKey, new Uint8Array(Buffer.from(KEY)));
  assert.deepEqual(load([], { SECRET_RELAY_HMAC_KEY: KEY }).hmacKey, new Uint8Array(Buffer.from(KEY)));
});

test('the apiserver token from SECRET_RELAY_KUBE_TOKEN_FILE', () => {
  const { readFile, read } = files({ '/run/token': 'eyJhbGciOi.token\n' });
  const config = loadConfig([], { SECRET_RELAY_KUBE_TOKEN_FILE: '/run/token' }, readFile, identity);
  assert.equal(config.kubeToken, 'eyJhbGciOi.token');
  assert.ok(read.includes('/run/token'));
});

test('a secret given two ways is refused rather than guessed', () => {
  const err = failure(['--hmac-key-file=/a'], { SECRET_RELAY_HMAC_KEY: KEY }, { '/a': KEY });
  assert.equal(err.option, 'hmac-key');
  assert.match(err.message, /--hmac-key-file and SECRET_RELAY_HMAC_KEY are both set; set only one/);
  assert.ok(!err.message.includes(KEY));
});

test('secrets are never accepted as flags, and never echoed in errors', () => {
  const flag = failure([`--hmac-key=${KEY}`]);
  assert.match(flag.message, /--hmac-key cannot be given on the command line.*--hmac-key-file=PATH/);
  assert.ok(!flag.message.includes(KEY));

  const short = failure([], { SECRET_RELAY_HMAC_KEY_FILE: '/k' }, { '/k': 'tiny-secret' });
  assert.match(short.message, /^the file '\/k' \(SECRET_RELAY_HMAC_KEY_FILE\) must be at least 32 bytes long/);
  assert.ok(!short.message.includes('tiny-secret'));

  const token = failure([], { SECRET_RELAY_KUBE_TOKEN: 'has space secret' });
  assert.match(token.message, /^SECRET_RELAY_KUBE_TOKEN must be a non-empty token/);
  assert.ok(!token.message.includes('space secret'));
});

test('an unreadable *_FILE names the variable and the path', () => {
  const err = failure([], { SECRET_RELAY_HMAC_KEY_FILE: '/missing/key' });
  assert.equal(err.option, 'hmac-key');
  assert.equal(
    err.message,
    "SECRET_RELAY_HMAC_KEY_FILE names '/missing/key', which cannot be read (ENOENT); check the path and that the Secret is mounted there",
  );
});

// Each bad value: where it was set, and the exact message the user sees.
const badValues: ReadonlyArray<[string[], Record<string, string>, string, string]> = [
  [['--concurrency=abc'], {}, 'concurrency', "--concurrency must be an integer between 1 and 64, got 'abc'"],
  [['--concurrency=0'], {}, 'concurrency', "--concurrency must be an integer between 1 and 64, got '0'"],
  [['--concurrency=65'], {}, 'concurrency', "--concurrency must be an integer between 1 and 64, got '65'"],
  [['--concurrency=2.5'], {}, 'concurrency', "--concurrency must be an integer between 1 and 64, got '2.5'"],
  [[], { SECRET_RELAY_CONCURRENCY: '' }, 'concurrency', "SECRET_RELAY_CONCURRENCY must be an integer between 1 and 64, got ''"],
  [['--metrics-port=70000'], {}, 'metrics-port', "--metrics-port must be an integer between 0 and 65535, got '70000'"],
  [[], { SECRET_RELAY_METRICS_PORT: 'tcp://10.0.0.1:8080' }, 'metrics-port', "SECRET_RELAY_METRICS_PORT must be an integer between 0 and 65535, got 'tcp://10.0.0.1:8080'"],
  [['--metrics-host='], {}, 'metrics-host', "--metrics-host must be an address to listen on, like 0.0.0.0 or 127.0.0.1, got ''"],
  [['--log-level=loud'], {}, 'log-level', "--log-level must be one of fatal, error, warn, info, debug, trace, silent, got 'loud'"],
  [['--namespace=Team_A'], {}, 'namespace', `--namespace must be a namespace name (lowercase letters, digits and "-", at most 63 characters), got 'Team_A'`],
  [[], { POD_NAMESPACE: 'Bad' }, 'namespace', `POD_NAMESPACE must be a namespace name (lowercase letters, digits and "-", at most 63 characters), got 'Bad'`],
  [['--watch-namespaces=a,B c'], {}, 'watch-namespaces', "--watch-namespaces must be a comma-separated list of namespace names (empty for all namespaces), got 'a,B c'"],
  [['--leader-elect=yes'], {}, 'leader-elect', "--leader-elect must be true or false, got 'yes'"],
  [['--lease-name=-bad-'], {}, 'lease-name', `--lease-name must be a Kubernetes object name (lowercase letters, digits, "-" and ".", at most 253 characters), got '-bad-'`],
  [['--lease-duration=15'], {}, 'lease-duration', `--lease-duration must be a duration of at least 1s, like "15s", "1m30s" or "500ms", got '15' ('15' has no unit)`],
  [['--lease-duration=1d'], {}, 'lease-duration', `--lease-duration must be a duration of at least 1s, like "15s", "1m30s" or "500ms", got '1d' (unknown unit 'd')`],
  [['--lease-duration=500ms'], {}, 'lease-duration', `--lease-duration must be a duration of at least 1s, like "15s", "1m30s" or "500ms", got '500ms'`],
  [['--lease-duration=5s'], {}, 'lease-renew-deadline', '--lease-renew-deadline (10s, the default) must be shorter than --lease-duration (5s), or two leaders could overlap; lower it or raise the lease duration'],
  [['--lease-renew-deadline=5s', '--lease-retry-period=5s'], {}, 'lease-retry-period', '--lease-retry-period (5s) must be shorter than --lease-renew-deadline (5s)'],
  [['--audit-log-file='], {}, 'audit-log-file', "--audit-log-file must be a file path, got ''"],
  [['--qps=0'], {}, 'qps', "--qps must be a number greater than 0 and at most 10000, got '0'"],
  [['--qps=fast'], {}, 'qps', "--qps must be a number greater than 0 and at most 10000, got 'fast'"],
  [['--burst=-1'], {}, 'burst', "--burst must be an integer between 1 and 100000, got '-1'"],
  [['--queue-qps=0'], {}, 'queue-qps', "--queue-qps must be a number greater than 0 and at most 100000, got '0'"],
  [[], { SECRET_RELAY_QUEUE_BURST: '0' }, 'queue-burst', "SECRET_RELAY_QUEUE_BURST must be an integer between 1 and 1000000, got '0'"],
  [['--hmac-key-secret=Key!'], {}, 'hmac-key-secret', `--hmac-key-secret must be a Kubernetes object name (lowercase letters, digits, "-" and ".", at most 253 characters), got 'Key!'`],
  [['--identity=has space'], {}, 'identity', "--identity must be a non-empty string of printable characters without spaces, at most 128 long, got 'has space'"],
  [['--kubeconfig='], {}, 'kubeconfig', "--kubeconfig must be a kubeconfig file path, got ''"],
  [['--hmac-key-file='], {}, 'hmac-key', "--hmac-key-file must be a file path, got ''"],
  [['--bogus=1'], {}, 'bogus', 'unknown flag --bogus; run with --help to list the options'],
  [['--qps'], {}, 'qps', '--qps needs a value: write --qps=VALUE'],
  [['stray'], {}, '', "unexpected argument 'stray': options are written --name=value; run with --help to list them"],
];

for (const [argv, env, option, message] of badValues) {
  test(`rejects ${[...argv, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].join(' ')}`, () => {
    const err = failure(argv, env);
    assert.equal(err.message, message);
    assert.equal(err.option, option);
  });
}

test('--help throws HelpRequested carrying the usage, which lists every option and its variable', () => {
  assert.throws(() => load(['--concurrency=2', '--help']), (err: unknown) => err instanceof HelpRequested && err.message === usage());
  const text = usage();
  for (const name of ['metrics-port', 'concurrency', 'log-level', 'namespace', 'watch-namespaces', 'leader-elect', 'lease-name', 'lease-duration', 'audit-log-file', 'kubeconfig', 'qps', 'burst', 'queue-qps', 'queue-burst', 'hmac-key-secret', 'identity']) {
    assert.ok(text.includes(`--${name}`), name);
    assert.ok(text.includes(`SECRET_RELAY_${name.toUpperCase().replaceAll('-', '_')}`), name);
  }
  assert.ok(text.includes('--hmac-key-file=PATH'));
  assert.ok(text.includes('SECRET_RELAY_HMAC_KEY_FILE'));
});

test('unrelated SECRET_RELAY_* variables (Kubernetes service links) are ignored', () => {
  const config = load([], { SECRET_RELAY_SERVICE_HOST: '10.0.0.1', SECRET_RELAY_PORT: 'tcp://10.0.0.1:443' });
  assert.equal(config.metricsPort, 8080);
});

test('--controller-class names the class served; its Lease is its own unless --lease-name says otherwise', () => {
  const sharded = load(['--controller-class', 'shard-b']);
  assert.equal(sharded.controllerClass, 'shard-b');
  assert.equal(sharded.leaseName, 'secret-relay-leader-shard-b');
  assert.equal(load(['--controller-class', 'shard-b', '--lease-name', 'mine']).leaseName, 'mine');
  assert.match(failure(['--controller-class', 'Shard_B']).message, /controller-class/);
});
