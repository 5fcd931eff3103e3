// The official SDKs, behind a narrow interface of our own and imported only when the first alibaba client is built
// (an operator with no alibaba store never loads them). KMS: @alicloud/kms20160120 on @alicloud/rpc-client, which
// signs every request with RPC signature V1 (HMAC-SHA1 over the canonicalised query). STS: @alicloud/sts20150401 on
// @alicloud/openapi-core; AssumeRoleWithOIDC is an anonymous call (the OIDC token is the proof).
import type { Endpoint } from './endpoints.ts';

export interface AlibabaCredentials {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** Present for temporary (STS) credentials. */
  readonly securityToken?: string | undefined;
  /** Epoch ms; undefined for static keys (re-read on a timer instead). */
  readonly expiresAt?: number | undefined;
}

/** Per-attempt limits: without them a silent endpoint would hold a read (or a store's session) forever. */
export const REQUEST_LIMITS = { connectTimeout: 5_000, readTimeout: 15_000 } as const;

/** The KMS API version every request names. */
export const KMS_API_VERSION = '2016-01-20';

/** One KMS RPC call: action and parameters in, Alibaba's JSON response out. Signed with the credentials given. */
export interface KmsRpc {
  call(action: string, params: Readonly<Record<string, string | number>>): Promise<Record<string, unknown>>;
}

export interface OidcExchange {
  readonly oidcProviderArn: string;
  readonly roleArn: string;
  readonly roleSessionName: string;
  readonly oidcToken: string;
  readonly durationSeconds: number;
}

export interface StsCredentialsResult {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken: string;
  /** ISO 8601, UTC. */
  readonly expiration: string;
  readonly assumedRoleArn: string | undefined;
}

export interface AlibabaSdk {
  kms(endpoint: Endpoint, regionId: string, credentials: AlibabaCredentials): KmsRpc;
  assumeRoleWithOIDC(endpoint: Endpoint, regionId: string, exchange: OidcExchange): Promise<StsCredentialsResult>;
}

interface KmsClientShape {
  doRequest(
    action: string,
    protocol: string,
    method: string,
    version: string,
    authType: string,
    query: Record<string, string | number>,
    body: null,
    runtime: Record<string, unknown>,
  ): Promise<Record<string, unknown>>;
}

interface StsClientShape {
  assumeRoleWithOIDCWithOptions(request: unknown, runtime: Record<string, unknown>): Promise<{ body?: StsBody }>;
}

interface StsBody {
  credentials?: { accessKeyId?: string; accessKeySecret?: string; securityToken?: string; expiration?: string };
  assumedRoleUser?: { arn?: string };
}

/** Loads the SDK modules (once per provider instance). */
export async function loadAlibabaSdk(): Promise<AlibabaSdk> {
  const [kmsModule, rpcModule, stsModule, coreModule] = await Promise.all([
    import('@alicloud/kms20160120'),
    import('@alicloud/rpc-client'),
    import('@alicloud/sts20150401'),
    import('@alicloud/openapi-core'),
  ]);
  const KmsClient = (kmsModule.default as unknown as { default: new (config: unknown) => KmsClientShape }).default;
  const KmsConfig = (rpcModule as unknown as { Config: new (map: Record<string, unknown>) => unknown }).Config;
  const StsClient = (stsModule.default as unknown as { default: new (config: unknown) => StsClientShape }).default;
  const OidcRequest = (stsModule as unknown as { AssumeRoleWithOIDCRequest: new (map: Record<string, unknown>) => unknown }).AssumeRoleWithOIDCRequest;
  const StsConfig = (coreModule as unknown as { $OpenApiUtil: { Config: new (map: Record<string, unknown>) => unknown } }).$OpenApiUtil.Config;

  return {
    kms(endpoint, regionId, credentials) {
      // Static credentials per client: a renewed STS session gets a new client (see kms.ts), so the three parts
      // of one signature always come from the same session.
      const client = new KmsClient(
        new KmsConfig({
          accessKeyId: credentials.accessKeyId,
          accessKeySecret: credentials.accessKeySecret,
          ...(credentials.securityToken ? { securityToken: credentials.securityToken } : {}),
          regionId,
          endpoint: endpoint.host,
          protocol: endpoint.protocol,
          ...REQUEST_LIMITS,
        }),
      );
      return {
        // The SDK's own doRequest (what its typed methods call), so parameters this SDK version has no model for
        // (ListSecrets' Filters) are signed and sent the same way.
        call: (action, params) => client.doRequest(action, 'HTTPS', 'POST', KMS_API_VERSION, 'AK', { ...params }, null, {}),
      };
    },
    async assumeRoleWithOIDC(endpoint, regionId, exchange) {
      const client = new StsClient(new StsConfig({ regionId, endpoint: endpoint.host, protocol: endpoint.protocol, ...REQUEST_LIMITS }));
      const response = await client.assumeRoleWithOIDCWithOptions(
        new OidcRequest({
          OIDCProviderArn: exchange.oidcProviderArn,
          roleArn: exchange.roleArn,
          roleSessionName: exchange.roleSessionName,
          OIDCToken: exchange.oidcToken,
          durationSeconds: exchange.durationSeconds,
        }),
        {},
      );
      const credentials = response.body?.credentials;
      if (!credentials?.accessKeyId || !credentials.accessKeySecret || !credentials.securityToken || !credentials.expiration) {
        throw new Error('STS AssumeRoleWithOIDC answered without complete Credentials');
      }
      return {
        accessKeyId: credentials.accessKeyId,
        accessKeySecret: credentials.accessKeySecret,
        securityToken: credentials.securityToken,
        expiration: credentials.expiration,
        assumedRoleArn: response.body?.assumedRoleUser?.arn,
      };
    },
  };
}
