// spec.provider.gcpsm: Google Cloud Secret Manager.
import { z } from 'zod';
import { DNS_LABEL_PATTERN, DNS_SUBDOMAIN_PATTERN, Limits } from '../common.ts';
import { matchingString, nonEmptyString, typeMeta, withRules } from '../schema-helpers.ts';
import { SecretKeySelectorSchema, serviceAccountNameFields, type ProviderDefinition } from './kit.ts';

export const GcpLimits = {
  projectID: 30,
  location: 64,
  clusterField: 128,
  audience: 512,
  audiences: 8,
  email: 254,
  endpoint: 2048,
  key: 253,
  region: 50,
} as const;

/** A Google project ID (6-30 lowercase letters, digits, hyphens; legacy ones domain-scoped: example.com:my-project) or a project number. */
const GCP_PROJECT_PATTERN = '^(([a-z0-9.-]+:)?[a-z][-a-z0-9]{4,28}[a-z0-9]|[0-9]{1,20})$';
const GCP_LOCATION_PATTERN = '^[a-z][-a-z0-9]*[a-z0-9]$';
const GCP_SERVICE_ACCOUNT_EMAIL_PATTERN = '^.*@.*[.]iam[.]gserviceaccount[.]com$';
const GCP_ENDPOINT_PATTERN = '^https?://[^ /]+(/[^ ]*)?$';

function gcpProject(field: string) {
  return matchingString({
    pattern: GCP_PROJECT_PATTERN,
    maxLength: GcpLimits.projectID,
    message: `${field} must be a Google Cloud project ID (6-30 lowercase letters, digits and hyphens) or project number`,
  });
}

export const GcpServiceAccountSelectorSchema = z
  .object({
    ...serviceAccountNameFields(),
    audiences: z
      .array(nonEmptyString({ maxLength: GcpLimits.audience, message: 'serviceAccountRef.audiences must not hold empty strings' }))
      .max(GcpLimits.audiences)
      .optional()
      .describe(
        'Audiences of the minted token. workloadIdentity: added to PROJECT.svc.id.goog; workloadIdentityFederation: default the provider URL Google accepts (https://iam.googleapis.com/ + the audience without its leading //).',
      ),
  })
  .meta(typeMeta('GcpServiceAccountSelector', 'A ServiceAccount whose short-lived token (TokenRequest API) is exchanged at Google STS.'));

export const GcpSecretRefAuthSchema = z
  .object({
    secretAccessKeySecretRef: SecretKeySelectorSchema.describe('The Google service-account key file (JSON).'),
  })
  .meta(typeMeta('GcpSecretRefAuth', 'A Google service-account key kept in a Secret: the weakest option, a long-lived key.'));

export const GcpWorkloadIdentitySchema = z
  .object({
    serviceAccountRef: GcpServiceAccountSelectorSchema.describe(
      'The Kubernetes ServiceAccount to act as; its iam.gke.io/gcp-service-account annotation names the Google service account to impersonate (without it the federated identity is used directly).',
    ),
    clusterLocation: z.string().max(GcpLimits.clusterField).optional().describe("The GKE cluster's location. Omitted: read from the GKE metadata server."),
    clusterName: z.string().max(GcpLimits.clusterField).optional().describe("The GKE cluster's name. Omitted: read from the GKE metadata server."),
    clusterProjectID: z.string().max(GcpLimits.clusterField).optional().describe("The GKE cluster's project. Omitted: read from the GKE metadata server."),
  })
  .meta(typeMeta('GcpWorkloadIdentity', 'GKE Workload Identity: a TokenRequest token (audience PROJECT.svc.id.goog) exchanged at Google STS.'));

export const GcpConfigMapReferenceSchema = z
  .object({
    name: matchingString({
      pattern: DNS_SUBDOMAIN_PATTERN,
      maxLength: Limits.name,
      message: 'spec.provider.gcpsm.auth.workloadIdentityFederation.credConfig.name must be a ConfigMap name (DNS subdomain)',
    }).describe('The ConfigMap name.'),
    namespace: matchingString({
      pattern: DNS_LABEL_PATTERN,
      maxLength: Limits.namespace,
      message: 'spec.provider.gcpsm.auth.workloadIdentityFederation.credConfig.namespace must be a namespace name (DNS label)',
    })
      .optional()
      .describe("Its namespace; a SecretStore may only name its own. Omitted: the store's (or, for a ClusterSecretStore, the ExternalSecret's)."),
    key: nonEmptyString({ maxLength: GcpLimits.key, message: 'spec.provider.gcpsm.auth.workloadIdentityFederation.credConfig.key must not be empty' }).describe(
      'The key holding the external_account JSON.',
    ),
  })
  .meta(typeMeta('GcpConfigMapReference', 'One key of a ConfigMap.'));

