// A kubeconfig's `as` reaches the real apiserver: the operator's client acts as the impersonated user (here a
// ServiceAccount with no grants), not as the admin whose certificate it presents.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { useCluster } from '../support/shared-cluster.ts';
import type { LocalCluster } from '../support/cluster.ts';
import { createKubeClient, KubeApiError } from '../../src/k8s/kube-client.ts';

let cluster: LocalCluster;
let dir: string;

before(async () => {
  cluster = await useCluster();
  dir = mkdtempSync(join(tmpdir(), 'kube-impersonation-'));
});

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await cluster?.stop();
});

test("a kubeconfig's as/as-groups make the client act as that user", async () => {
  const admin = parseYaml(readFileSync(cluster.kubeconfigPath, 'utf8')) as { users: Array<{ name: string; user: Record<string, unknown> }> };
  admin.users[0]!.user['as'] = 'system:serviceaccount:default:nobody';
  admin.users[0]!.user['as-groups'] = ['system:serviceaccounts', 'system:authenticated'];
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, JSON.stringify(admin));
  const asAdmin = createKubeClient({ kubeconfigPath: cluster.kubeconfigPath });
  const impersonating = createKubeClient({ kubeconfigPath: path });
  try {
    await asAdmin.request({ method: 'GET', path: '/api/v1/namespaces/kube-system/secrets', query: { limit: 1 } });
    await assert.rejects(
      impersonating.request({ method: 'GET', path: '/api/v1/namespaces/kube-system/secrets', query: { limit: 1 } }),
      (err: unknown) => err instanceof KubeApiError && err.code === 403 && err.message.includes('system:serviceaccount:default:nobody'),
    );
  } finally {
    await asAdmin.close();
    await impersonating.close();
  }
});
