// spec.provider.vault: HashiCorp Vault or OpenBao (KV v1/v2); VaultDynamicSecret (../vault-dynamic-secret.ts) reuses its schema.
import { z } from 'zod';
import { DNS_LABEL_PATTERN, DNS_SUBDOMAIN_PATTERN, Limits } from '../common.ts';
import { matchingString, nonEmptyString, typeMeta, withRules } from '../schema-helpers.ts';
import { notSupportedYet, SecretKeySelectorSchema, serviceAccountNameFields, type ProviderDefinition } from './kit.ts';
import { AWS_REGION_PATTERN, AwsSecretRefAuthSchema, ServiceAccountSelectorSchema } from './aws.ts';
import { GcpSecretRefAuthSchema, GcpWorkloadIdentitySchema } from './gcpsm.ts';

export const VaultLimits = {
  server: 2048,
  path: 512,
  namespace: 512,
  caBundle: 64 * 1024,
  role: 512,
  roleId: 512,
  username: 512,
  audiences: 8,
  audience: 256,
  secretKey: 253,
  roleArn: 2048,
  externalID: 1224,
  serverID: 1024,
  endpoint: 2048,
} as const;

const VAULT_SERVER_PATTERN = '^https?://[^ ]+$';
/** A Vault path segment list: no leading or trailing slash, no empty segment. */
const VAULT_PATH_PATTERN = '^[^/ ]+(/[^/ ]+)*$';

function vaultPath(field: string) {
  return matchingString({
    pattern: VAULT_PATH_PATTERN,
    maxLength: VaultLimits.path,
    message: `${field} must be a Vault path such as secret or team-a/kv, without leading or trailing '/'`,
  });
}

export const VaultServiceAccountSelectorSchema = z
  .object({
    ...serviceAccountNameFields(),
    audiences: z
      .array(nonEmptyString({ maxLength: VaultLimits.audience, message: 'serviceAccountRef.audiences must not hold empty strings' }))
      .max(VaultLimits.audiences)
      .optional()
      .describe("Audiences of the minted token. Default: the apiserver's own (kubernetes auth) or vault (jwt auth)."),
  })
  .meta(typeMeta('VaultServiceAccountSelector', 'A ServiceAccount whose short-lived token (TokenRequest API) the operator mints to log in to Vault.'));

export const VaultCAProviderSchema = z
  .object({
    type: z.enum(['Secret', 'ConfigMap']).meta(typeMeta('VaultCAProviderType', 'Where the CA certificate is kept.')).describe('Secret or ConfigMap.'),
    name: matchingString({
      pattern: DNS_SUBDOMAIN_PATTERN,
      maxLength: Limits.name,
      message: 'spec.provider.vault.caProvider.name must be an object name (DNS subdomain)',
    }).describe('Name of the Secret or ConfigMap.'),
    key: nonEmptyString({ maxLength: VaultLimits.secretKey, message: 'spec.provider.vault.caProvider.key must not be empty' }).describe(
      'The key holding the PEM certificate(s).',
    ),
    namespace: matchingString({
      pattern: DNS_LABEL_PATTERN,
      maxLength: Limits.namespace,
      message: 'spec.provider.vault.caProvider.namespace must be a namespace name (DNS label)',
    })
      .optional()
      .describe("Its namespace; a SecretStore may only name its own. Omitted: the store's namespace (or the ExternalSecret's, for a ClusterSecretStore)."),
  })
  .meta(typeMeta('VaultCAProvider', 'A CA certificate kept in a Secret or ConfigMap, to verify the Vault server.'));

export const VaultClientTLSSchema = z
  .object({
    certSecretRef: SecretKeySelectorSchema.describe('The client certificate (PEM).'),
    keySecretRef: SecretKeySelectorSchema.describe('Its private key (PEM).'),
  })
  .meta(typeMeta('VaultClientTLS', 'A client certificate presented to Vault (mutual TLS).'));

export const VaultAppRoleSchema = withRules(
  z
    .object({
      path: vaultPath('spec.provider.vault.auth.appRole.path').default('approle').describe('Mount path of the AppRole auth method; default approle.'),
      roleId: z.string().max(VaultLimits.roleId).optional().describe('The role ID, written here.'),
      roleRef: SecretKeySelectorSchema.optional().describe('The role ID, read from a Secret.'),
      secretRef: SecretKeySelectorSchema.describe('The secret ID.'),
    })
    .meta(typeMeta('VaultAppRoleAuth', 'AppRole: a role ID and a secret ID.')),
  [
    {
      rule: '(has(self.roleId) ? 1 : 0) + (has(self.roleRef) ? 1 : 0) == 1',
      message: 'spec.provider.vault.auth.appRole must set exactly one of roleId and roleRef',
      holds: (auth) => (auth.roleId === undefined) !== (auth.roleRef === undefined),
    },
  ],
);

