// Google errors → the provider contract's errors. gRPC status codes from Secret Manager; OAuth/JSON errors from STS
// and IAM Credentials. Messages name the call, the resource and the identity, keep Google's own one-line reason
// (which never carries a value or a token), and say what to do.
import { AccessDeniedError, NoSecretError, TerminalError, ThrottledError } from '../provider.ts';

/** gRPC status codes (google.rpc.Code) the mapping looks at. */
export const GrpcCode = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export interface GcpCallContext {
  /** The RPC, e.g. AccessSecretVersion. */
  readonly method: string;
  /** The resource name the call was about. */
  readonly resource: string;
  /** Who asked. */
  readonly identity: string;
}

interface GrpcErrorShape {
  readonly code?: unknown;
  readonly details?: unknown;
  readonly message?: unknown;
}

/** The status code of a gax/grpc error, or undefined. Pure. */
export function grpcCode(error: unknown): number | undefined {
  const code = (error as GrpcErrorShape | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Google's one-line reason: `details` of a gRPC error (the message without the "7 PERMISSION_DENIED: " prefix). */
export function grpcReason(error: unknown): string {
  const shape = (error ?? {}) as GrpcErrorShape;
  const raw = typeof shape.details === 'string' && shape.details !== '' ? shape.details : typeof shape.message === 'string' ? shape.message : String(error);
  return raw.replace(/^\d+ [A-Z_]+: /, '').split('\n')[0]!.slice(0, 500);
}

/** True for FAILED_PRECONDITION "... is in DISABLED state" / "... DESTROYED state" (what LatestOrFetch falls back on). */
export function isDisabledOrDestroyed(error: unknown): boolean {
  return grpcCode(error) === GrpcCode.FAILED_PRECONDITION && /(DISABLED|DESTROYED) state/.test(grpcReason(error));
}

/** The predefined role that allows a method, for the advice in a denial. Pure. */
export function roleFor(method: string): string {
  if (method === 'AccessSecretVersion') return 'roles/secretmanager.secretAccessor on the secret (or its project)';
  if (method === 'ListSecrets') return 'roles/secretmanager.viewer on the project (find lists secrets)';
  return 'roles/secretmanager.viewer on the secret (metadata and version lists)';
}

/** Maps a Secret Manager error after the client's own retries. Our errors and aborts pass through. */
export function mapGcpError(error: unknown, call: GcpCallContext): Error {
  if (error instanceof NoSecretError || error instanceof TerminalError || error instanceof ThrottledError) return error;
  if ((error as { name?: unknown } | undefined)?.name === 'AbortError') return error as Error;
  const reason = grpcReason(error);
  const what = `Google Secret Manager ${call.method} on ${call.resource}`;
  switch (grpcCode(error)) {
    case GrpcCode.NOT_FOUND:
      return new NoSecretError(`${what}: not found (${reason})`);
    case GrpcCode.PERMISSION_DENIED:
      return new AccessDeniedError(
        `${what} was denied to ${call.identity}: ${reason} — grant that identity ${roleFor(call.method)}, or change the store's auth`,
        { cause: error },
      );
    case GrpcCode.UNAUTHENTICATED:
      // Retryable: the reader drops the cached token on this answer, so the next attempt exchanges anew (a token
      // revoked or expired early heals; a refused identity fails at that exchange, as a denial).
      return new Error(`${what}: Google did not accept the access token of ${call.identity}: ${reason} — the token is dropped and exchanged anew on the next attempt`, { cause: error });
    case GrpcCode.FAILED_PRECONDITION:
      return new TerminalError(
        `${what}: ${reason} — enable a version, name an enabled remoteRef.version, or set spec.provider.gcpsm.secretVersionSelectionPolicy: LatestOrFetch`,
        { cause: error },
      );
    case GrpcCode.INVALID_ARGUMENT:
      return new TerminalError(`${what}: ${reason} — fix the remote key or version`, { cause: error });
    case GrpcCode.RESOURCE_EXHAUSTED:
      return new ThrottledError(`${what} for ${call.identity} was throttled (${reason}); it will be retried with backoff`, { cause: error });
    default:
      return new Error(`${what} failed for ${call.identity}: ${reason}`, { cause: error });
  }
}

export async function gcpCall<T>(call: GcpCallContext, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw mapGcpError(error, call);
  }
}

interface HttpErrorShape {
  readonly message?: unknown;
  readonly status?: unknown;
  readonly response?: { readonly status?: unknown; readonly data?: unknown };
}

/** The HTTP status and Google's reason of an STS / IAM Credentials error (gaxios or google-auth-library). Pure. */
export function tokenErrorReason(error: unknown): { status: number | undefined; reason: string } {
  const shape = (error ?? {}) as HttpErrorShape;
  const status = typeof shape.response?.status === 'number' ? shape.response.status : typeof shape.status === 'number' ? shape.status : undefined;
  const data = shape.response?.data as { error?: unknown; error_description?: unknown } | undefined;
  if (data && typeof data === 'object') {
    if (typeof data.error_description === 'string') return { status, reason: `${String(data.error)}: ${data.error_description}` };
    const nested = data.error as { message?: unknown; status?: unknown } | undefined;
    if (nested && typeof nested === 'object' && typeof nested.message === 'string') return { status, reason: `${String(nested.status ?? status)}: ${nested.message}` };
  }
  const message = typeof shape.message === 'string' ? shape.message : String(error);
  return { status, reason: message.split('\n')[0]!.slice(0, 500) };
}

/** Which token endpoint a google-auth-library error came from (its request URL), else `fallback`. Pure. */
export function tokenStep(error: unknown, fallback: string): string {
  const url = (error as { config?: { url?: unknown } } | undefined)?.config?.url;
  const text = url instanceof URL ? url.href : typeof url === 'string' ? url : '';
  if (text.includes(':generateAccessToken')) return 'Google IAM Credentials generateAccessToken';
  if (text.endsWith('/v1/token')) return 'Google STS';
  return fallback;
}

/**
 * Maps a failed token step (STS exchange, generateAccessToken, key-file grant): a refusal (HTTP 4xx) is terminal
 * and names the identity — a denial (AccessDeniedError) when it is 401/403; anything else (connection refused, 5xx)
 * is transient. The library's error is not kept as
 * the cause: its request config holds the subject token, which must never reach a log line.
 */
export function mapTokenError(error: unknown, step: string, identity: string, advice: string): Error {
  if (error instanceof TerminalError || error instanceof NoSecretError || error instanceof ThrottledError) return error;
  if ((error as { name?: unknown } | undefined)?.name === 'AbortError') return error as Error;
  const { status, reason } = tokenErrorReason(error);
  if (status === 429) return new ThrottledError(`${step} for ${identity} was throttled (${reason}); it will be retried with backoff`);
  if (status === 401 || status === 403) return new AccessDeniedError(`${step} refused ${identity}: ${reason} — ${advice}`);
  if (status !== undefined && status >= 400 && status < 500) return new TerminalError(`${step} refused ${identity}: ${reason} — ${advice}`);
  return new Error(`${step} failed for ${identity}: ${reason}`);
}
