// SecretStore (namespaced) and ClusterSecretStore (cluster-wide): how to reach one external secret manager.
// Every provider has its schema here — one entry in `providerFields` each; a provider this build does not register
// makes the store report "provider X is not available in this version".
import { z } from 'zod';
import {
  conditionsSchema,
  DNS_LABEL_PATTERN,
  DNS_SUBDOMAIN_PATTERN,
  durationString,
  LabelSelectorSchema,
  Limits,
  ObjectMetaSchema,
} from './common.ts';
import { API_GROUP_VERSION, Kind } from './meta.ts';
import { matchingString, nonEmptyString, typeMeta, uniqueBy, withRules } from './schema-helpers.ts';

/**
 * A field ESO has for a provider we support that secret-relay accepts but does not act on yet: kept as written, and
 * the store reports it (src/api/eso-compat.ts) instead of the apiserver refusing a valid ESO manifest.
 */
function notSupportedYet(what: string) {
  return z.object({}).loose().optional().describe(`${what} Accepted for ESO compatibility; not supported by secret-relay yet: a store using it reports Ready=False naming the field.`);
}

export const SecretStoreLimits = {
  /** Entries of spec.provider.fake.data; the uniqueness rule is quadratic in it. */
  fakeData: 256,
  fakeKey: 256,
  fakeVersion: 64,
  /** A Secret holds at most 1 MiB. */
  fakeValue: 1024 * 1024,
  clusterConditions: 32,
  namespaces: 256,
  namespaceRegexes: 32,
  namespaceRegex: 256,
} as const;

/** The keys of spec.provider, in the order messages list them. */
import { PROVIDER_NAMES } from './meta.ts';

export { PROVIDER_NAMES };

export const FakeProviderDataSchema = z
  .object({
    key: nonEmptyString({
      maxLength: SecretStoreLimits.fakeKey,
      message: 'spec.provider.fake.data[].key must not be empty',
    }).describe('The remote key an ExternalSecret asks for (remoteRef.key).'),
    value: z
      .string()
      .max(SecretStoreLimits.fakeValue)
      .describe('The value returned for the key; a JSON object here lets remoteRef.property pick a field.'),
    version: z
      .string()
      .max(SecretStoreLimits.fakeVersion)
      .optional()
      .describe('The version this value is returned for (remoteRef.version); an entry without one is the latest.'),
    tags: z
      .record(z.string().max(SecretStoreLimits.fakeKey), z.string().max(SecretStoreLimits.fakeKey))
      .meta({ maxProperties: 64 })
      .optional()
      .describe('Tags of the remote secret, matched by dataFrom[].find.tags.'),
  })
  .meta(typeMeta('FakeProviderData', 'One remote secret served by the fake provider.'));

export const FakeProviderSchema = z
  .object({
    data: withRules(
      z.array(FakeProviderDataSchema).max(SecretStoreLimits.fakeData),
      [
        {
          rule: "self.all(x, self.exists_one(y, y.key == x.key && (has(y.version) ? y.version : '') == (has(x.version) ? x.version : '')))",
          message: 'spec.provider.fake.data must not repeat a key with the same version',
          holds: (data) => uniqueBy(data, (entry) => JSON.stringify([entry.key, entry.version ?? ''])),
        },
      ],
    )
      .default([])
      .describe('The remote secrets it serves.'),
    validationResult: z
      .int()
      .min(0)
      .max(2)
      .optional()
      .describe("What validating the store answers, as ESO's fake: 0 Ready (default), 1 Unknown, 2 Error — to test how ExternalSecrets treat a store that is not ready."),
  })
  .meta(typeMeta('FakeProvider', 'Serves the secrets listed in the store itself: for demos and for tests of your own manifests.'));

export const AwsLimits = {
  region: 32,
  roleArn: 2048,
  additionalRoles: 8,
  externalID: 1224,
  sessionTags: 50,
  tagKey: 128,
  tagValue: 256,
  prefix: 512,
  endpoint: 2048,
  audiences: 8,
  audience: 256,
  secretKey: 253,
} as const;

/** The partition, then 12 digits of account, then role/<path/>name (IAM's allowed characters). */
export const AWS_ROLE_ARN_PATTERN = '^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$';
const AWS_ROLE_ARN_MESSAGE = 'must be an IAM role ARN such as arn:aws:iam::123456789012:role/my-role';
export const AWS_REGION_PATTERN = '^[a-z]{2}(-[a-z]+)+-[0-9]+$';
const ENDPOINT_PATTERN = '^https?://[^ ]+$';

