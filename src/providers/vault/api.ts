// The Vault HTTP API as this provider uses it: every response parsed with zod, every failure mapped to the
// provider contract's errors (NoSecretError, TerminalError, ThrottledError, or a plain Error to retry). Messages carry
// Vault's own error text (which names paths and roles, never secret data) and say what to do.
import { z } from 'zod';
import { AccessDeniedError, NoSecretError, TerminalError, ThrottledError } from '../provider.ts';
import type { VaultRequest, VaultResponse, VaultTransport } from './transport.ts';
import { encodePath } from './transport.ts';

const StringMap = z.record(z.string(), z.unknown());

export const AuthBlockSchema = z.object({
  client_token: z.string().min(1),
  accessor: z.string().optional(),
  policies: z.array(z.string()).nullish(),
  lease_duration: z.number().int().min(0).default(0),
  renewable: z.boolean().default(false),
});
export type AuthBlock = z.infer<typeof AuthBlockSchema>;

/** The envelope of every Vault response. */
export const SecretResponseSchema = z.object({
  lease_id: z.string().default(''),
  renewable: z.boolean().default(false),
  lease_duration: z.number().int().min(0).default(0),
  data: StringMap.nullish(),
  auth: AuthBlockSchema.nullish(),
  warnings: z.array(z.string()).nullish(),
});
export type SecretResponse = z.infer<typeof SecretResponseSchema>;

const ErrorBodySchema = z.object({ errors: z.array(z.string()) });

export const KvV2DataSchema = z.object({
  data: StringMap.nullable(),
  metadata: z.object({ version: z.number().int().optional(), custom_metadata: z.record(z.string(), z.string()).nullish() }).nullish(),
});

export const KvV2MetadataSchema = z.object({
  custom_metadata: z.record(z.string(), z.string()).nullish(),
  current_version: z.number().int().optional(),
});

export const ListSchema = z.object({ keys: z.array(z.string()) });

export const TokenLookupSchema = z.object({
  accessor: z.string().optional(),
  ttl: z.number().int().min(0).default(0),
  renewable: z.boolean().default(false),
  display_name: z.string().optional(),
  policies: z.array(z.string()).nullish(),
});

export const LeaseLookupSchema = z.object({
  id: z.string(),
  ttl: z.number().int(),
  renewable: z.boolean().default(false),
  issue_time: z.string().optional(),
  expire_time: z.string().nullish(),
  last_renewal: z.string().nullish(),
});

/** 401/403: the token was refused (expired, revoked) or lacks a policy. The session logs in again once before giving up. */
export class VaultPermissionError extends AccessDeniedError {}

/** A Vault error in the contract's terms. `what` says which call, e.g. "read secret/data/app". */
export function vaultError(what: string, response: VaultResponse, hint = ''): Error {
  const parsed = ErrorBodySchema.safeParse(response.body);
  const detail = parsed.success && parsed.data.errors.length > 0 ? parsed.data.errors.join('; ').replace(/\s+/g, ' ').trim() : `HTTP ${response.status}`;
  const message = `Vault ${what}: ${detail}`;
  const withHint = hint ? `${message}; ${hint}` : message;
  switch (response.status) {
    case 404:
      return new NoSecretError(message);
    // A call with its own hint (a login) says what to check for it; no policy grant lifts a refused login.
    case 400:
      return new TerminalError(hint ? withHint : `${message} (fix the path or parameters)`);
    case 401:
    case 403:
      return new VaultPermissionError(hint ? withHint : `${message} (permission denied: grant the Vault policy this path needs, or fix the auth settings)`);
    case 412:
      // Eventual consistency on performance standbys: retry.
      return new Error(`${message} (not yet replicated; retried)`);
    case 429:
      return new ThrottledError(`${message} (rate limited; retried with backoff)`);
    case 503:
      return new Error(`${message} (Vault is sealed or in maintenance; retried)`);
    default:
      return new Error(message);
  }
}

export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    // Only the shape is described: zod messages name fields and types, never values.
    const where = result.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
    throw new Error(`Vault ${what}: unexpected response (${where}); is the server a Vault/OpenBao and the path right?`);
  }
  return result.data;
}

