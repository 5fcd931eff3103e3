// Access tokens for one gcpsm store. Workload identity (GKE or federation) mints a fresh TokenRequest token for each
// exchange and hands it to google-auth-library's IdentityPoolClient through a subject-token supplier (never a file),
// which exchanges it at STS and, when a Google service account is named, at IAM Credentials generateAccessToken. The
// resulting access token is kept in the kit's credential memo (single flight, renewed before expiry), so 20 reads cost
// one exchange. Nothing is put in the process environment.
import type { Clock } from '../../util/clock.ts';
import { TerminalError } from '../provider.ts';
import { untilAborted } from '../abortable.ts';
import type { StoreContext } from '../provider.ts';
import { createCredentialMemo, describeStore, readSecretText, serviceAccountTokenSource, type CredentialMemo } from '../kit/index.ts';
import { mapTokenError, tokenStep } from './errors.ts';
import { externalAccountOptions } from './external-account.ts';
import { fetchSubjectToken } from './subject-token.ts';
import { CLOUD_PLATFORM_SCOPE, GCP_SA_ANNOTATION, gkeIdentity, impersonationUrl, JWT_TOKEN_TYPE, type GcpAuthPlan } from './plan.ts';
import type { GoogleAuthSdk } from './sdk.ts';

export interface AccessToken {
  readonly token: string;
  readonly expiresAt: number;
}

export interface GcpCredentials {
  /** Who the tokens act as (a Google service account, a federated principal, a key's client_email). Never a secret. */
  readonly identity: string;
  /** A valid access token (shared, renewed before expiry). */
  token(signal: AbortSignal): Promise<string>;
  /** Forget the token (Google refused it): the next call exchanges anew. */
  invalidate(): void;
  /** Exchanges started so far (tests). */
  fetches(): number;
}

/** GKE metadata server attributes (cluster-name, cluster-location) and project-id; injectable for tests. */
export type MetadataLookup = (path: 'project/project-id' | 'instance/attributes/cluster-name' | 'instance/attributes/cluster-location', signal: AbortSignal) => Promise<string>;

export interface GcpAuthDeps {
  readonly ctx: StoreContext;
  readonly clock: Clock;
  readonly sdk: GoogleAuthSdk;
  readonly tokenUrl: string;
  readonly iamCredentials: string;
  readonly metadata: MetadataLookup;
}

/** Google's access tokens live 1 h; renewed 5 min before (the memo's default margin). */
const FALLBACK_LIFETIME_MS = 5 * 60_000;
/** Deadline of one STS or IAM Credentials request (Google answers in well under a second); the memo's own 30 s caps the whole exchange. */
const TOKEN_REQUEST_TIMEOUT_MS = 15_000;
/**
 * Deadline of one whole exchange (STS, then IAM Credentials). google-auth-library gives its STS request a transporter
 * of its own, without our timeout: a stalled STS held the exchange until the memo's 60 s, and then said only
 * "TimeoutError: The operation was aborted due to timeout" (provider-faults suite). Equal to the memo's deadline,
 * which starts earlier (with the metadata and TokenRequest steps) and so usually speaks first, naming the store.
 */
const EXCHANGE_TIMEOUT_MS = 2 * TOKEN_REQUEST_TIMEOUT_MS;

/** `work`, or an error saying it had no answer within `ms` (mapped as a token failure, so it names the step). */
async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  const deadline = AbortSignal.timeout(ms);
  try {
    return await untilAborted(work, deadline);
  } catch (error) {
    if (error === deadline.reason) throw new Error(`no answer within ${ms / 1000} s; it will be retried with backoff`, { cause: error });
    throw error;
  }
}

/** The GKE metadata server, asked only when a workloadIdentity store leaves cluster fields out. */
export function gkeMetadataLookup(baseUrl = 'http://metadata.google.internal/computeMetadata/v1'): MetadataLookup {
  return async (path, signal) => {
    const response = await fetch(`${baseUrl}/${path}`, { headers: { 'Metadata-Flavor': 'Google' }, signal: AbortSignal.any([signal, AbortSignal.timeout(3_000)]) }).catch(
      (err: unknown) => {
        throw new TerminalError(
          `the GKE metadata server did not answer ${path} (${err instanceof Error ? err.message : String(err)}): set clusterProjectID, clusterLocation and clusterName in spec.provider.gcpsm.auth.workloadIdentity`,
        );
      },
    );
    if (!response.ok) throw new TerminalError(`the GKE metadata server answered ${response.status} for ${path}: set the cluster fields of spec.provider.gcpsm.auth.workloadIdentity`);
    return (await response.text()).trim();
  };
}

