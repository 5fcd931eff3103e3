// What a gcpsm store means, decided from its spec alone (pure): who it authenticates as, which token audiences and
// STS audience that takes, where the Google endpoints are, and the resource names of secrets and versions.
import type { GcpsmProvider } from '../../api/types.generated.ts';
import { RefResolver, type ResolvedSecretKey, type ResolvedServiceAccount, type StoreWhere } from '../kit/index.ts';

/** The ServiceAccount annotation naming the Google service account to impersonate (GKE's own convention). */
export const GCP_SA_ANNOTATION = 'iam.gke.io/gcp-service-account';
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

export const GOOGLE_ENDPOINTS = {
  secretManager: 'https://secretmanager.googleapis.com',
  sts: 'https://sts.googleapis.com',
  iamCredentials: 'https://iamcredentials.googleapis.com',
} as const;

/** Where the subject token of an STS exchange comes from. */
export interface TokenSubject {
  readonly serviceAccount: ResolvedServiceAccount;
  /** Audiences of the TokenRequest token. */
  readonly audiences: readonly string[];
}

export type GcpAuthPlan =
  | {
      /** GKE Workload Identity: the pool PROJECT.svc.id.goog, the cluster as its provider. */
      readonly kind: 'workloadIdentity';
      readonly serviceAccount: ResolvedServiceAccount;
      /** Extra audiences from serviceAccountRef.audiences (the pool is added once the cluster project is known). */
      readonly extraAudiences: readonly string[];
      readonly cluster: { readonly projectID?: string | undefined; readonly location?: string | undefined; readonly name?: string | undefined };
    }
  | {
      readonly kind: 'federation';
      readonly subject: TokenSubject;
      readonly audience: string;
      /** gcpServiceAccountEmail; when undefined, the ServiceAccount's annotation decides. */
      readonly impersonate: string | undefined;
    }
  | {
      /** An external_account configuration in a ConfigMap; the subject token from its credential_source.url. */
      readonly kind: 'credConfig';
      readonly configMap: ResolvedSecretKey;
      readonly audience: string | undefined;
      readonly impersonate: string | undefined;
      readonly externalTokenEndpoint: string | undefined;
    }
  | { readonly kind: 'unsupported'; readonly reason: string }
  | { readonly kind: 'key'; readonly key: ResolvedSecretKey }
  | { readonly kind: 'adc' };

export interface PlannedAuth {
  readonly plan: GcpAuthPlan;
  /** True when the session depends on the ExternalSecret's namespace (ClusterSecretStore, a namespace left out). */
  readonly referent: boolean;
}

/**
 * The default audience of a federation subject token: Google accepts, for an OIDC provider with no allowed audiences
 * configured, the provider's resource name as a URL (https://iam.googleapis.com/projects/…/providers/…).
 */
export function defaultFederationTokenAudience(stsAudience: string): string {
  return stsAudience.startsWith('//') ? `https:${stsAudience}` : stsAudience;
}

export function planGcpAuth(spec: GcpsmProvider, where: StoreWhere): PlannedAuth {
  const refs = new RefResolver(where);
  const auth = spec.auth;
  let plan: GcpAuthPlan;
  if (auth?.workloadIdentity) {
    const wi = auth.workloadIdentity;
    plan = {
      kind: 'workloadIdentity',
      serviceAccount: refs.serviceAccount(wi.serviceAccountRef),
      extraAudiences: wi.serviceAccountRef.audiences ?? [],
      cluster: { projectID: wi.clusterProjectID || undefined, location: wi.clusterLocation || undefined, name: wi.clusterName || undefined },
    };
  } else if (auth?.workloadIdentityFederation) {
    const wif = auth.workloadIdentityFederation;
    if (wif.serviceAccountRef && wif.audience) {
      plan = {
        kind: 'federation',
        subject: {
          serviceAccount: refs.serviceAccount(wif.serviceAccountRef),
          audiences: wif.serviceAccountRef.audiences?.length ? wif.serviceAccountRef.audiences : [defaultFederationTokenAudience(wif.audience)],
        },
        audience: wif.audience,
        impersonate: wif.gcpServiceAccountEmail,
      };
    } else if (wif.credConfig) {
      plan = {
        kind: 'credConfig',
        // A ConfigMap key resolves like a Secret key: explicit namespace, else the store's, else the ExternalSecret's.
        configMap: refs.secretKey(wif.credConfig),
        audience: wif.audience || undefined,
        impersonate: wif.gcpServiceAccountEmail,
        externalTokenEndpoint: wif.externalTokenEndpoint || undefined,
      };
    } else {
      plan = {
        kind: 'unsupported',
        reason:
          'spec.provider.gcpsm.auth.workloadIdentityFederation.awsSecurityCredentials is not supported by secret-relay yet: use serviceAccountRef with audience',
      };
    }
  } else if (auth?.secretRef) {
    plan = { kind: 'key', key: refs.secretKey(auth.secretRef.secretAccessKeySecretRef) };
  } else {
    plan = { kind: 'adc' };
  }
  return { plan, referent: refs.referent };
}

