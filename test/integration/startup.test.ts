// Start-up as a new user meets it, against the real apiserver: every failure is one line on stderr naming what
// is wrong and the fix, the process exits non-zero, and no client dump (HTTP-Code, Body, Headers) is printed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { repoRoot, startCluster, type LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { freePort } from '../support/server-process.ts';
import { adminKube, createNamespace, startTestOperator } from '../support/operator.ts';
import type { TestKube } from '../support/kube.ts';

let cluster: LocalCluster;
let kube: TestKube;
const dir = mkdtempSync(join(tmpdir(), 'secret-relay-startup-'));

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
});
after(async () => {
  await kube?.close();
});

interface Exit {
  readonly code: number | null;
  readonly stderr: string;
}

/** Runs `node src/main.ts …` until it exits (a deadline, not a sleep: a hang fails the test). */
function runOperator(args: readonly string[], token?: string, timeoutMs = 60_000): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'src/main.ts'), '--metrics-port=0', '--metrics-host=127.0.0.1', '--leader-elect=false', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '', ...(token ? { SECRET_RELAY_KUBE_TOKEN: token } : {}) },
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the operator did not exit within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** One line, non-zero exit, no client dump; returns the line. */
function oneClearLine(exit: Exit): string {
  assert.notEqual(exit.code, 0, 'exits non-zero');
  const lines = exit.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${exit.stderr}`);
  const line = lines[0]!;
  assert.match(line, /^secret-relay: /);
  assert.doesNotMatch(line, /HTTP-Code|Body:|Headers:|audit-id|ApiException|\bat .*\.ts:\d+/);
  process.stdout.write(`# ${line}\n`);
  return line;
}

async function serviceAccountToken(namespace: string, name: string): Promise<string> {
  await kube.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  const result = await kube.core.createNamespacedServiceAccountToken({ namespace, name, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  return result.status!.token!;
}

test('apiserver unreachable: names the server and says to check the cluster and the kubeconfig', async () => {
  const port = await freePort();
  const kubeconfig = join(dir, 'unreachable.kubeconfig');
  writeFileSync(kubeconfig, readFileSync(cluster.kubeconfigPath, 'utf8').replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${port}`));
  const line = oneClearLine(await runOperator([`--kubeconfig=${kubeconfig}`]));
  assert.match(line, new RegExp(`cannot reach the Kubernetes API server at https://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
  assert.match(line, /--kubeconfig/);
});

test('credentials refused (401): says the token or certificate is invalid or expired', async () => {
  const line = oneClearLine(await runOperator([`--kubeconfig=${cluster.kubeconfigPath}`], 'not-a-valid-token'));
  assert.match(line, /refused the credentials \(401 Unauthorized\)/);
  assert.match(line, /invalid or expired/);
});

test('a verb the operator needs is not granted (403): names it and points at the RBAC', async () => {
  const namespace = await createNamespace(kube, 'startup-rbac');
  const token = await serviceAccountToken(namespace, 'no-rights');
  const line = oneClearLine(await runOperator([`--kubeconfig=${cluster.kubeconfigPath}`, `--namespace=${namespace}`], token));
  assert.match(line, /not allowed to list namespaces \(Kubernetes API 403 Forbidden: .*cannot list resource "namespaces"/);
  assert.match(line, /deploy\/.*docs\/install\.md/);
});

test('operator namespace missing and not creatable: says `kubectl create namespace` or --namespace', async () => {
  const home = await createNamespace(kube, 'startup-ns');
  const token = await serviceAccountToken(home, 'lister');
  const role = `startup-list-namespaces-${randomBytes(3).toString('hex')}`;
  const rbac = kube.config.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createClusterRole({ body: { metadata: { name: role }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['list'] }] } });
  await rbac.createClusterRoleBinding({
    body: { metadata: { name: role }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects: [{ kind: 'ServiceAccount', name: 'lister', namespace: home }] },
  });
  try {
    const missing = `startup-missing-${randomBytes(3).toString('hex')}`;
    const line = oneClearLine(await runOperator([`--kubeconfig=${cluster.kubeconfigPath}`, `--namespace=${missing}`], token));
    assert.equal(line, `secret-relay: the operator namespace "${missing}" does not exist and this identity may not create it: run \`kubectl create namespace ${missing}\`, or pass --namespace=<an existing namespace>`);
  } finally {
    await rbac.deleteClusterRoleBinding({ name: role });
    await rbac.deleteClusterRole({ name: role });
  }
});

test('operator namespace missing, creatable: the operator creates it and starts', async () => {
  const missing = `startup-created-${randomBytes(3).toString('hex')}`;
  const op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, namespace: missing, args: ['--leader-elect=false'] });
  try {
    const ns = await kube.core.readNamespace({ name: missing });
    assert.equal(ns.metadata?.name, missing);
    assert.ok(op.operator.isLeader(), 'started and leading');
  } finally {
    await op.stop();
    await kube.core.deleteNamespace({ name: missing });
  }
});

test('a fresh cluster without the CRDs: says which CRD is missing and `kubectl apply -f crds/`', async () => {
  const fresh = await startCluster();
  try {
    const line = oneClearLine(await runOperator([`--kubeconfig=${fresh.kubeconfigPath}`]));
    assert.match(line, /the CRD (externalsecrets|secretstores|clustersecretstores)\.secret-relay\.dev is not installed .*run `kubectl apply -f crds\/`/);
  } finally {
    await fresh.stop();
  }
});
