// `npm run testbed -- vault` end to end: the test bed runs as a user would start it (a child process with
// $KUBECONFIG), the operator listens for audit entries where the printed run line says, the printed manifests are
// applied unchanged, the sample syncs through kubernetes auth (OpenBao reviewing the token with the cluster's
// TokenReview), and the printed `bao kv put` reaches the Secret through the audit socket with refreshInterval 1h.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import type { LocalCluster } from '../support/cluster.ts';
import { repoRoot } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, decodeData, readSecret, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitSecretData } from '../support/integration.ts';
import { applyPrinted, runTestbed, type RunningTestbed } from '../support/testbed-run.ts';
import type { TestKube } from '../support/kube.ts';
import { createVaultProvider } from '../../src/providers/vault/provider.ts';
import { createAuditStream, type AuditStream } from '../../src/providers/vault/audit-stream.ts';
import { createLogger } from '../../src/log.ts';

let cluster: LocalCluster;
let kube: TestKube;
let op: TestOperator | undefined;
let stream: AuditStream | undefined;
let testbed: RunningTestbed | undefined;
const namespaces = new TestNamespaces('vault-testbed');
const secrets = new SecretValues();

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
});

after(async () => {
  await testbed?.stop();
  if (op) await stopTestOperator(op, 'vault-testbed');
  stream?.close();
  await cluster?.stop();
});

test('the printed store syncs the sample through kubernetes auth; the printed bao kv put arrives through the audit socket', async () => {
  const ns = await namespaces.create(kube);
  testbed = await runTestbed('vault', ns, cluster.kubeconfigPath, /kv put/);
  const { printed } = testbed;

  // The run line: the operator listens for the server's audit device on the printed port.
  const listen = /^ {2}npm start -- --vault-audit-listen=127\.0\.0\.1:(\d+)$/m.exec(printed);
  assert.ok(listen, `the run line names --vault-audit-listen:\n${printed}`);
  stream = createAuditStream({ host: '127.0.0.1', port: Number(listen[1]), logger: createLogger({ level: 'silent' }) });
  await stream.listen();
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false'], providers: [createVaultProvider({}, { auditStream: stream })] });

  await applyPrinted(kube, ns, testbed.objects);
  const synced = await waitFor('the sample Secret', async () => decodeData(await readSecret(kube, ns, 'vault-sample')), 30_000);
  assert.deepEqual(synced, { username: 'demo', password: secrets.add(synced['password']!) });

  // The printed commands, run as printed but for the new password (a shell: export, then the CLI).
  const exportLine = /^ {2}(export BAO_ADDR=\S+ BAO_TOKEN=\S+)$/m.exec(printed);
  const putLine = /^ {2}(\S+bao kv put secret\/(\S+) username=demo) password=rotated$/m.exec(printed);
  assert.ok(exportLine && putLine, `the printed bao commands:\n${printed}`);
  const rotated = secrets.next('rotated');
  await promisify(execFile)('bash', ['-c', `${exportLine[1]} && ${putLine[1]} password=${rotated}`], { cwd: repoRoot });
  // refreshInterval is 1h: only the audit socket brings the new version in time.
  await waitSecretData(kube, ns, 'vault-sample', { username: 'demo', password: rotated }, 15_000);
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets, atLeast: 2 });
});

test('stopping the test bed removes the reviewer it bound to system:auth-delegator', async () => {
  assert.ok(testbed, 'the first test started the test bed');
  const bindings = () => kube.config.makeApiClient(k8s.RbacAuthorizationV1Api).listClusterRoleBinding().then((list) => list.items.map((b) => b.metadata!.name!).filter((n) => n.startsWith('secret-relay-testbed-openbao-reviewer-')));
  const ns = namespaces.names[0]!;
  assert.equal((await bindings()).filter((n) => n.endsWith(`-${ns}`)).length, 1);
  await testbed.stop();
  assert.deepEqual((await bindings()).filter((n) => n.endsWith(`-${ns}`)), []);
});