function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function bearer(headers: Headers): string {
  const value = headers.get('authorization') ?? '';
  if (!value.startsWith('Bearer ')) throw new Error('the Google auth library returned no bearer token');
  return value.slice('Bearer '.length);
}

export function createGcpCredentials(plan: GcpAuthPlan, deps: GcpAuthDeps): GcpCredentials {
  const { ctx, clock, sdk } = deps;
  let identity: string;
  let fetch: (signal: AbortSignal) => Promise<AccessToken>;
  /** The endpoints an exchange calls, for the memo's deadline error. */
  let endpoints: () => string;
  const federated = (impersonated: string | undefined) =>
    impersonated ? `Google STS / IAM Credentials generateAccessToken at ${deps.tokenUrl} and ${deps.iamCredentials}` : `Google STS at ${deps.tokenUrl}`;

  switch (plan.kind) {
    case 'workloadIdentity':
    case 'federation': {
      const account = plan.kind === 'workloadIdentity' ? plan.serviceAccount : plan.subject.serviceAccount;
      const accountLabel = `ServiceAccount ${account.namespace}/${account.name}`;
      let impersonated: string | undefined = plan.kind === 'federation' ? plan.impersonate : undefined;
      const describe = (): string => (impersonated ? `Google service account ${impersonated} (via ${accountLabel})` : `the federated identity of ${accountLabel}`);
      identity = describe();
      endpoints = () => federated(impersonated);
      fetch = async (signal) => {
        let audience: string;
        let audiences: readonly string[];
        if (plan.kind === 'workloadIdentity') {
          const cluster = {
            projectID: plan.cluster.projectID ?? (await deps.metadata('project/project-id', signal)),
            location: plan.cluster.location ?? (await deps.metadata('instance/attributes/cluster-location', signal)),
            name: plan.cluster.name ?? (await deps.metadata('instance/attributes/cluster-name', signal)),
          };
          const gke = gkeIdentity(cluster);
          audience = gke.stsAudience;
          audiences = [gke.pool, ...plan.extraAudiences.filter((a) => a !== gke.pool)];
        } else {
          audience = plan.audience;
          audiences = plan.subject.audiences;
        }
        // The annotation is read at every exchange, so re-annotating the ServiceAccount takes effect at the next renewal.
        if (plan.kind === 'workloadIdentity' || plan.impersonate === undefined) {
          const annotations = await ctx.kube.readServiceAccountAnnotations(account, signal);
          impersonated = annotations[GCP_SA_ANNOTATION] || undefined;
        }
        identity = describe();
        const source = serviceAccountTokenSource(ctx.kube, account, audiences);
        const client = new sdk.IdentityPoolClient({
          type: 'external_account',
          audience,
          subject_token_type: JWT_TOKEN_TYPE,
          token_url: deps.tokenUrl,
          scopes: [CLOUD_PLATFORM_SCOPE],
          subject_token_supplier: { getSubjectToken: async () => (await source.mint(signal)).token },
          ...(impersonated ? { service_account_impersonation_url: impersonationUrl(deps.iamCredentials, impersonated) } : {}),
          transporterOptions: { timeout: TOKEN_REQUEST_TIMEOUT_MS, signal },
        });
        try {
          const { token } = await within(EXCHANGE_TIMEOUT_MS, client.getAccessToken());
          if (!token) throw new Error('no access token in the STS answer');
          return { token, expiresAt: client.credentials.expiry_date ?? clock.now() + FALLBACK_LIFETIME_MS };
        } catch (error) {
          const step = tokenStep(error, impersonated ? 'Google STS / IAM Credentials' : 'Google STS');
          const advice = step.includes('generateAccessToken')
            ? `grant ${accountLabel} roles/iam.workloadIdentityUser on ${impersonated} (or fix the ${GCP_SA_ANNOTATION} annotation / gcpServiceAccountEmail)`
            : 'check the STS audience (pool and provider), the token audiences, and that the pool trusts this cluster’s issuer';
          throw mapTokenError(error, step, accountLabel, advice);
        }
      };
      break;
    }
    case 'credConfig': {
      const { configMap } = plan;
      const where = `key ${configMap.key} of ConfigMap ${configMap.namespace}/${configMap.name}`;
      let impersonated = plan.impersonate;
      const describe = (): string => (impersonated ? `Google service account ${impersonated} (via the credConfig ${where})` : `the federated identity of the credConfig ${where}`);
      identity = describe();
      endpoints = () => federated(impersonated);
      fetch = async (signal) => {
        const options = externalAccountOptions(
          await ctx.kube.readConfigMapKey(configMap, signal),
          { audience: plan.audience, impersonate: plan.impersonate, externalTokenEndpoint: plan.externalTokenEndpoint, tokenUrl: deps.tokenUrl, iamCredentials: deps.iamCredentials },
          where,
        );
        impersonated = options.impersonated;
        identity = describe();
        const { impersonated: _, credential_source: subject, ...clientOptions } = options;
        // Our own fetch of the subject token (never the library's): it refuses link-local and metadata addresses.
        const client = new sdk.IdentityPoolClient({
          ...clientOptions,
          scopes: [...clientOptions.scopes],
          subject_token_supplier: { getSubjectToken: () => fetchSubjectToken(subject, signal, TOKEN_REQUEST_TIMEOUT_MS) },
          transporterOptions: { timeout: TOKEN_REQUEST_TIMEOUT_MS, signal },
        });
        try {
          const { token } = await within(EXCHANGE_TIMEOUT_MS, client.getAccessToken());
          if (!token) throw new Error('no access token in the STS answer');
          return { token, expiresAt: client.credentials.expiry_date ?? clock.now() + FALLBACK_LIFETIME_MS };
        } catch (error) {
          throw mapTokenError(error, tokenStep(error, 'Google STS / IAM Credentials'), `the credConfig ${where}`, 'check the credential source, the audience and the bindings of the pool');
        }
      };
      break;
    }
    case 'key': {
      const { key } = plan;
      identity = `the service-account key in Secret ${key.namespace}/${key.name}`;
      endpoints = () => `reading the service-account key from Secret ${key.namespace}/${key.name} (the Kubernetes API)`;
      fetch = async (signal) => {
        const text = await readSecretText(ctx.kube, key, signal, 'the service-account key (JSON)');
        let parsed: { type?: unknown; client_email?: unknown; private_key?: unknown; private_key_id?: unknown };
        try {
          parsed = JSON.parse(text) as typeof parsed;
        } catch {
          throw new TerminalError(`key ${key.key} of Secret ${key.namespace}/${key.name} is not a JSON service-account key file: store the key file Google gave you`);
        }
        if (parsed.type !== 'service_account' || typeof parsed.client_email !== 'string' || typeof parsed.private_key !== 'string') {
          throw new TerminalError(`key ${key.key} of Secret ${key.namespace}/${key.name} is not a service-account key file (type service_account with client_email and private_key)`);
        }
        identity = `Google service account ${parsed.client_email} (key from Secret ${key.namespace}/${key.name})`;
        // A self-signed JWT (Google's recommended way for a key): no token endpoint, signed here, accepted by the API.
        const client = new sdk.JWT({
          email: parsed.client_email,
          key: parsed.private_key,
          ...(typeof parsed.private_key_id === 'string' ? { keyId: parsed.private_key_id } : {}),
          scopes: [CLOUD_PLATFORM_SCOPE],
        });
        client.useJWTAccessWithScope = true;
        try {
          const token = bearer(await client.getRequestHeaders());
          return { token, expiresAt: jwtExpiry(token) ?? clock.now() + FALLBACK_LIFETIME_MS };
        } catch (error) {
          throw new TerminalError(`the service-account key in Secret ${key.namespace}/${key.name} could not sign a token (${error instanceof Error ? error.message.split('\n')[0] : 'unknown error'}): store a valid key file`);
        }
      };
      break;
    }
    case 'adc': {
      identity = "the operator's own Google identity (Application Default Credentials)";
      const auth = new sdk.GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE] });
      endpoints = () => "Application Default Credentials (the operator's metadata server or credentials file)";
      fetch = async () => {
        try {
          const client = await auth.getClient();
          const token = bearer(await client.getRequestHeaders());
          return { token, expiresAt: client.credentials.expiry_date ?? jwtExpiry(token) ?? clock.now() + FALLBACK_LIFETIME_MS };
        } catch (error) {
          throw mapTokenError(error, 'Application Default Credentials', 'the operator', 'give the operator a Google identity (GKE Workload Identity on its own ServiceAccount) or set spec.provider.gcpsm.auth');
        }
      };
      break;
    }
    case 'unsupported':
      throw new TerminalError(plan.reason);
  }

  const store = describeStore(ctx);
  const memo: CredentialMemo<AccessToken> = createCredentialMemo({ fetch, exchange: () => `${store}: ${endpoints()}`, expiresAt: (value) => value.expiresAt, clock });
  return {
    get identity() {
      return identity;
    },
    token: async (signal) => (await memo.get(signal)).token,
    invalidate: () => memo.invalidate(),
    fetches: () => memo.fetches(),
  };
}
