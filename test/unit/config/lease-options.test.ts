// The lease options are checked where the user sets them, in one line naming the option: whatever the
// configuration accepts, the leader elector accepts too (it used to refuse some deep in start-up).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../../src/config.ts';
import { LeaderElector } from '../../../src/controller/runtime/leader-election.ts';
import type { LeaseStore } from '../../../src/k8s/lease-record.ts';

const noFiles = (path: string): Uint8Array => {
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
};
const identity = { hostname: () => 'node-1', randomSuffix: () => 'abcd1234' };
const load = (argv: string[]) => loadConfig(argv, {}, noFiles, identity);

function refusal(argv: string[]): ConfigError {
  try {
    load(argv);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail(`${argv.join(' ')} was accepted`);
}

test('a lease duration that is not whole seconds is refused by the configuration, naming the option', () => {
  const err = refusal(['--lease-duration=1500ms', '--lease-renew-deadline=1s', '--lease-retry-period=100ms']);
  assert.equal(err.option, 'lease-duration');
  assert.equal(err.message, "--lease-duration must be a whole number of seconds (a Lease holds seconds), got '1500ms'");
});

test("a retry period whose 20 % jitter reaches the renew deadline is refused by the configuration, naming the option", () => {
  const err = refusal(['--lease-renew-deadline=10s', '--lease-retry-period=9s']);
  assert.equal(err.option, 'lease-retry-period');
  assert.equal(err.message, '--lease-retry-period (9s) plus its 20% jitter must be shorter than --lease-renew-deadline (10s): at most 8s333ms');
  assert.equal(err.message.includes('\n'), false);
});

test('every lease timing the configuration accepts, the elector accepts', () => {
  const store: LeaseStore = { get: async () => undefined, create: async (l) => l, replace: async (l) => l };
  const durations = ['1s', '2s', '1500ms', '3s', '15s', '20s'];
  const deadlines = ['100ms', '900ms', '1s', '2s', '2500ms', '10s', '14s'];
  const retries = ['10ms', '500ms', '800ms', '1s', '2s', '8s', '9s'];
  let accepted = 0;
  for (const d of durations) {
    for (const r of deadlines) {
      for (const p of retries) {
        let config;
        try {
          config = load([`--lease-duration=${d}`, `--lease-renew-deadline=${r}`, `--lease-retry-period=${p}`]);
        } catch (err) {
          assert.ok(err instanceof ConfigError, String(err));
          continue;
        }
        accepted++;
        assert.doesNotThrow(
          () =>
            new LeaderElector({
              store,
              namespace: 'ns',
              name: 'l',
              identity: 'me',
              leaseDurationMs: config.leaseDurationMs,
              renewDeadlineMs: config.leaseRenewDeadlineMs,
              retryPeriodMs: config.leaseRetryPeriodMs,
              onStartedLeading: () => {},
              onStoppedLeading: () => {},
            }),
          `--lease-duration=${d} --lease-renew-deadline=${r} --lease-retry-period=${p}`,
        );
      }
    }
  }
  assert.ok(accepted > 20, `only ${accepted} combinations accepted`);
});
