// `npm run testbed -- alibaba` end to end: the test bed runs as a user would start it (a child process with
// $KUBECONFIG), its printed manifests are applied unchanged to the control plane, the operator syncs the sample
// through RRSA, and a version put through the printed control endpoint reaches the Secret through the change feed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, decodeData, readSecret, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitSecretData } from '../support/integration.ts';
import { applyPrinted, runTestbed, type RunningTestbed } from '../support/testbed-run.ts';
import type { TestKube } from '../support/kube.ts';
import { createAlibabaProvider } from '../../src/providers/alibaba/provider.ts';

let cluster: LocalCluster;
let kube: TestKube;
let op: TestOperator;
let testbed: RunningTestbed | undefined;
const namespaces = new TestNamespaces('alibaba-testbed');
const secrets = new SecretValues();

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false'], providers: [createAlibabaProvider()] });
});

after(async () => {
  await testbed?.stop();
  await stopTestOperator(op, 'alibaba-testbed');
  await cluster?.stop();
});

test('the printed SecretStore and ExternalSecret sync the sample through RRSA; a PUT to the control endpoint rotates it through the change feed', async () => {
  const ns = await namespaces.create(kube);
  testbed = await runTestbed('alibaba', ns, cluster.kubeconfigPath, /curl -X PUT/);
  const { printed } = testbed;
  assert.match(printed, /KMS \(RPC, signature V1\): http:\/\/127\.0\.0\.1:\d+/);
  await applyPrinted(kube, ns, testbed.objects);
  const synced = await waitFor('the sample Secret', async () => decodeData(await readSecret(kube, ns, 'alibaba-sample')), 30_000);
  assert.equal(synced['username'], 'demo');
  assert.equal(synced['password'], secrets.add(synced['password']!));

  const curl = /curl -X PUT --data-binary '[^']*' (http:\/\/127\.0\.0\.1:\d+)\/secrets\/([\w-]+)/.exec(printed)!;
  const rotated = secrets.next('rotated');
  const response = await fetch(`${curl[1]}/secrets/${curl[2]}`, { method: 'PUT', body: JSON.stringify({ username: 'demo', password: rotated }) });
  assert.equal(response.status, 200);
  // refreshInterval is 1h: only the change feed brings the new version in time.
  await waitSecretData(kube, ns, 'alibaba-sample', { password: rotated, username: 'demo' }, 15_000);
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets, atLeast: 2 });
});