/** The calls of one Vault server (through one transport); the token is the caller's. */
export interface VaultApi {
  /** Raw request, error-mapped; the envelope parsed. undefined for 204. */
  call(request: VaultRequest, what: string): Promise<SecretResponse | undefined>;
  login(mountPath: string, suffix: string, body: Record<string, unknown>, signal: AbortSignal): Promise<AuthBlock>;
  lookupSelf(token: string, signal: AbortSignal): Promise<z.infer<typeof TokenLookupSchema>>;
  renewSelf(token: string, incrementSeconds: number | undefined, signal: AbortSignal): Promise<AuthBlock>;
  revokeSelf(token: string, signal: AbortSignal): Promise<void>;
  renewLease(token: string, leaseId: string, incrementSeconds: number, signal: AbortSignal): Promise<{ leaseDurationSeconds: number; renewable: boolean }>;
  revokeLease(token: string, leaseId: string, signal: AbortSignal): Promise<void>;
  lookupLease(token: string, leaseId: string, signal: AbortSignal): Promise<z.infer<typeof LeaseLookupSchema>>;
}

export function createVaultApi(transport: VaultTransport): VaultApi {
  const call = async (request: VaultRequest, what: string, hint?: string): Promise<SecretResponse | undefined> => {
    const response = await transport(request);
    if (response.status === 204) return undefined;
    if (response.status < 200 || response.status >= 300) throw vaultError(what, response, hint);
    return parseOrThrow(SecretResponseSchema, response.body ?? {}, what);
  };
  return {
    call: (request, what) => call(request, what),
    async login(mountPath, suffix, body, signal) {
      const path = `auth/${encodePath(mountPath)}/login${suffix ? `/${encodePath(suffix)}` : ''}`;
      const what = `login at auth/${mountPath}${suffix ? `/login/${suffix}` : '/login'}`;
      const response = await call({ method: 'POST', path, body, signal }, what, "check the role (its bound names, namespaces and audience), the credentials and the auth method's configuration (kubernetes: the reviewer JWT and CA Vault calls TokenReview with)");
      if (!response?.auth) throw new Error(`Vault ${what}: the response carries no token`);
      return response.auth;
    },
    async lookupSelf(token, signal) {
      const response = await call({ method: 'GET', path: 'auth/token/lookup-self', token, signal }, 'token lookup-self');
      return parseOrThrow(TokenLookupSchema, response?.data ?? {}, 'token lookup-self');
    },
    async renewSelf(token, incrementSeconds, signal) {
      const response = await call(
        { method: 'POST', path: 'auth/token/renew-self', token, body: incrementSeconds ? { increment: `${incrementSeconds}s` } : {}, signal },
        'token renew-self',
      );
      if (!response?.auth) throw new Error('Vault token renew-self: the response carries no auth block');
      return response.auth;
    },
    async revokeSelf(token, signal) {
      await call({ method: 'POST', path: 'auth/token/revoke-self', token, body: {}, signal }, 'token revoke-self');
    },
    async renewLease(token, leaseId, incrementSeconds, signal) {
      const response = await call(
        { method: 'PUT', path: 'sys/leases/renew', token, body: { lease_id: leaseId, increment: incrementSeconds }, signal },
        `renew lease ${leaseId}`,
      );
      return { leaseDurationSeconds: response?.lease_duration ?? 0, renewable: response?.renewable ?? false };
    },
    async revokeLease(token, leaseId, signal) {
      await call({ method: 'PUT', path: 'sys/leases/revoke', token, body: { lease_id: leaseId }, signal }, `revoke lease ${leaseId}`);
    },
    async lookupLease(token, leaseId, signal) {
      const response = await call({ method: 'PUT', path: 'sys/leases/lookup', token, body: { lease_id: leaseId }, signal }, `lookup lease ${leaseId}`);
      return parseOrThrow(LeaseLookupSchema, response?.data ?? {}, `lookup lease ${leaseId}`);
    },
  };
}
