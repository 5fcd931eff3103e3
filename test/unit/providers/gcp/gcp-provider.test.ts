// The gcpsm provider's pure parts: store validation, auth planning (referent auth, audiences), endpoints and
// resource names, find filters and error mapping; the credential memo with a fake token library on a fake clock.
// Reads against the fakes are in test/integration/gcp.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGcpProvider, validateGcpSpec } from '../../../../src/providers/gcp/provider.ts';
import {
  defaultFederationTokenAudience,
  gkeIdentity,
  labelsFilter,
  planGcpAuth,
  secretIdOf,
  secretManagerEndpoint,
  secretName,
  tokenEndpoints,
  versionName,
} from '../../../../src/providers/gcp/plan.ts';
import { GrpcCode, isDisabledOrDestroyed, mapGcpError, mapTokenError, tokenStep } from '../../../../src/providers/gcp/errors.ts';
import { createGcpCredentials } from '../../../../src/providers/gcp/credentials.ts';
import type { GoogleAuthSdk } from '../../../../src/providers/gcp/sdk.ts';
import { NoSecretError, TerminalError, ThrottledError } from '../../../../src/providers/provider.ts';
import type { GcpsmProvider } from '../../../../src/api/types.generated.ts';
import { fakeClock, storeContext } from '../helpers.ts';
import { unusedKubeAccess } from '../../../support/store-kube-access.ts';

const base: GcpsmProvider = { projectID: 'my-project', secretVersionSelectionPolicy: 'LatestOrFail' };
const wi = (namespace?: string): GcpsmProvider => ({
  ...base,
  auth: { workloadIdentity: { serviceAccountRef: { name: 'reader', ...(namespace ? { namespace } : {}) }, clusterProjectID: 'my-project', clusterLocation: 'europe-west1', clusterName: 'c1' } },
});
const audience = '//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/k8s';

test('store validation names each problem a user must fix', () => {
  assert.deepEqual(validateGcpSpec(base), { warnings: [], errors: [] });
  const cases: [unknown, RegExp][] = [
    [{ ...base, projectID: 'My Project' }, /spec\.provider\.gcpsm\.projectID must be a Google Cloud project ID/],
    [{ secretVersionSelectionPolicy: 'LatestOrFail' }, /spec\.provider\.gcpsm\.projectID is required/],
    [{ ...base, secretVersionSelectionPolicy: 'Newest' }, /spec\.provider\.gcpsm\.secretVersionSelectionPolicy/],
    [{ ...base, location: 'Europe West' }, /location must be a Google Cloud location/],
    [{ ...base, auth: { ...wi().auth, secretRef: { secretAccessKeySecretRef: { name: 'k', key: 'k' } } } }, /auth must set only one of secretRef, workloadIdentity and workloadIdentityFederation/],
    [{ ...base, auth: { workloadIdentityFederation: { serviceAccountRef: { name: 'x' } } } }, /audience is required with serviceAccountRef/],
    [{ ...base, auth: { workloadIdentityFederation: { audience } } }, /exactly one of credConfig, serviceAccountRef and awsSecurityCredentials/],
    [{ ...base, auth: { workloadIdentityFederation: { awsSecurityCredentials: { region: 'eu-west-1', awsCredentialsSecretRef: { name: 'aws' } }, audience } } }, /awsSecurityCredentials is not supported by secret-relay yet/],
    [{ ...base, auth: { workloadIdentityFederation: { serviceAccountRef: { name: 'x' }, audience, gcpServiceAccountEmail: 'me@example.com' } } }, /gcpServiceAccountEmail must be a Google service account email/],
  ];
  for (const [spec, message] of cases) {
    const { errors } = validateGcpSpec(spec);
    assert.ok(errors.some((e) => message.test(e)), `${JSON.stringify(spec)} → ${JSON.stringify(errors)}`);
  }
  assert.deepEqual(validateGcpSpec({ ...base, endpoints: { secretManager: 'http://127.0.0.1:9000', sts: 'https://sts.example.com' } }).errors, []);
  assert.deepEqual(validateGcpSpec({ ...base, auth: { workloadIdentityFederation: { credConfig: { name: 'c', key: 'k' }, externalTokenEndpoint: 'https://tokens.example/t' } } }), { warnings: [], errors: [] });
});

