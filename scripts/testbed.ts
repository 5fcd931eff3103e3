// `npm run testbed -- NAME [--namespace NS]`: starts one provider's test bed (test/testbeds/NAME.ts) on free loopback
// ports, prints its endpoints, a ready-to-apply YAML stream between the marker lines and how to add secrets, and
// runs until interrupted (Ctrl-C).
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MANIFESTS_BEGIN, MANIFESTS_END, type StartTestbed } from '../test/testbeds/testbed.ts';
import { createKubeClient, KubeApiError } from '../src/k8s/kube-client.ts';

const dir = resolve(import.meta.dirname, '../test/testbeds');
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'testbed.ts')
  .map((f) => f.slice(0, -3))
  .sort();

function fail(message: string): never {
  process.stderr.write(`testbed: ${message}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
const name = args.find((a) => !a.startsWith('--'));
const nsIndex = args.indexOf('--namespace');
const namespace = nsIndex >= 0 ? args[nsIndex + 1] : 'default';
if (!name) fail(`name a test bed: npm run testbed -- NAME (one of: ${available.join(', ') || 'none yet'})`);
if (!namespace) fail('--namespace needs a value');
const file = join(dir, `${name}.ts`);
if (!existsSync(file) || name === 'testbed') fail(`no test bed named ${name} (one of: ${available.join(', ') || 'none yet'})`);

/** The test beds trust the ServiceAccount tokens of the cluster in KUBECONFIG: check it answers before starting anything. */
async function checkCluster(kubeconfigPath: string): Promise<void> {
  if (!existsSync(kubeconfigPath)) {
    fail(`KUBECONFIG names ${kubeconfigPath}, which does not exist: run eval "$(npm run -s cluster:up)" for the local control plane, or point KUBECONFIG at your cluster's kubeconfig`);
  }
  const kube = createKubeClient({ kubeconfigPath, connectTimeoutMs: 5_000, retry: { maxRetries: 0 } });
  try {
    await kube.request({ method: 'GET', path: '/version', signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    // An apiserver that answers (even 401/403) is there, and the test bed says what it lacks; anything else is not.
    if (err instanceof KubeApiError) return;
    const failure = err as { code?: unknown; name?: unknown; message?: unknown; cause?: { code?: unknown } };
    const cause = failure.cause?.code ?? failure.code ?? (failure.name === 'TimeoutError' ? 'no answer within 10 s' : failure.message);
    fail(`the cluster of KUBECONFIG ${kubeconfigPath} does not answer at ${kube.server} (${String(cause)}): start it (eval "$(npm run -s cluster:up)") or point KUBECONFIG at a running cluster`);
  } finally {
    await kube.close();
  }
}
if (process.env.KUBECONFIG) await checkCluster(process.env.KUBECONFIG);

const { startTestbed } = (await import(pathToFileURL(file).href)) as { startTestbed: StartTestbed };
let running;
try {
  running = await startTestbed({ kubeconfigPath: process.env.KUBECONFIG, namespace, log: (line) => process.stderr.write(`${line}\n`) });
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
const out = process.stdout;
out.write(`${name} test bed is running (Ctrl-C stops it)\n`);
for (const [what, where] of Object.entries(running.endpoints)) out.write(`  ${what}: ${where}\n`);
// The SecretStore names the test bed's loopback endpoints: a SecretStore may only name hosts the operator trusts.
out.write(`\nRun the operator against it:\n  ${running.runOperator ?? "npm start -- --trusted-endpoint-hosts=127.0.0.1,localhost   # the store names the test bed's loopback endpoints (docs/security.md)"}\n`);
out.write(`\nApply these to try it (kubectl apply -f -):\n${MANIFESTS_BEGIN}\n${running.manifests.trimEnd()}\n${MANIFESTS_END}\n\n`);
out.write(`${running.howToAddSecrets.trimEnd()}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  running.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`testbed: stopping failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
