// Alibaba Cloud errors → the provider contract's errors. Alibaba answers `{Code, Message, RequestId}` with an HTTP
// status; the KMS SDK (rpc-client) rethrows it with "Error" appended to the code and the body in `data`, the STS SDK
// (openapi-core) as a ClientError with `code` and `statusCode`. Messages name the action, the secret, the region and
// the identity (role or key Secret), never a value or a credential; the SDK error is not kept as the cause, since an
// SDK "unretryable" error carries the signed request (SecurityToken included).
import { AccessDeniedError, NoSecretError, TerminalError, ThrottledError } from '../../util/errors.ts';
import { untilAborted } from '../abortable.ts';

export interface AlibabaCallContext {
  /** RAM action, e.g. "kms:GetSecretValue". */
  readonly action: string;
  /** The secret (or find description, or role ARN) the call was about. */
  readonly subject?: string | undefined;
  /** Who asked: the role and ServiceAccount, or the key's Secret. */
  readonly identity: string;
  readonly region: string;
  /** Where the call went, e.g. https://kms.cn-hangzhou.aliyuncs.com — for network errors. */
  readonly endpoint?: string | undefined;
}

export interface AlibabaErrorInfo {
  readonly code: string | undefined;
  readonly status: number | undefined;
  readonly requestId: string | undefined;
}

/** Code, HTTP status and RequestId of an SDK error, whichever SDK threw it. Pure. */
export function alibabaErrorInfo(error: unknown): AlibabaErrorInfo {
  const shape = (error ?? {}) as { code?: unknown; statusCode?: unknown; data?: Record<string, unknown>; message?: unknown; requestId?: unknown };
  const data = shape.data && typeof shape.data === 'object' ? shape.data : {};
  let code = typeof data['Code'] === 'string' ? data['Code'] : typeof shape.code === 'string' ? shape.code : undefined;
  // rpc-client appends "Error" to the code it read from the body; the body (data.Code) is preferred above.
  if (code !== undefined && data['Code'] === undefined && /^[A-Z][\w.]*Error$/.test(code) && code.includes('.')) code = code.slice(0, -'Error'.length);
  const message = typeof shape.message === 'string' ? shape.message : '';
  const status = typeof shape.statusCode === 'number' ? shape.statusCode : Number(/^[\w.]+: code: (\d{3}),/.exec(message)?.[1] ?? NaN);
  const requestId = typeof data['RequestId'] === 'string' ? data['RequestId'] : typeof shape.requestId === 'string' && shape.requestId !== 'undefined' ? shape.requestId : undefined;
  return { code, status: Number.isFinite(status) ? status : undefined, requestId };
}

export type AlibabaErrorKind = 'not_found' | 'token_expired' | 'denied' | 'throttled' | 'timeout' | 'other';

const deniedCodes = new Set([
  'Forbidden.NoPermission',
  'Forbidden.RAM',
  'Forbidden.KeyNotFound',
  'Forbidden.KeyNotEnabled',
  'InvalidAccessKeyId.NotFound',
  'InvalidAccessKeyId.Inactive',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidSecurityToken.Malformed',
  'InvalidSecurityToken.MismatchWithAccessKey',
  'InvalidTimeStamp.Expired',
  'SignatureNonceUsed',
  'NoPermission',
]);

/** Which of our error classes an Alibaba error belongs to. Pure. */
export function classifyAlibabaError(error: unknown): AlibabaErrorKind {
  const { code, status } = alibabaErrorInfo(error);
  if (code === 'Forbidden.ResourceNotFound' || code === 'Rejected.ResourceNotFound' || code === 'Forbidden.SecretNotFound') return 'not_found';
  if (code === 'InvalidSecurityToken.Expired') return 'token_expired';
  if (code !== undefined && code.includes('Throttling')) return 'throttled';
  if (status === 429) return 'throttled';
  if (code !== undefined && (deniedCodes.has(code) || /^(AuthenticationFail|EntityNotExist|NoPermission|InvalidParameter\.(OIDC|RoleArn))/.test(code))) return 'denied';
  if (status === 403) return 'denied';
  const name = (error as { name?: unknown } | undefined)?.name;
  const errno = (error as { code?: unknown } | undefined)?.code;
  if (
    (typeof name === 'string' && /Timeout/i.test(name)) ||
    errno === 'ETIMEDOUT' ||
    errno === 'ECONNRESET' ||
    (typeof code === 'string' && /Timeout/i.test(code))
  ) {
    return 'timeout';
  }
  return 'other';
}