function roleArn(field: string) {
  return matchingString({ pattern: AWS_ROLE_ARN_PATTERN, maxLength: AwsLimits.roleArn, message: `${field} ${AWS_ROLE_ARN_MESSAGE}` });
}

export const SecretKeySelectorSchema = z
  .object({
    name: matchingString({
      pattern: DNS_SUBDOMAIN_PATTERN,
      maxLength: Limits.name,
      message: 'the name of a Secret reference must be a Secret name (DNS subdomain)',
    }).describe('The Secret name.'),
    namespace: matchingString({
      pattern: DNS_LABEL_PATTERN,
      maxLength: Limits.namespace,
      message: 'the namespace of a Secret reference must be a namespace name (DNS label)',
    })
      .optional()
      .describe(
        "The Secret's namespace. A SecretStore may only name its own; for a ClusterSecretStore, omitting it means the ExternalSecret's namespace.",
      ),
    key: nonEmptyString({ maxLength: AwsLimits.secretKey, message: 'the key of a Secret reference must not be empty' }).describe(
      'The key inside the Secret.',
    ),
  })
  .meta(typeMeta('SecretKeySelector', 'One key of a Kubernetes Secret.'));

/** The name and namespace of a serviceAccountRef, the same for every provider (fresh schemas per call). */
function serviceAccountNameFields() {
  return {
    name: matchingString({
      pattern: DNS_SUBDOMAIN_PATTERN,
      maxLength: Limits.name,
      message: 'serviceAccountRef.name must be a ServiceAccount name (DNS subdomain)',
    }).describe('The ServiceAccount name.'),
    namespace: matchingString({
      pattern: DNS_LABEL_PATTERN,
      maxLength: Limits.namespace,
      message: 'serviceAccountRef.namespace must be a namespace name (DNS label)',
    })
      .optional()
      .describe(
        "The ServiceAccount's namespace. A SecretStore may only name its own; for a ClusterSecretStore, omitting it means the ExternalSecret's namespace (referent auth).",
      ),
  };
}

export const ServiceAccountSelectorSchema = z
  .object({
    ...serviceAccountNameFields(),
    audiences: z
      .array(nonEmptyString({ maxLength: AwsLimits.audience, message: 'serviceAccountRef.audiences must not hold empty strings' }))
      .max(AwsLimits.audiences)
      .optional()
      .describe('Audiences of the minted token; default sts.amazonaws.com.'),
  })
  .meta(typeMeta('ServiceAccountSelector', 'A ServiceAccount whose short-lived token (TokenRequest API) proves the identity.'));

export const AwsJwtAuthSchema = z
  .object({
    serviceAccountRef: ServiceAccountSelectorSchema.describe(
      "The ServiceAccount to act as; its eks.amazonaws.com/role-arn annotation (or spec.provider.aws.role) names the role assumed with AssumeRoleWithWebIdentity.",
    ),
  })
  .meta(typeMeta('AwsJwtAuth', 'Workload identity (IRSA): a TokenRequest token for a ServiceAccount, exchanged with STS AssumeRoleWithWebIdentity.'));

export const AwsSecretRefAuthSchema = z
  .object({
    accessKeyIDSecretRef: SecretKeySelectorSchema.describe('The access key ID.'),
    secretAccessKeySecretRef: SecretKeySelectorSchema.describe('The secret access key.'),
    sessionTokenSecretRef: SecretKeySelectorSchema.optional().describe('A session token, for temporary keys.'),
  })
  .meta(typeMeta('AwsSecretRefAuth', 'Static access keys read from Kubernetes Secrets.'));

export const AwsAuthSchema = withRules(
  z
    .object({
      jwt: AwsJwtAuthSchema.optional().describe('Workload identity through a ServiceAccount token (IRSA).'),
      secretRef: AwsSecretRefAuthSchema.optional().describe('Static access keys from Secrets.'),
    })
    .meta(typeMeta('AwsAuth', "How the store authenticates: exactly one of jwt and secretRef; omit auth to use the operator's own identity.")),
  [
    {
      rule: '(has(self.jwt) ? 1 : 0) + (has(self.secretRef) ? 1 : 0) == 1',
      message: "spec.provider.aws.auth must set exactly one of jwt and secretRef (omit auth to use the operator's own identity)",
      holds: (auth) => (auth.jwt === undefined ? 0 : 1) + (auth.secretRef === undefined ? 0 : 1) === 1,
    },
  ],
);

