// One authenticated Vault session: the API of one server plus a token session. A request refused with 403 is
// retried once with a fresh login (the token may have been revoked or expired server-side); a second refusal is
// the policy's answer and reaches the caller.
import type { SecretResponse, VaultApi } from './api.ts';
import { VaultPermissionError } from './api.ts';
import type { TokenSession } from './auth.ts';
import type { VaultRequest } from './transport.ts';

export interface VaultSession {
  readonly api: VaultApi;
  readonly tokens: TokenSession;
  /** A request with the session's token; `what` names it in errors ("read secret/data/app"). */
  request(request: Omit<VaultRequest, 'token'>, what: string): Promise<SecretResponse | undefined>;
  /** Runs `call` with a token, retrying once with a new login on 403. */
  withToken<T>(call: (token: string) => Promise<T>, signal: AbortSignal): Promise<T>;
}

export function createVaultSession(api: VaultApi, tokens: TokenSession): VaultSession {
  const withToken = async <T>(call: (token: string) => Promise<T>, signal: AbortSignal): Promise<T> => {
    const token = await tokens.token(signal);
    try {
      return await call(token);
    } catch (err) {
      if (!(err instanceof VaultPermissionError)) throw err;
      tokens.invalidate(token);
      const again = await tokens.token(signal);
      if (again === token) throw err;
      return call(again);
    }
  };
  return {
    api,
    tokens,
    withToken,
    request: (request, what) => withToken((token) => api.call({ ...request, token }, what), request.signal),
  };
}
