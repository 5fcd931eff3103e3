// Credentials for one alibaba store. RRSA: a TokenRequest token for the store's ServiceAccount (audience
// sts.aliyuncs.com) — or, as ESO did, the operator's own projected token file — exchanged with STS AssumeRoleWithOIDC
// for temporary credentials (AccessKeyId, AccessKeySecret, SecurityToken), kept in a CredentialMemo and renewed before
// they expire. Static keys: an AccessKey pair read from Secrets, read again every few minutes so a rotated key is
// picked up. The plan is pure; the session does the I/O.
import type { AlibabaProvider } from '../../api/types.generated.ts';
import type { Clock } from '../../util/clock.ts';
import { TerminalError } from '../../util/errors.ts';
import {
  createCredentialMemo,
  describeStore,
  readSecretText,
  RefResolver,
  serviceAccountTokenSource,
  type CredentialMemo,
  type ResolvedSecretKey,
  type ResolvedServiceAccount,
} from '../kit/index.ts';
import type { StoreContext } from '../provider.ts';
import { describeEndpoint, resolveEndpoint, stsDefaultHost, type Endpoint } from './endpoints.ts';
import { alibabaCall } from './errors.ts';
import type { AlibabaCredentials, AlibabaSdk } from './sdk.ts';

export type { AlibabaCredentials } from './sdk.ts';

/** The audience Alibaba Cloud STS requires of an OIDC token (ACK's RRSA projects tokens with it). */
export const STS_AUDIENCE = 'sts.aliyuncs.com';
/** Requested lifetime of an assumed-role session (STS allows 900 s up to the role's maximum, 3600 s by default). */
export const SESSION_DURATION_SECONDS = 3600;
/** Static keys from a Secret are read again this often, so a rotated key in the Secret is picked up. */
export const STATIC_KEYS_REREAD_MS = 10 * 60_000;

export type AlibabaAuthPlan =
  | {
      readonly kind: 'rrsa';
      readonly token: { readonly kind: 'serviceAccount'; readonly serviceAccount: ResolvedServiceAccount } | { readonly kind: 'file'; readonly path: string };
      readonly oidcProviderArn: string;
      readonly roleArn: string;
      readonly sessionName: string;
      readonly sts: Endpoint;
      readonly referent: boolean;
    }
  | {
      readonly kind: 'secretRef';
      readonly accessKeyId: ResolvedSecretKey;
      readonly accessKeySecret: ResolvedSecretKey;
      readonly referent: boolean;
    };

/** A valid RoleSessionName ([A-Za-z0-9.@_-]{2,64}) naming the store, so ActionTrail shows which store acted. */
export function defaultSessionName(where: Pick<StoreContext, 'storeName' | 'storeNamespace'>): string {
  const raw = ['secret-relay', where.storeNamespace, where.storeName].filter((part) => part !== undefined).join('.');
  return raw.replace(/[^A-Za-z0-9.@_-]/g, '-').slice(0, 64);
}

export function planAlibabaAuth(spec: AlibabaProvider, where: Pick<StoreContext, 'storeKind' | 'storeName' | 'storeNamespace' | 'namespace'>): AlibabaAuthPlan {
  const refs = new RefResolver(where);
  const rrsa = spec.auth.rrsa;
  if (rrsa) {
    const token = rrsa.serviceAccountRef
      ? ({ kind: 'serviceAccount', serviceAccount: refs.serviceAccount(rrsa.serviceAccountRef) } as const)
      : ({ kind: 'file', path: rrsa.oidcTokenFilePath ?? '' } as const);
    return {
      kind: 'rrsa',
      token,
      oidcProviderArn: rrsa.oidcProviderArn,
      roleArn: rrsa.roleArn,
      sessionName: rrsa.sessionName ?? defaultSessionName(where),
      sts: resolveEndpoint(rrsa.stsEndpoint, stsDefaultHost(spec.regionID)),
      referent: refs.referent,
    };
  }
  const keys = spec.auth.secretRef;
  if (!keys) throw new TerminalError('spec.provider.alibaba.auth must set exactly one of rrsa and secretRef');
  return {
    kind: 'secretRef',
    accessKeyId: refs.secretKey(keys.accessKeyIDSecretRef),
    accessKeySecret: refs.secretKey(keys.accessKeySecretSecretRef),
    referent: refs.referent,
  };
}

