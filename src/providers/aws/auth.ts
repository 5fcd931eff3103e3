// Credentials for one AWS store: a base identity (ServiceAccount token via AssumeRoleWithWebIdentity, static keys
// from Secrets, or the operator's own default chain), then a chain of AssumeRole steps. Every step is memoized
// and renewed a few minutes before it expires, so a session is reused across reconciles, never re-minted per call.
import { fromNodeProviderChain, fromTemporaryCredentials, fromWebToken } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { Clock } from '../../util/clock.ts';
import { TerminalError } from '../provider.ts';
import type { StoreContext } from '../provider.ts';
import type { AwsProvider } from '../../api/types.generated.ts';
import { createCredentialMemo, describeStore, readSecretText, serviceAccountTokenSource } from '../kit/index.ts';
import type { CredentialMemo, ResolvedSecretKey } from '../kit/index.ts';
import { awsCall } from './errors.ts';
import { DEFAULT_AUDIENCE, type AwsAuthPlan } from './auth-plan.ts';

export { DEFAULT_AUDIENCE, planAwsAuth, type AwsAuthPlan, type AwsBasePlan } from './auth-plan.ts';

export const ROLE_ARN_ANNOTATION = 'eks.amazonaws.com/role-arn';
/** Renew this long before expiry (the SDK's own margin), so no call goes out with credentials about to lapse. */
export const REFRESH_BEFORE_MS = 5 * 60_000;
/** Static keys from a Secret are read again this often, so a rotated key in the Secret is picked up. */
export const STATIC_KEYS_REREAD_MS = 10 * 60_000;
/** Requested lifetime of every assumed-role session. */
export const SESSION_DURATION_SECONDS = 3600;

/** The SDK client settings every client of a store shares (STS included). */
export interface AwsClientSettings {
  readonly region: string;
  readonly endpoint?: string | undefined;
  readonly maxAttempts: number;
}

/** A credential memo in the SDK's shape: a credential provider (the SDK passes no signal; the memo's deadline bounds it). */
type MemoizedCredentials = AwsCredentialIdentityProvider;

/**
 * The SDK asks for credentials inside each send(); its call has no signal of ours, so a waiter never gives up early —
 * the shared fetch's own deadline (the kit's, 30 s) is what bounds a silent STS or apiserver.
 */
const NEVER_ABORTED = new AbortController().signal;

function memoizeCredentials(fetch: (signal: AbortSignal) => Promise<AwsCredentialIdentity>, clock: Clock, exchange: () => string): MemoizedCredentials {
  const memo: CredentialMemo<AwsCredentialIdentity> = createCredentialMemo({
    fetch,
    exchange,
    expiresAt: (identity) => identity.expiration?.getTime(),
    clock,
    refreshBeforeMs: REFRESH_BEFORE_MS,
  });
  return () => memo.get(NEVER_ABORTED);
}