/** The GKE Workload Identity pool and the STS audience naming the cluster as its identity provider. Pure. */
export function gkeIdentity(cluster: { projectID: string; location: string; name: string }): { pool: string; stsAudience: string } {
  const pool = `${cluster.projectID}.svc.id.goog`;
  const provider = `https://container.googleapis.com/v1/projects/${cluster.projectID}/locations/${cluster.location}/clusters/${cluster.name}`;
  return { pool, stsAudience: `identitynamespace:${pool}:${provider}` };
}

/** Problems of a spec the schema cannot see. Pure. */
export function checkGcpSpec(spec: GcpsmProvider): { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  const wif = spec.auth?.workloadIdentityFederation;
  // Where the store is used does not change whether its auth is supported.
  const planned = planGcpAuth(spec, { storeKind: 'SecretStore', storeNamespace: 'any', namespace: 'any' }).plan;
  if (planned.kind === 'unsupported') errors.push(planned.reason);
  if (spec.projectID === undefined) errors.push('spec.provider.gcpsm.projectID is required: set the project that holds the secrets');
  if (wif?.externalTokenEndpoint !== undefined && !wif.credConfig) {
    warnings.push('spec.provider.gcpsm.auth.workloadIdentityFederation.externalTokenEndpoint applies only with credConfig, which is not set');
  }
  return { errors, warnings };
}

export interface GrpcEndpoint {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
}

/** The Secret Manager endpoint: the override, else the regional endpoint for a location, else the global one. Pure. */
export function secretManagerEndpoint(spec: Pick<GcpsmProvider, 'location' | 'endpoints'>): GrpcEndpoint {
  const url = new URL(spec.endpoints?.secretManager ?? (spec.location ? `https://secretmanager.${spec.location}.rep.googleapis.com` : GOOGLE_ENDPOINTS.secretManager));
  const secure = url.protocol === 'https:';
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port ? Number(url.port) : secure ? 443 : 80, secure };
}

/** Base URLs of STS and IAM Credentials (no trailing slash). Pure. */
export function tokenEndpoints(spec: Pick<GcpsmProvider, 'endpoints'>): { tokenUrl: string; iamCredentials: string } {
  const trim = (url: string): string => url.replace(/\/+$/, '');
  return {
    tokenUrl: `${trim(spec.endpoints?.sts ?? GOOGLE_ENDPOINTS.sts)}/v1/token`,
    iamCredentials: trim(spec.endpoints?.iamCredentials ?? GOOGLE_ENDPOINTS.iamCredentials),
  };
}

export function impersonationUrl(iamCredentials: string, email: string): string {
  return `${iamCredentials}/v1/projects/-/serviceAccounts/${encodeURIComponent(email)}:generateAccessToken`;
}

/** projects/P[/locations/L] — the parent of the store's secrets. Pure. */
export function parentName(projectID: string, location: string | undefined): string {
  return location ? `projects/${projectID}/locations/${location}` : `projects/${projectID}`;
}

/**
 * The secret a remote key names: a bare secret id, or a full resource name (projects/P/secrets/S, as ESO accepts,
 * so a key may read another project the identity is granted on). Pure.
 */
export function secretName(parent: string, key: string): string {
  return key.startsWith('projects/') ? key.replace(/\/versions\/[^/]+$/, '') : `${parent}/secrets/${key}`;
}

/** projects/P/secrets/S/versions/V; version default latest (a key that already names a version keeps it). Pure. */
export function versionName(parent: string, key: string, version: string | undefined): string {
  const named = /\/versions\/([^/]+)$/.exec(key)?.[1];
  return `${secretName(parent, key)}/versions/${version ?? named ?? 'latest'}`;
}

/** The secret id of a full name from ListSecrets (projects/NUMBER/[locations/L/]secrets/ID). Pure. */
export function secretIdOf(name: string): string {
  return name.slice(name.lastIndexOf('/secrets/') + '/secrets/'.length);
}

/**
 * A ListSecrets filter for find.tags: every label must equal its value (terms joined by spaces are ANDed).
 * Values are quoted so a value with spaces or colons stays one term. Pure.
 */
export function labelsFilter(tags: Readonly<Record<string, string>> | undefined): string | undefined {
  const terms = Object.entries(tags ?? {}).map(([key, value]) => `labels.${key}=${JSON.stringify(value)}`);
  return terms.length > 0 ? terms.join(' ') : undefined;
}