/** Who a plan acts as, for the audit log and messages. Never a secret. */
export function describeIdentity(plan: AlibabaAuthPlan): string {
  if (plan.kind === 'secretRef') return `static AccessKey from Secret ${plan.accessKeyId.namespace}/${plan.accessKeyId.name}`;
  const who = plan.token.kind === 'serviceAccount' ? `ServiceAccount ${plan.token.serviceAccount.namespace}/${plan.token.serviceAccount.name}` : `token file ${plan.token.path}`;
  return `role ${plan.roleArn} (${who})`;
}

export interface AlibabaSessionDeps {
  readonly ctx: StoreContext;
  readonly clock: Clock;
  readonly regionId: string;
  readonly sdk: () => Promise<AlibabaSdk>;
  /** Reads the operator's own projected token (oidcTokenFilePath). */
  readonly readTokenFile: (path: string) => Promise<string>;
  /** Renew STS credentials this long before they expire; default the kit's 5 min (capped at half the lifetime). */
  readonly refreshBeforeMs?: number | undefined;
}

export interface AlibabaSession {
  readonly credentials: CredentialMemo<AlibabaCredentials>;
  readonly identity: string;
}

export function createAlibabaSession(plan: AlibabaAuthPlan, deps: AlibabaSessionDeps): AlibabaSession {
  const { ctx, clock } = deps;
  const identity = describeIdentity(plan);
  const store = describeStore(ctx);
  if (plan.kind === 'secretRef') {
    const credentials = createCredentialMemo<AlibabaCredentials>({
      clock,
      exchange: () => `${store}: reading the AccessKey pair from Secret ${plan.accessKeyId.namespace}/${plan.accessKeyId.name} (the Kubernetes API)`,
      refreshBeforeMs: 0,
      // A synthetic expiry makes the memo read the Secret again, so rotated keys are picked up.
      expiresAt: () => clock.now() + STATIC_KEYS_REREAD_MS,
      fetch: async (signal) => {
        const [accessKeyId, accessKeySecret] = await Promise.all([
          readSecretText(ctx.kube, plan.accessKeyId, signal, 'the AccessKey ID'),
          readSecretText(ctx.kube, plan.accessKeySecret, signal, 'the AccessKey secret'),
        ]);
        return { accessKeyId, accessKeySecret };
      },
    });
    return { credentials, identity };
  }

  const source = plan.token.kind === 'serviceAccount' ? serviceAccountTokenSource(ctx.kube, plan.token.serviceAccount, [STS_AUDIENCE]) : undefined;
  const tokenFile = plan.token.kind === 'file' ? plan.token.path : undefined;
  const credentials = createCredentialMemo<AlibabaCredentials>({
    clock,
    exchange: () => `${store}: Alibaba Cloud sts:AssumeRoleWithOIDC (role ${plan.roleArn}) at ${describeEndpoint(plan.sts)}`,
    ...(deps.refreshBeforeMs !== undefined ? { refreshBeforeMs: deps.refreshBeforeMs } : {}),
    expiresAt: (value) => value.expiresAt,
    fetch: async (signal) => {
      let oidcToken: string;
      if (source) {
        oidcToken = (await source.mint(signal)).token;
      } else {
        try {
          oidcToken = (await deps.readTokenFile(tokenFile!)).trim();
        } catch (error) {
          throw new TerminalError(
            `cannot read spec.provider.alibaba.auth.rrsa.oidcTokenFilePath ${tokenFile} (${(error as NodeJS.ErrnoException).code ?? 'error'}): ` +
              "project a ServiceAccount token with audience sts.aliyuncs.com into the operator's pod at that path, or use serviceAccountRef",
          );
        }
      }
      const sdk = await deps.sdk();
      const result = await alibabaCall(
        { action: 'sts:AssumeRoleWithOIDC', subject: plan.roleArn, identity, region: deps.regionId, endpoint: describeEndpoint(plan.sts) },
        () =>
          sdk.assumeRoleWithOIDC(plan.sts, deps.regionId, {
            oidcProviderArn: plan.oidcProviderArn,
            roleArn: plan.roleArn,
            roleSessionName: plan.sessionName,
            oidcToken,
            durationSeconds: SESSION_DURATION_SECONDS,
          }),
        signal,
      );
      const expiresAt = Date.parse(result.expiration);
      if (!Number.isFinite(expiresAt)) throw new Error(`STS AssumeRoleWithOIDC for ${plan.roleArn} returned an unreadable Expiration`);
      return { accessKeyId: result.accessKeyId, accessKeySecret: result.accessKeySecret, securityToken: result.securityToken, expiresAt };
    },
  });
  return { credentials, identity };
}
