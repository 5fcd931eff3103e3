// Vault's AWS auth method, iam type: the store signs an sts:GetCallerIdentity request with its own AWS credentials
// and hands the signed request to Vault, which sends it to STS itself and logs in whoever STS says signed it. The
// credentials are the store's: its ServiceAccount's IRSA role (AssumeRoleWithWebIdentity with a TokenRequest
// token), or keys from its Secrets; the operator's own AWS identity only where the tenancy policy allows it
// (declared in src/api/providers/vault.ts). The signed request is never sent by us; only Vault sends it.
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, SourceData } from '@smithy/types';
import type { VaultProvider } from '../../api/types.generated.ts';
import { TerminalError } from '../../util/errors.ts';
import { readSecretText, serviceAccountTokenSource, type RefResolver, type ResolvedSecretKey, type ResolvedServiceAccount, type StoreWhere } from '../kit/index.ts';
import type { StoreKubeAccess } from '../provider.ts';

export const DEFAULT_IAM_REGION = 'us-east-1';
export const DEFAULT_IAM_MOUNT = 'aws';
export const DEFAULT_IAM_AUDIENCE = 'sts.amazonaws.com';
export const ROLE_ARN_ANNOTATION = 'eks.amazonaws.com/role-arn';
/** The header Vault's iam_server_id_header_value checks; it must be among the signed headers. */
export const IAM_SERVER_ID_HEADER = 'X-Vault-AWS-IAM-Server-ID';
export const GET_CALLER_IDENTITY_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';
const SESSION_SECONDS = 900;

export type IamCredentialSource =
  | { readonly from: 'serviceAccount'; readonly serviceAccount: ResolvedServiceAccount; readonly audiences: readonly string[] }
  | { readonly from: 'secret'; readonly accessKeyId: ResolvedSecretKey; readonly secretAccessKey: ResolvedSecretKey; readonly sessionToken?: ResolvedSecretKey | undefined }
  /** The operator's own default chain: only reached where the tenancy policy let the store declare it. */
  | { readonly from: 'operator' };

export interface IamPlan {
  readonly kind: 'iam';
  readonly path: string;
  readonly vaultRole: string;
  readonly region: string;
  readonly serverId: string | undefined;
  readonly credentials: IamCredentialSource;
  /** spec role: assumed with the base credentials (with jwt and no annotation: the web-identity role itself). */
  readonly role: string | undefined;
  readonly externalId: string | undefined;
  readonly stsEndpoint: string | undefined;
  /** RoleSessionName of the STS calls, naming the store's namespace for CloudTrail. */
  readonly sessionName: string;
}

/** The plan of auth.iam. Pure. */
export function planIamAuth(iam: NonNullable<VaultProvider['auth']['iam']>, refs: RefResolver, where: StoreWhere): { plan: IamPlan; identity: string } {
  let credentials: IamCredentialSource;
  let who: string;
  if (iam.jwt) {
    if (!iam.jwt.serviceAccountRef) throw new TerminalError('spec.provider.vault.auth.iam.jwt needs serviceAccountRef: the ServiceAccount whose IRSA role signs the login');
    const serviceAccount = refs.serviceAccount(iam.jwt.serviceAccountRef);
    const audiences = iam.jwt.serviceAccountRef.audiences?.length ? iam.jwt.serviceAccountRef.audiences : [DEFAULT_IAM_AUDIENCE];
    credentials = { from: 'serviceAccount', serviceAccount, audiences };
    who = `ServiceAccount ${serviceAccount.namespace}/${serviceAccount.name}`;
  } else if (iam.secretRef) {
    const keys = iam.secretRef;
    const accessKeyId = refs.secretKey(keys.accessKeyIDSecretRef);
    credentials = {
      from: 'secret',
      accessKeyId,
      secretAccessKey: refs.secretKey(keys.secretAccessKeySecretRef),
      sessionToken: keys.sessionTokenSecretRef ? refs.secretKey(keys.sessionTokenSecretRef) : undefined,
    };
    who = `the AWS key in Secret ${accessKeyId.namespace}/${accessKeyId.name}`;
  } else {
    credentials = { from: 'operator' };
    who = "the operator's own AWS identity";
  }
  const path = iam.path ?? DEFAULT_IAM_MOUNT;
  const plan: IamPlan = {
    kind: 'iam',
    path,
    vaultRole: iam.vaultRole,
    region: iam.region ?? DEFAULT_IAM_REGION,
    serverId: iam.vaultAwsIamServerID || undefined,
    credentials,
    role: iam.role || undefined,
    externalId: iam.externalID || undefined,
    stsEndpoint: iam.stsEndpoint,
    sessionName: ['secret-relay-vault', where.storeNamespace ?? where.namespace].join('.').replace(/[^\w+=,.@-]/g, '-').slice(0, 64),
  };
  return { plan, identity: `aws iam role ${iam.vaultRole} at auth/${path} as ${who}${plan.role ? ` (assuming ${plan.role})` : ''}` };
}

