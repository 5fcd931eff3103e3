// The gcp fake is faithful on the wire: Google's own Python client (google-cloud-secret-manager, installed into
// .cache/venv-gcp by test/setup/install-gcp-client.sh; the operator never uses it) drives it unchanged, and what it
// writes the operator's Node client reads back.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { runGcpPython, runGcpPythonCheck, startGcpFakeForPython } from '../support/gcp-python.ts';
import { adminKube } from '../support/operator.ts';
import { fetchIssuer } from '../support/sts-web-identity-check.ts';
import { Role, startGcpFake, type GcpFake } from '../fakes/gcp/index.ts';
import { createGcpProvider } from '../../src/providers/gcp/provider.ts';
import { systemClock } from '../../src/util/clock.ts';
import type { GcpsmProvider } from '../../src/api/types.generated.ts';
import { unusedKubeAccess } from '../support/store-kube-access.ts';

const PROJECT = 'python-check';
const NUMBER = '777000111222';
let cluster: LocalCluster;
let fake: GcpFake;

before(async () => {
  ({ cluster, fake } = await startGcpFakeForPython(PROJECT, NUMBER));
});

after(async () => {
  await fake?.stop();
  await cluster?.stop();
});

test("Google's Python client works against the fake unchanged: create, versions, latest, metadata, paged filtered lists, states and Google's errors", async () => {
  const admin = `py-admin@${PROJECT}.iam.gserviceaccount.com`;
  const reader = `py-reader@${PROJECT}.iam.gserviceaccount.com`;
  fake.identity.createServiceAccount(admin);
  fake.identity.createServiceAccount(reader);
  fake.secretManager.grant(`serviceAccount:${admin}`, Role.admin, PROJECT);
  const out = await runGcpPythonCheck('python_client_check.py', [fake.secretManager.address, PROJECT, fake.identity.issueServiceAccountToken(admin), fake.identity.issueServiceAccountToken(reader)], 60_000);
  const secret = `projects/${NUMBER}/secrets/py-secret`;
  assert.equal(out['created'], secret, 'names carry the project number, as Google returns them');
  assert.deepEqual(out['versions'], [`${secret}/versions/1`, `${secret}/versions/2`, 'ENABLED']);
  assert.equal(out['latest'], 'second');
  assert.equal(out['v1'], 'first');
  assert.deepEqual(out['metadata'], { labels: { team: 'py' }, annotations: { owner: 'python' } });
  assert.deepEqual(out['listed'], ['py-list-0', 'py-list-2', 'py-list-4', 'py-list-6']);
  assert.deepEqual(out['disabled'], { class: 'FailedPrecondition', code: 'FAILED_PRECONDITION', message: `Secret Version [${secret}/versions/2] is in DISABLED state.` });
  assert.deepEqual(out['enabled'], [`${secret}/versions/1`]);
  assert.deepEqual(out['not_found'], { class: 'NotFound', code: 'NOT_FOUND', message: `Secret [projects/${NUMBER}/secrets/py-missing] not found or has no versions.` });
  assert.deepEqual(out['reader_denied'], {
    class: 'PermissionDenied',
    code: 'PERMISSION_DENIED',
    message: `Permission 'secretmanager.versions.access' denied for resource '${secret}/versions/1' (or it may not exist).`,
  });
  assert.deepEqual(out['deleted'], { class: 'NotFound', code: 'NOT_FOUND', message: `Secret [projects/${NUMBER}/secrets/py-list-1] not found.` });
  assert.equal((out['unauthenticated'] as { code: string }).code, 'UNAUTHENTICATED');
  assert.match((out['unauthenticated'] as { message: string }).message, /^Request had invalid authentication credentials\./);

  // What the Python client wrote, the operator's client reads (as the admin's key, a self-signed JWT).
  const key = fake.identity.createServiceAccountKey(admin);
  const client = await createGcpProvider().newClient(
    { projectID: PROJECT, secretVersionSelectionPolicy: 'LatestOrFetch', endpoints: fake.endpoints, auth: { secretRef: { secretAccessKeySecretRef: { name: 'k', key: 'k' } } } } as GcpsmProvider,
    {
      storeKind: 'SecretStore',
      storeName: 'python',
      storeNamespace: 'python',
      namespace: 'python',
      clock: systemClock,
      kube: { ...unusedKubeAccess,
        readSecretKey: async () => new TextEncoder().encode(JSON.stringify(key)),
        createServiceAccountToken: async () => {
          throw new Error('not used');
        },
      },
    },
  );
  assert.equal(new TextDecoder().decode(await client.getSecret({ key: 'py-secret' }, AbortSignal.timeout(10_000))), 'first', 'LatestOrFetch skips the disabled version 2');
  await client.close();
});

