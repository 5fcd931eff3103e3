// npm run demo: the whole product in one command on this machine — a local control plane, the CRDs, the
// operator, a sample store and ExternalSecret — and the Secret it produced. Leaves the control plane running.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { attachCluster, isHealthy, repoRoot, startCluster } from '../test/support/cluster.ts';
import { createKubeClient } from '../src/k8s/kube-client.ts';
import { applyManifests, waitForCrdsEstablished } from '../src/k8s/manifests.ts';
import { core, getObject } from '../src/k8s/resources.ts';

const say = (m: string) => process.stdout.write(`${m}\n`);
const stateDir = process.env['SECRET_RELAY_CLUSTER_STATE'] || join(repoRoot, '.cache/cluster/state');

async function main(): Promise<void> {
  say('1/5 local control plane (kube-apiserver + etcd + controllers; the first run builds it, ~10 min)');
  let cluster = attachCluster(stateDir);
  if (!cluster || !(await isHealthy(cluster))) {
    await cluster?.stop();
    cluster = await startCluster({ stateDir, detached: true, log: (m) => say(`    ${m}`) });
  }
  say(`    ready at ${cluster.server}`);
  const kube = createKubeClient({ kubeconfigPath: cluster.kubeconfigPath });

  say('2/5 CRDs');
  const crdDir = join(repoRoot, 'crds');
  const crds = [];
  for (const file of readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).sort()) {
    crds.push(...(await applyManifests(kube, readFileSync(join(crdDir, file), 'utf8'), 'secret-relay-demo')));
  }
  await waitForCrdsEstablished(kube, crds.map((c) => c.name));
  await applyManifests(kube, 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: secret-relay-system\n', 'secret-relay-demo');

  say('3/5 operator (node src/main.ts)');
  const operator = spawn(process.execPath, [join(repoRoot, 'src/main.ts'), `--kubeconfig=${cluster.kubeconfigPath}`, '--metrics-port=0', '--leader-elect=false'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let operatorExited = false;
  operator.on('exit', () => (operatorExited = true));
  operator.stdout!.resume();

  try {
    say('4/5 examples/fake-store.yaml and examples/external-secret.yaml');
    for (const file of ['examples/fake-store.yaml', 'examples/external-secret.yaml']) {
      await applyManifests(kube, readFileSync(join(repoRoot, file), 'utf8'), 'secret-relay-demo');
    }

    say('5/5 the synced Secret default/demo-app-credentials');
    // Ready=True comes in the status patch after the Secret is written: wait for both, then print.
    type Ready = { type: string; status: string; reason: string; message?: string };
    const readyCondition = async (): Promise<Ready | undefined> => {
      const es = await getObject<{ status?: { conditions?: Ready[] } }>(kube, { group: 'secret-relay.dev', version: 'v1alpha1', namespace: 'default', plural: 'externalsecrets', name: 'demo-app' }).catch(() => undefined);
      return es?.status?.conditions?.find((c) => c.type === 'Ready');
    };
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (operatorExited) throw new Error('the operator exited; run `npm start` with KUBECONFIG set to see why');
      const ready = await readyCondition();
      const secret = ready?.status === 'True' ? await getObject<{ data?: Record<string, string> }>(kube, core('secrets', 'default', 'demo-app-credentials')).catch(() => undefined) : undefined;
      if (ready?.status === 'True' && secret?.data) {
        for (const [key, value] of Object.entries(secret.data).sort()) say(`    ${key}: ${Buffer.from(value, 'base64').toString('utf8')}`);
        say(`    ExternalSecret default/demo-app: Ready=${ready.status} (${ready.reason})`);
        break;
      }
      if (Date.now() > deadline) {
        const seen = ready ? `Ready=${ready.status} (${ready.reason}${ready.message ? `: ${ready.message}` : ''})` : 'no Ready condition yet';
        throw new Error(`ExternalSecret default/demo-app was not Ready=True within 60 s (${seen}); run \`kubectl describe externalsecret demo-app\``);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    operator.kill('SIGTERM');
  }
  say('');
  say('The control plane keeps running. Next:');
  say(`    export KUBECONFIG=${cluster.kubeconfigPath}`);
  say('    npm start                 # run the operator in the foreground');
  say('    npm run cluster:down      # stop the control plane');
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