export const VaultKubernetesAuthSchema = z
    .object({
      mountPath: vaultPath('spec.provider.vault.auth.kubernetes.mountPath').default('kubernetes').describe('Mount path of the Kubernetes auth method; default kubernetes.'),
      role: nonEmptyString({ maxLength: VaultLimits.role, message: 'spec.provider.vault.auth.kubernetes.role must name a Vault role' }).describe(
        'The Vault role to log in as.',
      ),
      serviceAccountRef: VaultServiceAccountSelectorSchema.optional().describe('The ServiceAccount whose minted token logs in (recommended); used over secretRef when both are set, as in ESO.'),
      secretRef: SecretKeySelectorSchema.optional().describe('A long-lived ServiceAccount token kept in a Secret.'),
    })
    .meta(typeMeta('VaultKubernetesAuth', "Kubernetes auth: Vault checks a ServiceAccount token with the cluster's TokenReview API."))
;

export const VaultKubernetesServiceAccountTokenSchema = z
  .object({
    serviceAccountRef: VaultServiceAccountSelectorSchema.describe('The ServiceAccount to mint a token for.'),
    audiences: z
      .array(nonEmptyString({ maxLength: VaultLimits.audience, message: 'kubernetesServiceAccountToken.audiences must not hold empty strings' }))
      .max(VaultLimits.audiences)
      .optional()
      .describe('Audiences of the token (over serviceAccountRef.audiences); default vault.'),
    expirationSeconds: z.int().min(600).max(86_400).optional().describe('Lifetime of the minted token; default 600 (the TokenRequest minimum). secret-relay mints at most 3600 (the token only lives through one login; the chart\'s admission policy refuses longer ones).'),
  })
  .meta(typeMeta('VaultKubernetesServiceAccountToken', 'A TokenRequest token presented as the JWT.'));

export const VaultJwtAuthSchema = z
    .object({
      path: vaultPath('spec.provider.vault.auth.jwt.path').default('jwt').describe('Mount path of the JWT/OIDC auth method; default jwt.'),
      role: z.string().max(VaultLimits.role).optional().describe("The Vault role; the method's default_role when omitted."),
      secretRef: SecretKeySelectorSchema.optional().describe('A JWT kept in a Secret; used over kubernetesServiceAccountToken when both are set, as in ESO. One of the two is needed (the store reports it otherwise).'),
      kubernetesServiceAccountToken: VaultKubernetesServiceAccountTokenSchema.optional().describe('A ServiceAccount token minted for each login.'),
    })
    .meta(typeMeta('VaultJwtAuth', 'JWT auth: Vault verifies a JWT (e.g. a ServiceAccount token) against the issuer keys it is configured with.'))
;

export const VaultUserPassAuthSchema = z
  .object({
    path: vaultPath('spec.provider.vault.auth.userPass.path').default('userpass').describe('Mount path of the userpass auth method; default userpass.'),
    username: nonEmptyString({ maxLength: VaultLimits.username, message: 'spec.provider.vault.auth.userPass.username must not be empty' }).describe('The user name.'),
    secretRef: SecretKeySelectorSchema.describe('The password.'),
  })
  .meta(typeMeta('VaultUserPassAuth', 'Userpass: a user name and a password kept in a Secret.'));

export const VaultCertAuthSchema = withRules(
  z
    .object({
      path: vaultPath('spec.provider.vault.auth.cert.path').optional().describe('Mount path of the TLS certificate auth method; default cert.'),
      vaultRole: z.string().max(VaultLimits.role).optional().describe('The certificate role to log in as; omitted: every role whose CA trusts the certificate is tried.'),
      clientCert: SecretKeySelectorSchema.optional().describe('The client certificate (PEM). Omitted with secretRef: the certificate of spec.provider.vault.tls.'),
      secretRef: SecretKeySelectorSchema.optional().describe('Its private key (PEM).'),
    })
    .meta(typeMeta('VaultCertAuth', 'TLS certificate auth: the store presents a client certificate from a Secret (the server must be https).')),
  [
    {
      rule: 'has(self.clientCert) == has(self.secretRef)',
      message: 'spec.provider.vault.auth.cert must set both clientCert and secretRef, or neither (then spec.provider.vault.tls gives the certificate)',
      holds: (auth) => (auth.clientCert === undefined) === (auth.secretRef === undefined),
    },
  ],
);

