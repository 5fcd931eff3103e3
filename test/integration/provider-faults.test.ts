// Provider faults that heal without a human: every provider's data plane and every token endpoint answers 500, 502,
// 503, 429 with and without Retry-After, stalls (never answers) or resets the connection, while a rotation is made
// in the provider. One operator, one ExternalSecret per (endpoint, fault), all at once:
//
//   AWS Secrets Manager, Parameter Store and STS AssumeRoleWithWebIdentity: real moto, behind the fault proxy
//     (test/support/fault-proxy.ts) and the web-identity check;
//   Vault KV v2 and the kubernetes auth login: real OpenBao, behind the fault proxy;
//   Google Secret Manager (gRPC fake: the status codes a Google front end answers for those HTTP statuses, a stalled
//     call, a reset stream), Google STS and IAM Credentials generateAccessToken: the fakes, behind the fault proxy;
//   Azure Key Vault and the Entra ID token endpoint: the fakes' own fault hooks (they serve HTTPS);
//   Alibaba KMS and STS AssumeRoleWithOIDC: the fake, behind the fault proxy.
//
// What a user would notice is asserted: while the fault lasts the Secret keeps its last good value and the
// ExternalSecret says Ready=False with a reason naming the service that failed (a stalled call: once its timeout
// passed, which bounds it);
// once the fault is removed the rotation reaches the Secret and Ready=True comes back, with no object touched after
// the fault began, within HEAL_DEADLINE_MS; no read is audited and no provider call counted as `denied`; and no
// secret value appears in logs, audit records, Events or status.
//
// PROVIDER_FAULTS=<regexp> runs only the cases whose "endpoint fault" name matches (e.g. PROVIDER_FAULTS='aws|stall').
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, suite, test } from 'node:test';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import * as grpc from '@grpc/grpc-js';
import type { LocalCluster } from '../support/cluster.ts';
import { enableOpenBaoKubernetesAuth } from '../support/openbao-kubernetes-auth.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { startOpenBao, type OpenBao } from '../support/openbao.ts';
import { fetchJwks, startStsWebIdentityCheck, type StsWebIdentityCheck } from '../support/sts-web-identity-check.ts';
import { forward, startHttpFaultProxy, type Fault, type FaultRequest, type FaultRule } from '../support/fault-proxy.ts';
import { adminKube, createObject, decodeData, getObject, patchObject, Plural, readSecret, readyOf, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { cachedJwks, FEDERATED_AUDIENCE, startAzureFakes, type AzureFakes, type FakeVault } from '../fakes/azure/index.ts';
import { Role, startGcpFake, type GcpFake } from '../fakes/gcp/index.ts';
import { startAlibabaFake, type AlibabaFake } from '../fakes/alibaba/server.ts';
import { createAwsProvider } from '../../src/providers/aws/provider.ts';
import { createVaultProvider } from '../../src/providers/vault/provider.ts';
import { createAzureProvider } from '../../src/providers/azure/provider.ts';
import { createGcpProvider } from '../../src/providers/gcp/provider.ts';
import { createAlibabaProvider } from '../../src/providers/alibaba/provider.ts';

/** --service-account-issuer of the test control plane (test/support/cluster.ts). */
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const AWS_REGION = 'us-east-1';
const AWS_ACCOUNT = '123456789012';
const seedCredentials = { accessKeyId: 'AKIASEEDSEEDSEED', secretAccessKey: 'seed' };
const GCP_PROJECT = 'relay-faults';
const GCP_PROJECT_NUMBER = '559102837466';
const GKE = { clusterProjectID: GCP_PROJECT, clusterLocation: 'europe-west1', clusterName: 'relay' };
const TENANT = randomUUID();
const ALIBABA_UID = '1234567890123456';
const ALIBABA_OIDC = `acs:ram::${ALIBABA_UID}:oidc-provider/ack-rrsa-faults`;

/**
 * From the fault's removal to the rotated value in the Secret: the controller's backoff after a fault window of up to
 * ~50 s (1 s doubling: the next retry can be 64 s away), a stalled call's timeout (≤ 30 s), and MSAL's 60 s hold on a
 * credential after Entra ID answered 5xx/429 without Retry-After (measured 59–120 s for those); the rest is margin for
 * a loaded machine. Only the slowest cases come near it: the deadline says the fault healed, not how fast.
 */
const HEAL_DEADLINE_MS = 180_000;
/** How long a fault may take to show (the SDK's own retries, a stalled call's timeout) before Ready=False. */
const SHOW_DEADLINE_MS = 120_000;
/** shared-calls.ts holds a successful read for 5 s; a read triggered sooner would be answered from it. */
const HOLD_MS = 5_500;

type FaultName = '500' | '502' | '503' | '429 Retry-After' | '429' | 'stall' | 'reset';
const FAULTS: readonly FaultName[] = ['500', '502', '503', '429 Retry-After', '429', 'stall', 'reset'];

let cluster: LocalCluster;
let kube: TestKube;
let op: TestOperator;
let moto: Moto;
let stsCheck: StsWebIdentityCheck;
let bao: OpenBao;
let azure: AzureFakes;
let keyVault: FakeVault;
let gcp: GcpFake;
let alibaba: AlibabaFake;
let sm: SecretsManagerClient;
let ssm: SSMClient;
const proxies: { close(): Promise<void> }[] = [];
const secrets = new SecretValues();
const namespaces = new TestNamespaces('pfault');

/** Faults aimed at one case each, behind one rule (a proxy's or a fake's). */
class ScopedFaults {
  readonly #active = new Map<string, { match: (req: FaultRequest) => boolean; fault: Fault; hits: number }>();
  readonly rule: FaultRule = (req) => {
    for (const entry of this.#active.values()) {
      if (entry.match(req)) {
        entry.hits++;
        return entry.fault;
      }
    }
    return forward;
  };
  set(id: string, match: (req: FaultRequest) => boolean, fault: Fault): void {
    this.#active.set(id, { match, fault, hits: 0 });
  }
  hits(id: string): number {
    return this.#active.get(id)?.hits ?? 0;
  }
  clear(id: string): void {
    this.#active.delete(id);
  }
}

const awsFaults = new ScopedFaults();
const vaultFaults = new ScopedFaults();
const gcpIdentityFaults = new ScopedFaults();
const entraFaults = new ScopedFaults();
const keyVaultFaults = new ScopedFaults();
const alibabaKmsFaults = new ScopedFaults();
const alibabaStsFaults = new ScopedFaults();

let awsEndpoint: string;
let vaultAddress: string;
let gcpIdentityEndpoint: string;
let alibabaKmsEndpoint: string;
let alibabaStsEndpoint: string;

async function proxyFor(upstream: string, faults: ScopedFaults): Promise<string> {
  const proxy = await startHttpFaultProxy(upstream);
  proxy.setRule(faults.rule);
  proxies.push(proxy);
  return proxy.url;
}

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  const jwks = cachedJwks(() => fetchJwks(cluster.kubeconfigPath));
  [moto, bao, azure, gcp, alibaba] = await Promise.all([
    startMoto(),
    startOpenBao(),
    startAzureFakes({ jwks }),
    startGcpFake({ kubeconfigPath: cluster.kubeconfigPath, issuer: ISSUER }),
    startAlibabaFake({ kubeconfigPath: cluster.kubeconfigPath }),
  ]);
  stsCheck = await startStsWebIdentityCheck({ upstream: moto.endpoint, kubeconfigPath: cluster.kubeconfigPath, issuer: ISSUER });
  awsEndpoint = await proxyFor(stsCheck.endpoint, awsFaults);
  vaultAddress = await proxyFor(bao.address, vaultFaults);
  gcpIdentityEndpoint = await proxyFor(gcp.identity.stsEndpoint, gcpIdentityFaults);
  alibabaKmsEndpoint = await proxyFor(alibaba.kmsEndpoint, alibabaKmsFaults);
  alibabaStsEndpoint = await proxyFor(alibaba.stsEndpoint, alibabaStsFaults);
  sm = new SecretsManagerClient({ region: AWS_REGION, endpoint: moto.endpoint, credentials: seedCredentials });
  ssm = new SSMClient({ region: AWS_REGION, endpoint: moto.endpoint, credentials: seedCredentials });

  keyVault = await azure.addVault('relay-faults', TENANT);
  azure.entra.setFaultRule(entraFaults.rule);
  keyVault.setFaultRule(keyVaultFaults.rule);
  gcp.identity.addProject(GCP_PROJECT, GCP_PROJECT_NUMBER);
  gcp.identity.addGkeCluster({ projectID: GCP_PROJECT, location: GKE.clusterLocation, name: GKE.clusterName });
  alibaba.addOidcProvider({ arn: ALIBABA_OIDC, issuer: ISSUER });

  await enableOpenBaoKubernetesAuth(bao, kube, cluster);
  await bao.api('PUT', 'sys/policies/acl/faults-read', { policy: 'path "secret/data/faults/*" { capabilities = ["read"] }' });

  op = await startTestOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    // Stalled calls hold a worker until their timeout: enough workers that the other cases are not queued behind them.
    args: ['--leader-elect=false', '--concurrency=32', '--trusted-endpoint-hosts=127.0.0.1'],
    providers: [
      createAwsProvider(),
      createVaultProvider({ operatorServiceAccount: { namespace: 'secret-relay-system', name: 'secret-relay' } }),
      createAzureProvider({ trustedCaPem: azure.tls.caPem }),
      createGcpProvider(),
      createAlibabaProvider(),
    ],
  });
});

