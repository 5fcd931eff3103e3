// Vault's AWS auth method (iam type) in front of a real OpenBao, for tests. OpenBao has never shipped the AWS auth
// method in its binary (it lives in openbao-plugins, which no package registry here serves), so this proxy does what
// Vault's builtin/credential/aws login does for auth_type iam, step by step as its path_login.go (MPL-2.0) does:
// POST only; the URL without a query; the body exactly Action=GetCallerIdentity (and Version); the server-ID header
// present, equal to iam_server_id_header_value and among the SignedHeaders; no X-Amz-* header outside the allowed
// list; the signed request replayed to the configured sts_endpoint (moto) with the Host the client signed; the answer
// must be text/xml; the caller's ARN parsed (assumed-role → role) and matched against bound_iam_principal_arn (exact
// or trailing *). A match gets a real OpenBao token with the role's policies (auth/token/create with the root token);
// every other request is passed to OpenBao as it is.
import * as http from 'node:http';
import { startVaultLoginFront } from './vault-login-front.ts';

export interface AwsAuthRole {
  readonly boundIamPrincipalArns: readonly string[];
  readonly policies: readonly string[];
}

export interface VaultAwsAuthOptions {
  /** The real OpenBao, e.g. http://127.0.0.1:8200, and its root token (to create the tokens logins get). */
  readonly upstream: string;
  readonly rootToken: string;
  /** The auth mount, e.g. aws. */
  readonly mount: string;
  /** auth/aws/config/client sts_endpoint. */
  readonly stsEndpoint: string;
  /** auth/aws/config/client iam_server_id_header_value; undefined: not checked. */
  readonly iamServerIdHeaderValue?: string | undefined;
  readonly roles: Readonly<Record<string, AwsAuthRole>>;
}

export interface LoginSeen {
  readonly role: string;
  /** The caller ARN STS answered, or undefined when refused before STS. */
  readonly arn: string | undefined;
  /** undefined when logged in; otherwise Vault's error text. */
  readonly refused: string | undefined;
}

export interface VaultAwsAuth {
  /** Point the store's server here. */
  readonly address: string;
  readonly logins: LoginSeen[];
  stop(): Promise<void>;
}

const IAM_SERVER_ID_HEADER = 'X-Vault-AWS-IAM-Server-ID';
const ALLOWED_AMZ_HEADERS = ['X-Amz-Algorithm', 'X-Amz-Content-Sha256', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Security-Token', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-User-Agent'];

/** Go's textproto.CanonicalMIMEHeaderKey for plain ASCII names. */
function canonicalHeader(name: string): string {
  return name
    .toLowerCase()
    .split('-')
    .map((part) => (part ? part[0]!.toUpperCase() + part.slice(1) : part))
    .join('-');
}

function b64(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? Buffer.from(value, 'base64').toString('utf8') : undefined;
}

/** Vault's parseIamArn + canonicalArn: arn:aws:sts::ACCT:assumed-role/NAME/SESSION → arn:aws:iam::ACCT:role/NAME. */
export function canonicalArn(arn: string): string {
  const parts = arn.split(':');
  if (parts.length !== 6 || parts[0] !== 'arn' || (parts[2] !== 'iam' && parts[2] !== 'sts')) throw new Error(`unrecognized arn ${arn}`);
  const path = parts[5]!.split('/');
  if (path.length < 2) throw new Error(`unrecognized arn ${arn}`);
  const type = path[0]!;
  if (type === 'assumed-role') {
    if (path.length < 3) throw new Error(`unrecognized arn ${arn}`);
    return `arn:${parts[1]}:iam::${parts[4]}:role/${path[1]}`;
  }
  if (!['user', 'role', 'instance-profile'].includes(type)) throw new Error(`unrecognized principal type: "${type}"`);
  return `arn:${parts[1]}:iam::${parts[4]}:${type}/${path[path.length - 1]}`;
}

function boundMatches(bound: string, arn: string): boolean {
  return bound.endsWith('*') ? arn.startsWith(bound.slice(0, -1)) : bound === arn;
}