export const VaultLdapAuthSchema = z
  .object({
    path: vaultPath('spec.provider.vault.auth.ldap.path').optional().describe('Mount path of the LDAP auth method; default ldap.'),
    username: nonEmptyString({ maxLength: VaultLimits.username, message: 'spec.provider.vault.auth.ldap.username must not be empty' }).describe('The LDAP user name.'),
    secretRef: SecretKeySelectorSchema.describe('The LDAP password.'),
  })
  .meta(typeMeta('VaultLdapAuth', 'LDAP auth: a directory user name and a password kept in a Secret.'));

export const VaultIamAuthSchema = withRules(
  z
    .object({
      path: vaultPath('spec.provider.vault.auth.iam.path').optional().describe('Mount path of the AWS auth method; default aws.'),
      region: matchingString({ pattern: AWS_REGION_PATTERN, maxLength: 32, message: 'spec.provider.vault.auth.iam.region must be an AWS region such as us-east-1' })
        .optional()
        .describe('The AWS region of the signed sts:GetCallerIdentity request (and of STS calls); default us-east-1.'),
      role: z.string().max(VaultLimits.roleArn).optional().describe('An IAM role ARN assumed (sts:AssumeRole) with the store\'s credentials before signing.'),
      vaultRole: nonEmptyString({ maxLength: VaultLimits.role, message: 'spec.provider.vault.auth.iam.vaultRole must name a Vault role' }).describe('The Vault role of the AWS auth method to log in as.'),
      externalID: z.string().max(VaultLimits.externalID).optional().describe('The external ID passed when assuming role.'),
      vaultAwsIamServerID: z
        .string()
        .max(VaultLimits.serverID)
        .optional()
        .describe('Value of the signed X-Vault-AWS-IAM-Server-ID header (the auth method\'s iam_server_id_header_value), against replay to another server.'),
      secretRef: AwsSecretRefAuthSchema.optional().describe('Static AWS keys from Secrets.'),
      jwt: z
        .object({ serviceAccountRef: ServiceAccountSelectorSchema.optional().describe('The ServiceAccount (IRSA: its eks.amazonaws.com/role-arn annotation, or role, names the web-identity role).') })
        .meta(typeMeta('VaultIamJwtAuth', "The store's own IRSA identity: a TokenRequest token exchanged with sts:AssumeRoleWithWebIdentity."))
        .optional()
        .describe("Workload identity (IRSA) of a ServiceAccount of the store's."),
      stsEndpoint: matchingString({ pattern: '^https?://[^ ]+$', maxLength: VaultLimits.endpoint, message: 'spec.provider.vault.auth.iam.stsEndpoint must be an http(s) URL' })
        .optional()
        .describe(
          'Not in ESO. The STS endpoint where the store obtains its credentials (AssumeRoleWithWebIdentity, AssumeRole): private endpoints, emulators. The signed GetCallerIdentity always names the region\'s STS; Vault sends it to its own sts_endpoint.',
        ),
    })
    .meta(typeMeta('VaultIamAuth', "AWS IAM auth: the store signs sts:GetCallerIdentity with its own AWS credentials and Vault verifies it with STS. Without jwt or secretRef: the operator's own AWS identity (ClusterSecretStores only, by default).")),
  [
    {
      rule: '!(has(self.jwt) && has(self.secretRef))',
      message: 'spec.provider.vault.auth.iam must set at most one of jwt and secretRef',
      holds: (auth) => auth.jwt === undefined || auth.secretRef === undefined,
    },
  ],
);

