// `npm run testbed -- alibaba`: the fake KMS and STS (test/fakes/alibaba/server.ts) trusting the cluster of $KUBECONFIG
// (its /openid/v1/jwks and its issuer), seeded with one sample secret, a RAM role that trusts the printed
// ServiceAccount, and a static AccessKey; a Simple Message Queue (MNS) fake with an EventBridge rule sending the
// KMS fake's ActionTrail events to a queue, which the printed store reads as its change feed (refreshInterval 1h).
// A small control endpoint lets a user put new secret versions while it runs.
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startAlibabaFake } from '../fakes/alibaba/server.ts';
import { startMnsFake } from '../fakes/alibaba/mns.ts';
import { ruleToQueue } from '../fakes/alibaba/eventbridge.ts';
import type { StartTestbed } from './testbed.ts';
import { fetchIssuer } from '../support/sts-web-identity-check.ts';

const REGION = 'cn-hangzhou';
const UID = '1234567890123456';
export const OIDC_PROVIDER_ARN = `acs:ram::${UID}:oidc-provider/ack-rrsa-testbed`;
export const ROLE_ARN = `acs:ram::${UID}:role/secret-relay-testbed`;
export const SAMPLE_SECRET = 'testbed-sample';
const SERVICE_ACCOUNT = 'alibaba-reader';
const QUEUE = 'secret-changes';

export const startTestbed: StartTestbed = async ({ kubeconfigPath, namespace, log }) => {
  if (!kubeconfigPath) throw new Error('set KUBECONFIG to the cluster whose ServiceAccount tokens the fake STS should trust (npm run cluster:up prints it)');
  const issuer = await fetchIssuer(kubeconfigPath);
  const fake = await startAlibabaFake({ kubeconfigPath });
  fake.addOidcProvider({ arn: OIDC_PROVIDER_ARN, issuer });
  fake.addRole({ arn: ROLE_ARN, oidcProviderArn: OIDC_PROVIDER_ARN, subjects: [`system:serviceaccount:${namespace}:${SERVICE_ACCOUNT}`], allow: () => true });
  const accessKeyId = `LTAI${randomBytes(8).toString('hex')}`;
  const accessKeySecret = randomBytes(15).toString('base64url');
  fake.addAccessKey({ id: accessKeyId, secret: accessKeySecret });
  fake.putSecret(SAMPLE_SECRET, { data: JSON.stringify({ username: 'demo', password: randomBytes(9).toString('base64url') }), tags: { app: 'testbed' }, description: 'the test bed sample' });
  const mns = await startMnsFake({ credential: (id) => fake.credential(id) });
  mns.createQueue(QUEUE);
  const rule = ruleToQueue(fake, mns, QUEUE, { region: REGION });
  log(`alibaba test bed: OIDC provider ${OIDC_PROVIDER_ARN} trusts issuer ${issuer}; role ${ROLE_ARN} trusts ${namespace}/${SERVICE_ACCOUNT}`);

  // PUT /secrets/NAME with the value as the body adds a version (it becomes ACSCurrent); ?binary=1 stores it as binary.
  const control = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://control');
    const match = /^\/secrets\/([^/]+)$/.exec(url.pathname);
    if (request.method !== 'PUT' || !match) {
      response.writeHead(404).end('PUT /secrets/NAME with the value as the body\n');
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const name = decodeURIComponent(match[1]!);
      const tags = Object.fromEntries([...url.searchParams].filter(([key]) => key.startsWith('tag.')).map(([key, value]) => [key.slice(4), value]));
      const versionId = fake.putSecret(name, { data: url.searchParams.get('binary') === '1' ? new Uint8Array(body) : body.toString('utf8'), ...(Object.keys(tags).length ? { tags } : {}) });
      response.writeHead(200, { 'content-type': 'text/plain' }).end(`${name}: version ${versionId} is ACSCurrent\n`);
    });
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;

  const manifests = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${SERVICE_ACCOUNT}
  namespace: ${namespace}
---
apiVersion: secret-relay.dev/v1alpha1
kind: SecretStore
metadata:
  name: alibaba-testbed
  namespace: ${namespace}
spec:
  provider:
    alibaba:
      regionID: ${REGION}
      endpoint: ${fake.kmsEndpoint}
      auth:
        rrsa:
          oidcProviderArn: ${OIDC_PROVIDER_ARN}
          roleArn: ${ROLE_ARN}
          serviceAccountRef:
            name: ${SERVICE_ACCOUNT}
          stsEndpoint: ${fake.stsEndpoint}
      changeFeed:
        queue:
          queueURL: ${mns.queueUrl(QUEUE)}
---
apiVersion: secret-relay.dev/v1alpha1
kind: ExternalSecret
metadata:
  name: alibaba-sample
  namespace: ${namespace}
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: alibaba-testbed
  target:
    name: alibaba-sample
  data:
    - secretKey: username
      remoteRef:
        key: ${SAMPLE_SECRET}
        property: username
    - secretKey: password
      remoteRef:
        key: ${SAMPLE_SECRET}
        property: password
`;
  const howToAddSecrets = `Add a secret, or a new ACSCurrent version of one (tags as ?tag.KEY=VALUE, binary with ?binary=1):
  curl -X PUT --data-binary '{"username":"demo","password":"rotated"}' ${controlUrl}/secrets/${SAMPLE_SECRET}
The new version reaches the Secret through the change feed (EventBridge → the queue) in about a second; refreshInterval is 1h.
The operator must run where it can reach 127.0.0.1 (npm start on this machine).
A static AccessKey for other clients (e.g. the Python SDK): ${accessKeyId} / ${accessKeySecret}
`;
  return {
    endpoints: { 'KMS (RPC, signature V1)': fake.kmsEndpoint, 'STS (AssumeRoleWithOIDC)': fake.stsEndpoint, 'Simple Message Queue (change feed)': mns.queueUrl(QUEUE), 'control (PUT /secrets/NAME)': controlUrl, region: REGION },
    manifests,
    howToAddSecrets,
    async stop() {
      control.closeAllConnections();
      await new Promise<void>((resolve) => control.close(() => resolve()));
      rule.stop();
      await mns.stop();
      await fake.stop();
    },
  };
};