test('auth plans: GKE WI, federation audiences, key file, ADC; referent only when a ClusterSecretStore leaves a namespace out', () => {
  const cluster = { storeKind: 'ClusterSecretStore' as const, storeNamespace: undefined, namespace: 'team-a' };
  const own = { storeKind: 'SecretStore' as const, storeNamespace: 'team-a', namespace: 'team-a' };
  const gke = planGcpAuth(wi(), own);
  assert.equal(gke.referent, false);
  assert.deepEqual(gke.plan, { kind: 'workloadIdentity', serviceAccount: { namespace: 'team-a', name: 'reader' }, extraAudiences: [], cluster: { projectID: 'my-project', location: 'europe-west1', name: 'c1' } });
  assert.equal(planGcpAuth(wi(), cluster).referent, true);
  assert.equal(planGcpAuth(wi('ops'), cluster).referent, false);
  const explicit = planGcpAuth(wi('ops'), cluster).plan;
  assert.deepEqual(explicit.kind === 'workloadIdentity' ? explicit.serviceAccount : undefined, { namespace: 'ops', name: 'reader' });

  const federation = planGcpAuth({ ...base, auth: { workloadIdentityFederation: { serviceAccountRef: { name: 'fed' }, audience } } }, own).plan;
  assert.deepEqual(federation, {
    kind: 'federation',
    subject: { serviceAccount: { namespace: 'team-a', name: 'fed' }, audiences: ['https://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/k8s'] },
    audience,
    impersonate: undefined,
  });
  const custom = planGcpAuth({ ...base, auth: { workloadIdentityFederation: { serviceAccountRef: { name: 'fed', audiences: ['aud-1'] }, audience, gcpServiceAccountEmail: 'r@p.iam.gserviceaccount.com' } } }, own).plan;
  assert.ok(custom.kind === 'federation' && custom.subject.audiences[0] === 'aud-1' && custom.impersonate === 'r@p.iam.gserviceaccount.com');
  const key = planGcpAuth({ ...base, auth: { secretRef: { secretAccessKeySecretRef: { name: 'gcp-key', key: 'key.json' } } } }, cluster);
  assert.deepEqual(key, { plan: { kind: 'key', key: { namespace: 'team-a', name: 'gcp-key', key: 'key.json' } }, referent: true });
  assert.deepEqual(planGcpAuth(base, cluster), { plan: { kind: 'adc' }, referent: false });
  assert.equal(defaultFederationTokenAudience('custom'), 'custom');

  const provider = createGcpProvider();
  assert.equal(provider.clientPartition!(wi(), { storeKind: 'ClusterSecretStore', namespace: 'team-b' }), 'team-b');
  assert.equal(provider.clientPartition!(wi(), { storeKind: 'SecretStore', namespace: 'team-b' }), undefined);
});

test('GKE identity, endpoints and resource names', () => {
  assert.deepEqual(gkeIdentity({ projectID: 'p1', location: 'us-central1', name: 'c' }), {
    pool: 'p1.svc.id.goog',
    stsAudience: 'identitynamespace:p1.svc.id.goog:https://container.googleapis.com/v1/projects/p1/locations/us-central1/clusters/c',
  });
  assert.deepEqual(secretManagerEndpoint({}), { host: 'secretmanager.googleapis.com', port: 443, secure: true });
  assert.deepEqual(secretManagerEndpoint({ location: 'europe-west1' }), { host: 'secretmanager.europe-west1.rep.googleapis.com', port: 443, secure: true });
  assert.deepEqual(secretManagerEndpoint({ endpoints: { secretManager: 'http://127.0.0.1:8085' } }), { host: '127.0.0.1', port: 8085, secure: false });
  assert.deepEqual(tokenEndpoints({}), { tokenUrl: 'https://sts.googleapis.com/v1/token', iamCredentials: 'https://iamcredentials.googleapis.com' });
  assert.deepEqual(tokenEndpoints({ endpoints: { sts: 'http://127.0.0.1:1/', iamCredentials: 'http://127.0.0.1:2' } }), { tokenUrl: 'http://127.0.0.1:1/v1/token', iamCredentials: 'http://127.0.0.1:2' });
  assert.equal(versionName('projects/p', 'db', undefined), 'projects/p/secrets/db/versions/latest');
  assert.equal(versionName('projects/p/locations/l', 'db', '3'), 'projects/p/locations/l/secrets/db/versions/3');
  assert.equal(versionName('projects/p', 'projects/q/secrets/db/versions/2', undefined), 'projects/q/secrets/db/versions/2', 'a full name keeps its version');
  assert.equal(secretName('projects/p', 'projects/q/secrets/db/versions/2'), 'projects/q/secrets/db');
  assert.equal(secretIdOf('projects/123/locations/l/secrets/db'), 'db');
  assert.equal(labelsFilter({ team: 'a', env: 'prod env' }), 'labels.team="a" labels.env="prod env"');
  assert.equal(labelsFilter({}), undefined);
});

