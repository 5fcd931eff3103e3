// Azure SDK errors → the provider contract's errors. Messages name the vault, the object and the identity, and keep
// the service's own one-line reason (Key Vault's error.message, Entra ID's AADSTS description), never a value.
// Types only (erased): the SDK itself is loaded lazily.
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { AccessDeniedError, NoSecretError, TerminalError, ThrottledError } from '../provider.ts';

export interface AzureCallContext {
  /** What was done, e.g. "get secret", "list secrets", "get a token". */
  readonly action: string;
  readonly vaultUrl: string;
  /** The object, e.g. "secret db-password" (or undefined for a listing). */
  readonly subject?: string | undefined;
  readonly identity: string;
}

interface SdkErrorShape {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly statusCode?: unknown;
  readonly code?: unknown;
  readonly errorResponse?: { readonly error?: unknown; readonly errorDescription?: unknown };
  readonly details?: unknown;
  readonly response?: { readonly bodyAsText?: unknown };
}

interface KeyVaultErrorBody {
  readonly error?: { readonly code?: unknown; readonly message?: unknown; readonly innererror?: { readonly code?: unknown } };
}

/** Key Vault's JSON error body, from the error's details or its response text (paging errors carry only the latter). */
function keyVaultBody(shape: SdkErrorShape): KeyVaultErrorBody['error'] | undefined {
  const fromDetails = (shape.details as KeyVaultErrorBody | undefined)?.error;
  if (fromDetails && typeof fromDetails === 'object') return fromDetails;
  const body = shape.response?.bodyAsText;
  if (typeof body !== 'string') return undefined;
  try {
    return (JSON.parse(body) as KeyVaultErrorBody).error;
  } catch {
    return undefined;
  }
}

/** The first line of a service message, without Entra's "Trace ID: … Correlation ID: … Timestamp: …" tail. */
export function serviceReason(message: string): string {
  const line = message.split(/\r?\n/).map((part) => part.trim()).find((part) => part !== '') ?? '';
  return line.replace(/\s*Trace ID:.*$/s, '').trim();
}

/** Key Vault's 403 body names the action the identity lacks ("Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'"). */
export function missingPermission(message: string): string | undefined {
  return /Action:\s*'([^']+)'/.exec(message)?.[1];
}

/**
 * The smallest built-in Key Vault role that grants a data action: reads (get, list, metadata) are in Key Vault
 * Secrets User; writes and deletes (PushSecret) only in Key Vault Secrets Officer.
 */
export function roleGranting(permission: string): string {
  return /\/(getSecret|readMetadata)\/action$/.test(permission) ? 'Key Vault Secrets User' : 'Key Vault Secrets Officer';
}

/** The error classes @azure/identity throws when Entra ID refuses (or cannot be asked for) a token. */
const AUTHENTICATION_ERRORS = new Set(['AuthenticationError', 'AuthenticationRequiredError', 'CredentialUnavailableError', 'AggregateAuthenticationError']);

/** MSAL error codes of a request that never got an answer from Entra ID (reset, refused, DNS, discovery). */
const NETWORK_CODES = new Set(['network_error', 'endpoints_resolution_error', 'openid_config_error', 'untrusted_authority']);
const SOCKET_CODES = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR_\w+)$/;

export type EntraFailure = 'refused' | 'throttled' | 'unavailable' | 'other';

/**
 * Why a token request failed, from @azure/identity's error and its causes (MSAL's ServerError carries the HTTP
 * status, ClientAuthError the network_error code): Entra ID refused the identity (4xx), asked us to slow down (429),
 * or could not be reached or answer (5xx, network) — the last two heal by themselves and are retried. Pure.
 */
