// Where a store's calls go: KMS at kms.<region>.aliyuncs.com and STS at sts.<region>.aliyuncs.com over https, unless
// the store overrides a host (VPC or private endpoints: kms-vpc.<region>.aliyuncs.com, a KMS instance endpoint).
// Pure.

export interface Endpoint {
  readonly protocol: 'https' | 'http';
  /** host or host:port, as the SDK puts it in the Host header. */
  readonly host: string;
}

/** `override` is a bare host (https) or an http(s) URL of one; trailing slash allowed (the CRD's pattern). */
export function resolveEndpoint(override: string | undefined, defaultHost: string): Endpoint {
  if (override === undefined) return { protocol: 'https', host: defaultHost };
  const match = /^(https?):\/\/(.*?)\/?$/.exec(override);
  if (match) return { protocol: match[1] as 'https' | 'http', host: match[2]! };
  return { protocol: 'https', host: override.replace(/\/$/, '') };
}

export const kmsDefaultHost = (regionId: string): string => `kms.${regionId}.aliyuncs.com`;
export const stsDefaultHost = (regionId: string): string => `sts.${regionId}.aliyuncs.com`;

export function describeEndpoint(endpoint: Endpoint): string {
  return `${endpoint.protocol}://${endpoint.host}`;
}
