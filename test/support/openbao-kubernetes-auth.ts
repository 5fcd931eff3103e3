// OpenBao's kubernetes auth method against the test control plane: OpenBao calls the apiserver's TokenReview with a
// reviewer ServiceAccount bound to system:auth-delegator (idempotent: suites sharing the cluster each set it up).
import * as k8s from '@kubernetes/client-node';
import type { LocalCluster } from './cluster.ts';
import type { TestKube } from './kube.ts';
import type { OpenBao } from './openbao.ts';

function ignoreConflict(err: unknown): void {
  if ((err as { code?: number }).code !== 409) throw err;
}

/** Enables auth/kubernetes on `bao`, reviewing tokens as ServiceAccount secret-relay-system/openbao-reviewer. */
export async function enableOpenBaoKubernetesAuth(bao: OpenBao, kube: TestKube, cluster: LocalCluster): Promise<void> {
  await kube.core.createNamespacedServiceAccount({ namespace: 'secret-relay-system', body: { metadata: { name: 'openbao-reviewer' } } }).catch(ignoreConflict);
  await kube.config.makeApiClient(k8s.RbacAuthorizationV1Api).createClusterRoleBinding({
    body: {
      metadata: { name: 'openbao-reviewer-auth-delegator' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'ServiceAccount', name: 'openbao-reviewer', namespace: 'secret-relay-system' }],
    },
  }).catch(ignoreConflict);
  const reviewer = await kube.core.createNamespacedServiceAccountToken({ namespace: 'secret-relay-system', name: 'openbao-reviewer', body: { spec: { expirationSeconds: 3600, audiences: [] } } });
  await bao.api('POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
  await bao.api('POST', 'auth/kubernetes/config', { kubernetes_host: cluster.server, kubernetes_ca_cert: cluster.caPem, token_reviewer_jwt: reviewer.status!.token, disable_local_ca_jwt: true });
}