export const GcpSecretReferenceSchema = z
  .object({
    name: matchingString({ pattern: DNS_SUBDOMAIN_PATTERN, maxLength: Limits.name, message: 'awsCredentialsSecretRef.name must be a Secret name (DNS subdomain)' }).describe(
      'The Secret name.',
    ),
    namespace: matchingString({ pattern: DNS_LABEL_PATTERN, maxLength: Limits.namespace, message: 'awsCredentialsSecretRef.namespace must be a namespace name (DNS label)' })
      .optional()
      .describe("The Secret's namespace."),
  })
  .meta(typeMeta('GcpSecretReference', 'A whole Secret.'));

export const GcpAwsCredentialsConfigSchema = z
  .object({
    region: matchingString({ pattern: '^[a-z0-9-]+$', maxLength: GcpLimits.region, message: 'awsSecurityCredentials.region must be an AWS region such as ap-south-1' }).describe(
      'The AWS region.',
    ),
    awsCredentialsSecretRef: GcpSecretReferenceSchema.describe('A Secret with aws_access_key_id, aws_secret_access_key and optionally aws_session_token.'),
  })
  .meta(typeMeta('GcpAwsCredentialsConfig', 'AWS credentials as the subject of Workload Identity Federation (ESO field; not supported by secret-relay yet).'));

const WIF = 'spec.provider.gcpsm.auth.workloadIdentityFederation';

export const GcpWorkloadIdentityFederationSchema = withRules(
  z
    .object({
      credConfig: GcpConfigMapReferenceSchema.optional().describe('A ConfigMap key holding an external_account credential configuration (JSON).'),
      serviceAccountRef: GcpServiceAccountSelectorSchema.optional().describe(
        'The Kubernetes ServiceAccount whose TokenRequest token is the subject token (the cluster is the identity provider of the pool).',
      ),
      awsSecurityCredentials: GcpAwsCredentialsConfigSchema.optional().describe('AWS credentials as the subject (accepted for ESO compatibility; secret-relay reports it unsupported).'),
      audience: z
        .string()
        .max(GcpLimits.audience)
        .optional()
        .describe(
          'The STS audience: //iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER. Required with serviceAccountRef; overrides the credConfig audience.',
        ),
      externalTokenEndpoint: z.string().max(GcpLimits.endpoint).optional().describe('Must equal credential_source.url of the credConfig (a double check).'),
      gcpServiceAccountEmail: matchingString({
        pattern: GCP_SERVICE_ACCOUNT_EMAIL_PATTERN,
        maxLength: GcpLimits.email,
        message: `${WIF}.gcpServiceAccountEmail must be a Google service account email (NAME@PROJECT.iam.gserviceaccount.com)`,
      })
        .optional()
        .describe(
          'A Google service account to impersonate after the exchange; overrides service_account_impersonation_url of the credConfig and the iam.gke.io/gcp-service-account annotation.',
        ),
    })
    .meta(typeMeta('GcpWorkloadIdentityFederation', 'Workload Identity Federation from any cluster: the TokenRequest token (or a credConfig) exchanged at Google STS.')),
  [
    {
      rule: '(has(self.credConfig) ? 1 : 0) + (has(self.serviceAccountRef) ? 1 : 0) + (has(self.awsSecurityCredentials) ? 1 : 0) == 1',
      message: `${WIF} must set exactly one of credConfig, serviceAccountRef and awsSecurityCredentials`,
      holds: (wif) => [wif.credConfig, wif.serviceAccountRef, wif.awsSecurityCredentials].filter((x) => x !== undefined).length === 1,
    },
    {
      rule: "!(has(self.serviceAccountRef) || has(self.awsSecurityCredentials)) || (has(self.audience) && self.audience != '')",
      message: `${WIF}.audience is required with serviceAccountRef or awsSecurityCredentials (//iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER)`,
      holds: (wif) => (wif.serviceAccountRef === undefined && wif.awsSecurityCredentials === undefined) || (wif.audience ?? '') !== '',
    },
  ],
);

export const GcpsmAuthSchema = withRules(
  z
    .object({
      secretRef: GcpSecretRefAuthSchema.optional().describe('A service-account key file from a Secret (weakest: a long-lived key).'),
      workloadIdentity: GcpWorkloadIdentitySchema.optional().describe('GKE Workload Identity.'),
      workloadIdentityFederation: GcpWorkloadIdentityFederationSchema.optional().describe('Workload Identity Federation (any cluster).'),
    })
    .meta(typeMeta('GcpsmAuth', "How the store authenticates: at most one of secretRef, workloadIdentity and workloadIdentityFederation; none: the operator's own Application Default Credentials.")),
  [
    {
      rule: '(has(self.secretRef) ? 1 : 0) + (has(self.workloadIdentity) ? 1 : 0) + (has(self.workloadIdentityFederation) ? 1 : 0) <= 1',
      message:
        "spec.provider.gcpsm.auth must set only one of secretRef, workloadIdentity and workloadIdentityFederation (set none to use the operator's own Application Default Credentials)",
      holds: (auth) => [auth.secretRef, auth.workloadIdentity, auth.workloadIdentityFederation].filter((x) => x !== undefined).length <= 1,
    },
  ],
);

