// `npm run testbed -- alibaba` end to end: the test bed runs as a user would start it (a child process with
// $KUBECONFIG), its printed manifests are applied unchanged to the control plane, the operator syncs the sample
// through RRSA, and a version put through the printed control endpoint reaches the Secret through the change feed.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { LocalCluster } from '../support/cluster.ts';
import { repoRoot } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, createObject, decodeData, Plural, readSecret, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitSecretData } from '../support/integration.ts';
import { MANIFESTS_BEGIN, MANIFESTS_END } from '../testbeds/testbed.ts';
import type { TestKube } from '../support/kube.ts';
import { createAlibabaProvider } from '../../src/providers/alibaba/provider.ts';

let cluster: LocalCluster;
let kube: TestKube;
let op: TestOperator;
let testbed: ChildProcess | undefined;
const namespaces = new TestNamespaces('alibaba-testbed');
const secrets = new SecretValues();

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false'], providers: [createAlibabaProvider()] });
});

after(async () => {
  testbed?.kill('SIGINT');
  await stopTestOperator(op, 'alibaba-testbed');
  await cluster?.stop();
});

test('the printed SecretStore and ExternalSecret sync the sample through RRSA; a PUT to the control endpoint rotates it through the change feed', async () => {
  const ns = await namespaces.create(kube);
  testbed = spawn(process.execPath, ['scripts/testbed.ts', 'alibaba', '--namespace', ns], {
    cwd: repoRoot,
    env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  testbed.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  let stderr = '';
  testbed.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const printed = await waitFor('the test bed prints its manifests and how to add secrets', () => (stdout.includes(MANIFESTS_END) && /curl -X PUT/.test(stdout) ? stdout : undefined), 60_000).catch((error: unknown) => {
    throw new Error(`${String(error)}\nstdout: ${stdout}\nstderr: ${stderr}`);
  });
  assert.match(printed, /KMS \(RPC, signature V1\): http:\/\/127\.0\.0\.1:\d+/);
  const yaml = printed.slice(printed.indexOf(MANIFESTS_BEGIN) + MANIFESTS_BEGIN.length, printed.indexOf(MANIFESTS_END));
  const objects = k8s.loadAllYaml(yaml) as { kind: string; metadata: { name: string; namespace: string } }[];
  assert.deepEqual(objects.map((o) => o.kind), ['ServiceAccount', 'SecretStore', 'ExternalSecret']);
  for (const object of objects) {
    if (object.kind === 'ServiceAccount') await kube.core.createNamespacedServiceAccount({ namespace: ns, body: object as k8s.V1ServiceAccount });
    else await createObject(kube, object.kind === 'SecretStore' ? Plural.SecretStore : Plural.ExternalSecret, object as never, ns);
  }
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