export const AwsSessionTagSchema = z
  .object({
    key: nonEmptyString({ maxLength: AwsLimits.tagKey, message: 'spec.provider.aws.sessionTags[].key must not be empty' }).describe('The tag key.'),
    value: z.string().max(AwsLimits.tagValue).describe('The tag value.'),
  })
  .meta(typeMeta('AwsSessionTag', 'A session tag passed to sts:AssumeRole.'));

export const AwsProviderSchema = z
  .object({
    service: z
      .enum(['SecretsManager', 'ParameterStore', 'CertificateManager'])
      .meta(typeMeta('AwsServiceType', 'Which AWS service holds the secrets.'))
      .describe('SecretsManager or ParameterStore. CertificateManager (ESO) is accepted but not supported yet: the store reports Ready=False.'),
    region: matchingString({
      pattern: AWS_REGION_PATTERN,
      maxLength: AwsLimits.region,
      message: 'spec.provider.aws.region must be an AWS region such as us-east-1',
    }).describe('The AWS region, e.g. eu-west-1.'),
    role: roleArn('spec.provider.aws.role')
      .optional()
      .describe('A role to assume after authenticating (with jwt auth and no role-arn annotation: the role of the web identity).'),
    additionalRoles: z
      .array(roleArn('spec.provider.aws.additionalRoles[]'))
      .max(AwsLimits.additionalRoles)
      .optional()
      .describe('Roles assumed in order, each with the previous one, before role.'),
    externalID: z.string().max(AwsLimits.externalID).optional().describe('The external ID passed when assuming role.'),
    sessionTags: z
      .array(AwsSessionTagSchema)
      .max(AwsLimits.sessionTags)
      .optional()
      .describe('Session tags passed when assuming role.'),
    prefix: z.string().max(AwsLimits.prefix).optional().describe('Prepended to every remote key (and find path) this store reads.'),
    endpoint: matchingString({
      pattern: ENDPOINT_PATTERN,
      maxLength: AwsLimits.endpoint,
      message: 'spec.provider.aws.endpoint must be an http(s) URL',
    })
      .optional()
      .describe('Overrides the AWS endpoint of every call (Secrets Manager or SSM, and STS): private endpoints, FIPS, emulators.'),
    auth: AwsAuthSchema.optional().describe("How to authenticate; omitted: the operator's own identity (its IRSA or EKS Pod Identity)."),
    secretsManager: z
      .object({
        forceDeleteWithoutRecovery: z.boolean().optional().describe('ESO: delete pushed secrets at once. secret-relay never deletes remote secrets, so it has no effect.'),
        recoveryWindowInDays: z.int().optional().describe('ESO: recovery window of deleted pushed secrets. No effect in secret-relay (it never deletes remote secrets).'),
      })
      .optional()
      .describe('Secrets Manager settings for writing and deleting (ESO PushSecret); accepted, with no effect on reading.'),
    transitiveTagKeys: z
      .array(z.string().max(AwsLimits.tagKey))
      .max(AwsLimits.sessionTags)
      .optional()
      .describe('Session tag keys that pass to chained roles (ESO field). Not supported yet: the store reports Ready=False.'),
    sessionTagsPolicy: z
      .enum(['None', 'Simple', 'Custom'])
      .optional()
      .describe('Which session tags ESO adds by itself (ESO field). Only None is supported; others report Ready=False.'),
    customSessionTags: z
      .record(z.string().max(AwsLimits.tagKey), z.string().max(AwsLimits.tagValue))
      .meta({ maxProperties: AwsLimits.sessionTags })
      .optional()
      .describe('Session tags for sessionTagsPolicy Custom (ESO field). Not supported yet: the store reports Ready=False.'),
  })
  .meta(typeMeta('AwsProvider', 'AWS Secrets Manager or SSM Parameter Store.'));

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
    expirationSeconds: z.int().min(600).max(86_400).optional().describe('Lifetime of the minted token; default 600 (the TokenRequest minimum).'),
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

