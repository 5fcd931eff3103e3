// The secret-relay.dev/v1alpha1 API: constants, generated types, schemas and parsers.
export * from './meta.ts';
export type * from './types.generated.ts';
export { DURATION_MESSAGE } from './common.ts';
export {
  formatIssues,
  formatPath,
  parseClusterExternalSecret,
  parseClusterSecretStore,
  parseExternalSecret,
  parseSecretStore,
  type ParseResult,
} from './parse.ts';
export { ExternalSecretLimits, ExternalSecretSchema, targetSecretName } from './external-secret.ts';
export { ClusterSecretStoreSchema, PROVIDER_NAMES, SecretStoreLimits, SecretStoreSchema } from './secret-store.ts';
export { ClusterExternalSecretSchema, clusterExternalSecretChildName } from './cluster-external-secret.ts';
export { ClusterPushSecretSchema, PushSecretLimits, PushSecretSchema, clusterPushSecretChildName, parseClusterPushSecret, parsePushSecret, pushSecretCompat } from './push-secret.ts';
export { PasswordLimits, PasswordSchema, SSHKeyLimits, SSHKeySchema, UUIDSchema, parsePassword, parseSSHKey, parseUUID } from './generators.ts';
