// `npm run testbed -- gcp` as a user runs it: a child process against the cluster in KUBECONFIG; the printed
// manifests applied to the real apiserver with an operator running; the sample synced; a version added with the
// printed command reaches the Secret; Ctrl-C stops the bed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { repoRoot } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, startTestOperator, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitSecretData } from '../support/integration.ts';
import { applyPrinted, runTestbed } from '../support/testbed-run.ts';
import type { TestKube } from '../support/kube.ts';
import { createGcpProvider } from '../../src/providers/gcp/provider.ts';

let cluster: LocalCluster;
let kube: TestKube;
let op: TestOperator;
const namespaces = new TestNamespaces('gcp-bed');
const secrets = new SecretValues();

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false'], providers: [createGcpProvider()] });
});

after(async () => {
  await stopTestOperator(op, 'gcp-testbed');
  await cluster?.stop();
});

test('npm run testbed -- gcp: the printed manifests sync the sample; the printed command adds a version that reaches the Secret', async () => {
  const ns = await namespaces.create(kube);
  const testbed = await runTestbed('gcp', ns, cluster.kubeconfigPath, /add-version/, 30_000);
  const stdout = testbed.printed;
  let exitCode: number | null;
  try {
    assert.match(stdout, /gcp test bed is running/);
    assert.match(stdout, /Secret Manager \(gRPC, plaintext\): 127\.0\.0\.1:\d+/);
    await applyPrinted(kube, ns, testbed.objects);
    await waitSecretData(kube, ns, 'gcp-sample', { password: 'change-me', username: 'demo' });

    // The printed command, run as printed (its environment assignments, then node …).
    const line = stdout.split('\n').find((l) => l.includes('cli.ts add-version'))!.trim();
    const env = Object.fromEntries([...line.matchAll(/(GCP_FAKE_[A-Z]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
    const rotated = secrets.next('rotated');
    await promisify(execFile)(process.execPath, ['test/fakes/gcp/cli.ts', 'add-version', 'sample', JSON.stringify({ username: 'demo', password: rotated })], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
    });
    await waitSecretData(kube, ns, 'gcp-sample', { password: rotated, username: 'demo' }, 15_000 + 5_000 + 5_000);
  } finally {
    exitCode = await testbed.stop();
  }
  assert.equal(exitCode, 0, `the test bed stops cleanly on Ctrl-C: ${testbed.stderr()}`);
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets });
});