const VAULT_AUTH_METHODS = ['tokenSecretRef', 'appRole', 'kubernetes', 'jwt', 'userPass', 'cert', 'iam', 'ldap', 'gcp'] as const;

export const VaultAuthSchema = withRules(
  z
    .object({
      tokenSecretRef: SecretKeySelectorSchema.optional().describe('A Vault token kept in a Secret; used as it is (never renewed or revoked by secret-relay).'),
      appRole: VaultAppRoleSchema.optional(),
      kubernetes: VaultKubernetesAuthSchema.optional(),
      jwt: VaultJwtAuthSchema.optional(),
      userPass: VaultUserPassAuthSchema.optional(),
      cert: notSupportedYet('TLS certificate auth (ESO: clientCert, secretRef, path, vaultRole).'),
      iam: notSupportedYet('AWS IAM auth (ESO: path, region, role, vaultRole, vaultAwsIamServerID, externalID, jwt, secretRef).'),
      ldap: notSupportedYet('LDAP auth (ESO: path, username, secretRef).'),
      gcp: notSupportedYet('Google Cloud auth (ESO: path, role, projectID, location, secretRef, serviceAccountRef, workloadIdentity).'),
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

export const AlibabaLimits = {
  regionID: 64,
  endpoint: 2048,
  arn: 512,
  sessionName: 64,
  tokenFilePath: 4096,
} as const;

export const ALIBABA_REGION_PATTERN = '^[a-z]+(-[a-z0-9]+)+$';
/** A host (kms-vpc.cn-hangzhou.aliyuncs.com, 10.0.0.8:8443) or an http(s) URL of one, no path. */
export const ALIBABA_ENDPOINT_PATTERN = '^(https?://)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?/?$';
export const ALIBABA_OIDC_PROVIDER_ARN_PATTERN = '^acs:ram::[0-9]+:oidc-provider/[A-Za-z0-9._-]+$';
export const ALIBABA_ROLE_ARN_PATTERN = '^acs:ram::[0-9]+:role/[A-Za-z0-9._-]+$';
/** STS RoleSessionName: 2–64 of letters, digits, period, at sign, hyphen, underscore. */
export const ALIBABA_SESSION_NAME_PATTERN = '^[A-Za-z0-9._@-]{2,64}$';

function alibabaEndpoint(field: string, what: string) {
  return matchingString({
    pattern: ALIBABA_ENDPOINT_PATTERN,
    maxLength: AlibabaLimits.endpoint,
    message: `${field} must be a host such as ${what} or an http(s) URL of one (no path)`,
  });
}

export const AlibabaSecretRefAuthSchema = z
  .object({
    accessKeyIDSecretRef: SecretKeySelectorSchema.describe('The AccessKey ID.'),
    accessKeySecretSecretRef: SecretKeySelectorSchema.describe('The AccessKey secret.'),
  })
  .meta(typeMeta('AlibabaSecretRefAuth', 'A RAM user\'s static AccessKey pair read from Kubernetes Secrets (the weakest option: long-lived keys).'));

export const AlibabaRRSAAuthSchema = withRules(
  z
    .object({
      oidcProviderArn: matchingString({
        pattern: ALIBABA_OIDC_PROVIDER_ARN_PATTERN,
        maxLength: AlibabaLimits.arn,
        message: 'spec.provider.alibaba.auth.rrsa.oidcProviderArn must be a RAM OIDC provider ARN such as acs:ram::1234567890123456:oidc-provider/ack-rrsa-c0123',
      }).describe("The ARN of the cluster's OIDC identity provider in RAM (ACK creates it when RRSA is enabled)."),
      roleArn: matchingString({
        pattern: ALIBABA_ROLE_ARN_PATTERN,
        maxLength: AlibabaLimits.arn,
        message: 'spec.provider.alibaba.auth.rrsa.roleArn must be a RAM role ARN such as acs:ram::1234567890123456:role/my-role',
      }).describe('The RAM role assumed with STS AssumeRoleWithOIDC; its trust policy must allow the OIDC provider and the ServiceAccount (oidc:sub).'),
      sessionName: matchingString({
        pattern: ALIBABA_SESSION_NAME_PATTERN,
        maxLength: AlibabaLimits.sessionName,
        message: 'spec.provider.alibaba.auth.rrsa.sessionName must be 2-64 letters, digits or . @ - _',
      })
        .optional()
        .describe('RoleSessionName of the assumed role, shown in ActionTrail. Omitted: secret-relay.<namespace>.<store>.'),
      serviceAccountRef: z
        .object(serviceAccountNameFields())
        .meta(typeMeta('AlibabaServiceAccountRef', 'A ServiceAccount whose TokenRequest token (audience sts.aliyuncs.com) is exchanged for the role.'))
        .optional()
        .describe('The ServiceAccount to act as: a TokenRequest token for it (audience sts.aliyuncs.com) is exchanged per store.'),
      oidcTokenFilePath: nonEmptyString({
        maxLength: AlibabaLimits.tokenFilePath,
        message: 'spec.provider.alibaba.auth.rrsa.oidcTokenFilePath must not be empty',
      })
        .optional()
        .describe("ESO's form: a projected token file in the operator's own pod (every store using it acts as the operator). Prefer serviceAccountRef."),
      stsEndpoint: alibabaEndpoint('spec.provider.alibaba.auth.rrsa.stsEndpoint', 'sts-vpc.cn-hangzhou.aliyuncs.com')
        .optional()
        .describe('Overrides the STS endpoint (default sts.<regionID>.aliyuncs.com over https): VPC endpoints.'),
    })
    .meta(typeMeta('AlibabaRRSAAuth', 'RRSA (RAM Roles for Service Accounts): an OIDC token exchanged with STS AssumeRoleWithOIDC for temporary credentials.')),
  [
    {
      rule: '(has(self.serviceAccountRef) ? 1 : 0) + (has(self.oidcTokenFilePath) ? 1 : 0) == 1',
      message: 'spec.provider.alibaba.auth.rrsa must set exactly one of serviceAccountRef (a token per store) and oidcTokenFilePath (the operator\'s own token file)',
      holds: (rrsa) => (rrsa.serviceAccountRef === undefined ? 0 : 1) + (rrsa.oidcTokenFilePath === undefined ? 0 : 1) === 1,
    },
  ],
);

export const AlibabaAuthSchema = withRules(
  z
    .object({
      rrsa: AlibabaRRSAAuthSchema.optional().describe('Workload identity (RRSA): recommended.'),
      secretRef: AlibabaSecretRefAuthSchema.optional().describe('Static AccessKey pair from Secrets.'),
    })
    .meta(typeMeta('AlibabaAuth', 'How the store authenticates: exactly one of rrsa and secretRef.')),
  [
    {
      rule: '(has(self.rrsa) ? 1 : 0) + (has(self.secretRef) ? 1 : 0) == 1',
      message: 'spec.provider.alibaba.auth must set exactly one of rrsa and secretRef',
      holds: (auth) => (auth.rrsa === undefined ? 0 : 1) + (auth.secretRef === undefined ? 0 : 1) === 1,
    },
  ],
);

export const AlibabaProviderSchema = z
  .object({
    regionID: matchingString({
      pattern: ALIBABA_REGION_PATTERN,
      maxLength: AlibabaLimits.regionID,
      message: 'spec.provider.alibaba.regionID must be an Alibaba Cloud region ID such as cn-hangzhou or ap-southeast-1',
    }).describe('The region of the KMS instance, e.g. cn-hangzhou.'),
    endpoint: alibabaEndpoint('spec.provider.alibaba.endpoint', 'kms-vpc.cn-hangzhou.aliyuncs.com')
      .optional()
      .describe('Overrides the KMS endpoint (default kms.<regionID>.aliyuncs.com over https): VPC or private endpoints.'),
    auth: AlibabaAuthSchema,
  })
  .meta(typeMeta('AlibabaProvider', 'Alibaba Cloud KMS Secrets Manager.'));
export const AzureLimits = {
  url: 2048,
  tenantId: 128,
  identityId: 1024,
  audiences: 8,
  audience: 256,
} as const;

const AZURE_URL_PATTERN = '^https://[^ ]+$';
const AZURE_AUTH_TYPES = ['ServicePrincipal', 'ManagedIdentity', 'WorkloadIdentity'] as const;

export const AzureServiceAccountSelectorSchema = z
  .object({
    ...serviceAccountNameFields(),
    audiences: z
      .array(nonEmptyString({ maxLength: AzureLimits.audience, message: 'serviceAccountRef.audiences must not hold empty strings' }))
      .max(AzureLimits.audiences)
      .optional()
      .describe('Audiences added to api://AzureADTokenExchange in the minted token (as ESO).'),
  })
  .meta(typeMeta('AzureServiceAccountSelector', 'A ServiceAccount federated with an Entra ID application or managed identity; its short-lived token (TokenRequest API) is exchanged for a Key Vault token.'));

export const AzureKVAuthSchema = z
  .object({
    clientId: SecretKeySelectorSchema.optional().describe('The client (application) ID of the service principal or identity.'),
    tenantId: SecretKeySelectorSchema.optional().describe('The tenant (directory) ID.'),
    clientSecret: SecretKeySelectorSchema.optional().describe('A client secret of the service principal.'),
    clientCertificate: SecretKeySelectorSchema.optional().describe('A PEM holding the certificate and its private key, registered on the service principal.'),
  })
  .meta(typeMeta('AzureKVAuth', 'Credentials of the identity, read from Kubernetes Secrets.'));

export const AzureCustomCloudConfigSchema = z
  .object({
    activeDirectoryEndpoint: matchingString({
      pattern: AZURE_URL_PATTERN,
      maxLength: AzureLimits.url,
      message: 'spec.provider.azurekv.customCloudConfig.activeDirectoryEndpoint must be an https URL such as https://login.microsoftonline.com',
    }).describe('The Entra ID (Azure AD) authority host that issues tokens.'),
    keyVaultEndpoint: z.string().max(AzureLimits.url).optional().describe('The Key Vault resource (token audience), e.g. https://vault.azure.net; Key Vault names it in its challenge.'),
    keyVaultDNSSuffix: z.string().max(AzureLimits.url).optional().describe('The DNS suffix of vault URLs, e.g. .vault.azure.net.'),
    resourceManagerEndpoint: z.string().max(AzureLimits.url).optional().describe('Azure Resource Manager endpoint; accepted for ESO compatibility, not used (no ARM calls are made).'),
  })
  .meta(typeMeta('AzureCustomCloudConfig', 'Endpoints of a cloud other than the named ones (Azure Stack, private clouds).'));

export const AzureKVProviderSchema = withRules(
  z
    .object({
      authType: z
        .enum(AZURE_AUTH_TYPES)
        .meta(typeMeta('AzureAuthType', 'How the store authenticates to Key Vault.'))
        .default('ServicePrincipal')
        .describe('ServicePrincipal (default, as ESO), WorkloadIdentity or ManagedIdentity.'),
      vaultUrl: matchingString({
        pattern: AZURE_URL_PATTERN,
        maxLength: AzureLimits.url,
        message: 'spec.provider.azurekv.vaultUrl must be an https URL such as https://my-vault.vault.azure.net',
      }).describe('The vault, e.g. https://my-vault.vault.azure.net.'),
      tenantId: z.string().max(AzureLimits.tenantId).optional().describe('The tenant (directory) ID; used when neither the ServiceAccount annotation nor authSecretRef.tenantId gives one.'),
      environmentType: z
        .enum(['PublicCloud', 'USGovernmentCloud', 'ChinaCloud', 'GermanCloud', 'AzureStackCloud'])
        .meta(typeMeta('AzureEnvironmentType', 'The Azure cloud: its Entra ID authority and Key Vault resource.'))
        .default('PublicCloud')
        .describe('The cloud; AzureStackCloud needs customCloudConfig.'),
      authSecretRef: AzureKVAuthSchema.optional().describe('Credentials from Secrets: required for ServicePrincipal; for WorkloadIdentity, client and tenant IDs when the ServiceAccount has no annotations.'),
      serviceAccountRef: AzureServiceAccountSelectorSchema.optional().describe('The ServiceAccount to act as (WorkloadIdentity).'),
      identityId: z.string().max(AzureLimits.identityId).optional().describe("ManagedIdentity: the client ID or resource ID of a user-assigned identity; omitted: the system-assigned one."),
      useAzureSDK: z.boolean().optional().describe('Accepted for ESO compatibility; secret-relay always uses the current Azure SDK.'),
      customCloudConfig: AzureCustomCloudConfigSchema.optional(),
    })
    .meta(typeMeta('AzureKVProvider', 'Azure Key Vault: secrets, certificates and keys.')),
  [
    {
      rule: "self.authType != 'ServicePrincipal' || (has(self.authSecretRef) && has(self.authSecretRef.clientId) && (has(self.authSecretRef.clientSecret) || has(self.authSecretRef.clientCertificate)))",
      message: 'spec.provider.azurekv with authType ServicePrincipal needs authSecretRef.clientId and authSecretRef.clientSecret or clientCertificate',
      holds: (p) => p.authType !== 'ServicePrincipal' || (p.authSecretRef?.clientId !== undefined && (p.authSecretRef.clientSecret !== undefined || p.authSecretRef.clientCertificate !== undefined)),
    },
    {
      rule: '!has(self.authSecretRef) || !has(self.authSecretRef.clientSecret) || !has(self.authSecretRef.clientCertificate)',
      message: 'spec.provider.azurekv.authSecretRef must set at most one of clientSecret and clientCertificate',
      holds: (p) => p.authSecretRef?.clientSecret === undefined || p.authSecretRef.clientCertificate === undefined,
    },
    {
      rule: "self.authType != 'ServicePrincipal' || has(self.tenantId) || (has(self.authSecretRef) && has(self.authSecretRef.tenantId))",
      message: 'spec.provider.azurekv with authType ServicePrincipal needs tenantId or authSecretRef.tenantId',
      holds: (p) => p.authType !== 'ServicePrincipal' || p.tenantId !== undefined || p.authSecretRef?.tenantId !== undefined,
    },
    {
      rule: "self.authType != 'WorkloadIdentity' || has(self.serviceAccountRef)",
      message: 'spec.provider.azurekv with authType WorkloadIdentity needs serviceAccountRef (the ServiceAccount federated with the identity)',
      holds: (p) => p.authType !== 'WorkloadIdentity' || p.serviceAccountRef !== undefined,
    },
    {
      rule: "self.environmentType != 'AzureStackCloud' || has(self.customCloudConfig)",
      message: 'spec.provider.azurekv with environmentType AzureStackCloud needs customCloudConfig (its endpoints)',
      holds: (p) => p.environmentType !== 'AzureStackCloud' || p.customCloudConfig !== undefined,
    },
  ],
);

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
  })
  .meta(
    typeMeta(
      'GcpsmEndpoints',
      'Advanced, not in ESO: endpoint overrides (Private Service Connect, test beds). Plain http is accepted only for loopback addresses.',
    ),
  );

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
  })
  .meta(typeMeta('GcpsmProvider', 'Google Cloud Secret Manager.'));