after(async () => {
  await stopTestOperator(op, 'provider-faults');
  // Its 84 stores point at servers stopped below: left in the shared cluster, they kept the next suite's operator
  // busy (the tenant-isolation suite timed out behind them in the full run).
  if (kube) await namespaces.deleteAll(kube);
  for (const proxy of proxies) await proxy.close();
  sm?.destroy();
  ssm?.destroy();
  await stsCheck?.stop();
  await Promise.all([moto?.stop(), bao?.stop(), azure?.stop(), gcp?.stop(), alibaba?.stop()]);
  await kube?.close();
  await cluster?.stop();
});

// --- what each service answers for a fault (its own error shape, so each SDK parses it as it would the real one) ---

interface StatusAnswer {
  readonly body: string;
  readonly contentType: string;
  readonly headers?: Record<string, string>;
}

const retryAfterOf = (fault: FaultName) => (fault === '429 Retry-After' ? 2 : undefined);

function httpFault(fault: FaultName, answer: (code: number) => StatusAnswer): Fault {
  if (fault === 'stall') return { kind: 'stall' };
  if (fault === 'reset') return { kind: 'reset' };
  const code = fault.startsWith('429') ? 429 : Number(fault);
  return { kind: 'status', code, retryAfterSeconds: retryAfterOf(fault), ...answer(code) };
}

