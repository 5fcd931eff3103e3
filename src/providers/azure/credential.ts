// The identity of one azurekv store as a TokenCredential: the ids are resolved (ServiceAccount annotations, Secrets)
// at each token fetch, the SDK's own credential class does the exchange (ClientAssertionCredential with a fresh
// TokenRequest token, ClientSecretCredential, ClientCertificateCredential, ManagedIdentityCredential), and the
// Key Vault token is kept in a CredentialMemo until shortly before it expires — shared by the secret, certificate
// and key clients of the store, so twenty reads cost one exchange.
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { Agent } from 'node:https';
import { TerminalError } from '../provider.ts';
import type { StoreContext } from '../provider.ts';
import { createCredentialMemo, describeStore, readSecretText, serviceAccountTokenSource, type CredentialMemo } from '../kit/index.ts';
import type { AzureSdk } from './sdk.ts';
import { mapTokenError } from './errors.ts';
import { challengeScopeProblem, CLIENT_ID_ANNOTATION, managedIdentitySelector, TENANT_ID_ANNOTATION, type AzurePlan } from './plan.ts';

/** One token request to Entra ID (or IMDS) may take this long before it is cut and retried. */
export const TOKEN_REQUEST_TIMEOUT_MS = 20_000;

const tokenRequestTimeoutPolicy: PipelinePolicy = {
  name: 'secret-relay-token-request-timeout',
  sendRequest: (request, next) => {
    if (!(request.timeout > 0)) request.timeout = TOKEN_REQUEST_TIMEOUT_MS;
    return next(request);
  },
};

export interface StoreCredential extends TokenCredential {
  /** Who the store acts as, refined once the ids are known ("client ID … in tenant …"). Never a secret. */
  identity(): string;
  /** Token exchanges started (tests, metrics). */
  exchanges(): number;
}

export interface StoreCredentialDeps {
  readonly sdk: AzureSdk;
  readonly ctx: StoreContext;
  readonly plan: AzurePlan;
  readonly agent?: Agent | undefined;
  /**
   * The only scopes this credential issues tokens for, instead of the store's Key Vault resource (the change feed's
   * credential: Azure Storage).
   */
  readonly onlyScopes?: readonly string[] | undefined;
}

/** The resolved ids and the SDK credential for them. */
interface ResolvedIdentity {
  readonly key: string;
  readonly label: string;
  /** What to check when Entra ID refuses this identity. */
  readonly hint: string;
  readonly credential: TokenCredential;
}

