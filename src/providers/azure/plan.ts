// How an azurekv store authenticates and where it talks to, decided from its spec alone (pure): the cloud's
// Entra ID authority, the identity (workload identity, service principal, managed identity) and which of its
// references depend on the ExternalSecret's namespace (referent auth: one identity per namespace).
import type { AzureKVProvider } from '../../api/types.generated.ts';
import { RefResolver, type ResolvedSecretKey, type ResolvedServiceAccount, type StoreWhere } from '../kit/index.ts';

/** The audience Entra ID expects in a federated (workload identity) assertion. */
export const WORKLOAD_IDENTITY_AUDIENCE = 'api://AzureADTokenExchange';
export const CLIENT_ID_ANNOTATION = 'azure.workload.identity/client-id';
export const TENANT_ID_ANNOTATION = 'azure.workload.identity/tenant-id';

/** Authority host and Key Vault resource of each named cloud (azure-sdk-for-go's cloud package, go-autorest's environments). */
export const AZURE_CLOUDS = {
  PublicCloud: { authorityHost: 'https://login.microsoftonline.com', keyVaultResource: 'https://vault.azure.net' },
  USGovernmentCloud: { authorityHost: 'https://login.microsoftonline.us', keyVaultResource: 'https://vault.usgovcloudapi.net' },
  ChinaCloud: { authorityHost: 'https://login.chinacloudapi.cn', keyVaultResource: 'https://vault.azure.cn' },
  GermanCloud: { authorityHost: 'https://login.microsoftonline.de', keyVaultResource: 'https://vault.microsoftazure.de' },
} as const;

export interface AzureEndpoints {
  readonly vaultUrl: string;
  readonly authorityHost: string;
  /**
   * A custom cloud (customCloudConfig): its authority is not one MSAL knows (no instance discovery), and its vault
   * host need not end with the challenge's resource domain, so the SDK's challenge-resource check is off.
   */
  readonly custom: boolean;
  /**
   * The Key Vault resource a challenge may name: the only token scope the store's credential issues
   * (`<resource>/.default`). A vault that names another resource (Resource Manager, Graph) gets no token.
   */
  readonly keyVaultResource: string;
  /** customCloudConfig.keyVaultDNSSuffix: the vault's host must end with it. */
  readonly keyVaultDnsSuffix?: string | undefined;
}

export type AzureIdentityPlan =
  | {
      readonly kind: 'WorkloadIdentity';
      readonly serviceAccount: ResolvedServiceAccount;
      readonly audiences: readonly string[];
      /** Fallbacks when the ServiceAccount has no azure.workload.identity/* annotations. */
      readonly clientId?: ResolvedSecretKey | undefined;
      readonly tenantIdRef?: ResolvedSecretKey | undefined;
      readonly tenantId?: string | undefined;
    }
  | {
      readonly kind: 'ServicePrincipal';
      readonly clientId: ResolvedSecretKey;
      readonly tenantIdRef?: ResolvedSecretKey | undefined;
      readonly tenantId?: string | undefined;
      readonly credential: { readonly type: 'secret'; readonly ref: ResolvedSecretKey } | { readonly type: 'certificate'; readonly ref: ResolvedSecretKey };
    }
  | { readonly kind: 'ManagedIdentity'; readonly identityId?: string | undefined };

export interface AzurePlan {
  readonly endpoints: AzureEndpoints;
  readonly identity: AzureIdentityPlan;
  /** True when a reference depends on the ExternalSecret's namespace (ClusterSecretStore, namespace omitted). */
  readonly referent: boolean;
  /** Who the store acts as before the ServiceAccount or Secrets are read, for the audit log. Never a secret. */
  readonly label: string;
}

export function azureEndpoints(spec: AzureKVProvider): AzureEndpoints {
  const vaultUrl = spec.vaultUrl.replace(/\/+$/, '');
  const cloud = spec.environmentType === 'AzureStackCloud' ? AZURE_CLOUDS.PublicCloud : AZURE_CLOUDS[spec.environmentType];
  if (spec.customCloudConfig) {
    const custom = spec.customCloudConfig;
    return {
      vaultUrl,
      authorityHost: custom.activeDirectoryEndpoint.replace(/\/+$/, ''),
      custom: true,
      keyVaultResource: (custom.keyVaultEndpoint ?? cloud.keyVaultResource).replace(/\/+$/, ''),
      keyVaultDnsSuffix: custom.keyVaultDNSSuffix,
    };
  }
  return { vaultUrl, authorityHost: cloud.authorityHost, custom: false, keyVaultResource: cloud.keyVaultResource };
}

