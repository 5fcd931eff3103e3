// `npm run testbed -- azure`: the Key Vault and Entra ID fakes (test/fakes/azure) on free loopback ports, trusting the
// ServiceAccount tokens of the cluster in $KUBECONFIG (its issuer and /openid/v1/jwks), seeded with a sample secret
// and an application federated with ServiceAccount NS/azure-reader. The printed SecretStore uses workload identity,
// with a change feed: Azurite serves a Storage queue to which an Event Grid stand-in writes the vault's events.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedJwks, FEDERATED_AUDIENCE, startAzureFakes } from '../fakes/azure/index.ts';
import type { StartTestbed } from './testbed.ts';
import { startAzurite } from '../support/azurite.ts';
import { subscribeQueue } from '../fakes/azure/event-grid.ts';
import { fetchIssuer, fetchJwks } from '../support/sts-web-identity-check.ts';

const TENANT = '72f988bf-0000-4000-8000-00000000a2e1';
const READER_CLIENT_ID = '0b7d2c4e-0000-4000-8000-0000000000a1';
const ADMIN_CLIENT_ID = '0b7d2c4e-0000-4000-8000-0000000000ad';
const ADMIN_SECRET = 'testbed-admin-secret';

export const startTestbed: StartTestbed = async ({ kubeconfigPath, namespace, log }) => {
  if (!kubeconfigPath) throw new Error('set KUBECONFIG to the cluster whose ServiceAccount tokens Entra ID should trust (e.g. eval "$(npm run -s cluster:up)")');
  const issuer = await fetchIssuer(kubeconfigPath);
  const fakes = await startAzureFakes({ jwks: cachedJwks(() => fetchJwks(kubeconfigPath)) });
  const vault = await fakes.addVault('testbed', TENANT);
  const reader = fakes.entra.addApplication({ tenantId: TENANT, clientId: READER_CLIENT_ID });
  reader.federated.push({ issuer, subject: `system:serviceaccount:${namespace}:azure-reader`, audiences: [FEDERATED_AUDIENCE] });
  vault.grant(reader.objectId);
  const admin = fakes.entra.addApplication({ tenantId: TENANT, clientId: ADMIN_CLIENT_ID });
  admin.secrets.push(ADMIN_SECRET);
  vault.grant(admin.objectId, ['secrets/set', 'secrets/get', 'secrets/list']);
  vault.setSecret('sample-secret', JSON.stringify({ username: 'demo', password: 'testbed-sample-password' }), { tags: { env: 'testbed' } });
  const azurite = await startAzurite(fakes.tls);
  const queue = azurite.service.getQueueClient('secret-changes');
  await queue.create();
  const grid = subscribeQueue(vault, queue, 'EventGridSchema');
  const dir = mkdtempSync(join(tmpdir(), 'azure-testbed-'));
  const caPath = join(dir, 'ca.pem');
  writeFileSync(caPath, fakes.tls.caPem);
  log(`azure test bed: Entra ID trusts tokens of issuer ${issuer} for system:serviceaccount:${namespace}:azure-reader`);

  const manifests = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: azure-reader
  namespace: ${namespace}
  annotations:
    azure.workload.identity/client-id: ${READER_CLIENT_ID}
    azure.workload.identity/tenant-id: ${TENANT}
---
apiVersion: secret-relay.dev/v1alpha1
kind: SecretStore
metadata:
  name: azure-testbed
  namespace: ${namespace}
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      vaultUrl: ${vault.url}
      serviceAccountRef:
        name: azure-reader
      customCloudConfig:
        activeDirectoryEndpoint: ${fakes.entra.authorityHost}
      changeFeed:
        storageQueue:
          queueURL: ${queue.url}
---
apiVersion: secret-relay.dev/v1alpha1
kind: ExternalSecret
metadata:
  name: azure-sample
  namespace: ${namespace}
spec:
  secretStoreRef:
    name: azure-testbed
  refreshInterval: 1h # the change feed brings new versions in about a second
  data:
    - secretKey: username
      remoteRef:
        key: sample-secret
        property: username
    - secretKey: password
      remoteRef:
        key: sample-secret
        property: password
`;
  // The fakes serve HTTPS with a test CA, which the operator must trust.
  const runOperator = `NODE_EXTRA_CA_CERTS=${caPath} KUBECONFIG=${kubeconfigPath} npm start -- --leader-elect=false --trusted-endpoint-hosts=127.0.0.1,localhost`;
  const howToAddSecrets = `To add or change a secret (a new version), get a token as the test bed's admin application, then Set Secret:
  TOKEN=$(curl -s --cacert ${caPath} ${fakes.entra.authorityHost}/${TENANT}/oauth2/v2.0/token \\
    -d grant_type=client_credentials -d client_id=${ADMIN_CLIENT_ID} -d client_secret=${ADMIN_SECRET} \\
    --data-urlencode scope=https://vault.azure.net/.default | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')
  curl -s --cacert ${caPath} -X PUT "${vault.url}/secrets/my-secret?api-version=7.6" \\
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"value":"hello","tags":{"team":"a"}}'
Each new version is posted to the queue (Azurite, ${queue.url}) as Event Grid would: the ExternalSecret follows in about a second.
Read it with remoteRef.key my-secret (or secret/my-secret); the Python SDK works too (azure-keyvault-secrets with
verify_challenge_resource=False and azure-identity with authority=${fakes.entra.authorityHost}, disable_instance_discovery=True).`;

  return {
    endpoints: {
      'Key Vault (vaultUrl)': vault.url,
      'Entra ID (customCloudConfig.activeDirectoryEndpoint)': fakes.entra.authorityHost,
      'tenant ID': TENANT,
      'Storage queue (changeFeed.storageQueue.queueURL, Azurite)': queue.url,
      'test CA (PEM)': caPath,
    },
    manifests,
    howToAddSecrets,
    runOperator,
    async stop() {
      grid.stop();
      await azurite.stop();
      await fakes.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
