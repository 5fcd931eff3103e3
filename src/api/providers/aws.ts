// spec.provider.aws: AWS Secrets Manager or SSM Parameter Store.
import { z } from 'zod';
import { matchingString, nonEmptyString, typeMeta, withRules } from '../schema-helpers.ts';
import { SecretKeySelectorSchema, serviceAccountNameFields, type ProviderDefinition } from './kit.ts';

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
  queueURL: 2048,
} as const;

/** The partition, then 12 digits of account, then role/<path/>name (IAM's allowed characters). */
export const AWS_ROLE_ARN_PATTERN = '^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$';
const AWS_ROLE_ARN_MESSAGE = 'must be an IAM role ARN such as arn:aws:iam::123456789012:role/my-role';
export const AWS_REGION_PATTERN = '^[a-z]{2}(-[a-z]+)+-[0-9]+$';
const ENDPOINT_PATTERN = '^https?://[^ ]+$';

function roleArn(field: string) {
  return matchingString({ pattern: AWS_ROLE_ARN_PATTERN, maxLength: AwsLimits.roleArn, message: `${field} ${AWS_ROLE_ARN_MESSAGE}` });
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

/** A queue URL whose host is SQS's own (regional, FIPS, China, legacy): not an endpoint override. */
const SQS_HOST_PATTERN = /^(sqs(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?|[a-z0-9-]+\.queue\.amazonaws\.com)$/;

/** Whether a queue URL names a host of SQS itself (pure): any other host is an endpoint the tenancy rules govern. */
export function isSqsServiceUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' && SQS_HOST_PATTERN.test(parsed.hostname);
  } catch {
    return false;
  }
}

export const AwsChangeFeedSchema = z
  .object({
    sqs: z
      .object({
        queueURL: matchingString({
          pattern: ENDPOINT_PATTERN,
          maxLength: AwsLimits.queueURL,
          message: 'spec.provider.aws.changeFeed.sqs.queueURL must be an SQS queue URL such as https://sqs.eu-west-1.amazonaws.com/123456789012/secret-changes',
        }).describe('The queue an EventBridge rule sends Secrets Manager (CloudTrail) or Parameter Store Change events to. Read with the store\'s identity (sqs:ReceiveMessage, sqs:DeleteMessage).'),
      })
      .meta(typeMeta('AwsSqsChangeFeed', 'An SQS queue receiving EventBridge events of secret changes.'))
      .describe('The SQS queue the feed long-polls.'),
  })
  .meta(typeMeta('AwsChangeFeed', 'Where change notifications of this store arrive (docs/change-feeds.md).'));

export const AwsProviderSchema = z
  .object({
    service: z
      .enum(['SecretsManager', 'ParameterStore', 'CertificateManager'])
      .meta(typeMeta('AwsServiceType', 'Which AWS service holds the secrets.'))
      .describe('SecretsManager, ParameterStore, or CertificateManager (reads only: remoteRef.key is a certificate ARN, the value its exported certificate, chain and key as PEM).'),
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
    changeFeed: AwsChangeFeedSchema.optional().describe('Refresh on change: ExternalSecrets reading a changed secret refresh within seconds; refreshInterval stays as the safety net.'),
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

export const awsProvider = {
  schema: AwsProviderSchema,
  description: 'AWS Secrets Manager or SSM Parameter Store.',
  tenancy: (spec) => ({
    // Without auth the default credential chain runs: the operator's own identity (role chaining starts from it too).
    operatorIdentity:
      spec.auth?.jwt === undefined && spec.auth?.secretRef === undefined
        ? { mode: 'spec.provider.aws without auth (the default credential chain)', instead: 'auth.jwt.serviceAccountRef for IRSA, or auth.secretRef' }
        : undefined,
    endpoints: [
      ...(spec.endpoint !== undefined ? [{ field: 'spec.provider.aws.endpoint', url: spec.endpoint }] : []),
      // A queue on a host other than SQS's own would receive the store's signed requests (and session token).
      ...(spec.changeFeed !== undefined && !isSqsServiceUrl(spec.changeFeed.sqs.queueURL) ? [{ field: 'spec.provider.aws.changeFeed.sqs.queueURL', url: spec.changeFeed.sqs.queueURL }] : []),
    ],
  }),
} as const satisfies ProviderDefinition<typeof AwsProviderSchema>;