function gcpEndpoint(field: string) {
  return matchingString({
    pattern: GCP_ENDPOINT_PATTERN,
    maxLength: GcpLimits.endpoint,
    message: `${field} must be an http(s) URL such as https://secretmanager.googleapis.com (http only on a loopback address)`,
  });
}

export const GcpsmEndpointsSchema = z
  .object({
    secretManager: gcpEndpoint('spec.provider.gcpsm.endpoints.secretManager')
      .optional()
      .describe('Secret Manager (gRPC), e.g. https://secretmanager.googleapis.com. Default: the global or regional Google endpoint.'),
    sts: gcpEndpoint('spec.provider.gcpsm.endpoints.sts').optional().describe('Security Token Service, e.g. https://sts.googleapis.com (the token URL is this + /v1/token).'),
    iamCredentials: gcpEndpoint('spec.provider.gcpsm.endpoints.iamCredentials')
      .optional()
      .describe('IAM Service Account Credentials, e.g. https://iamcredentials.googleapis.com.'),
    pubsub: gcpEndpoint('spec.provider.gcpsm.endpoints.pubsub').optional().describe('Pub/Sub (gRPC) for changeFeed, e.g. https://pubsub.googleapis.com.'),
  })
  .meta(
    typeMeta(
      'GcpsmEndpoints',
      'Advanced, not in ESO: endpoint overrides (Private Service Connect, test beds). Plain http is accepted only for loopback addresses.',
    ),
  );

export const GcpsmChangeFeedSchema = z
  .object({
    pubsub: z
      .object({
        subscription: matchingString({
          pattern: '^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/subscriptions/[A-Za-z][A-Za-z0-9._~+%-]{2,254}$',
          maxLength: 400,
          message: 'spec.provider.gcpsm.changeFeed.pubsub.subscription must be a subscription name such as projects/my-project/subscriptions/secret-changes',
        }).describe(
          "A pull subscription of a topic the secrets publish to (a secret's topics); streaming-pulled with the store's identity (roles/pubsub.subscriber on the subscription).",
        ),
      })
      .meta(typeMeta('GcpsmPubSubChangeFeed', 'A Pub/Sub subscription receiving Secret Manager event notifications.'))
      .describe('The Pub/Sub subscription the feed reads.'),
  })
  .meta(typeMeta('GcpsmChangeFeed', 'Where change notifications of this store arrive (docs/change-feeds-clouds.md).'));

export const GcpsmProviderSchema = z
  .object({
    projectID: gcpProject('spec.provider.gcpsm.projectID').optional().describe('The project holding the secrets (required; optional in the schema only for ESO compatibility).'),
    location: matchingString({
      pattern: GCP_LOCATION_PATTERN,
      maxLength: GcpLimits.location,
      message: 'spec.provider.gcpsm.location must be a Google Cloud location such as europe-west1',
    })
      .optional()
      .describe('Read regional secrets of this location (through the regional endpoint secretmanager.LOCATION.rep.googleapis.com). Omitted: global secrets.'),
    secretVersionSelectionPolicy: z
      .enum(['LatestOrFail', 'LatestOrFetch'])
      .meta(typeMeta('SecretVersionSelectionPolicy', 'What to read when the latest version is disabled or destroyed.'))
      .default('LatestOrFail')
      .describe('LatestOrFail (default): reading latest fails when it is disabled or destroyed. LatestOrFetch: then the newest enabled version is read.'),
    auth: GcpsmAuthSchema.optional().describe("How to authenticate; omitted: the operator's own Application Default Credentials."),
    endpoints: GcpsmEndpointsSchema.optional(),
    changeFeed: GcpsmChangeFeedSchema.optional().describe('Refresh on change: ExternalSecrets reading a changed secret refresh within seconds; refreshInterval stays as the safety net.'),
  })
  .meta(typeMeta('GcpsmProvider', 'Google Cloud Secret Manager.'));

export const gcpsmProvider = {
  schema: GcpsmProviderSchema,
  description: 'Google Cloud Secret Manager.',
  tenancy: (spec) => ({
    operatorIdentity:
      spec.auth?.workloadIdentity === undefined && spec.auth?.workloadIdentityFederation === undefined && spec.auth?.secretRef === undefined
        ? { mode: "spec.provider.gcpsm without auth (the operator's Application Default Credentials)", instead: 'auth.workloadIdentity or auth.workloadIdentityFederation with a serviceAccountRef, or auth.secretRef' }
        : undefined,
    endpoints: Object.entries(spec.endpoints ?? {})
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
      .map(([field, url]) => ({ field: `spec.provider.gcpsm.endpoints.${field}`, url })),
  }),
} as const satisfies ProviderDefinition<typeof GcpsmProviderSchema>;
