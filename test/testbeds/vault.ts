// `npm run testbed -- vault`: a real OpenBao dev server (KV v2 at secret/) with the kubernetes auth method reviewing the
// ServiceAccount tokens of the cluster in $KUBECONFIG, a read-only role for one ServiceAccount, a sample secret, and a
// socket audit device pointed at the operator's --vault-audit-listen, so a `bao kv put` reaches the Secret through the
// change feed with refreshInterval 1h.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { createTestKube } from '../support/kube.ts';
import { baoPath, startOpenBao, type OpenBao } from '../support/openbao.ts';
import { freePort } from '../support/server-process.ts';
import type { StartTestbed } from './testbed.ts';

export const SAMPLE_SECRET = 'testbed-sample';
const READER = 'vault-reader';
const ROLE = 'testbed';
const POLICY = 'testbed-reader';

function ignoreConflict(err: unknown): void {
  if ((err as { code?: number }).code !== 409) throw err;
}

export const startTestbed: StartTestbed = async ({ kubeconfigPath, namespace, log }) => {
  if (!kubeconfigPath) throw new Error("set KUBECONFIG: OpenBao's kubernetes auth reviews the ServiceAccount tokens of that cluster");
  const kube = createTestKube({ kubeconfigPath });
  const cluster = kube.config.getCurrentCluster();
  if (!cluster?.server) throw new Error(`the current context of ${kubeconfigPath} names no cluster`);
  const caPem = cluster.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : undefined;
  if (!caPem) throw new Error(`the cluster of ${kubeconfigPath} has no certificate-authority-data: OpenBao needs the apiserver's CA`);

  // OpenBao tests an audit device when it starts and refuses to start when nothing answers; the operator is not
  // running yet, so the test bed answers that first connection itself and then frees the port for the operator.
  // OpenBao reconnects at its next audited request; the file device keeps requests answered meanwhile.
  const auditPort = await freePort();
  const held = new Set<Socket>();
  const placeholder = createServer((socket) => {
    held.add(socket);
    socket.resume();
  });
  await new Promise<void>((resolve, reject) => placeholder.once('error', reject).listen(auditPort, '127.0.0.1', resolve));
  const dir = await mkdtemp(join(tmpdir(), 'vault-testbed-'));
  const config = join(dir, 'audit.hcl');
  await writeFile(
    config,
    `audit "socket" "secret-relay" {\n  options {\n    address = "127.0.0.1:${auditPort}"\n    socket_type = "tcp"\n  }\n}\n` +
      `audit "file" "local" {\n  options {\n    file_path = "${join(dir, 'audit.log')}"\n  }\n}\n`,
  );
  let bao: OpenBao;
  try {
    bao = await startOpenBao({ configFiles: [config] });
  } finally {
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => placeholder.close(() => resolve()));
  }

  // Vault's kubernetes auth calls TokenReview as a reviewer ServiceAccount bound to system:auth-delegator; named after
  // this server's port, so that stopping one test bed never takes the reviewer of another running in the namespace.
  const reviewerName = `openbao-reviewer-${new URL(bao.address).port}`;
  const bindingName = `secret-relay-testbed-${reviewerName}-${namespace}`;
  const rbac = kube.config.makeApiClient(k8s.RbacAuthorizationV1Api);
  try {
    await kube.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: reviewerName } } }).catch(ignoreConflict);
    await rbac
      .createClusterRoleBinding({
        body: {
          metadata: { name: bindingName },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
          subjects: [{ kind: 'ServiceAccount', name: reviewerName, namespace }],
        },
      })
      .catch(ignoreConflict);
    // A day: the bed runs until interrupted.
    const reviewer = await kube.core.createNamespacedServiceAccountToken({ namespace, name: reviewerName, body: { spec: { expirationSeconds: 24 * 3600, audiences: [] } } });
    await bao.api('POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
    await bao.api('POST', 'auth/kubernetes/config', { kubernetes_host: cluster.server, kubernetes_ca_cert: caPem, token_reviewer_jwt: reviewer.status!.token, disable_local_ca_jwt: true });
    await bao.api('PUT', `sys/policies/acl/${POLICY}`, {
      policy: 'path "secret/data/*" { capabilities = ["read"] }\npath "secret/metadata/*" { capabilities = ["read", "list"] }\n',
    });
    await bao.api('POST', `auth/kubernetes/role/${ROLE}`, {
      bound_service_account_names: [READER],
      bound_service_account_namespaces: [namespace],
      audience: 'vault',
      token_policies: [POLICY],
      token_ttl: '1h',
    });
    await bao.api('POST', `secret/data/${SAMPLE_SECRET}`, { data: { username: 'demo', password: 'change-me' } });
  } catch (error) {
    await bao.stop();
    await rm(dir, { recursive: true, force: true });
    await kube.close();
    throw error;
  }
  log(`vault test bed: role ${ROLE} of auth/kubernetes admits ServiceAccount ${namespace}/${READER} (audience vault), reviewing tokens as ${namespace}/${reviewerName}`);

  const manifests = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: READER, namespace } },
    {
      apiVersion: 'secret-relay.dev/v1alpha1',
      kind: 'SecretStore',
      metadata: { name: 'vault-testbed', namespace },
      spec: {
        provider: {
          vault: {
            server: bao.address,
            path: 'secret',
            version: 'v2',
            auth: { kubernetes: { role: ROLE, serviceAccountRef: { name: READER } } },
            changeFeed: { auditSocket: {} },
          },
        },
      },
    },
    {
      apiVersion: 'secret-relay.dev/v1alpha1',
      kind: 'ExternalSecret',
      metadata: { name: 'vault-sample', namespace },
      spec: {
        refreshInterval: '1h',
        secretStoreRef: { name: 'vault-testbed' },
        data: [
          { secretKey: 'username', remoteRef: { key: SAMPLE_SECRET, property: 'username' } },
          { secretKey: 'password', remoteRef: { key: SAMPLE_SECRET, property: 'password' } },
        ],
      },
    },
  ]
    .map((object) => stringify(object))
    .join('---\n');
  const bin = relative(process.cwd(), baoPath) || baoPath;
  const howToAddSecrets = `Add a secret, or a new version of one, with the bao CLI (root token of the dev server):
  export BAO_ADDR=${bao.address} BAO_TOKEN=${bao.rootToken}
  ${bin} kv put secret/${SAMPLE_SECRET} username=demo password=rotated
The new version reaches the Secret through the audit socket in about a second; refreshInterval is 1h.
The same server takes the Vault-side commands of docs/providers/vault.md (bao for vault; auth/kubernetes is enabled).
`;
  return {
    endpoints: { 'OpenBao (server)': bao.address, 'root token': bao.rootToken, 'audit socket (the operator listens)': `127.0.0.1:${auditPort}` },
    manifests,
    howToAddSecrets,
    runOperator: `npm start -- --vault-audit-listen=127.0.0.1:${auditPort}`,
    async stop() {
      await bao.stop();
      await rm(dir, { recursive: true, force: true });
      await rbac.deleteClusterRoleBinding({ name: bindingName }).catch(() => undefined);
      await kube.core.deleteNamespacedServiceAccount({ namespace, name: reviewerName }).catch(() => undefined);
      await kube.close();
    },
  };
};