/** The STS host the signed request names, as Vault's own client builds it (the global endpoint for us-east-1). Pure. */
export function stsHost(region: string): string {
  return region === 'us-east-1' ? 'sts.amazonaws.com' : `sts.${region}.amazonaws.com`;
}

function bytes(data: SourceData): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** SHA-256 (and HMAC-SHA-256 with a secret) for the signer, from node:crypto. */
class NodeSha256 {
  readonly #secret: Uint8Array | undefined;
  #chunks: Uint8Array[] = [];
  constructor(secret?: SourceData) {
    this.#secret = secret === undefined ? undefined : bytes(secret);
  }
  update(data: SourceData): void {
    this.#chunks.push(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    const hash = this.#secret === undefined ? createHash('sha256') : createHmac('sha256', this.#secret);
    for (const chunk of this.#chunks) hash.update(chunk);
    return Promise.resolve(new Uint8Array(hash.digest()));
  }
  reset(): void {
    this.#chunks = [];
  }
}

/** The login body of Vault's iam method: a signed sts:GetCallerIdentity, each part base64, as Vault's own client sends it. */
export async function signedIamLoginBody(
  plan: Pick<IamPlan, 'region' | 'serverId' | 'vaultRole'>,
  credentials: AwsCredentialIdentity,
  now: Date,
): Promise<Record<string, string>> {
  const host = stsHost(plan.region);
  const headers: Record<string, string> = {
    host,
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    ...(plan.serverId ? { [IAM_SERVER_ID_HEADER]: plan.serverId } : {}),
  };
  const signer = new SignatureV4({ credentials, region: plan.region, service: 'sts', sha256: NodeSha256, applyChecksum: false });
  const signed = await signer.sign({ method: 'POST', protocol: 'https:', hostname: host, path: '/', query: {}, headers, body: GET_CALLER_IDENTITY_BODY }, { signingDate: now });
  // As Go's http.Header: every value a list; Host travels as the URL's host, not a header.
  const sent: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(signed.headers)) if (name.toLowerCase() !== 'host') sent[name] = [value];
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return {
    role: plan.vaultRole,
    iam_http_request_method: 'POST',
    iam_request_url: b64(`https://${host}/`),
    iam_request_body: b64(GET_CALLER_IDENTITY_BODY),
    iam_request_headers: b64(JSON.stringify(sent)),
  };
}

export interface IamDeps {
  readonly kube: Pick<StoreKubeAccess, 'createServiceAccountToken' | 'readServiceAccountAnnotations' | 'readSecretKey'>;
  /** The operator's own AWS credentials (auth.iam without jwt or secretRef). Default: the SDK's node provider chain. */
  readonly operatorCredentials?: (() => Promise<AwsCredentialIdentity>) | undefined;
}

/** The store's AWS credentials for one login: its base identity, then spec role when set. */
export async function iamCredentials(plan: IamPlan, deps: IamDeps, signal: AbortSignal): Promise<AwsCredentialIdentity> {
  // The AWS SDK loads with the first iam login, not at start.
  const { fromTemporaryCredentials, fromWebToken, fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
  const clientConfig = { region: plan.region, maxAttempts: 3, requestHandler: { connectionTimeout: 5_000, requestTimeout: 15_000 }, ...(plan.stsEndpoint ? { endpoint: plan.stsEndpoint } : {}) };
  let base: AwsCredentialIdentity;
  let roleToAssume = plan.role;
  const source = plan.credentials;
  if (source.from === 'serviceAccount') {
    const annotations = await deps.kube.readServiceAccountAnnotations(source.serviceAccount, signal);
    const webRole = annotations[ROLE_ARN_ANNOTATION] ?? plan.role;
    if (webRole === undefined) {
      throw new TerminalError(
        `ServiceAccount ${source.serviceAccount.namespace}/${source.serviceAccount.name} has no ${ROLE_ARN_ANNOTATION} annotation and spec.provider.vault.auth.iam sets no role: annotate the ServiceAccount with its IAM role, or set role`,
      );
    }
    if (webRole === plan.role) roleToAssume = undefined;
    const { token } = await serviceAccountTokenSource(deps.kube, source.serviceAccount, source.audiences).mint(signal);
    base = await fromWebToken({ roleArn: webRole, webIdentityToken: token, roleSessionName: plan.sessionName, durationSeconds: SESSION_SECONDS, clientConfig })();
  } else if (source.from === 'secret') {
    const read = (ref: ResolvedSecretKey) => readSecretText(deps.kube, ref, signal, 'the AWS key');
    const [accessKeyId, secretAccessKey, sessionToken] = await Promise.all([read(source.accessKeyId), read(source.secretAccessKey), source.sessionToken ? read(source.sessionToken) : undefined]);
    base = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  } else {
    base = await (deps.operatorCredentials ?? fromNodeProviderChain())();
  }
  if (roleToAssume === undefined) return base;
  return fromTemporaryCredentials({
    masterCredentials: base,
    params: { RoleArn: roleToAssume, RoleSessionName: plan.sessionName, DurationSeconds: SESSION_SECONDS, ...(plan.externalId ? { ExternalId: plan.externalId } : {}) },
    clientConfig,
  })();
}