export function classifyEntraError(error: unknown): EntraFailure {
  let hadAadsts = false;
  for (let link = error as (SdkErrorShape & { status?: unknown; errorCode?: unknown; cause?: unknown }) | undefined, depth = 0; link && depth < 5; depth++) {
    const status = typeof link.status === 'number' ? link.status : typeof link.statusCode === 'number' ? link.statusCode : undefined;
    if (status === 429) return 'throttled';
    if (status !== undefined && status >= 500) return 'unavailable';
    if (status !== undefined && status >= 400) return 'refused';
    const code = typeof link.errorCode === 'string' ? link.errorCode : typeof link.code === 'string' ? link.code : undefined;
    const message = typeof link.message === 'string' ? link.message : '';
    if (code !== undefined && (NETWORK_CODES.has(code) || SOCKET_CODES.test(code))) return 'unavailable';
    if (/^(network_error|endpoints_resolution_error|openid_config_error)\b/.test(message)) return 'unavailable';
    if (code === 'temporarily_unavailable' || code === 'server_error') return 'unavailable';
    // MSAL's replay of a 429/5xx it is holding requests back after (60 s unless Retry-After said): a ServerError
    // without the status, whose errorCode is the AADSTS number(s) rather than an OAuth error.
    if (link.name === 'ServerError' && status === undefined && typeof link.errorCode === 'string' && /^(\d+( \d+)*)?$/.test(link.errorCode)) return 'unavailable';
    if (/AADSTS\d+/.test(message)) hadAadsts = true;
    link = link.cause as typeof link;
  }
  return hadAadsts ? 'refused' : 'other';
}

/** Entra's "AADSTSnnnn: …" sentence out of whatever wrapping MSAL and @azure/identity added. */
export function entraReason(message: string): string {
  const aadsts = /AADSTS\d+:[^\r\n]*/.exec(message)?.[0];
  return serviceReason(aadsts ?? message.replace(/^\w*Error: /, ''));
}

/**
 * A refused Key Vault response (401/403) with the service's JSON error, thrown by `refusalPolicy`. The SDK's paging
 * errors drop the body ("Pagination failed with unexpected statusCode 403"); this keeps the message that names the
 * caller and the missing action.
 */
export class KeyVaultRefusal extends Error {
  override readonly name = 'KeyVaultRefusal';
  readonly statusCode: number;
  readonly code: string | undefined;
  readonly details: KeyVaultErrorBody;
  constructor(statusCode: number, body: KeyVaultErrorBody) {
    super(typeof body.error?.message === 'string' ? body.error.message : `HTTP ${statusCode}`);
    this.statusCode = statusCode;
    this.code = typeof body.error?.code === 'string' ? body.error.code : undefined;
    this.details = body;
  }
}

/**
 * A per-call policy (outside the SDK's retry and challenge policies, so it sees the final response) that turns a
 * 401/403 with Key Vault's JSON error body into a KeyVaultRefusal.
 */
export function refusalPolicy(): PipelinePolicy {
  return {
    name: 'secretRelayKeyVaultRefusal',
    async sendRequest(request, next) {
      const response = await next(request);
      if ((response.status === 401 || response.status === 403) && typeof response.bodyAsText === 'string') {
        let body: KeyVaultErrorBody | undefined;
        try {
          body = JSON.parse(response.bodyAsText) as KeyVaultErrorBody;
        } catch {
          body = undefined;
        }
        if (body?.error !== undefined) throw new KeyVaultRefusal(response.status, body);
      }
      return response;
    },
  };
}

const DISABLED_CODES = /^(Secret|Key|Certificate)Disabled$/;

function entraDescription(shape: SdkErrorShape): string {
  const description = shape.errorResponse?.errorDescription;
  if (typeof description === 'string' && description !== '') return description;
  return typeof shape.message === 'string' ? shape.message : '';
}

/**
 * A failed token request of the store's credential → a TerminalError naming the identity, Entra's one-line reason
 * and what to check for this kind of identity (`hint`). Other errors (aborts, our own) pass through.
 */
export function mapTokenError(error: unknown, context: { identity: string; vaultUrl: string; hint: string }): unknown {
  const shape = (error ?? {}) as SdkErrorShape;
  if (typeof shape.name !== 'string' || !AUTHENTICATION_ERRORS.has(shape.name)) return error;
  const reason = entraReason(entraDescription(shape));
  return entraFailure(classifyEntraError(error), `a token for vault ${context.vaultUrl} to ${context.identity}`, reason, `; ${context.hint}`, error);
}

