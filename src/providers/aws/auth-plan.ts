// How an aws store authenticates, decided from its spec and where it is used: pure, and free of the AWS SDK, so
// the provider can answer clientPartition without loading the SDK (it loads with the first client).
import type { AwsProvider } from '../../api/types.generated.ts';
import { RefResolver } from '../kit/index.ts';
import type { ResolvedSecretKey, ResolvedServiceAccount, StoreWhere } from '../kit/index.ts';

export const DEFAULT_AUDIENCE = 'sts.amazonaws.com';

/** How a store authenticates, decided from its spec and the ExternalSecret's namespace. Pure. */
export type AwsBasePlan =
  | { readonly kind: 'default' }
  | {
      readonly kind: 'jwt';
      readonly serviceAccount: ResolvedServiceAccount;
      readonly audiences: readonly string[];
    }
  | {
      readonly kind: 'secretRef';
      readonly accessKeyId: ResolvedSecretKey;
      readonly secretAccessKey: ResolvedSecretKey;
      readonly sessionToken?: ResolvedSecretKey | undefined;
    };

export interface AwsAuthPlan {
  readonly base: AwsBasePlan;
  /** additionalRoles, in order. */
  readonly additionalRoles: readonly string[];
  /** spec.role: the last role assumed (or, with jwt and no annotation, the web-identity role). */
  readonly role?: string | undefined;
  /** True when the plan depends on the ExternalSecret's namespace (ClusterSecretStore, namespace omitted). */
  readonly referent: boolean;
}

export function planAwsAuth(spec: AwsProvider, where: StoreWhere): AwsAuthPlan {
  const refs = new RefResolver(where);
  const common = { additionalRoles: spec.additionalRoles ?? [], role: spec.role };
  const jwt = spec.auth?.jwt;
  if (jwt) {
    const ref = jwt.serviceAccountRef;
    const base = {
      kind: 'jwt',
      serviceAccount: refs.serviceAccount(ref),
      audiences: ref.audiences && ref.audiences.length > 0 ? ref.audiences : [DEFAULT_AUDIENCE],
    } as const;
    return { ...common, base, referent: refs.referent };
  }
  const keys = spec.auth?.secretRef;
  if (keys) {
    const base = {
      kind: 'secretRef',
      accessKeyId: refs.secretKey(keys.accessKeyIDSecretRef),
      secretAccessKey: refs.secretKey(keys.secretAccessKeySecretRef),
      sessionToken: keys.sessionTokenSecretRef ? refs.secretKey(keys.sessionTokenSecretRef) : undefined,
    } as const;
    return { ...common, base, referent: refs.referent };
  }
  return { ...common, base: { kind: 'default' }, referent: false };
}
