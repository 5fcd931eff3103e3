// Workload identity starts the same way for every cloud: a short-lived TokenRequest token for the store's
// ServiceAccount, with the audience the cloud's token service expects. The token is minted fresh for each
// exchange (the exchanged credentials are what is cached, in a CredentialMemo), never stored.
import type { StoreKubeAccess } from '../provider.ts';
import type { ResolvedServiceAccount } from './refs.ts';

/** TokenRequest's minimum lifetime: the token only has to live through one exchange. */
export const EXCHANGE_TOKEN_SECONDS = 600;

export interface ServiceAccountTokenSource {
  readonly serviceAccount: ResolvedServiceAccount;
  readonly audiences: readonly string[];
  /** "ServiceAccount NS/NAME", for identities and messages. */
  readonly label: string;
  /** A fresh token (JWT) for one exchange. */
  mint(signal: AbortSignal): Promise<{ token: string; expiresAt: number }>;
}

export function serviceAccountTokenSource(
  kube: Pick<StoreKubeAccess, 'createServiceAccountToken'>,
  serviceAccount: ResolvedServiceAccount,
  audiences: readonly string[],
  expirationSeconds: number = EXCHANGE_TOKEN_SECONDS,
): ServiceAccountTokenSource {
  return {
    serviceAccount,
    audiences,
    label: `ServiceAccount ${serviceAccount.namespace}/${serviceAccount.name}`,
    mint: (signal) => kube.createServiceAccountToken({ ...serviceAccount, audiences, expirationSeconds }, signal),
  };
}