test('errors: gRPC codes map to the contract with Google’s reason and what to do; token refusals are terminal and carry no token', () => {
  const call = { method: 'AccessSecretVersion', resource: 'projects/p/secrets/s/versions/latest', identity: 'Google service account r@p.iam.gserviceaccount.com' };
  const grpcError = (code: number, details: string) => Object.assign(new Error(`${code} X: ${details}`), { code, details });
  assert.ok(mapGcpError(grpcError(GrpcCode.NOT_FOUND, 'Secret [projects/1/secrets/s] not found or has no versions.'), call) instanceof NoSecretError);
  const denied = mapGcpError(grpcError(GrpcCode.PERMISSION_DENIED, "Permission 'secretmanager.versions.access' denied for resource 'x' (or it may not exist)."), call);
  assert.ok(denied instanceof TerminalError);
  assert.match(denied.message, /AccessSecretVersion on projects\/p\/secrets\/s\/versions\/latest was denied to Google service account r@p\.iam\.gserviceaccount\.com: Permission .* — grant that identity roles\/secretmanager\.secretAccessor/);
  assert.match(mapGcpError(grpcError(GrpcCode.PERMISSION_DENIED, 'x'), { ...call, method: 'ListSecrets' }).message, /roles\/secretmanager\.viewer on the project/);
  assert.ok(!(mapGcpError(grpcError(GrpcCode.UNAUTHENTICATED, 'Request had invalid authentication credentials.'), call) instanceof TerminalError), 'retried: the token was dropped, the next call exchanges anew');
  const disabled = grpcError(GrpcCode.FAILED_PRECONDITION, 'Secret Version [projects/1/secrets/s/versions/2] is in DISABLED state.');
  assert.ok(isDisabledOrDestroyed(disabled));
  assert.match(mapGcpError(disabled, call).message, /LatestOrFetch/);
  assert.ok(mapGcpError(grpcError(GrpcCode.RESOURCE_EXHAUSTED, 'Quota exceeded'), call) instanceof ThrottledError);
  const unavailable = mapGcpError(grpcError(GrpcCode.UNAVAILABLE, 'unavailable'), call);
  assert.ok(!(unavailable instanceof TerminalError) && !(unavailable instanceof ThrottledError), 'transient: the controller retries with backoff');

  const sts = Object.assign(new Error('Error code invalid_grant: The audience in ID Token [x] does not match the expected audience.'), {
    response: { status: 400, data: { error: 'invalid_grant', error_description: 'The audience in ID Token [x] does not match the expected audience.' } },
    config: { body: 'subject_token=eyJsecret' },
  });
  const mapped = mapTokenError(sts, 'Google STS', 'ServiceAccount ns/sa', 'check the audience');
  assert.ok(mapped instanceof TerminalError);
  assert.equal(mapped.message, 'Google STS refused ServiceAccount ns/sa: invalid_grant: The audience in ID Token [x] does not match the expected audience. — check the audience');
  assert.equal(mapped.cause, undefined, 'the library error (whose request holds the subject token) is not kept');
  const iam = Object.assign(new Error('x'), { response: { status: 403, data: { error: { code: 403, status: 'PERMISSION_DENIED', message: "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist)." } } } });
  assert.match(mapTokenError(iam, 'IAM', 'sa', 'bind').message, /refused sa: PERMISSION_DENIED: Permission 'iam\.serviceAccounts\.getAccessToken' denied/);
  assert.ok(!(mapTokenError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'STS', 'sa', '') instanceof TerminalError));
  assert.equal(tokenStep({ config: { url: new URL('https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@b:generateAccessToken') } }, 'x'), 'Google IAM Credentials generateAccessToken');
  assert.equal(tokenStep({ config: { url: 'https://sts.googleapis.com/v1/token' } }, 'x'), 'Google STS');
  assert.equal(tokenStep(new Error('no config'), 'fallback'), 'fallback');
});

