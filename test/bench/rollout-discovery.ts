// `npm run bench:rollouts`: how the rollout controller should find the workloads that read a changed Secret —
// (a) cache every Deployment of the cluster in an informer, or (b) LIST the one namespace at the moment of a
// change (what src/k8s/workloads.ts does). Prints heap and apiserver requests of each; a measurement, never
// an assertion (docs/rollouts.md keeps the figures).
//
//   node --expose-gc test/bench/rollout-discovery.ts [--deployments=5000] [--namespaces=50] [--rounds=20]
//
// A private control plane; the Deployments are paused (the deployment controller then makes no ReplicaSets, so
// the machine only pays for what is measured), with a pod template the size of a typical application's.
import { startCluster } from '../support/cluster.ts';
import { adminKube, ensureNamespace } from '../support/operator.ts';
import { createKubeClient } from '../../src/k8s/kube-client.ts';
import { createKindInformer, type KindDescriptor, type KubernetesObject } from '../../src/k8s/informer.ts';
import { createWorkloadClient } from '../../src/k8s/workloads.ts';
import type { KubeVerb } from '../../src/metrics/kube-verbs.ts';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const deployments = Number(args.get('deployments') ?? 5000);
const namespaceCount = Number(args.get('namespaces') ?? 50);
const rounds = Number(args.get('rounds') ?? 20);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:rollouts does)');

const MiB = 1024 * 1024;
function heapUsed(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

function podTemplate(i: number) {
  const secretEnv = (name: string, secret: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } });
  return {
    metadata: { labels: { app: `app-${i}`, tier: 'backend', 'app.kubernetes.io/part-of': 'shop' }, annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' } },
    spec: {
      serviceAccountName: 'app',
      containers: [
        {
          name: 'app',
          image: `registry.example.com/team/app-${i}:1.42.0`,
          ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }],
          env: [
            { name: 'LOG_LEVEL', value: 'info' },
            { name: 'PORT', value: '8080' },
            secretEnv('DB_USER', `db-${i % 20}`, 'username'),
            secretEnv('DB_PASSWORD', `db-${i % 20}`, 'password'),
            secretEnv('API_KEY', 'api-key', 'key'),
          ],
          envFrom: [{ configMapRef: { name: 'app-config' } }],
          volumeMounts: [{ name: 'tls', mountPath: '/etc/tls', readOnly: true }, { name: 'tmp', mountPath: '/tmp' }],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
          readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 5 },
          livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 },
          securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
      volumes: [{ name: 'tls', secret: { secretName: `tls-${i % 10}` } }, { name: 'tmp', emptyDir: {} }],
    },
  };
}

const cluster = await startCluster({ log: (m) => process.stderr.write(`# ${m}\n`) });
try {
  const requests = new Map<KubeVerb, number>();
  // The operator's own client, for what is measured (its informer and its workload client), requests counted.
  const kube = createKubeClient({ kubeconfigPath: cluster.kubeconfigPath, qps: 500, burst: 1000, onRequest: (verb) => requests.set(verb, (requests.get(verb) ?? 0) + 1) });
  // The tests' own client for setting up.
  const admin = adminKube(cluster.kubeconfigPath);
  const namespaces = Array.from({ length: namespaceCount }, (_, i) => `bench-${i}`);
  for (const ns of namespaces) await ensureNamespace(admin, ns);
  process.stderr.write(`# creating ${deployments} Deployments in ${namespaceCount} namespaces\n`);
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let i = next++; i < deployments; i = next++) {
        const ns = namespaces[i % namespaceCount]!;
        await admin.apps.createNamespacedDeployment({
          namespace: ns,
          body: { metadata: { name: `app-${i}`, labels: { app: `app-${i}` } }, spec: { paused: true, replicas: 2, selector: { matchLabels: { app: `app-${i}` } }, template: podTemplate(i) } },
        });
      }
    }),
  );
  process.stderr.write(`# created in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  await admin.close();
  const count = () => [...requests.values()].reduce((a, b) => a + b, 0);

  // (a) An informer caching every Deployment of the cluster (the operator's own informer code).
  const DeploymentKind: KindDescriptor<KubernetesObject> = { kind: 'Deployment', group: 'apps', version: 'v1', plural: 'deployments', namespaced: true };
  const heapBefore = heapUsed();
  const requestsBefore = count();
  const informer = createKindInformer(DeploymentKind, { kube });
  const syncStarted = Date.now();
  await informer.start();
  const syncMs = Date.now() - syncStarted;
  const cached = informer.list().length;
  const heapCache = heapUsed() - heapBefore;
  const cacheStartRequests = count() - requestsBefore;
  await informer.stop();

  // (b) At a change: one LIST each of Deployments, StatefulSets and DaemonSets of one namespace.
  const workloads = createWorkloadClient(kube);
  const perNamespace = Math.round(deployments / namespaceCount);
  const times: number[] = [];
  let transient = 0;
  const listRequestsBefore = count();
  for (let r = 0; r < rounds; r++) {
    const heap0 = heapUsed();
    const t0 = process.hrtime.bigint();
    const listed = await workloads.listApps(namespaces[r % namespaceCount]!);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    transient = Math.max(transient, heapUsed() - heap0);
    if (listed.length !== perNamespace) throw new Error(`listed ${listed.length} workloads, expected ${perNamespace}`);
  }
  const listRequests = (count() - listRequestsBefore) / rounds;
  times.sort((a, b) => a - b);

  console.log(`\nrollout discovery, ${deployments} Deployments in ${namespaceCount} namespaces (${perNamespace} each)\n`);
  console.log('| | cache every Deployment (informer) | LIST one namespace at a change |');
  console.log('|---|---|---|');
  console.log(`| operator heap held | ${(heapCache / MiB).toFixed(1)} MiB (${cached} objects, ${((heapCache / cached) / 1024).toFixed(1)} KiB each), always | 0 between changes; ${(transient / MiB).toFixed(2)} MiB while a LIST result is held |`);
  console.log(`| apiserver requests at start | ${cacheStartRequests} (list + watch) | 0 |`);
  console.log(`| apiserver requests per rotation (finding consumers) | 0, plus every Deployment change in the cluster streamed to the operator | ${listRequests} (LIST deployments, statefulsets, daemonsets; resourceVersion=0, from the watch cache) |`);
  console.log(`| latency to find consumers | ${(syncMs / 1000).toFixed(1)} s once (initial sync), then 0 | median ${times[Math.floor(times.length / 2)]!.toFixed(1)} ms, max ${times[times.length - 1]!.toFixed(1)} ms |`);
  await kube.close();
} finally {
  await cluster.stop();
}