test('the fakes refuse what Google refuses once time passes: an expired subject token at STS, an expired access token at Secret Manager', async () => {
  let now = Date.now();
  const kube = adminKube(cluster.kubeconfigPath);
  const account = `expiry-${process.pid}`;
  const timed = await startGcpFake({ kubeconfigPath: cluster.kubeconfigPath, issuer: await fetchIssuer(cluster.kubeconfigPath), clock: () => now });
  try {
    timed.identity.addProject(PROJECT, NUMBER);
    const audience = timed.identity.addFederationProvider({ projectID: PROJECT, pool: 'p', provider: 'k' });
    await kube.core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: account } } });
    const minted = await kube.core.createNamespacedServiceAccountToken({
      name: account,
      namespace: 'default',
      body: { spec: { audiences: [`https:${audience}`], expirationSeconds: 600 } },
    });
    const exchange = () =>
      fetch(`${timed.endpoints.sts}/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          subject_token: minted.status!.token!,
          audience,
          scope: 'https://www.googleapis.com/auth/cloud-platform',
        }),
      });
    const ok = await exchange();
    assert.equal(ok.status, 200);
    const { access_token: accessToken, expires_in: expiresIn } = (await ok.json()) as { access_token: string; expires_in: number };
    assert.equal(expiresIn, 3600);
    now += 601_000;
    const stale = await exchange();
    assert.equal(stale.status, 400);
    const refusal = (await stale.json()) as { error: string; error_description: string };
    assert.equal(refusal.error, 'invalid_grant');
    assert.match(refusal.error_description, /^ID Token expired at /);

    // The federated token (issued before the clock moved) lives an hour; past it, Secret Manager refuses it.
    timed.secretManager.createSecret(PROJECT, 'timed', { value: 'x' });
    now += 3600_000;
    const [kind, message] = (await runGcpPython(
      ['-c', [
        'import grpc, json, sys',
        'from google.api_core import exceptions',
        'from google.cloud import secretmanager_v1',
        'from google.cloud.secretmanager_v1.services.secret_manager_service.transports import SecretManagerServiceGrpcTransport',
        'client = secretmanager_v1.SecretManagerServiceClient(transport=SecretManagerServiceGrpcTransport(channel=grpc.insecure_channel(sys.argv[1])))',
        'try:',
        '    client.access_secret_version(request={"name": sys.argv[2]}, metadata=[("authorization", "Bearer " + sys.argv[3])])',
        '    print(json.dumps(None))',
        'except exceptions.GoogleAPICallError as err:',
        '    print(json.dumps([type(err).__name__, err.message]))',
      ].join('\n'), timed.secretManager.address, `projects/${PROJECT}/secrets/timed/versions/latest`, accessToken],
      60_000,
    )) as [string, string];
    assert.equal(kind, 'Unauthenticated');
    assert.match(message, /^Request had invalid authentication credentials\./);
  } finally {
    await timed.stop();
    await kube.core.deleteNamespacedServiceAccount({ name: account, namespace: 'default' }).catch(() => {});
  }
});