export function createStoreCredential(deps: StoreCredentialDeps): StoreCredential {
  const { sdk, ctx, plan } = deps;
  const common = {
    // The token requests MSAL sends take no abort signal (@azure/identity 4.x does not pass getToken's abortSignal to a
    // client-assertion, secret or certificate flow): without a per-request timeout a stalled Entra ID held the exchange,
    // and every reconcile of the store behind it, for good. The pipeline's own timeout fails the attempt instead; MSAL
    // reports it as a network error, which is retried with backoff.
    additionalPolicies: [{ policy: tokenRequestTimeoutPolicy, position: 'perRetry' as const }],
    authorityHost: plan.endpoints.authorityHost,
    // A custom cloud's authority is not one MSAL can look up (instance discovery goes to login.microsoftonline.com).
    ...(plan.endpoints.custom ? { disableInstanceDiscovery: true } : {}),
    ...(deps.agent ? { agent: deps.agent } : {}),
  };
  // Credential fetches outlive any one reconcile; the memo gives each its own deadline.
  const background = new AbortController().signal;
  let resolved: ResolvedIdentity | undefined;
  let label = plan.label;

  async function resolve(signal: AbortSignal): Promise<ResolvedIdentity> {
    const identity = plan.identity;
    const text = (ref: Parameters<typeof readSecretText>[1], what: string) => readSecretText(ctx.kube, ref, signal, what);
    let next: { key: string; label: string; hint: string; build: () => TokenCredential };
    if (identity.kind === 'WorkloadIdentity') {
      const { serviceAccount } = identity;
      const account = `ServiceAccount ${serviceAccount.namespace}/${serviceAccount.name}`;
      const annotations = await ctx.kube.readServiceAccountAnnotations(serviceAccount, signal);
      const clientId = annotations[CLIENT_ID_ANNOTATION] ?? (identity.clientId ? await text(identity.clientId, 'the client ID') : undefined);
      const tenantId =
        annotations[TENANT_ID_ANNOTATION] ?? (identity.tenantIdRef ? await text(identity.tenantIdRef, 'the tenant ID') : undefined) ?? identity.tenantId;
      if (!clientId) {
        throw new TerminalError(`${account} has no ${CLIENT_ID_ANNOTATION} annotation and the store sets no authSecretRef.clientId: annotate the ServiceAccount with the client ID of the federated identity`);
      }
      if (!tenantId) {
        throw new TerminalError(`${account} has no ${TENANT_ID_ANNOTATION} annotation and the store sets neither authSecretRef.tenantId nor tenantId: annotate the ServiceAccount with the tenant ID`);
      }
      const tokens = serviceAccountTokenSource(ctx.kube, serviceAccount, identity.audiences);
      next = {
        key: `wi\u0000${tenantId}\u0000${clientId}`,
        label: `client ID ${clientId} in tenant ${tenantId} (workload identity of ${account})`,
        hint: `check the ServiceAccount's ${CLIENT_ID_ANNOTATION} and ${TENANT_ID_ANNOTATION} annotations, and that the identity has a federated credential with the cluster's OIDC issuer, subject system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name} and audience ${identity.audiences[0]}`,
        // A fresh TokenRequest token for every exchange: Entra wants an unexpired assertion.
        build: () => new sdk.identity.ClientAssertionCredential(tenantId, clientId, async () => (await tokens.mint(background)).token, common),
      };
    } else if (identity.kind === 'ServicePrincipal') {
      const clientId = await text(identity.clientId, 'the client ID');
      const tenantId = (identity.tenantIdRef ? await text(identity.tenantIdRef, 'the tenant ID') : undefined) ?? identity.tenantId;
      if (!tenantId) throw new TerminalError('spec.provider.azurekv needs tenantId or authSecretRef.tenantId for a service principal');
      const material = await text(identity.credential.ref, identity.credential.type === 'secret' ? 'the client secret' : 'the PEM certificate and key');
      const from = `Secret ${identity.credential.ref.namespace}/${identity.credential.ref.name}`;
      if (identity.credential.type === 'certificate' && !(/-----BEGIN CERTIFICATE-----/.test(material) && /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(material))) {
        throw new TerminalError(`key ${identity.credential.ref.key} of ${from} must hold a PEM certificate and its private key (both blocks)`);
      }
      const fingerprint = sdk.fingerprint(material);
      next = {
        key: `sp\u0000${tenantId}\u0000${clientId}\u0000${identity.credential.type}\u0000${fingerprint}`,
        label: `service principal ${clientId} in tenant ${tenantId} (${identity.credential.type === 'secret' ? 'client secret' : 'certificate'} from ${from})`,
        hint:
          identity.credential.type === 'secret'
            ? `check the client ID, the tenant and the client secret in ${from}`
            : `check the client ID, the tenant and that the certificate in ${from} is registered on the application`,
        build: () =>
          identity.credential.type === 'secret'
            ? new sdk.identity.ClientSecretCredential(tenantId, clientId, material, common)
            : new sdk.identity.ClientCertificateCredential(tenantId, clientId, { certificate: material }, common),
      };
    } else {
      const selector = managedIdentitySelector(identity.identityId);
      next = {
        key: `mi\u0000${identity.identityId ?? ''}`,
        label: plan.label,
        hint: identity.identityId ? `check that identity ${identity.identityId} is assigned to the operator's pod or node` : "check that the operator's pod or node has a system-assigned managed identity (or set identityId)",
        // No TLS agent: IMDS is plain http on a link-local address.
        build: () =>
          selector === undefined
            ? new sdk.identity.ManagedIdentityCredential()
            : 'clientId' in selector
              ? new sdk.identity.ManagedIdentityCredential({ clientId: selector.clientId })
              : new sdk.identity.ManagedIdentityCredential({ resourceId: selector.resourceId }),
      };
    }
    if (resolved?.key !== next.key) resolved = { key: next.key, label: next.label, hint: next.hint, credential: next.build() };
    label = next.label;
    return resolved;
  }

  const memos = new Map<string, CredentialMemo<AccessToken>>();
  let count = 0;
  const memoFor = (scopes: readonly string[], tenantId: string | undefined): CredentialMemo<AccessToken> => {
    const key = `${scopes.join(' ')}\u0000${tenantId ?? ''}`;
    let memo = memos.get(key);
    if (!memo) {
      memo = createCredentialMemo<AccessToken>({
        clock: ctx.clock,
        exchange: () =>
          `${describeStore(ctx)}: ${plan.identity.kind === 'ManagedIdentity' ? "the Azure managed identity endpoint (IMDS) of the operator's node" : `Entra ID token endpoint at ${plan.endpoints.authorityHost}`} (${label})`,
        expiresAt: (token) => token.expiresOnTimestamp,
        fetch: async (signal) => {
          count++;
          const { credential, label: identity, hint } = await resolve(signal);
          try {
            // MSAL may ignore the signal: the memo's own deadline ends the wait then (see common above).
            return (await credential.getToken([...scopes], { abortSignal: signal, ...(tenantId ? { tenantId } : {}) })) as AccessToken;
          } catch (error) {
            throw mapTokenError(error, { identity, vaultUrl: plan.endpoints.vaultUrl, hint });
          }
        },
      });
      memos.set(key, memo);
    }
    return memo;
  };

  return {
    async getToken(scopes, options?: GetTokenOptions) {
      const list = Array.isArray(scopes) ? scopes : [scopes];
      // Challenge verification of our own, on for every cloud (the SDK's only compares host suffixes, and is off for custom clouds).
      const problem = deps.onlyScopes
        ? list.find((scope) => !deps.onlyScopes!.includes(scope)) && `a token for ${list.join(' ')} was asked for, but this credential issues tokens only for ${deps.onlyScopes.join(' ')}; no token was requested`
        : challengeScopeProblem(plan.endpoints, list);
      if (problem !== undefined) throw new TerminalError(problem);
      const signal = options?.abortSignal ?? background;
      if (options?.claims) {
        // A claims challenge (continuous access evaluation) needs a new token now, not the memoized one.
        memoFor(list, options.tenantId).invalidate();
      }
      return memoFor(list, options?.tenantId).get(signal as AbortSignal);
    },
    identity: () => label,
    exchanges: () => count,
  };
}
