// What every provider shares: reference namespaces (referent auth), an expiring single-flight credential memo,
// ServiceAccount token minting for workload identity, Secret text, and spec validation.
export { referenceNamespace, RefResolver, type StoreWhere, type ResolvedSecretKey, type ResolvedServiceAccount } from './refs.ts';
export {
  createCredentialMemo,
  CredentialDeadlineError,
  describeStore,
  DEFAULT_REFRESH_BEFORE_MS,
  DEFAULT_FETCH_TIMEOUT_MS,
  type CredentialMemo,
  type CredentialMemoOptions,
} from './credential-memo.ts';
export { serviceAccountTokenSource, EXCHANGE_TOKEN_SECONDS, type ServiceAccountTokenSource } from './service-account-token.ts';
export { readSecretText } from './secret-text.ts';
export { checkProviderSpec, specOrThrow, type CheckedSpec, type SpecProblems } from './spec-validation.ts';
export { compileFindName } from './find.ts';
export {
  assertTenancy,
  DEFAULT_TENANCY_POLICY,
  declaredTenancy,
  dotSegmentProblem,
  sharedStoreCallProblem,
  type SharedStoreCalls,
  guardedLookup,
  guardProvider,
  isForbiddenAddress,
  hostTrusted,
  isLoopbackHost,
  OPERATOR_IDENTITY_POLICIES,
  TenancyError,
  TenancyRule,
  tenancyViolations,
  type OperatorIdentityPolicy,
  type TenancyPolicy,
  type TenancyRuleName,
  type TenancyViolation,
} from './tenancy.ts';