const awsJsonError = (service: 'secretsmanager' | 'ssm') => (code: number): StatusAnswer => {
  const type = code === 429 ? 'ThrottlingException' : code === 500 ? (service === 'ssm' ? 'InternalServerError' : 'InternalServiceError') : 'ServiceUnavailable';
  return { contentType: 'application/x-amz-json-1.1', headers: { 'x-amzn-errortype': type }, body: JSON.stringify({ __type: type, message: 'injected fault' }) };
};
const awsStsError = (code: number): StatusAnswer => {
  const type = code === 429 ? 'Throttling' : code === 500 ? 'InternalFailure' : 'ServiceUnavailable';
  return {
    contentType: 'text/xml',
    body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>${code === 429 ? 'Sender' : 'Receiver'}</Type><Code>${type}</Code><Message>injected fault</Message></Error><RequestId>fault</RequestId></ErrorResponse>`,
  };
};
const vaultError = (code: number): StatusAnswer => ({
  contentType: 'application/json',
  body: JSON.stringify({ errors: [code === 429 ? 'request path "x": rate limit quota exceeded' : code === 503 ? 'Vault is sealed' : code === 502 ? 'bad gateway' : 'internal error'] }),
});
const googleError = (code: number): StatusAnswer => ({
  contentType: 'application/json',
  body: JSON.stringify({ error: { code, message: code === 429 ? 'Quota exceeded.' : 'The service is currently unavailable.', status: code === 429 ? 'RESOURCE_EXHAUSTED' : code === 500 ? 'INTERNAL' : 'UNAVAILABLE' } }),
});
const googleStsError = (code: number): StatusAnswer => ({
  contentType: 'application/json',
  body: JSON.stringify(code === 429 ? { error: 'rate_limit_exceeded', error_description: 'Quota exceeded.' } : { error: 'server_error', error_description: 'The service is currently unavailable.' }),
});
const entraError = (code: number): StatusAnswer => ({
  contentType: 'application/json; charset=utf-8',
  body: JSON.stringify(
    code === 429
      ? { error: 'temporarily_unavailable', error_description: 'AADSTS50196: The server terminated an operation because it encountered a client request loop.', error_codes: [50196] }
      : { error: 'server_error', error_description: 'AADSTS90033: A transient error has occurred. Please try again.', error_codes: [90033] },
  ),
});
const keyVaultError = (code: number): StatusAnswer => ({
  contentType: 'application/json; charset=utf-8',
  body: JSON.stringify({ error: code === 429 ? { code: 'Throttled', message: 'Request was not processed because too many requests were received.' } : { code: 'ServiceUnavailable', message: 'The service is unavailable.' } }),
});
const alibabaError = (code: number): StatusAnswer => ({
  contentType: 'application/json;charset=utf-8',
  body: JSON.stringify({
    RequestId: randomUUID(),
    HostId: '127.0.0.1',
    Code: code === 429 ? 'Throttling.User' : code === 500 ? 'InternalError' : 'ServiceUnavailable',
    Message: code === 429 ? 'Request was denied due to user flow control.' : 'The request has failed due to a temporary failure of the server.',
  }),
});

/** Google's front end, for a gRPC service: the status code the HTTP status becomes. */
function grpcFault(fault: FaultName): { code: grpc.status; message: string; effect?: 'stall' | 'reset' } {
  if (fault === 'stall') return { code: grpc.status.DEADLINE_EXCEEDED, message: 'stalled', effect: 'stall' };
  if (fault === 'reset') return { code: grpc.status.INTERNAL, message: 'reset', effect: 'reset' };
  if (fault.startsWith('429')) return { code: grpc.status.RESOURCE_EXHAUSTED, message: 'Quota exceeded for quota metric \'Access requests\'.' };
  if (fault === '500') return { code: grpc.status.INTERNAL, message: 'Internal error encountered.' };
  return { code: grpc.status.UNAVAILABLE, message: 'The service is currently unavailable.' };
}

// --- the endpoints ---

/** One case's remote value and fault, set up in its own namespace with its own identity. */
interface Subject {
  /** Sets the remote value (creating it the first time). */
  write(value: string): Promise<void>;
  /** Aims `fault` at this case's requests to the endpoint under test. */
  inject(fault: FaultName): void;
  /** Requests of this case the fault answered so far. */
  hits(): number;
  heal(): void;
  /** The remote key, as the audit records name it. */
  readonly remoteKey: string;
  /** remoteRef.property, where the remote value is a JSON object (Vault KV). */
  readonly property?: string;
}

interface Endpoint {
  readonly name: string;
  readonly provider: string;
  /** A token endpoint: a new login is forced by a new store generation. */
  readonly token: boolean;
  /** What the Ready condition's message must name while the fault lasts. */
  readonly says: RegExp;
  /** Creates the identity, the store (named `store`) and the remote value's home in `ns`. */
  setup(ns: string, id: string): Promise<Subject>;
}

const rx = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const formParam = (req: FaultRequest, name: string) => new URL(req.url, 'http://x').searchParams.get(name) ?? new URLSearchParams(req.body).get(name);
const jsonField = (req: FaultRequest, name: string): unknown => {
  try {
    return (JSON.parse(req.body) as Record<string, unknown>)[name];
  } catch {
    return undefined;
  }
};

async function createStore(ns: string, provider: Record<string, unknown>): Promise<void> {
  await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name: 'store' }, spec: { provider } }, ns);
}

function scoped(faults: ScopedFaults, id: string, match: (req: FaultRequest) => boolean, answer: (code: number) => StatusAnswer) {
  return {
    inject: (fault: FaultName) => faults.set(id, match, httpFault(fault, answer)),
    hits: () => faults.hits(id),
    heal: () => faults.clear(id),
  };
}

function awsEndpointCase(service: 'SecretsManager' | 'ParameterStore', token: boolean): Endpoint {
  return {
    name: token ? `aws ${service} STS AssumeRoleWithWebIdentity` : `aws ${service}`,
    provider: 'aws',
    says: token ? /AWS (throttled )?sts:AssumeRoleWithWebIdentity/ : service === 'SecretsManager' ? /AWS (throttled )?secretsmanager:GetSecretValue/ : /AWS (throttled )?ssm:GetParameter/,
    token,
    async setup(ns, id) {
      const role = `arn:aws:iam::${AWS_ACCOUNT}:role/faults-${ns}`;
      await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader', annotations: { 'eks.amazonaws.com/role-arn': role } } } });
      const key = service === 'SecretsManager' ? `faults/${ns}` : `/faults/${ns}`;
      await createStore(ns, { aws: { service, region: AWS_REGION, endpoint: awsEndpoint, auth: { jwt: { serviceAccountRef: { name: 'reader' } } } } });
      let created = false;
      const match = token
        ? (req: FaultRequest) => formParam(req, 'Action') === 'AssumeRoleWithWebIdentity' && formParam(req, 'RoleArn') === role
        : (req: FaultRequest) => jsonField(req, service === 'SecretsManager' ? 'SecretId' : 'Name') === key;
      return {
        remoteKey: key,
        async write(value) {
          if (service === 'SecretsManager') {
            if (created) await sm.send(new PutSecretValueCommand({ SecretId: key, SecretString: value }));
            else await sm.send(new CreateSecretCommand({ Name: key, SecretString: value }));
          } else {
            await ssm.send(new PutParameterCommand({ Name: key, Value: value, Type: 'SecureString', Overwrite: created }));
          }
          created = true;
        },
        ...scoped(awsFaults, id, match, token ? awsStsError : awsJsonError(service === 'SecretsManager' ? 'secretsmanager' : 'ssm')),
      };
    },
  };
}

function vaultEndpointCase(token: boolean): Endpoint {
  return {
    name: token ? 'vault kubernetes auth login' : 'vault KV v2',
    provider: 'vault',
    says: token ? /Vault (login at|POST) auth\/kubernetes\/login/ : /Vault (read|GET) secret\/data\/faults\//,
    token,
    async setup(ns, id) {
      await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'app' } } });
      await bao.api('POST', `auth/kubernetes/role/${ns}`, { bound_service_account_names: ['app'], bound_service_account_namespaces: [ns], token_policies: ['faults-read'], token_ttl: '1h', audience: 'vault' });
      await createStore(ns, { vault: { server: vaultAddress, path: 'secret', version: 'v2', auth: { kubernetes: { role: ns, serviceAccountRef: { name: 'app', audiences: ['vault'] } } } } });
      const path = `faults/${ns}`;
      const match = token
        ? (req: FaultRequest) => req.url.startsWith('/v1/auth/kubernetes/login') && jsonField(req, 'role') === ns
        : (req: FaultRequest) => req.url.startsWith(`/v1/secret/data/${path}`);
      return {
        remoteKey: path,
        property: 'value',
        write: async (value) => void (await bao.api('POST', `secret/data/${path}`, { data: { value } })),
        ...scoped(vaultFaults, id, match, vaultError),
      };
    },
  };
}

function gcpEndpointCase(plane: 'Secret Manager' | 'STS' | 'IAM Credentials'): Endpoint {
  return {
    name: plane === 'Secret Manager' ? 'gcp Secret Manager' : `gcp ${plane}`,
    provider: 'gcpsm',
    says: plane === 'Secret Manager' ? /Google Secret Manager AccessSecretVersion/ : plane === 'STS' ? /Google STS/ : /Google (STS \/ )?IAM Credentials/,
    token: plane !== 'Secret Manager',
    async setup(ns, id) {
      const google = `f-${randomBytes(3).toString('hex')}@${GCP_PROJECT}.iam.gserviceaccount.com`;
      await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader', annotations: { 'iam.gke.io/gcp-service-account': google } } } });
      gcp.identity.createServiceAccount(google);
      gcp.identity.bindWorkloadIdentityUser(google, gcp.identity.gkeMember(GCP_PROJECT, ns, 'reader'));
      const secretId = `${ns}-db`;
      await createStore(ns, {
        gcpsm: {
          projectID: GCP_PROJECT,
          endpoints: { secretManager: gcp.endpoints.secretManager, sts: gcpIdentityEndpoint, iamCredentials: gcpIdentityEndpoint },
          auth: { workloadIdentity: { serviceAccountRef: { name: 'reader' }, ...GKE } },
        },
      });
      let created = false;
      const write = async (value: string) => {
        if (!created) {
          gcp.secretManager.createSecret(GCP_PROJECT, secretId, { value });
          gcp.secretManager.grant(`serviceAccount:${google}`, Role.accessor, GCP_PROJECT, secretId);
          created = true;
        } else gcp.secretManager.addVersion(GCP_PROJECT, secretId, value);
      };
      if (plane === 'Secret Manager') {
        const resource = `projects/${GCP_PROJECT}/secrets/${secretId}/`;
        const seen = () => gcp.secretManager.calls.filter((c) => c.name.startsWith(resource) && c.code !== grpc.status.OK).length;
        let before = 0;
        return {
          remoteKey: secretId,
          write,
          inject(fault) {
            before = seen();
            gcp.secretManager.inject({ method: 'AccessSecretVersion', resourcePrefix: resource, ...grpcFault(fault) });
          },
          hits: () => seen() - before,
          heal: () => gcp.secretManager.clearFaults(resource),
        };
      }
      // The subject token names the Kubernetes ServiceAccount; generateAccessToken names the Google one in its path.
      const subjectOf = (req: FaultRequest) => {
        const token = formParam(req, 'subject_token') ?? (jsonField(req, 'subjectToken') as string | undefined) ?? '';
        try {
          return (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: string }).sub;
        } catch {
          return undefined;
        }
      };
      const match =
        plane === 'STS'
          ? (req: FaultRequest) => req.url.startsWith('/v1/token') && subjectOf(req) === `system:serviceaccount:${ns}:reader`
          : (req: FaultRequest) => new RegExp(`serviceAccounts/${rx(encodeURIComponent(google))}:generateAccessToken|serviceAccounts/${rx(google)}:generateAccessToken`).test(req.url);
      return { remoteKey: secretId, write, ...scoped(gcpIdentityFaults, id, match, plane === 'STS' ? googleStsError : googleError) };
    },
  };
}

function azureEndpointCase(token: boolean): Endpoint {
  return {
    name: token ? 'azure Entra ID token' : 'azure Key Vault',
    provider: 'azurekv',
    says: token ? /Entra ID/ : /Key Vault (throttled )?get secret faults-/,
    token,
    async setup(ns, id) {
      const app = azure.entra.addApplication({ tenantId: TENANT, clientId: randomUUID() });
      app.federated.push({ issuer: ISSUER, subject: `system:serviceaccount:${ns}:reader`, audiences: [FEDERATED_AUDIENCE] });
      await kube.core.createNamespacedServiceAccount({
        namespace: ns,
        body: { metadata: { name: 'reader', annotations: { 'azure.workload.identity/client-id': app.clientId, 'azure.workload.identity/tenant-id': TENANT } } },
      });
      keyVault.grant(app.objectId);
      const key = `faults-${ns}`;
      await createStore(ns, {
        azurekv: { vaultUrl: keyVault.url, customCloudConfig: { activeDirectoryEndpoint: azure.entra.authorityHost }, authType: 'WorkloadIdentity', serviceAccountRef: { name: 'reader' } },
      });
      const match = token
        ? (req: FaultRequest) => req.url.includes('/oauth2/v2.0/token') && new URLSearchParams(req.body).get('client_id') === app.clientId
        : (req: FaultRequest) => req.url.toLowerCase().startsWith(`/secrets/${key}`) && req.headers.authorization !== undefined;
      return {
        remoteKey: key,
        write: async (value) => void keyVault.setSecret(key, value),
        ...scoped(token ? entraFaults : keyVaultFaults, id, match, token ? entraError : keyVaultError),
      };
    },
  };
}

function alibabaEndpointCase(token: boolean): Endpoint {
  return {
    name: token ? 'alibaba STS AssumeRoleWithOIDC' : 'alibaba KMS',
    provider: 'alibaba',
    says: token ? /Alibaba Cloud (throttled )?sts:AssumeRoleWithOIDC/ : /Alibaba Cloud (throttled )?kms:GetSecretValue/,
    token,
    async setup(ns, id) {
      const role = `acs:ram::${ALIBABA_UID}:role/faults-${ns}`;
      alibaba.addRole({ arn: role, oidcProviderArn: ALIBABA_OIDC, subjects: [`system:serviceaccount:${ns}:reader`], allow: () => true });
      await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader' } } });
      const name = `faults-${ns}`;
      await createStore(ns, {
        alibaba: { regionID: 'cn-hangzhou', endpoint: alibabaKmsEndpoint, auth: { rrsa: { oidcProviderArn: ALIBABA_OIDC, roleArn: role, serviceAccountRef: { name: 'reader' }, stsEndpoint: alibabaStsEndpoint } } },
      });
      const match = token ? (req: FaultRequest) => formParam(req, 'RoleArn') === role : (req: FaultRequest) => formParam(req, 'SecretName') === name;
      return {
        remoteKey: name,
        write: async (value) => void alibaba.putSecret(name, { data: value }),
        ...scoped(token ? alibabaStsFaults : alibabaKmsFaults, id, match, alibabaError),
      };
    },
  };
}

const ENDPOINTS: readonly Endpoint[] = [
  awsEndpointCase('SecretsManager', false),
  awsEndpointCase('ParameterStore', false),
  awsEndpointCase('SecretsManager', true),
  vaultEndpointCase(false),
  vaultEndpointCase(true),
  gcpEndpointCase('Secret Manager'),
  gcpEndpointCase('STS'),
  gcpEndpointCase('IAM Credentials'),
  azureEndpointCase(false),
  azureEndpointCase(true),
  alibabaEndpointCase(false),
  alibabaEndpointCase(true),
];

// --- the matrix ---

interface Outcome {
  readonly endpoint: string;
  readonly fault: FaultName;
  /** What the ExternalSecret said while the fault lasted. */
  readonly during: string;
  readonly healedSeconds: number;
}
const outcomes: Outcome[] = [];
const only = process.env['PROVIDER_FAULTS'] ? new RegExp(process.env['PROVIDER_FAULTS']) : undefined;
const cases = ENDPOINTS.flatMap((endpoint) => FAULTS.map((fault) => ({ endpoint, fault }))).filter(({ endpoint, fault }) => !only || only.test(`${endpoint.name} ${fault}`));
/** Providers whose ExternalSecret said Ready=False during a fault: their metrics must count the failures. */
const providersFailed = new Set<string>();

/** The ExternalSecret's and its store's Ready conditions, for a failure message. */
async function state(ns: string): Promise<string> {
  const es = await esReady(ns);
  const store = readyOf(await getObject(kube, Plural.SecretStore, 'store', ns));
  return `ExternalSecret Ready=${es?.status} ${es?.reason}: ${es?.message}; store Ready=${store?.status} ${store?.reason}: ${store?.message}`;
}

/** Runs a wait; a failure says where the ExternalSecret and its store stood. */
async function explained<T>(ns: string, wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (err) {
    throw new Error(`${(err as Error).message} — now: ${await state(ns)}`, { cause: err });
  }
}

async function esReady(ns: string) {
  return readyOf(await getObject(kube, Plural.ExternalSecret, 'app', ns));
}

suite('every provider fault heals without a human; the Secret keeps its last good value meanwhile', { concurrency: true }, () => {
  for (const { endpoint, fault } of cases) {
    test(`${endpoint.name}: ${fault}`, async () => {
      const ns = await namespaces.create(kube);
      const subject = await endpoint.setup(ns, ns);
      const good = secrets.next('good');
      await subject.write(good);
      await createObject(kube, Plural.ExternalSecret, {
        apiVersion: 'secret-relay.dev/v1alpha1',
        kind: 'ExternalSecret',
        metadata: { name: 'app' },
        spec: { secretStoreRef: { name: 'store' }, refreshInterval: '1h', data: [{ secretKey: 'value', remoteRef: { key: subject.remoteKey, ...(subject.property ? { property: subject.property } : {}) } }] },
      }, ns);
      await explained(ns, waitSecretData(kube, ns, 'app', { value: good }, 120_000));
      const syncedAt = Date.now();

      // The fault begins; something makes the operator call the endpoint; a rotation is made in the provider.
      subject.inject(fault);
      const faulted = () => waitFor(`${endpoint.name} to see a faulted request`, () => subject.hits() > 0, SHOW_DEADLINE_MS);
      if (endpoint.token) {
        // A token endpoint is called again for a new store generation: a new client, so a new login or token exchange
        // (credentials are cached per generation). Until the new generation is seen, the old client may still read.
        await patchObject(kube, Plural.SecretStore, 'store', { spec: { refreshInterval: '7m' } }, ns);
        await faulted();
      }
      const rotated = secrets.next('rotated');
      await subject.write(rotated);
      await waitFor('the read-through window of the last good read to pass', () => Date.now() - syncedAt > HOLD_MS, HOLD_MS + 1_000);
      // The ExternalSecret is refreshed (as its refreshInterval would do).
      await patchObject(kube, Plural.ExternalSecret, 'app', { metadata: { annotations: { 'secret-relay.dev/force-sync': String(Date.now()) } } }, ns);
      await faulted();

      // A stalled call shows once its timeout has passed (and the SDK's retries, stalled too): that bounds it.
      const ready = await waitFor(`${ns}/app Ready=False during ${fault}`, async () => {
        const current = await esReady(ns);
        return current?.status === 'False' ? current : undefined;
      }, SHOW_DEADLINE_MS);
      const during = `Ready=False ${ready.reason}: ${ready.message}`;
      providersFailed.add(endpoint.provider);
      assert.match(ready.message, endpoint.says, `a reason the user can read, naming the service that failed: ${ready.reason}: ${ready.message}`);
      assert.deepEqual(decodeData(await readSecret(kube, ns, 'app')), { value: good }, 'the Secret keeps its last good value while the fault lasts');

      // The fault ends: no object is touched from now on.
      subject.heal();
      const healed = Date.now();
      console.log(`# ${endpoint.name} × ${fault} (${ns}) during the fault: ${during.slice(0, 300)}`);
      await explained(ns, waitSecretData(kube, ns, 'app', { value: rotated }, HEAL_DEADLINE_MS));
      await waitFor(`${ns}/app Ready=True`, async () => (await esReady(ns))?.status === 'True', 30_000);
      const healedSeconds = (Date.now() - healed) / 1000;
      outcomes.push({ endpoint: endpoint.name, fault, during, healedSeconds });
      console.log(`# ${endpoint.name} × ${fault}: healed in ${healedSeconds.toFixed(1)} s`);

      // Never classified as a refusal.
      const results = op.audit.lines
        .map((line) => JSON.parse(line) as { action?: string; remoteKey?: string; result?: string })
        .filter((r) => r.action === 'provider.read' && (r.remoteKey === subject.remoteKey || r.remoteKey === `${subject.remoteKey}#${subject.property}`))
        .map((r) => r.result);
      assert.ok(!results.includes('denied'), `no read of ${subject.remoteKey} audited as denied (${results.join(',')})`);
      if (!endpoint.token) {
        const expected = fault.startsWith('429') ? /^(error|throttled)$/ : /^error$/;
        assert.ok(results.some((r) => expected.test(r ?? '')), `the failed reads of ${subject.remoteKey} audited as ${expected.source} (${results.join(',')})`);
      }
    });
  }
});

test('no provider call was counted as denied; the faults were counted as errors or throttling', async () => {
  assert.ok(outcomes.length > 0, 'cases ran');
  const metrics = await (await fetch(`http://127.0.0.1:${op.operator.metricsPort}/metrics`)).text();
  const denied = metrics.split('\n').filter((line) => /^secret_relay_provider_requests_total\{[^}]*result="denied"\} [1-9]/.test(line));
  assert.deepEqual(denied, [], 'no call counted as denied');
  for (const provider of providersFailed) {
    assert.ok(new RegExp(`secret_relay_provider_requests_total\\{provider="${provider}",[^}]*result="(error|throttled)"\\} [1-9]`).test(metrics), `${provider}: the faults were counted`);
  }
  console.log('# fault matrix (endpoint × fault → healed in s):');
  for (const o of outcomes.sort((a, b) => a.endpoint.localeCompare(b.endpoint))) console.log(`#   ${o.endpoint} × ${o.fault}: ${o.healedSeconds.toFixed(1)} s`);
});

test('no secret value appears in any log line, audit record, Event or status written during the suite', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], expectAudit: true, kube, namespaces: namespaces.names, values: secrets, atLeast: 2 });
});