const providerFields = {
  aws: AwsProviderSchema.optional().describe('AWS Secrets Manager or SSM Parameter Store.'),
  gcpsm: GcpsmProviderSchema.optional().describe('Google Cloud Secret Manager.'),
  azurekv: AzureKVProviderSchema.optional().describe('Azure Key Vault: secrets, certificates and keys.'),
  alibaba: AlibabaProviderSchema.optional().describe('Alibaba Cloud KMS Secrets Manager.'),
  vault: VaultProviderSchema.optional().describe('HashiCorp Vault or OpenBao (KV v1/v2).'),
  fake: FakeProviderSchema.optional().describe('A provider configured with its own data, for demos and tests.'),
};

const exactlyOneProviderRule = PROVIDER_NAMES.map((name) => `(has(self.${name}) ? 1 : 0)`).join(' + ') + ' == 1';

export const SecretStoreProviderSchema = withRules(
  z.object(providerFields).meta(typeMeta('SecretStoreProvider', 'The secret manager this store reads from: exactly one key.')),
  [
    {
      rule: exactlyOneProviderRule,
      message: `spec.provider must set exactly one of ${PROVIDER_NAMES.join(', ')}`,
      holds: (provider) => PROVIDER_NAMES.filter((name) => provider[name] !== undefined).length === 1,
    },
  ],
);