test('credentials: one exchange serves every caller until shortly before expiry; the annotation picks the Google service account', async () => {
  const clock = fakeClock(1_000_000);
  let exchanges = 0;
  const seen: { audience: string; impersonation?: string; subject: string }[] = [];
  type PoolOptions = { audience: string; service_account_impersonation_url?: string; subject_token_supplier: { getSubjectToken: () => Promise<string> } };
  // Stands in for google-auth-library's IdentityPoolClient: what it is given, and a token that lives an hour.
  class IdentityPoolClient {
    credentials: { expiry_date?: number } = {};
    readonly #options: PoolOptions;
    constructor(options: PoolOptions) {
      this.#options = options;
    }
    async getAccessToken() {
      exchanges++;
      const subject = await this.#options.subject_token_supplier.getSubjectToken();
      seen.push({ audience: this.#options.audience, subject, ...(this.#options.service_account_impersonation_url ? { impersonation: this.#options.service_account_impersonation_url } : {}) });
      this.credentials = { expiry_date: clock.now() + 3600_000 };
      return { token: `token-${exchanges}` };
    }
  }
  const minted: string[][] = [];
  const ctx = storeContext({
    clock,
    kube: { ...unusedKubeAccess,
      readSecretKey: async () => new Uint8Array(),
      createServiceAccountToken: async (ref) => {
        minted.push([...ref.audiences]);
        return { token: `jwt-for-${ref.namespace}/${ref.name}`, expiresAt: clock.now() + 600_000 };
      },
      readServiceAccountAnnotations: async () => ({ 'iam.gke.io/gcp-service-account': 'reader@my-project.iam.gserviceaccount.com' }),
    },
  });
  const plan = planGcpAuth(wi(), ctx).plan;
  const credentials = createGcpCredentials(plan, {
    ctx,
    clock,
    sdk: { IdentityPoolClient } as unknown as GoogleAuthSdk,
    tokenUrl: 'https://sts.example/v1/token',
    iamCredentials: 'https://iam.example',
    metadata: async () => {
      throw new Error('not asked: the spec names the cluster');
    },
  });
  const tokens = await Promise.all(Array.from({ length: 20 }, () => credentials.token(AbortSignal.timeout(1000))));
  assert.deepEqual(new Set(tokens), new Set(['token-1']));
  assert.equal(exchanges, 1, '20 concurrent callers share one exchange');
  assert.deepEqual(minted, [['my-project.svc.id.goog']]);
  assert.equal(seen[0]!.audience, 'identitynamespace:my-project.svc.id.goog:https://container.googleapis.com/v1/projects/my-project/locations/europe-west1/clusters/c1');
  assert.equal(seen[0]!.impersonation, 'https://iam.example/v1/projects/-/serviceAccounts/reader%40my-project.iam.gserviceaccount.com:generateAccessToken');
  assert.equal(credentials.identity, `Google service account reader@my-project.iam.gserviceaccount.com (via ServiceAccount ${ctx.storeNamespace}/reader)`);
  clock.advance(3600_000 - 6 * 60_000);
  assert.equal(await credentials.token(AbortSignal.timeout(1000)), 'token-1', 'still 6 min left: reused');
  clock.advance(2 * 60_000);
  assert.equal(await credentials.token(AbortSignal.timeout(1000)), 'token-2', 'within 5 min of expiry: renewed');
  credentials.invalidate();
  assert.equal(await credentials.token(AbortSignal.timeout(1000)), 'token-3', 'after Google refused it: exchanged anew');
});

test('workloadIdentity without cluster fields asks the GKE metadata server for them', async () => {
  const clock = fakeClock();
  const asked: string[] = [];
  let audience = '';
  class IdentityPoolClient {
    credentials = { expiry_date: clock.now() + 3600_000 };
    constructor(options: { audience: string }) {
      audience = options.audience;
    }
    async getAccessToken() {
      return { token: 't' };
    }
  }
  const ctx = storeContext({ clock, kube: { ...unusedKubeAccess, readServiceAccountAnnotations: async () => ({}) } });
  const spec: GcpsmProvider = { ...base, auth: { workloadIdentity: { serviceAccountRef: { name: 'reader' } } } };
  const credentials = createGcpCredentials(planGcpAuth(spec, ctx).plan, {
    ctx,
    clock,
    sdk: { IdentityPoolClient } as unknown as GoogleAuthSdk,
    tokenUrl: 'https://sts.example/v1/token',
    iamCredentials: 'https://iam.example',
    metadata: async (path) => {
      asked.push(path);
      return { 'project/project-id': 'gke-project', 'instance/attributes/cluster-location': 'us-east1', 'instance/attributes/cluster-name': 'prod' }[path];
    },
  });
  await credentials.token(AbortSignal.timeout(1000));
  assert.deepEqual(asked.sort(), ['instance/attributes/cluster-location', 'instance/attributes/cluster-name', 'project/project-id']);
  assert.equal(audience, 'identitynamespace:gke-project.svc.id.goog:https://container.googleapis.com/v1/projects/gke-project/locations/us-east1/clusters/prod');
});

test('the Google libraries are not loaded until the first gcpsm client is built', async () => {
  const { execFileSync } = await import('node:child_process');
  const script = [
    "import { createRequire } from 'node:module';",
    "const { createGcpProvider } = await import('./src/providers/gcp/provider.ts');",
    'createGcpProvider();',
    'const loaded = Object.keys(createRequire(import.meta.url).cache);',
    "console.log(JSON.stringify(['google-gax', 'google-auth-library', '@grpc/grpc-js', '@google-cloud/secret-manager'].filter((name) => loaded.some((file) => file.includes(`/node_modules/${name}/`)))));",
  ].join('\n');
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('../../../../', import.meta.url), encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), []);
});

