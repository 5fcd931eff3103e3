// spec.provider.alibaba: Alibaba Cloud KMS Secrets Manager.
import { z } from 'zod';
import { matchingString, nonEmptyString, typeMeta, withRules } from '../schema-helpers.ts';
import { SecretKeySelectorSchema, serviceAccountNameFields, type ProviderDefinition, asUrl } from './kit.ts';

export const AlibabaLimits = {
  regionID: 64,
  endpoint: 2048,
  arn: 512,
  sessionName: 64,
  tokenFilePath: 4096,
  queueURL: 2048,
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

/** A Simple Message Queue (MNS) queue URL: https://ACCOUNT.mns.REGION.aliyuncs.com/queues/NAME, as the console shows it. */
export const ALIBABA_QUEUE_URL_PATTERN = '^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?/queues/[A-Za-z][A-Za-z0-9-]{0,119}$';
/** Alibaba's own queue hosts: public, internal and VPC endpoints of every region. */
const MNS_SERVICE_HOST = /^[0-9]+\.mns\.[a-z0-9-]+\.aliyuncs\.com$/;

/** Whether a queue URL is on Simple Message Queue's own hosts (anything else is an endpoint override). Pure. */
export function isMnsServiceUrl(queueURL: string): boolean {
  try {
    return MNS_SERVICE_HOST.test(new URL(queueURL).hostname.toLowerCase());
  } catch {
    return false;
  }
}

export const AlibabaChangeFeedSchema = z
  .object({
    queue: z
      .object({
        queueURL: matchingString({
          pattern: ALIBABA_QUEUE_URL_PATTERN,
          maxLength: AlibabaLimits.queueURL,
          message: 'spec.provider.alibaba.changeFeed.queue.queueURL must be a queue URL such as https://1234567890123456.mns.cn-hangzhou.aliyuncs.com/queues/secret-changes',
        }).describe(
          "The Simple Message Queue (MNS) queue an EventBridge rule sends KMS's ActionTrail events to. Read with the store's identity (mns:ReceiveMessage and mns:DeleteMessage on the queue).",
        ),
      })
      .meta(typeMeta('AlibabaQueueChangeFeed', 'A Simple Message Queue (formerly MNS) queue receiving the KMS events EventBridge forwards.'))
      .describe('The queue the feed reads.'),
  })
  .meta(typeMeta('AlibabaChangeFeed', 'Where change notifications of this store arrive (docs/change-feeds-clouds.md).'));

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
    changeFeed: AlibabaChangeFeedSchema.optional().describe('Refresh on change: ExternalSecrets reading a changed secret refresh within seconds; refreshInterval stays as the safety net.'),
  })
  .meta(typeMeta('AlibabaProvider', 'Alibaba Cloud KMS Secrets Manager.'));

export const alibabaProvider = {
  schema: AlibabaProviderSchema,
  description: 'Alibaba Cloud KMS Secrets Manager.',
  tenancy: (spec) => {
    const url = (field: string, value: string | undefined) => (value === undefined ? [] : [{ field, url: asUrl(value) }]);
    const file = spec.auth.rrsa && !spec.auth.rrsa.serviceAccountRef ? spec.auth.rrsa.oidcTokenFilePath : undefined;
    return {
      // The pod's RRSA token file is the operator's identity, and its content is what STS is sent.
      operatorIdentity: file !== undefined ? { mode: "spec.provider.alibaba.auth.rrsa.oidcTokenFilePath (a token file of the operator's pod)", instead: 'auth.rrsa.serviceAccountRef' } : undefined,
      operatorFiles: file !== undefined ? [{ field: 'spec.provider.alibaba.auth.rrsa.oidcTokenFilePath', path: file }] : [],
      endpoints: [
        ...url('spec.provider.alibaba.endpoint', spec.endpoint),
        ...url('spec.provider.alibaba.auth.rrsa.stsEndpoint', spec.auth.rrsa?.stsEndpoint),
        // A queue on a host other than Simple Message Queue's own would receive the store's signed requests and STS token.
        ...(spec.changeFeed !== undefined && !isMnsServiceUrl(spec.changeFeed.queue.queueURL) ? url('spec.provider.alibaba.changeFeed.queue.queueURL', spec.changeFeed.queue.queueURL) : []),
      ],
      // Even on Alibaba's hosts the STS security token travels in a header: plain http only to loopback.
      servers: url('spec.provider.alibaba.changeFeed.queue.queueURL', spec.changeFeed?.queue.queueURL),
    };
  },
} as const satisfies ProviderDefinition<typeof AlibabaProviderSchema>;