export const RetrySettingsSchema = z
  .object({
    maxRetries: z.int().optional().describe('ESO: retries of a provider call.'),
    retryInterval: z.string().max(64).optional().describe('ESO: the wait between them.'),
  })
  .meta(typeMeta('SecretStoreRetrySettings', "ESO's retry settings for provider calls; secret-relay retries with its own backoff, so they are accepted and not used (a warning on the store)."));

const secretStoreSpecFields = {
  provider: SecretStoreProviderSchema,
  controller: z
    .string()
    .max(253)
    .optional()
    .describe('ESO controller class: which operator instance serves the store. secret-relay has no controller classes yet: a store naming one reports Ready=False.'),
  retrySettings: RetrySettingsSchema.optional(),
  refreshInterval: durationString('spec.refreshInterval')
    .default('5m')
    .describe('How often the store is validated again (its Ready condition), e.g. "5m"; "0" validates only on change.'),
};


export const ClusterSecretStoreConditionSchema = withRules(
  z
    .object({
      namespaces: z
        .array(
          matchingString({
            pattern: DNS_LABEL_PATTERN,
            maxLength: Limits.namespace,
            message: 'spec.conditions[].namespaces must hold namespace names (DNS labels)',
          }),
        )
        .max(SecretStoreLimits.namespaces)
        .optional()
        .describe('Namespaces allowed by name.'),
      namespaceSelector: LabelSelectorSchema.optional().describe('Namespaces allowed by their labels.'),
      namespaceRegexes: z
        .array(z.string().max(SecretStoreLimits.namespaceRegex))
        .max(SecretStoreLimits.namespaceRegexes)
        .optional()
        .describe('Namespaces allowed by regular expressions (RE2, matched against the whole name).'),
    })
    .meta(typeMeta('ClusterSecretStoreCondition', 'Namespaces whose ExternalSecrets may use the store; a namespace matching any field is allowed.')),
  [
    {
      rule: '(has(self.namespaces) && size(self.namespaces) > 0) || has(self.namespaceSelector) || (has(self.namespaceRegexes) && size(self.namespaceRegexes) > 0)',
      message: 'each entry of spec.conditions must set namespaces, namespaceSelector or namespaceRegexes',
      holds: (condition) =>
        (condition.namespaces?.length ?? 0) > 0 ||
        condition.namespaceSelector !== undefined ||
        (condition.namespaceRegexes?.length ?? 0) > 0,
    },
  ],
);

