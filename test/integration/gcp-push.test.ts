// PushSecret writes to Google Secret Manager, against the gRPC fake (test/fakes/gcp) with GKE Workload Identity
// tokens minted by the real apiserver: a pushed secret carries our mark (label managed-by, annotation naming the
// PushSecret) and the metadata's labels; a new version only when the value changed; a secret someone else made is
// never written or deleted without the opt-in; a label Secret Manager refuses is refused by name.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { TestNamespaces } from '../support/integration.ts';
import { Role, startGcpFake, type GcpFake } from '../fakes/gcp/index.ts';
import { directStoreContext, pushAs, useClusterForDirectClients } from '../support/direct-store.ts';
import type { TestKube } from '../support/kube.ts';
import type { KubeClient } from '../../src/k8s/kube-client.ts';
import { createGcpProvider } from '../../src/providers/gcp/provider.ts';
import type { GcpsmProvider } from '../../src/api/types.generated.ts';
import type { SecretsClient } from '../../src/providers/provider.ts';
import { RemoteNotOwnedError } from '../../src/providers/push.ts';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const PROJECT = 'relay-push';
const PROJECT_NUMBER = '482910375562';
const CLUSTER = { clusterProjectID: PROJECT, clusterLocation: 'europe-west1', clusterName: 'relay' };
let cluster: LocalCluster;
let kube: TestKube;
let operatorKube: KubeClient;
let fake: GcpFake;
const namespaces = new TestNamespaces('gcppush');
const signal = () => AbortSignal.timeout(30_000);
const bytes = (text: string) => new TextEncoder().encode(text);

before(async () => {
  ({ cluster, kube, operatorKube } = await useClusterForDirectClients());
  fake = await startGcpFake({ kubeconfigPath: cluster.kubeconfigPath, issuer: ISSUER });
  fake.identity.addProject(PROJECT, PROJECT_NUMBER);
  fake.identity.addGkeCluster({ projectID: PROJECT, location: CLUSTER.clusterLocation, name: CLUSTER.clusterName });
});

after(async () => {
  await fake?.stop();
  await operatorKube?.close();
  await cluster?.stop();
});

/** A client acting as a GKE Workload Identity ServiceAccount bound to a Google service account granted `role`. */
async function client(role: (typeof Role)[keyof typeof Role]): Promise<SecretsClient> {
  const ns = await namespaces.create(kube);
  const google = `pusher-${randomBytes(3).toString('hex')}@${PROJECT}.iam.gserviceaccount.com`;
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'pusher', annotations: { 'iam.gke.io/gcp-service-account': google } } } });
  fake.identity.createServiceAccount(google);
  fake.identity.bindWorkloadIdentityUser(google, fake.identity.gkeMember(PROJECT, ns, 'pusher'));
  fake.secretManager.grant(`serviceAccount:${google}`, role, PROJECT);
  const spec = { projectID: PROJECT, secretVersionSelectionPolicy: 'LatestOrFail', endpoints: fake.endpoints, auth: { workloadIdentity: { serviceAccountRef: { name: 'pusher' }, ...CLUSTER } } } as unknown as GcpsmProvider;
  return createGcpProvider().newClient(spec, directStoreContext(operatorKube, ns));
}

test('CreateSecret + AddSecretVersion with our mark and labels; unchanged adds no version; property merged; foreign refused until adopted; delete only ours', async () => {
  const writer = await client(Role.admin);
  const push = pushAs(writer);
  const metadata = { apiVersion: 'kubernetes.external-secrets.io/v1alpha1', kind: 'PushSecretMetadata', spec: { labels: { team: 'a' }, annotations: { note: 'pushed' } } };
  assert.equal(await push('db-password', 's3cret', { metadata }), 'created');
  assert.deepEqual(fake.secretManager.inspect(PROJECT, 'db-password'), {
    labels: { team: 'a', 'managed-by': 'secret-relay' },
    annotations: { note: 'pushed', 'secret-relay.dev/push-secret': 'team/db' },
    versions: 1,
    latest: 's3cret',
  });
  assert.equal(await push('db-password', 's3cret', { metadata }), 'unchanged');
  assert.equal(fake.secretManager.inspect(PROJECT, 'db-password')!.versions, 1);
  assert.equal(await push('db-password', 'rotated', { metadata }), 'updated');
  assert.equal(fake.secretManager.inspect(PROJECT, 'db-password')!.latest, 'rotated');
  assert.equal(await push('db-config', 'u', { property: 'user' }), 'created');
  assert.equal(await push('db-config', 'h', { property: 'host' }), 'updated');
  assert.deepEqual(JSON.parse(fake.secretManager.inspect(PROJECT, 'db-config')!.latest!), { user: 'u', host: 'h' });

  fake.secretManager.createSecret(PROJECT, 'theirs', { value: 'not yours', labels: { owner: 'other-team' } });
  await assert.rejects(push('theirs', 'mine'), (err: unknown) => err instanceof RemoteNotOwnedError && /theirs .* not created by secret-relay/.test((err as Error).message));
  assert.equal(fake.secretManager.inspect(PROJECT, 'theirs')!.latest, 'not yours');
  assert.equal(await writer.deleteSecret!({ remoteKey: 'theirs', owner: 'team/db' }, signal()), 'not-owned');
  assert.equal(await push('theirs', 'mine', { adopt: true }), 'updated');
  assert.deepEqual(fake.secretManager.inspect(PROJECT, 'theirs')!.labels, { owner: 'other-team', 'managed-by': 'secret-relay' });

  await assert.rejects(push('bad-label', 'v', { metadata: { spec: { labels: { Team: 'A' } } } }), /Invalid label: Team/);
  assert.equal(fake.secretManager.inspect(PROJECT, 'bad-label'), undefined);

  assert.equal(await writer.deleteSecret!({ remoteKey: 'db-config', property: 'host', owner: 'team/db' }, signal()), 'deleted');
  assert.deepEqual(JSON.parse(fake.secretManager.inspect(PROJECT, 'db-config')!.latest!), { user: 'u' });
  assert.equal(await writer.deleteSecret!({ remoteKey: 'db-password', owner: 'team/db' }, signal()), 'deleted');
  assert.equal(fake.secretManager.inspect(PROJECT, 'db-password'), undefined);
  assert.equal(await writer.deleteSecret!({ remoteKey: 'db-password', owner: 'team/db' }, signal()), 'absent');
});

test('an identity that may only read is refused by name, nothing created', async () => {
  const reader = await client(Role.accessor);
  await assert.rejects(reader.pushSecret!({ remoteKey: 'no-write', value: bytes('v'), owner: 'team/db', adopt: false, updatePolicy: 'Replace' }, signal()), /secretmanager\.secrets\.(get|create)|denied|PERMISSION_DENIED/i);
  assert.equal(fake.secretManager.inspect(PROJECT, 'no-write'), undefined);
});