test('credConfig: the external_account JSON becomes IdentityPoolClient options; files, executables and foreign URLs are refused', async () => {
  const { externalAccountOptions } = await import('../../../../src/providers/gcp/external-account.ts');
  const google = { tokenUrl: 'https://sts.googleapis.com/v1/token', iamCredentials: 'https://iamcredentials.googleapis.com' };
  const none = { audience: undefined, impersonate: undefined, externalTokenEndpoint: 'https://tokens.example/t', ...google };
  const config = {
    type: 'external_account',
    audience,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: 'https://sts.googleapis.com/v1/token',
    service_account_impersonation_url: 'https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/r@p.iam.gserviceaccount.com:generateAccessToken',
    service_account_impersonation: { token_lifetime_seconds: 1800 },
    credential_source: { url: 'https://tokens.example/t', format: { type: 'json', subject_token_field_name: 'id_token' } },
  };
  const where = 'key c.json of ConfigMap ns/cfg';
  assert.deepEqual(externalAccountOptions(JSON.stringify(config), none, where), {
    type: 'external_account',
    audience,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: 'https://sts.googleapis.com/v1/token',
    scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    credential_source: { url: 'https://tokens.example/t', format: { type: 'json', subject_token_field_name: 'id_token' } },
    service_account_impersonation_url: config.service_account_impersonation_url,
    service_account_impersonation: { token_lifetime_seconds: 1800 },
    impersonated: 'r@p.iam.gserviceaccount.com',
  });
  const overridden = externalAccountOptions(JSON.stringify(config), { ...none, audience: 'other', impersonate: 'x@p.iam.gserviceaccount.com' }, where);
  assert.equal(overridden.audience, 'other');
  assert.equal(overridden.service_account_impersonation_url, 'https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/x%40p.iam.gserviceaccount.com:generateAccessToken');
  const refusals: [unknown, RegExp][] = [
    ['not json', /is not JSON/],
    [{ ...config, type: 'service_account' }, /"type" is "service_account", expected "external_account"/],
    [{ ...config, credential_source: { file: '/var/run/secrets/kubernetes.io/serviceaccount/token' } }, /credential_source\.file is not supported/],
    [{ ...config, credential_source: { executable: { command: 'sh' } } }, /credential_source\.executable is not allowed/],
    [{ ...config, token_url: 'https://attacker.example/v1/token' }, /token_url https:\/\/attacker\.example\/v1\/token must be Google STS/],
    // A host merely starting with sts. is not Google's STS (the subject token would go to the tenant).
    [{ ...config, token_url: 'https://sts.attacker.example/v1/token' }, /token_url https:\/\/sts\.attacker\.example\/v1\/token must be Google STS/],
    [{ ...config, credential_source: { ...config.credential_source, headers: { 'Metadata-Flavor': 'Google' } } }, /credential_source\.headers may not set Metadata-Flavor/],
    [{ ...config, credential_source: { ...config.credential_source, headers: { metadata: 'true' } } }, /may not set metadata/],
    [{ ...config, service_account_impersonation_url: 'https://attacker.example/x:generateAccessToken' }, /service_account_impersonation_url .* must be Google IAM Credentials/],
    [{ ...config, audience: undefined }, /has no audience/],
  ];
  for (const [json, message] of refusals) {
    assert.throws(() => externalAccountOptions(typeof json === 'string' ? json : JSON.stringify(json), none, where), (err: unknown) => {
      assert.ok(err instanceof TerminalError);
      assert.match(err.message, new RegExp(`^${where}: `));
      assert.match(err.message, message);
      return true;
    });
  }
  assert.throws(() => externalAccountOptions(JSON.stringify(config), { ...none, externalTokenEndpoint: 'https://other/t' }, where), /does not match workloadIdentityFederation\.externalTokenEndpoint/);
  // As ESO: the store must name the token source itself; a ConfigMap alone cannot choose where the operator fetches from.
  assert.throws(() => externalAccountOptions(JSON.stringify(config), { ...none, externalTokenEndpoint: undefined }, where), /must also be set as workloadIdentityFederation\.externalTokenEndpoint/);
  // The store's own endpoint overrides are trusted as Google's.
  const local = { ...none, tokenUrl: 'http://127.0.0.1:1/v1/token', iamCredentials: 'http://127.0.0.1:1' };
  assert.throws(() => externalAccountOptions(JSON.stringify({ ...config, token_url: 'http://127.0.0.2:1/v1/token' }), local, where), /must be Google STS/);
  assert.equal(externalAccountOptions(JSON.stringify({ ...config, token_url: local.tokenUrl, service_account_impersonation_url: 'http://127.0.0.1:1/v1/projects/-/serviceAccounts/r@p.iam.gserviceaccount.com:generateAccessToken' }), local, where).token_url, local.tokenUrl);
});

