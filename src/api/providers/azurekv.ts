// spec.provider.azurekv: Azure Key Vault (secrets, certificates and keys).
import { z } from 'zod';
import { matchingString, nonEmptyString, typeMeta, withRules } from '../schema-helpers.ts';
import { SecretKeySelectorSchema, serviceAccountNameFields, type ProviderDefinition } from './kit.ts';

export const AzureLimits = {
  url: 2048,
  tenantId: 128,
  identityId: 1024,
  audiences: 8,
  audience: 256,
  queueURL: 2048,
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

/** Hosts of Azure Storage's own queue service (public, US Government, China clouds): not an endpoint override. */
const STORAGE_QUEUE_HOST_PATTERN = /^[a-z0-9]{3,24}\.queue\.core\.(windows\.net|usgovcloudapi\.net|chinacloudapi\.cn)$/;

/** Whether a queue URL names a host of Azure Storage itself (pure): any other host is an endpoint the tenancy rules govern. */
export function isStorageQueueServiceUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' && STORAGE_QUEUE_HOST_PATTERN.test(parsed.hostname);
  } catch {
    return false;
  }
}

export const AzureChangeFeedSchema = z
  .object({
    storageQueue: z
      .object({
        queueURL: matchingString({
          pattern: '^https://[^ /]+/[^ ]+$',
          maxLength: AzureLimits.queueURL,
          message: 'spec.provider.azurekv.changeFeed.storageQueue.queueURL must be an https queue URL such as https://myaccount.queue.core.windows.net/secret-changes',
        }).describe(
          "The Storage queue an Event Grid subscription of the vault delivers Microsoft.KeyVault.* events to (Event Grid or CloudEvents schema). Read with the store's identity (role Storage Queue Data Message Processor on the queue).",
        ),
      })
      .meta(typeMeta('AzureStorageQueueChangeFeed', 'A Storage queue receiving the Event Grid events of the vault.'))
      .describe('The Storage queue the feed reads.'),
  })
  .meta(typeMeta('AzureChangeFeed', 'Where change notifications of this store arrive (docs/change-feeds.md).'));

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
      changeFeed: AzureChangeFeedSchema.optional().describe('Refresh on change: ExternalSecrets reading a changed secret refresh within seconds; refreshInterval stays as the safety net.'),
    })
    .meta(typeMeta('AzureKVProvider', 'Azure Key Vault: secrets, certificates and keys.')),
  [
    {
      rule: "(has(self.authType) && self.authType != 'ServicePrincipal') || (has(self.authSecretRef) && has(self.authSecretRef.clientId) && (has(self.authSecretRef.clientSecret) || has(self.authSecretRef.clientCertificate)))",
      message: 'spec.provider.azurekv with authType ServicePrincipal needs authSecretRef.clientId and authSecretRef.clientSecret or clientCertificate',
      holds: (p) => p.authType !== 'ServicePrincipal' || (p.authSecretRef?.clientId !== undefined && (p.authSecretRef.clientSecret !== undefined || p.authSecretRef.clientCertificate !== undefined)),
    },
    {
      rule: '!has(self.authSecretRef) || !has(self.authSecretRef.clientSecret) || !has(self.authSecretRef.clientCertificate)',
      message: 'spec.provider.azurekv.authSecretRef must set at most one of clientSecret and clientCertificate',
      holds: (p) => p.authSecretRef?.clientSecret === undefined || p.authSecretRef.clientCertificate === undefined,
    },
    {
      rule: "(has(self.authType) && self.authType != 'ServicePrincipal') || has(self.tenantId) || (has(self.authSecretRef) && has(self.authSecretRef.tenantId))",
      message: 'spec.provider.azurekv with authType ServicePrincipal needs tenantId or authSecretRef.tenantId',
      holds: (p) => p.authType !== 'ServicePrincipal' || p.tenantId !== undefined || p.authSecretRef?.tenantId !== undefined,
    },
    {
      rule: "!has(self.authType) || self.authType != 'WorkloadIdentity' || has(self.serviceAccountRef)",
      message: 'spec.provider.azurekv with authType WorkloadIdentity needs serviceAccountRef (the ServiceAccount federated with the identity)',
      holds: (p) => p.authType !== 'WorkloadIdentity' || p.serviceAccountRef !== undefined,
    },
    {
      rule: "!has(self.environmentType) || self.environmentType != 'AzureStackCloud' || has(self.customCloudConfig)",
      message: 'spec.provider.azurekv with environmentType AzureStackCloud needs customCloudConfig (its endpoints)',
      holds: (p) => p.environmentType !== 'AzureStackCloud' || p.customCloudConfig !== undefined,
    },
  ],
);

export const azurekvProvider = {
  schema: AzureKVProviderSchema,
  description: 'Azure Key Vault: secrets, certificates and keys.',
  tenancy: (spec) => {
    const custom = spec.customCloudConfig;
    return {
      operatorIdentity:
        spec.authType === 'ManagedIdentity'
          ? { mode: "spec.provider.azurekv authType ManagedIdentity (the managed identity of the operator's pod or node)", instead: 'authType WorkloadIdentity with serviceAccountRef, or ServicePrincipal' }
          : undefined,
      // A custom cloud's authority receives client assertions and secrets; its Key Vault resource decides which token the vault gets.
      endpoints: [
        ...(custom
          ? [
              { field: 'spec.provider.azurekv.customCloudConfig.activeDirectoryEndpoint', url: custom.activeDirectoryEndpoint },
              ...(custom.keyVaultEndpoint !== undefined ? [{ field: 'spec.provider.azurekv.customCloudConfig.keyVaultEndpoint', url: custom.keyVaultEndpoint }] : []),
            ]
          : []),
        // A queue on a host other than Azure Storage's own would receive the store's storage bearer token.
        ...(spec.changeFeed !== undefined && !isStorageQueueServiceUrl(spec.changeFeed.storageQueue.queueURL)
          ? [{ field: 'spec.provider.azurekv.changeFeed.storageQueue.queueURL', url: spec.changeFeed.storageQueue.queueURL }]
          : []),
      ],
      servers: [{ field: 'spec.provider.azurekv.vaultUrl', url: spec.vaultUrl }],
    };
  },
} as const satisfies ProviderDefinition<typeof AzureKVProviderSchema>;