/** What Vault checks before and after sending the request to STS; a string is Vault's error text. */
async function iamLogin(options: VaultAwsAuthOptions, data: Record<string, unknown>): Promise<{ role: string; arn?: string; policies?: readonly string[]; error?: string }> {
  const role = typeof data['role'] === 'string' ? data['role'] : '';
  if (data['iam_http_request_method'] !== 'POST') return { role, error: "invalid iam_http_request_method; currently only 'POST' is supported" };
  const rawUrl = b64(data['iam_request_url']);
  if (!rawUrl) return { role, error: 'missing iam_request_url' };
  const url = new URL(rawUrl);
  if (url.search !== '') return { role, error: 'invalid request' };
  const body = b64(data['iam_request_body']);
  if (!body) return { role, error: 'missing iam_request_body' };
  const form = new URLSearchParams(body);
  for (const [key, value] of form) {
    if (key === 'Action' ? value !== 'GetCallerIdentity' || form.getAll('Action').length !== 1 : key !== 'Version') return { role, error: 'iam request body is invalid' };
  }
  const rawHeaders = b64(data['iam_request_headers']);
  if (!rawHeaders) return { role, error: 'missing iam_request_headers' };
  const headers = new Map<string, string[]>();
  for (const [name, value] of Object.entries(JSON.parse(rawHeaders) as Record<string, string | string[]>)) {
    headers.set(canonicalHeader(name), [...(headers.get(canonicalHeader(name)) ?? []), ...(Array.isArray(value) ? value : [value])]);
  }
  if (options.iamServerIdHeaderValue !== undefined) {
    const provided = headers.get(canonicalHeader(IAM_SERVER_ID_HEADER))?.join(',') ?? '';
    if (provided === '') return { role, error: `error validating ${IAM_SERVER_ID_HEADER} header: missing header "${IAM_SERVER_ID_HEADER}"` };
    if (provided !== options.iamServerIdHeaderValue) return { role, error: `error validating ${IAM_SERVER_ID_HEADER} header: expected "${options.iamServerIdHeaderValue}" but got "${provided}"` };
    const signed = /SignedHeaders=([^,]+)/.exec(headers.get('Authorization')?.join(',') ?? '')?.[1]?.split(';') ?? [];
    if (!signed.includes(IAM_SERVER_ID_HEADER.toLowerCase())) return { role, error: `error validating ${IAM_SERVER_ID_HEADER} header: vault header wasn't signed` };
  }
  for (const name of headers.keys()) {
    if (name.startsWith('X-Amz-') && !ALLOWED_AMZ_HEADERS.includes(name === 'X-Amz-Signedheaders' ? 'X-Amz-SignedHeaders' : name)) return { role, error: `invalid request header: ${name}` };
  }
  // Replayed to Vault's own STS endpoint, with the Host the client signed.
  const sts = new URL(options.stsEndpoint);
  const answer = await new Promise<{ status: number; type: string; text: string }>((resolve, reject) => {
    const out: Record<string, string | string[]> = { Host: url.host };
    for (const [name, values] of headers) if (name !== 'Host') out[name] = values;
    const req = http.request({ hostname: sts.hostname, port: sts.port, method: 'POST', path: `${url.pathname}`, headers: out, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
  if (answer.type !== 'text/xml') return { role, error: 'error making upstream request: body of GetCallerIdentity is invalid' };
  if (answer.status !== 200) return { role, error: `error making upstream request: received error code ${answer.status} from STS: ${answer.text}` };
  const arn = /<Arn>([^<]+)<\/Arn>/.exec(answer.text)?.[1];
  if (!arn) return { role, error: 'error making upstream request: error parsing STS response' };
  const entry = options.roles[role];
  if (!entry) return { role, arn, error: `entry for role "${role}" not found` };
  let canonical: string;
  try {
    canonical = canonicalArn(arn);
  } catch (err) {
    return { role, arn, error: `error parsing arn "${arn}": ${(err as Error).message}` };
  }
  if (!entry.boundIamPrincipalArns.some((bound) => boundMatches(bound, canonical))) return { role, arn, error: `IAM Principal "${arn}" does not belong to the role "${role}"` };
  return { role, arn, policies: entry.policies };
}

export async function startVaultAwsAuth(options: VaultAwsAuthOptions): Promise<VaultAwsAuth> {
  const logins: LoginSeen[] = [];
  const front = await startVaultLoginFront(options, async (data) => {
    const result = await iamLogin(options, data).catch((err: unknown) => ({ role: '', error: String(err) }) as const);
    logins.push({ role: result.role, arn: 'arn' in result ? result.arn : undefined, refused: result.error });
    if (result.error !== undefined || !('policies' in result) || !result.policies) return { error: result.error ?? 'refused' };
    return { policies: result.policies, displayName: `aws-${result.role}`, meta: { client_arn: result.arn ?? '' } };
  });
  return { address: front.address, logins, stop: front.stop };
}
