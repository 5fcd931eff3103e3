// workloadIdentityFederation.credConfig: an `external_account` credential configuration (the JSON `gcloud iam
// workload-identity-pools create-cred-config` writes) kept in a ConfigMap. Pure: the JSON is checked and turned
// into IdentityPoolClient options. The subject token may come only from `credential_source.url` (e.g. a token
// service next to the cluster); files (the operator's own file system, its own ServiceAccount token) and executables
// are refused, and the token and impersonation URLs must be Google's (or the store's own endpoint overrides), so a
// ConfigMap cannot send a subject token anywhere else.
import { TerminalError } from '../provider.ts';
import { CLOUD_PLATFORM_SCOPE, impersonationUrl, JWT_TOKEN_TYPE } from './plan.ts';

/** Google's STS token URL: the only token_url a credConfig may name besides the store's vetted endpoints.sts. */
export const GOOGLE_STS_TOKEN_URL = 'https://sts.googleapis.com/v1/token';
/** Headers that would let a subject-token request pose as a metadata-server client (GCP, AWS, Azure). */
const METADATA_HEADER = /^(metadata|x-google-metadata|x-aws-ec2-metadata)/i;
const IMPERSONATION_URL = /^https:\/\/iamcredentials\.(?:[a-z0-9-]+\.)*googleapis\.com\/v1\/projects\/[^/]+\/serviceAccounts\/[^/]+:generateAccessToken$/;
const SUBJECT_TOKEN_TYPES = new Set([JWT_TOKEN_TYPE, 'urn:ietf:params:oauth:token-type:id_token']);

export interface CredConfigOverrides {
  /** workloadIdentityFederation.audience: wins over the JSON's. */
  readonly audience: string | undefined;
  /** gcpServiceAccountEmail: wins over service_account_impersonation_url. */
  readonly impersonate: string | undefined;
  /** externalTokenEndpoint: required; credential_source.url must equal it (as ESO requires). */
  readonly externalTokenEndpoint: string | undefined;
  /** The store's token URL and IAM Credentials base (Google's, or spec.provider.gcpsm.endpoints). */
  readonly tokenUrl: string;
  readonly iamCredentials: string;
}

export interface ExternalAccountOptions {
  readonly type: 'external_account';
  readonly audience: string;
  readonly subject_token_type: string;
  readonly token_url: string;
  readonly scopes: readonly string[];
  readonly credential_source: { url: string; headers?: Record<string, string>; format?: { type: 'json' | 'text'; subject_token_field_name?: string } };
  readonly service_account_impersonation_url?: string;
  readonly service_account_impersonation?: { token_lifetime_seconds: number };
  /** The Google service account impersonated, for the identity. */
  readonly impersonated: string | undefined;
}

type Json = Record<string, unknown>;

/** The IdentityPoolClient options of a credConfig, or a TerminalError naming what is wrong in it (`where`). Pure. */
export function externalAccountOptions(text: string, overrides: CredConfigOverrides, where: string): ExternalAccountOptions {
  const problem = (what: string): never => {
    throw new TerminalError(`${where}: ${what}`);
  };
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch {
    return problem('is not JSON; store the external_account credential configuration (gcloud iam workload-identity-pools create-cred-config)');
  }
  if (json === null || typeof json !== 'object' || json['type'] !== 'external_account') return problem(`"type" is ${JSON.stringify(json?.['type'])}, expected "external_account"`);
  const audience = overrides.audience || (typeof json['audience'] === 'string' ? json['audience'] : '');
  if (audience === '') return problem('has no audience; set it there or in workloadIdentityFederation.audience');
  const subjectTokenType = typeof json['subject_token_type'] === 'string' ? json['subject_token_type'] : JWT_TOKEN_TYPE;
  if (!SUBJECT_TOKEN_TYPES.has(subjectTokenType)) return problem(`subject_token_type ${subjectTokenType} is not supported (use ${JWT_TOKEN_TYPE})`);

  const tokenUrl = typeof json['token_url'] === 'string' ? json['token_url'] : overrides.tokenUrl;
  // Exactly Google's STS, or the store's own endpoints.sts (vetted by the tenancy rules): the subject token goes there.
  if (tokenUrl !== GOOGLE_STS_TOKEN_URL && tokenUrl !== overrides.tokenUrl) return problem(`token_url ${tokenUrl} must be Google STS (${GOOGLE_STS_TOKEN_URL}) or spec.provider.gcpsm.endpoints.sts`);

  const source = (json['credential_source'] ?? {}) as Json;
  if ('executable' in source) return problem('credential_source.executable is not allowed');
  if ('file' in source) return problem('credential_source.file is not supported (it would read the operator\'s own file system); use credential_source.url, or serviceAccountRef with audience');
  if ('environment_id' in source) return problem('credential_source.environment_id (AWS) is not supported');
  const url = source['url'];
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) return problem('needs credential_source.url (the subject token source)');
  if (overrides.externalTokenEndpoint === undefined) {
    return problem(`credential_source.url ${url} must also be set as workloadIdentityFederation.externalTokenEndpoint (the store says where its subject token may come from)`);
  }
  if (overrides.externalTokenEndpoint !== url) {
    return problem(`credential_source.url ${url} does not match workloadIdentityFederation.externalTokenEndpoint ${overrides.externalTokenEndpoint}`);
  }
  const headers = source['headers'] as Record<string, string> | undefined;
  const metadataHeader = Object.keys(headers && typeof headers === 'object' ? headers : {}).find((name) => METADATA_HEADER.test(name));
  if (metadataHeader !== undefined) return problem(`credential_source.headers may not set ${metadataHeader} (a metadata-server header)`);
  const format = source['format'] as { type?: unknown; subject_token_field_name?: unknown } | undefined;
  if (format !== undefined && format.type !== 'json' && format.type !== 'text') return problem('credential_source.format.type must be json or text');

  let impersonation = typeof json['service_account_impersonation_url'] === 'string' ? json['service_account_impersonation_url'] : undefined;
  if (overrides.impersonate) impersonation = impersonationUrl(overrides.iamCredentials, overrides.impersonate);
  else if (impersonation !== undefined && !IMPERSONATION_URL.test(impersonation) && !impersonation.startsWith(`${overrides.iamCredentials}/v1/projects/`)) {
    return problem(`service_account_impersonation_url ${impersonation} must be Google IAM Credentials (https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/EMAIL:generateAccessToken)`);
  }
  const impersonated = overrides.impersonate ?? (impersonation ? decodeURIComponent(/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(impersonation)?.[1] ?? '') || undefined : undefined);
  const lifetime = (json['service_account_impersonation'] as { token_lifetime_seconds?: unknown } | undefined)?.token_lifetime_seconds;

  return {
    type: 'external_account',
    audience,
    subject_token_type: subjectTokenType,
    token_url: tokenUrl,
    scopes: [CLOUD_PLATFORM_SCOPE],
    credential_source: {
      url,
      ...(headers && typeof headers === 'object' ? { headers } : {}),
      ...(format ? { format: { type: format.type as 'json' | 'text', ...(typeof format.subject_token_field_name === 'string' ? { subject_token_field_name: format.subject_token_field_name } : {}) } } : {}),
    },
    ...(impersonation ? { service_account_impersonation_url: impersonation } : {}),
    ...(typeof lifetime === 'number' && impersonation ? { service_account_impersonation: { token_lifetime_seconds: lifetime } } : {}),
    impersonated,
  };
}