export const VaultGcpAuthSchema = z
  .object({
    path: vaultPath('spec.provider.vault.auth.gcp.path').optional().describe('Mount path of the GCP auth method; default gcp.'),
    role: nonEmptyString({ maxLength: VaultLimits.role, message: 'spec.provider.vault.auth.gcp.role must name a Vault role' }).describe('The Vault role (type iam) of the GCP auth method to log in as.'),
    projectID: z.string().max(256).optional().describe('ESO field; not needed by the iam login (the service account names its project).'),
    location: z.string().max(256).optional().describe('ESO field; not used by the login.'),
    secretRef: GcpSecretRefAuthSchema.optional().describe("A Google service-account key (JSON) from the store's Secret: the login JWT is signed with it."),
    workloadIdentity: GcpWorkloadIdentitySchema.optional().describe(
      "GKE Workload Identity of the store's ServiceAccount: its token is exchanged at Google STS, then IAM Credentials signJwt signs the login JWT as the Google service account its iam.gke.io/gcp-service-account annotation names. clusterProjectID, clusterLocation and clusterName are required (the operator's metadata server is never asked).",
    ),
    serviceAccountRef: VaultServiceAccountSelectorSchema.optional().describe(
      "ESO: the GCE login as the pod's own service account (the operator's, through the metadata server). Not supported: the store reports Ready=False; use workloadIdentity or secretRef.",
    ),
    endpoints: z
      .object({
        sts: matchingString({ pattern: '^https?://[^ ]+$', maxLength: VaultLimits.endpoint, message: 'spec.provider.vault.auth.gcp.endpoints.sts must be an http(s) URL' })
          .optional()
          .describe('Security Token Service, default https://sts.googleapis.com.'),
        iamCredentials: matchingString({ pattern: '^https?://[^ ]+$', maxLength: VaultLimits.endpoint, message: 'spec.provider.vault.auth.gcp.endpoints.iamCredentials must be an http(s) URL' })
          .optional()
          .describe('IAM Service Account Credentials, default https://iamcredentials.googleapis.com.'),
      })
      .meta(typeMeta('VaultGcpEndpoints', 'Not in ESO: endpoint overrides (Private Service Connect, test beds); a SecretStore may name only trusted hosts.'))
      .optional(),
  })
  .meta(typeMeta('VaultGcpAuth', "GCP auth, iam type: a JWT (aud vault/ROLE) signed as a Google service account of the store's, verified by Vault with Google's keys."));

const VAULT_AUTH_METHODS = ['tokenSecretRef', 'appRole', 'kubernetes', 'jwt', 'userPass', 'cert', 'iam', 'ldap', 'gcp'] as const;

export const VaultAuthSchema = withRules(
  z
    .object({
      tokenSecretRef: SecretKeySelectorSchema.optional().describe('A Vault token kept in a Secret; used as it is (never renewed or revoked by secret-relay).'),
      appRole: VaultAppRoleSchema.optional(),
      kubernetes: VaultKubernetesAuthSchema.optional(),
      jwt: VaultJwtAuthSchema.optional(),
      userPass: VaultUserPassAuthSchema.optional(),
      cert: VaultCertAuthSchema.optional(),
      iam: VaultIamAuthSchema.optional(),
      ldap: VaultLdapAuthSchema.optional(),
      gcp: VaultGcpAuthSchema.optional(),
      namespace: z
        .string()
        .max(VaultLimits.namespace)
        .optional()
        .describe('A Vault namespace for the login only (ESO field). Not supported yet: the store reports Ready=False.'),
    })
    .meta(typeMeta('VaultAuth', 'How the store logs in to Vault: exactly one method.')),
  [
    {
      rule: VAULT_AUTH_METHODS.map((name) => `(has(self.${name}) ? 1 : 0)`).join(' + ') + ' == 1',
      message: `spec.provider.vault.auth must set exactly one of ${VAULT_AUTH_METHODS.join(', ')}`,
      holds: (auth) => VAULT_AUTH_METHODS.filter((name) => auth[name] !== undefined).length === 1,
    },
  ],
);

