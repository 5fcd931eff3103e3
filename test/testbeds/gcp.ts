// `npm run testbed -- gcp`: the Google Secret Manager fake (gRPC) with its STS and IAM Credentials fakes trusting the
// ServiceAccount tokens of the cluster in $KUBECONFIG, seeded with a GKE Workload Identity setup and a sample secret.
// The sample secret publishes its changes to a Pub/Sub topic (the Pub/Sub fake); the store's change feed reads its
// subscription, so a new version reaches the Secret in well under a second with refreshInterval 1h.
import { stringify } from 'yaml';
import { fetchIssuer } from '../support/sts-web-identity-check.ts';
import { PubSubRole, Role, startGcpFake } from '../fakes/gcp/index.ts';
import type { StartTestbed } from './testbed.ts';

export const PROJECT = 'demo-project';
const PROJECT_NUMBER = '100200300400';
const CLUSTER = { clusterProjectID: PROJECT, clusterLocation: 'local', clusterName: 'testbed' };
const READER = `secret-reader@${PROJECT}.iam.gserviceaccount.com`;
const ADMIN = `testbed-admin@${PROJECT}.iam.gserviceaccount.com`;
const TOPIC = `projects/${PROJECT}/topics/secret-changes`;
const SUBSCRIPTION = `projects/${PROJECT}/subscriptions/secret-relay`;
export const SAMPLE_SECRET = 'sample';

export const startTestbed: StartTestbed = async ({ kubeconfigPath, namespace, log }) => {
  if (!kubeconfigPath) throw new Error('set KUBECONFIG: the token fakes trust the ServiceAccount tokens of that cluster');
  const issuer = await fetchIssuer(kubeconfigPath);
  const fake = await startGcpFake({ kubeconfigPath, issuer });
  const { identity, secretManager } = fake;
  identity.addProject(PROJECT, PROJECT_NUMBER);
  identity.addGkeCluster({ projectID: PROJECT, location: CLUSTER.clusterLocation, name: CLUSTER.clusterName });
  identity.createServiceAccount(READER);
  identity.bindWorkloadIdentityUser(READER, identity.gkeMember(PROJECT, namespace, 'gcp-reader'));
  identity.createServiceAccount(ADMIN);
  secretManager.grant(`serviceAccount:${READER}`, Role.accessor, PROJECT);
  secretManager.grant(`serviceAccount:${ADMIN}`, Role.admin, PROJECT);
  fake.pubsub.createTopic(TOPIC);
  fake.pubsub.createSubscription(SUBSCRIPTION, TOPIC, { ackDeadlineSeconds: 60 });
  fake.pubsub.grant(`serviceAccount:${READER}`, PubSubRole.subscriber, SUBSCRIPTION);
  secretManager.createSecret(PROJECT, SAMPLE_SECRET, { value: JSON.stringify({ username: 'demo', password: 'change-me' }), labels: { app: 'demo' }, topics: [TOPIC] });
  // A day: the bed runs until interrupted, and the admin token is only for adding secrets by hand.
  const adminToken = identity.issueServiceAccountToken(ADMIN, 24 * 3600);
  log(`gcp test bed: trusting ServiceAccount tokens of issuer ${issuer}`);

  const manifests = [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'gcp-reader', namespace, annotations: { 'iam.gke.io/gcp-service-account': READER } },
    },
    {
      apiVersion: 'secret-relay.dev/v1alpha1',
      kind: 'SecretStore',
      metadata: { name: 'gcp-testbed', namespace },
      spec: {
        provider: {
          gcpsm: {
            projectID: PROJECT,
            auth: { workloadIdentity: { serviceAccountRef: { name: 'gcp-reader' }, ...CLUSTER } },
            endpoints: fake.endpoints,
            changeFeed: { pubsub: { subscription: SUBSCRIPTION } },
          },
        },
      },
    },
    {
      apiVersion: 'secret-relay.dev/v1alpha1',
      kind: 'ExternalSecret',
      metadata: { name: 'gcp-sample', namespace },
      spec: {
        secretStoreRef: { name: 'gcp-testbed' },
        // The change feed brings new versions; the interval is only the safety net.
        refreshInterval: '1h',
        target: { name: 'gcp-sample' },
        data: [
          { secretKey: 'username', remoteRef: { key: SAMPLE_SECRET, property: 'username' } },
          { secretKey: 'password', remoteRef: { key: SAMPLE_SECRET, property: 'password' } },
        ],
      },
    },
  ];
  const env = `GCP_FAKE_ENDPOINT=${secretManager.address} GCP_FAKE_PROJECT=${PROJECT} GCP_FAKE_TOKEN=${adminToken}`;
  return {
    endpoints: {
      'Secret Manager (gRPC, plaintext)': secretManager.address,
      'STS token URL': `${identity.stsEndpoint}/v1/token`,
      'IAM Credentials': identity.iamEndpoint,
      project: `${PROJECT} (number ${PROJECT_NUMBER})`,
      'Google service account (reader)': READER,
      'Pub/Sub (gRPC, plaintext)': fake.pubsub.address,
      'subscription (changeFeed.pubsub.subscription)': SUBSCRIPTION,
    },
    manifests: manifests.map((doc) => stringify(doc)).join('---\n'),
    howToAddSecrets: [
      `Add secrets and versions with Google's Node client (a new version of ${SAMPLE_SECRET} is published to ${TOPIC}; the change feed brings it to the Secret in well under a second):`,
      `  ${env} node_modules/.bin/node test/fakes/gcp/cli.ts add-version ${SAMPLE_SECRET} '{"username":"demo","password":"rotated"}'`,
      `  ${env} node_modules/.bin/node test/fakes/gcp/cli.ts create another-secret 'value' team=a`,
      `The reader (${READER}) may access every secret of ${PROJECT}; it is bound to ServiceAccount ${namespace}/gcp-reader only.`,
    ].join('\n'),
    stop: () => fake.stop(),
  };
};