export const SecretStoreSpecSchema = z
  .object({
    ...secretStoreSpecFields,
    conditions: z
      .array(ClusterSecretStoreConditionSchema)
      .max(SecretStoreLimits.clusterConditions)
      .optional()
      .describe('Namespace conditions; ESO has them on every store but they only mean something on a ClusterSecretStore, so a SecretStore ignores them (a warning).'),
  })
  .meta(typeMeta('SecretStoreSpec', 'How to reach the external secret manager.'));

export const ClusterSecretStoreSpecSchema = z
  .object({
    ...secretStoreSpecFields,
    conditions: z
      .array(ClusterSecretStoreConditionSchema)
      .max(SecretStoreLimits.clusterConditions)
      .default([])
      .describe(
        'Which namespaces may use the store; a namespace allowed by any entry may. Empty: every namespace.',
      ),
  })
  .meta(typeMeta('ClusterSecretStoreSpec', 'How to reach the external secret manager, and which namespaces may use it.'));

export const StoreCapabilitiesSchema = z
  .enum(['ReadOnly', 'WriteOnly', 'ReadWrite'])
  .meta(typeMeta('StoreCapabilities', 'What a store can do: read secrets, write them (push), or both.'));

export const SecretStoreStatusSchema = z
  .object({
    conditions: conditionsSchema('Ready, with a reason from StoreReason.'),
    capabilities: StoreCapabilitiesSchema.optional().describe('What the store can do; every provider here is ReadOnly.'),
  })
  .meta(typeMeta('SecretStoreStatus', 'The outcome of the last validation.'));

export const SecretStoreSchema = z
  .object({
    apiVersion: z.literal(API_GROUP_VERSION),
    kind: z.literal(Kind.SecretStore),
    metadata: ObjectMetaSchema,
    spec: SecretStoreSpecSchema,
    status: SecretStoreStatusSchema.optional(),
  })
  .meta(typeMeta('SecretStore', 'A SecretStore says how to reach an external secret manager; ExternalSecrets of its own namespace read through it.'));

export const ClusterSecretStoreSchema = z
  .object({
    apiVersion: z.literal(API_GROUP_VERSION),
    kind: z.literal(Kind.ClusterSecretStore),
    metadata: ObjectMetaSchema,
    spec: ClusterSecretStoreSpecSchema,
    status: SecretStoreStatusSchema.optional(),
  })
  .meta(typeMeta('ClusterSecretStore', 'A ClusterSecretStore is a SecretStore for the whole cluster; spec.conditions limit the namespaces whose ExternalSecrets may use it.'));