test('credConfig subject token: never from a link-local or metadata address, by literal or by a name resolving there', async () => {
  const { fetchSubjectToken } = await import('../../../../src/providers/gcp/subject-token.ts');
  const { createServer } = await import('node:http');
  const signal = AbortSignal.timeout(10_000);
  // A request function that never reaches a network: if the guard let one through, it is recorded, not sent.
  const sent: string[] = [];
  const neverSend = ((url: URL) => {
    sent.push(String(url));
    throw new Error('the guard let a request through');
  }) as never;
  for (const url of ['http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/identity', 'http://[fe80::1]/', 'http://100.100.100.200/latest/meta-data/', 'http://[::ffff:169.254.169.254]/', 'http://0xa9.0xfe.0xa9.0xfe/', 'http://2852039166/']) {
    await assert.rejects(fetchSubjectToken({ url }, signal, 1000, neverSend), (err: unknown) => err instanceof TerminalError && /link-local or metadata address/.test(err.message), url);
  }
  assert.deepEqual(sent, []);
  // A name resolving to the metadata server is refused on the resolved address (the lookup the request is given).
  const { guardedLookup } = await import('../../../../src/providers/kit/tenancy.ts');
  const lookup = guardedLookup((_host, _options, callback) => callback(null, '169.254.169.254', 4));
  const refused = await new Promise<NodeJS.ErrnoException | null>((resolve) => lookup('metadata.google.internal', {}, (err) => resolve(err)));
  assert.equal(refused?.code, 'EFORBIDDENADDRESS');
  const allAddresses = guardedLookup((_host, _options, callback) => callback(null, [{ address: '10.0.0.5', family: 4 }, { address: 'fe80::1', family: 6 }]));
  assert.equal((await new Promise<NodeJS.ErrnoException | null>((resolve) => allAddresses('x.example', { all: true }, (err) => resolve(err))))?.code, 'EFORBIDDENADDRESS');
  // A loopback token source works (json format), and its answer is capped.
  const server = createServer((req, res) => res.end(req.url === '/big' ? 'x'.repeat(70_000) : JSON.stringify({ id_token: 'subject-token' })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    assert.equal(await fetchSubjectToken({ url: `http://127.0.0.1:${port}/t`, format: { type: 'json', subject_token_field_name: 'id_token' } }, signal), 'subject-token');
    await assert.rejects(fetchSubjectToken({ url: `http://127.0.0.1:${port}/big` }, signal), /more than 65536 bytes/);
  } finally {
    server.close();
  }
});