export const VaultProviderSchema = z
  .object({
    server: matchingString({
      pattern: VAULT_SERVER_PATTERN,
      maxLength: VaultLimits.server,
      message: 'spec.provider.vault.server must be an http(s) URL such as https://vault.example.com:8200',
    }).describe('The Vault server URL, e.g. https://vault.example.com:8200.'),
    path: vaultPath('spec.provider.vault.path')
      .optional()
      .describe('Mount path of the KV secrets engine, e.g. secret; prefixed to every remote key. Omitted: keys carry the mount themselves.'),
    changeFeed: z
      .object({
        auditSocket: z.object({}).strict().optional().describe("Change notifications from the server's socket audit device, which connects to the operator's --vault-audit-listen (docs/change-feeds.md)."),
      })
      .meta(typeMeta('VaultChangeFeed', 'Where change notifications of this store come from.'))
      .optional()
      .describe('Refresh on change: ExternalSecrets reading a changed KV secret refresh within seconds; refreshInterval stays as the safety net.'),
    version: z
      .enum(['v1', 'v2'])
      .meta(typeMeta('VaultKVVersion', 'The version of the KV secrets engine.'))
      .default('v2')
      .describe('KV engine version: v2 (default; /data/ is inserted into paths) or v1.'),
    namespace: z
      .string()
      .max(VaultLimits.namespace)
      .optional()
      .describe('Vault Enterprise / OpenBao namespace, sent as X-Vault-Namespace on every request (logins included).'),
    caBundle: z
      .string()
      .max(VaultLimits.caBundle)
      .optional()
      .describe('PEM CA certificate(s), base64-encoded, to verify the server (over the system CAs).'),
    caProvider: VaultCAProviderSchema.optional(),
    tls: VaultClientTLSSchema.optional(),
    auth: VaultAuthSchema,
    generators: z
      .object({
        allowedPathPrefixes: z
          .array(vaultPath('spec.provider.vault.generators.allowedPathPrefixes[]'))
          .max(64)
          .describe('Path prefixes (whole segments), e.g. database/creds/app. Never auth/token or sys, whatever is listed.'),
        allowedMethods: z
          .array(z.enum(['GET', 'POST', 'PUT']))
          .max(3)
          .optional()
          .describe('Methods allowed under them; default GET and POST.'),
      })
      .meta(typeMeta('VaultGeneratorCalls', 'What VaultDynamicSecrets of the namespaces this ClusterSecretStore admits may call through it.'))
      .optional()
      .describe(
        'Not in ESO. A ClusterSecretStore serves VaultDynamicSecrets (spec.storeRef) only for the paths and methods listed here, never auth/token/*, sys/* or resultType Auth: they run with the store\'s identity. Omitted: it serves none. Not used by a SecretStore (the namespace\'s own identity).',
      ),
    headers: z
      .record(z.string().max(256), z.string().max(4096))
      .meta({ maxProperties: 32 })
      .optional()
      .describe('Extra HTTP headers on every Vault request (ESO field). Not supported yet: the store reports Ready=False.'),
    readYourWrites: z.boolean().optional().describe('Vault Enterprise read-after-write consistency (ESO field); accepted, with no effect: secret-relay only reads.'),
    forwardInconsistent: z.boolean().optional().describe('Vault Enterprise: forward inconsistent reads to the leader (ESO field); accepted, with no effect yet (a warning on the store).'),
    checkAndSet: z
      .object({ required: z.boolean().optional().describe('ESO: require check-and-set on writes.') })
      .optional()
      .describe('Check-and-set for writes (ESO PushSecret); accepted, with no effect on reading.'),
  })
  .meta(typeMeta('VaultProvider', 'HashiCorp Vault or OpenBao: KV v1/v2 secrets engines.'));

export const vaultProvider = {
  schema: VaultProviderSchema,
  description: 'HashiCorp Vault or OpenBao (KV v1/v2).',
  tenancy: (spec) => {
    const k = spec.auth.kubernetes;
    const iam = spec.auth.iam;
    const gcp = spec.auth.gcp;
    return {
      operatorIdentity:
        k !== undefined && !k.serviceAccountRef && !k.secretRef
          ? { mode: "spec.provider.vault.auth.kubernetes without serviceAccountRef or secretRef (the operator's own ServiceAccount)", instead: 'auth.kubernetes.serviceAccountRef' }
          : iam !== undefined && iam.jwt === undefined && iam.secretRef === undefined
            ? { mode: "spec.provider.vault.auth.iam without jwt or secretRef (the operator's own AWS credentials)", instead: 'auth.iam.jwt.serviceAccountRef for IRSA, or auth.iam.secretRef' }
            : gcp !== undefined && gcp.workloadIdentity === undefined && gcp.secretRef === undefined
              ? { mode: "spec.provider.vault.auth.gcp without workloadIdentity or secretRef (the operator's own Google identity)", instead: 'auth.gcp.workloadIdentity, or auth.gcp.secretRef' }
              : undefined,
      // These receive the store's ServiceAccount token or Google access tokens: overrides like spec.provider.aws.endpoint.
      endpoints: [
        ...(iam?.stsEndpoint !== undefined ? [{ field: 'spec.provider.vault.auth.iam.stsEndpoint', url: iam.stsEndpoint }] : []),
        ...Object.entries(gcp?.endpoints ?? {}).flatMap(([name, url]) => (url === undefined ? [] : [{ field: `spec.provider.vault.auth.gcp.endpoints.${name}`, url }])),
      ],
      // The Vault server is the store author's by design: only the plain-http rule applies to it.
      servers: [{ field: 'spec.provider.vault.server', url: spec.server }],
    };
  },
} as const satisfies ProviderDefinition<typeof VaultProviderSchema>;