/** The contract's class for a failed token request: refusals are denials, throttling and outages are retried. */
function entraFailure(kind: EntraFailure, what: string, reason: string, advice: string, cause: unknown): Error {
  switch (kind) {
    case 'throttled':
      return new ThrottledError(`Entra ID throttled ${what}: ${reason}; it will be retried with backoff`, { cause });
    case 'unavailable':
      return new Error(`Entra ID could not issue ${what}: ${reason}; it will be retried with backoff`, { cause });
    case 'refused':
      return new AccessDeniedError(`Entra ID refused ${what}: ${reason}${advice}`, { cause });
    default:
      return new TerminalError(`Entra ID refused ${what}: ${reason}${advice}`, { cause });
  }
}

/** Maps an error after the SDK's own retries. Aborts and our own errors pass through unchanged. */
export function mapAzureError(error: unknown, call: AzureCallContext): Error {
  if (error instanceof NoSecretError || error instanceof TerminalError || error instanceof ThrottledError) return error;
  const shape = (error ?? {}) as SdkErrorShape;
  if (shape.name === 'AbortError') return error as Error;
  const on = call.subject === undefined ? '' : ` ${call.subject}`;
  const where = `in vault ${call.vaultUrl}`;
  const rawMessage = typeof shape.message === 'string' ? shape.message : '';
  // Entra ID refused the identity (wrong federated credential, secret, certificate, unknown client or tenant).
  if (typeof shape.name === 'string' && AUTHENTICATION_ERRORS.has(shape.name)) {
    return entraFailure(classifyEntraError(error), `a Key Vault token to ${call.identity} (for ${call.action}${on} ${where})`, entraReason(entraDescription(shape)), '', error);
  }
  const status = typeof shape.statusCode === 'number' ? shape.statusCode : undefined;
  const body = keyVaultBody(shape);
  const code = typeof body?.code === 'string' ? body.code : typeof shape.code === 'string' ? shape.code : undefined;
  const innerCode = typeof body?.innererror?.code === 'string' ? body.innererror.code : undefined;
  const serviceMessage = typeof body?.message === 'string' ? body.message : rawMessage;
  const reason = serviceReason(serviceMessage);
  if (status === 404) return new NoSecretError(`Key Vault ${call.action}${on} ${where}: not found (${code ?? 'NotFound'})`);
  if (status === 403 && innerCode !== undefined && DISABLED_CODES.test(innerCode)) {
    return new TerminalError(`Key Vault ${call.action}${on} ${where}: the object is disabled (${innerCode}); enable it or read another version`, { cause: error });
  }
  if (status === 401 || status === 403) {
    const permission = missingPermission(serviceMessage);
    return new AccessDeniedError(
      `Key Vault denied ${call.action}${on} ${where} to ${call.identity} (${status} ${code ?? ''}): ${reason}` +
        (permission ? `; grant ${permission} (e.g. the ${roleGranting(permission)} role) to that identity` : '; grant that identity access to the vault (RBAC role or access policy)'),
      { cause: error },
    );
  }
  if (status === 429) {
    return new ThrottledError(`Key Vault throttled ${call.action}${on} ${where} for ${call.identity} after the SDK's retries; it will be retried with backoff`, { cause: error });
  }
  if (status === 400 && code !== undefined) {
    return new TerminalError(`Key Vault refused ${call.action}${on} ${where} (${code}): ${reason}`, { cause: error });
  }
  const what = status !== undefined ? `HTTP ${status}${code ? ` ${code}` : ''}` : typeof shape.name === 'string' ? shape.name : 'error';
  return new Error(`Key Vault ${call.action}${on} ${where} failed for ${call.identity}: ${what}${reason ? `: ${reason}` : ''}`, { cause: error });
}

export async function azureCall<T>(call: AzureCallContext, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw mapAzureError(error, call);
  }
}