/** A valid RoleSessionName ([\w+=,.@-]{2,64}) naming the store, so CloudTrail shows which store acted. */
export function roleSessionName(where: Pick<StoreContext, 'storeKind' | 'storeName' | 'storeNamespace'>): string {
  const raw = ['secret-relay', where.storeNamespace, where.storeName].filter((part) => part !== undefined).join('.');
  return raw.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

export interface AwsSession {
  /** The final credentials; every step behind it is memoized and renewed before expiry. */
  readonly credentials: AwsCredentialIdentityProvider;
  /** Who the final credentials act as: a role ARN, or a description. Never a secret. */
  readonly identity: string;
}

export interface AwsAuthDeps {
  readonly ctx: StoreContext;
  readonly settings: AwsClientSettings;
  readonly clock: Clock;
  /** The operator's own credentials (auth omitted); injectable for tests. Default: the SDK's node provider chain. */
  readonly defaultCredentials?: () => AwsCredentialIdentityProvider;
}

/**
 * Per-attempt limits: without them a silent endpoint would hold a credential fetch (and the store's client
 * build, which every reconcile of the store waits on) forever. `throwOnRequestTimeout`: @smithy/node-http-handler 4.x
 * only logs a warning when `requestTimeout` passes and leaves the request waiting (a stalled answer held a reconcile
 * for good — test/integration/provider-faults.test.ts); with it the attempt fails with a TimeoutError the SDK retries.
 */
export const REQUEST_LIMITS = { connectionTimeout: 5_000, requestTimeout: 15_000, throwOnRequestTimeout: true } as const;

/** Client settings shared by the STS clients of the chain and the service clients. */
export function sdkClientConfig(settings: AwsClientSettings) {
  return {
    region: settings.region,
    maxAttempts: settings.maxAttempts,
    requestHandler: { ...REQUEST_LIMITS },
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
  };
}

/** Where STS calls go: the store's endpoint override, else the region's STS endpoint (as the SDK resolves it). */
export function stsEndpointOf(settings: AwsClientSettings): string {
  return settings.endpoint ?? `https://sts.${settings.region}.amazonaws.com`;
}

/** Builds the memoized credential chain for a plan. Nothing is fetched until the provider is first called. */
export function buildAwsSession(spec: AwsProvider, plan: AwsAuthPlan, deps: AwsAuthDeps): AwsSession {
  const { ctx, settings, clock } = deps;
  const sessionName = roleSessionName(ctx);
  const store = describeStore(ctx);
  const sts = stsEndpointOf(settings);

  let base: MemoizedCredentials;
  let baseIdentity: string;
  const chain = [...plan.additionalRoles, ...(plan.role ? [plan.role] : [])];

  if (plan.base.kind === 'jwt') {
    const { serviceAccount, audiences } = plan.base;
    const tokens = serviceAccountTokenSource(ctx.kube, serviceAccount, audiences);
    const accountLabel = tokens.label;
    baseIdentity = accountLabel;
    // The web-identity role is known only after reading the annotation; it is resolved at first fetch.
    let webRole: string | undefined;
    base = memoizeCredentials(async (signal) => {
      if (webRole === undefined) {
        const annotations = await ctx.kube.readServiceAccountAnnotations(serviceAccount, signal);
        webRole = annotations[ROLE_ARN_ANNOTATION] ?? plan.role;
        if (webRole === undefined) {
          throw new TerminalError(
            `${accountLabel} has no ${ROLE_ARN_ANNOTATION} annotation and the store sets no spec.provider.aws.role: ` +
              `annotate the ServiceAccount with the IAM role to assume, or set role`,
          );
        }
      }
      // A fresh token for every exchange: TokenRequest tokens are short-lived, and STS wants an unexpired one.
      const { token } = await tokens.mint(signal);
      const roleArn = webRole;
      return awsCall({ action: 'sts:AssumeRoleWithWebIdentity', subject: roleArn, identity: accountLabel }, () =>
        fromWebToken({
          roleArn,
          webIdentityToken: token,
          roleSessionName: sessionName,
          durationSeconds: SESSION_DURATION_SECONDS,
          clientConfig: sdkClientConfig(settings),
        })(),
      );
    }, clock, () => `${store}: AWS sts:AssumeRoleWithWebIdentity${webRole ? ` (role ${webRole})` : ''} at ${sts}`);
    // Without the annotation, spec.role was the web-identity role: it is not assumed a second time.
    const chainOf = (): string[] => {
      const roles = [...plan.additionalRoles];
      if (plan.role && plan.role !== webRole) roles.push(plan.role);
      return roles;
    };
    return chainSession(base, () => `role ${webRole ?? plan.role ?? `from the ${ROLE_ARN_ANNOTATION} annotation`} (${accountLabel})`, chainOf, spec, deps, sessionName);
  }

  if (plan.base.kind === 'secretRef') {
    const { accessKeyId, secretAccessKey, sessionToken } = plan.base;
    baseIdentity = `static access key from Secret ${accessKeyId.namespace}/${accessKeyId.name}`;
    base = memoizeCredentials(async (signal) => {
      const read = (ref: ResolvedSecretKey) => readSecretText(ctx.kube, ref, signal, 'the AWS key');
      const [id, secret, token] = await Promise.all([read(accessKeyId), read(secretAccessKey), sessionToken ? read(sessionToken) : undefined]);
      // A synthetic expiry makes the memo read the Secret again, so rotated keys are picked up.
      return {
        accessKeyId: id,
        secretAccessKey: secret,
        ...(token ? { sessionToken: token } : {}),
        expiration: new Date(clock.now() + STATIC_KEYS_REREAD_MS + REFRESH_BEFORE_MS),
      };
    }, clock, () => `${store}: reading the AWS keys from Secret ${accessKeyId.namespace}/${accessKeyId.name} (the Kubernetes API)`);
  } else {
    baseIdentity = "the operator's own AWS identity";
    const source = (deps.defaultCredentials ?? (() => fromNodeProviderChain()))();
    base = memoizeCredentials(() => awsCall({ action: 'resolve default credentials', identity: baseIdentity }, () => source()), clock, () => `${store}: resolving the operator's own AWS credentials`);
  }
  const label = baseIdentity;
  return chainSession(base, () => label, () => chain, spec, deps, sessionName);
}

/** Assumes each role of the chain with the previous credentials; externalID and sessionTags go with spec.role. */
function chainSession(
  base: MemoizedCredentials,
  baseIdentity: () => string,
  roles: () => readonly string[],
  spec: AwsProvider,
  deps: AwsAuthDeps,
  sessionName: string,
): AwsSession {
  const { clock, settings } = deps;
  const store = describeStore(deps.ctx);
  const steps = new Map<string, MemoizedCredentials>();
  /** The provider for the i-th role of the chain, built on first use and kept (each with its own memo). */
  const stepFor = (index: number, chain: readonly string[]): MemoizedCredentials => {
    if (index < 0) return base;
    const roleArn = chain[index]!;
    const key = `${index}\u0000${roleArn}`;
    let step = steps.get(key);
    if (!step) {
      const previous = stepFor(index - 1, chain);
      const isSpecRole = index === chain.length - 1 && roleArn === spec.role;
      const assume = fromTemporaryCredentials({
        masterCredentials: previous,
        params: {
          RoleArn: roleArn,
          RoleSessionName: sessionName,
          DurationSeconds: SESSION_DURATION_SECONDS,
          ...(isSpecRole && spec.externalID ? { ExternalId: spec.externalID } : {}),
          ...(isSpecRole && spec.sessionTags && spec.sessionTags.length > 0
            ? { Tags: spec.sessionTags.map((tag) => ({ Key: tag.key, Value: tag.value })) }
            : {}),
        },
        clientConfig: sdkClientConfig(settings),
      });
      const who = index === 0 ? baseIdentity() : chain[index - 1]!;
      step = memoizeCredentials(() => awsCall({ action: 'sts:AssumeRole', subject: roleArn, identity: who }, () => assume()), clock, () => `${store}: AWS sts:AssumeRole (role ${roleArn}) at ${stsEndpointOf(settings)}`);
      steps.set(key, step);
    }
    return step;
  };
  const credentials = async (): Promise<AwsCredentialIdentity> => {
    // The chain may only be known once the base resolved (jwt: the annotation), so resolve the base first.
    const identity = await base();
    const chain = roles();
    return chain.length === 0 ? identity : stepFor(chain.length - 1, chain)();
  };
  return {
    credentials,
    get identity() {
      const chain = roles();
      return chain.length > 0 ? `role ${chain[chain.length - 1]}` : baseIdentity();
    },
  };
}