/** What to do about a denial, by code. */
function remedy(code: string | undefined, call: AlibabaCallContext): string {
  if (code === 'SignatureDoesNotMatch' || code?.startsWith('InvalidAccessKeyId')) return "check the AccessKey pair in the store's Secret (or the role's session)";
  if (code?.startsWith('InvalidSecurityToken')) return 'the STS session was refused after a renewal; check the role and the clock of this node';
  // A mistyped ARN is the common first-run mistake: name the field, not the trust policy.
  if (code === 'EntityNotExist.Role') return 'no such role: check spec.provider.alibaba.auth.rrsa.roleArn (acs:ram::<account>:role/<name>)';
  if (code === 'EntityNotExist.OIDCProvider') return 'no such OIDC provider: check spec.provider.alibaba.auth.rrsa.oidcProviderArn (acs:ram::<account>:oidc-provider/<name>)';
  if (code?.startsWith('AuthenticationFail') || code?.startsWith('EntityNotExist') || code?.startsWith('InvalidParameter'))
    return "check the OIDC provider (issuer, audience sts.aliyuncs.com) and the role's trust policy (oidc:sub must allow this ServiceAccount)";
  return `allow ${call.action} on the secret for that identity (RAM policy) or change the store's auth`;
}

/** Maps an SDK error. Aborts and errors already ours pass through unchanged. */
export function mapAlibabaError(error: unknown, call: AlibabaCallContext): Error {
  if (error instanceof NoSecretError || error instanceof TerminalError || error instanceof ThrottledError) return error;
  if ((error as { name?: unknown } | undefined)?.name === 'AbortError' || (error as { name?: unknown } | undefined)?.name === 'TimeoutError') return error as Error;
  const info = alibabaErrorInfo(error);
  const on = call.subject === undefined ? '' : ` on "${call.subject}"`;
  const where = `in region ${call.region}`;
  const why = `${info.code ?? 'error'}${info.status !== undefined ? `, HTTP ${info.status}` : ''}${info.requestId ? `, RequestId ${info.requestId}` : ''}`;
  switch (classifyAlibabaError(error)) {
    case 'not_found':
      return new NoSecretError(`Alibaba Cloud ${call.action}${on} ${where}: no such secret or version (${why})`);
    case 'token_expired':
    case 'denied':
      return new AccessDeniedError(`Alibaba Cloud denied ${call.action}${on} ${where} to ${call.identity} (${why}): ${remedy(info.code, call)}`);
    case 'throttled':
      return new ThrottledError(`Alibaba Cloud throttled ${call.action}${on} ${where} for ${call.identity} (${why}); it will be retried with backoff`);
    case 'timeout':
      return new Error(`Alibaba Cloud ${call.action}${on} ${where} timed out${call.endpoint ? ` at ${call.endpoint}` : ''}; it will be retried`);
    default: {
      const network = (error as { code?: unknown } | undefined)?.code;
      if (info.status === undefined && typeof network === 'string' && /^E[A-Z]+$/.test(network)) {
        return new Error(`Alibaba Cloud ${call.action}${on} ${where}: cannot reach ${call.endpoint ?? 'the endpoint'} (${network}); check spec.provider.alibaba.endpoint and the network`);
      }
      return new Error(`Alibaba Cloud ${call.action}${on} ${where} failed for ${call.identity} (${why})`);
    }
  }
}

/** Runs one call, mapping its failure; the caller stops waiting when `signal` aborts (the SDK takes no signal). */
export async function alibabaCall<T>(call: AlibabaCallContext, run: () => Promise<T>, signal: AbortSignal): Promise<T> {
  try {
    return await untilAborted(run(), signal);
  } catch (error) {
    if (signal.aborted && error === signal.reason) throw error;
    throw mapAlibabaError(error, call);
  }
}
