// Azure SDK errors → the provider contract's errors. Messages name the vault, the object and the identity, and keep
// the service's own one-line reason (Key Vault's error.message, Entra ID's AADSTS description), never a value.
import { NoSecretError, TerminalError, ThrottledError } from '../provider.ts';

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

/** The error classes @azure/identity throws when Entra ID refuses (or cannot be asked for) a token. */
const AUTHENTICATION_ERRORS = new Set(['AuthenticationError', 'AuthenticationRequiredError', 'CredentialUnavailableError', 'AggregateAuthenticationError']);

/** Entra's "AADSTSnnnn: …" sentence out of whatever wrapping MSAL and @azure/identity added. */
export function entraReason(message: string): string {
  const aadsts = /AADSTS\d+:[^\r\n]*/.exec(message)?.[0];
  return serviceReason(aadsts ?? message.replace(/^\w*Error: /, ''));
}

const DISABLED_CODES = /^(Secret|Key|Certificate)Disabled$/;

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
    const description = typeof shape.errorResponse?.errorDescription === 'string' && shape.errorResponse.errorDescription !== '' ? shape.errorResponse.errorDescription : rawMessage;
    return new TerminalError(
      `Entra ID refused a Key Vault token to ${call.identity} (for ${call.action}${on} ${where}): ${entraReason(description)}; ` +
        'check the client and tenant IDs, the federated credential (issuer, subject, audience) or the client secret/certificate',
      { cause: error },
    );
  }
  const status = typeof shape.statusCode === 'number' ? shape.statusCode : undefined;
  const code = typeof shape.code === 'string' ? shape.code : undefined;
  const reason = serviceReason(rawMessage);
  if (status === 404) return new NoSecretError(`Key Vault ${call.action}${on} ${where}: not found (${code ?? 'NotFound'})`);
  if (status === 403 && code !== undefined && DISABLED_CODES.test(code)) {
    return new TerminalError(`Key Vault ${call.action}${on} ${where}: the object is disabled (${code}); enable it or read another version`, { cause: error });
  }
  if (status === 401 || status === 403) {
    const permission = missingPermission(rawMessage);
    return new TerminalError(
      `Key Vault denied ${call.action}${on} ${where} to ${call.identity} (${status} ${code ?? ''}): ${reason}` +
        (permission ? `; grant ${permission} (e.g. the Key Vault Secrets User role) to that identity` : '; grant that identity access to the vault (RBAC role or access policy)'),
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