/**
 * Why a token for `scopes` must not be issued to the store's vault, or undefined: only the configured Key Vault
 * resource is ever asked for, so a host posing as the vault cannot obtain a Resource Manager (or any other) token of
 * the store's identity by naming another resource in its challenge. Pure.
 */
export function challengeScopeProblem(endpoints: AzureEndpoints, scopes: readonly string[]): string | undefined {
  const allowed = [`${endpoints.keyVaultResource}/.default`, `${endpoints.keyVaultResource}//.default`];
  const bad = scopes.find((scope) => !allowed.includes(scope));
  if (bad === undefined) return undefined;
  return `the vault ${endpoints.vaultUrl} asked for a token for ${bad}, but this store's Key Vault resource is ${endpoints.keyVaultResource}; no token was requested (check vaultUrl, environmentType and customCloudConfig.keyVaultEndpoint)`;
}

/** Decides the identity of an azurekv store. Pure; the spec is the parsed (defaulted) one. */
export function planAzureAuth(spec: AzureKVProvider, where: StoreWhere): AzurePlan {
  const refs = new RefResolver(where);
  const endpoints = azureEndpoints(spec);
  const secretRef = spec.authSecretRef;
  let identity: AzureIdentityPlan;
  let label: string;
  switch (spec.authType) {
    case 'WorkloadIdentity': {
      const serviceAccount = refs.serviceAccount(spec.serviceAccountRef!);
      identity = {
        kind: 'WorkloadIdentity',
        serviceAccount,
        audiences: [WORKLOAD_IDENTITY_AUDIENCE, ...(spec.serviceAccountRef!.audiences ?? []).filter((a) => a !== WORKLOAD_IDENTITY_AUDIENCE)],
        clientId: secretRef?.clientId ? refs.secretKey(secretRef.clientId) : undefined,
        tenantIdRef: secretRef?.tenantId ? refs.secretKey(secretRef.tenantId) : undefined,
        tenantId: spec.tenantId,
      };
      label = `workload identity of ServiceAccount ${serviceAccount.namespace}/${serviceAccount.name}`;
      break;
    }
    case 'ServicePrincipal': {
      const auth = secretRef!;
      const clientId = refs.secretKey(auth.clientId!);
      identity = {
        kind: 'ServicePrincipal',
        clientId,
        tenantIdRef: auth.tenantId ? refs.secretKey(auth.tenantId) : undefined,
        tenantId: spec.tenantId,
        credential: auth.clientSecret
          ? { type: 'secret', ref: refs.secretKey(auth.clientSecret) }
          : { type: 'certificate', ref: refs.secretKey(auth.clientCertificate!) },
      };
      label = `service principal from Secret ${clientId.namespace}/${clientId.name}`;
      break;
    }
    case 'ManagedIdentity':
      identity = { kind: 'ManagedIdentity', identityId: spec.identityId };
      label = spec.identityId ? `managed identity ${spec.identityId}` : "the operator's system-assigned managed identity";
      break;
  }
  return { endpoints, identity, referent: refs.referent, label };
}

/** A ManagedIdentityCredential option for identityId: an ARM resource ID, else a client ID (as ESO). */
export function managedIdentitySelector(identityId: string | undefined): { clientId: string } | { resourceId: string } | undefined {
  if (identityId === undefined || identityId === '') return undefined;
  return identityId.startsWith('/subscriptions/') ? { resourceId: identityId } : { clientId: identityId };
}

export type AzureObjectType = 'secret' | 'cert' | 'key';

/** remoteRef.key as ESO reads it: "secret/NAME", "cert/NAME", "key/NAME", or a bare NAME (a secret). */
export function parseObjectKey(key: string): { type: AzureObjectType; name: string } | { error: string } {
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? 'secret' : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== 'secret' && prefix !== 'cert' && prefix !== 'key') {
    return { error: `remoteRef.key "${key}" has an unknown object type "${prefix}"; use secret/NAME, cert/NAME, key/NAME or NAME` };
  }
  if (!/^[0-9a-zA-Z-]{1,127}$/.test(name)) {
    return { error: `remoteRef.key "${key}": "${name}" is not a Key Vault object name (1-127 letters, digits and dashes)` };
  }
  return { type: prefix, name };
}
