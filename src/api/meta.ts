// Names of the secret-relay.dev API and the condition vocabulary its objects report.
// Reasons are CamelCase constants (as metav1.Condition requires) so that users can match on them.

export const API_GROUP = 'secret-relay.dev';
export const API_VERSION = 'v1alpha1';
/** `apiVersion` as written in objects: `secret-relay.dev/v1alpha1`. */
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

export const Kind = {
  ExternalSecret: 'ExternalSecret',
  SecretStore: 'SecretStore',
  ClusterSecretStore: 'ClusterSecretStore',
  VaultDynamicSecret: 'VaultDynamicSecret',
  ClusterExternalSecret: 'ClusterExternalSecret',
  PushSecret: 'PushSecret',
  ClusterPushSecret: 'ClusterPushSecret',
  Password: 'Password',
  SSHKey: 'SSHKey',
  UUID: 'UUID',
} as const;
export type KindName = (typeof Kind)[keyof typeof Kind];

/** Resource names (URL path segments), as CustomObjectsApi calls take them. */
export const Plural = {
  ExternalSecret: 'externalsecrets',
  SecretStore: 'secretstores',
  ClusterSecretStore: 'clustersecretstores',
  VaultDynamicSecret: 'vaultdynamicsecrets',
  ClusterExternalSecret: 'clusterexternalsecrets',
  PushSecret: 'pushsecrets',
  ClusterPushSecret: 'clusterpushsecrets',
  Password: 'passwords',
  SSHKey: 'sshkeys',
  UUID: 'uuids',
} as const;

export const ShortName = {
  ExternalSecret: 'es',
  SecretStore: 'ss',
  ClusterSecretStore: 'css',
  VaultDynamicSecret: 'vds',
  ClusterExternalSecret: 'ces',
  PushSecret: 'ps',
  ClusterPushSecret: 'cps',
  Password: 'pw',
  SSHKey: 'sshkey',
  UUID: 'uuid',
} as const;

/** The keys under a store's `spec.provider` and their type: the one list is ./providers/index.ts. */
export { PROVIDER_NAMES, type ProviderName } from './providers/index.ts';

/** On every Secret the operator writes; the operator's Secret informer watches only Secrets with it set to "true". */
export const MANAGED_LABEL = 'secret-relay.dev/managed';

/**
 * On an ExternalSecret, "true" lets creationPolicy Owner/Orphan take over a target Secret that exists but that
 * this ExternalSecret did not create (ownerReference and field ownership move to it; keys it does not declare
 * are removed). Without it such a Secret is left untouched and Ready=False SecretExistsNotOwned.
 */
export const ADOPT_ANNOTATION = 'secret-relay.dev/adopt';

/** `kubectl get secret-relay` lists every kind of ours. */
export const CATEGORY = 'secret-relay';

export const ConditionType = {
  /** The one condition every secret-relay object reports; its reason says why it is (not) ready. */
  Ready: 'Ready',
} as const;

/** Reasons of an ExternalSecret's Ready condition. */
export const ExternalSecretReason = {
  /** Ready=True: the target Secret holds the values fetched at `status.refreshTime`. */
  SecretSynced: 'SecretSynced',
  /** Ready=False: fetching or writing failed (provider error, apply rejected); retried with backoff, the last good Secret is kept. */
  SecretSyncedError: 'SecretSyncedError',
  /** Ready=False: the remote secret is gone and deletionPolicy Delete removed the target Secret. */
  SecretDeleted: 'SecretDeleted',
  /** Ready=False: the remote secret (or a property of it) does not exist; with deletionPolicy Retain the last Secret is kept. */
  SecretMissing: 'SecretMissing',
  /** Ready=False: creationPolicy Merge or None, but the target Secret does not exist (nothing to merge into). */
  TargetMissing: 'TargetMissing',
  /**
   * Ready=False: creationPolicy Owner/Orphan, but the target Secret exists and this ExternalSecret did not create
   * it (hand-made, or owned by another controller or ExternalSecret). Nothing was written; rechecked without a
   * provider call until the Secret or the ExternalSecret changes (rename the target, or opt in to adoption).
   */
  SecretExistsNotOwned: 'SecretExistsNotOwned',
  /** Ready=False: the referenced SecretStore/ClusterSecretStore does not exist. */
  StoreNotFound: 'StoreNotFound',
  /** Ready=False: the referenced store exists but is not Ready (see its own Ready condition). */
  StoreNotReady: 'StoreNotReady',
  /** Ready=False: the ClusterSecretStore's spec.conditions do not admit this ExternalSecret's namespace; nothing is fetched. */
  NamespaceNotAllowed: 'NamespaceNotAllowed',
  /** Ready=False: the spec passed the CRD's validation but cannot be served (e.g. a value that fails to decode); retried at once when the spec changes, else rechecked at a capped backoff (30 s doubling to 5 min). */
  InvalidSpec: 'InvalidSpec',
} as const;
export type ExternalSecretReasonName = (typeof ExternalSecretReason)[keyof typeof ExternalSecretReason];

/** Reasons of a SecretStore's / ClusterSecretStore's Ready condition (ESO's names where they exist). */
export const StoreReason = {
  /** Ready=True: the provider configuration is valid and the provider answered. */
  Valid: 'Valid',
  /** Ready=False: the provider's configuration is invalid (the message names the field); fix the store's spec. */
  InvalidStoreConfiguration: 'InvalidStoreConfiguration',
  /** Ready=False: the provider could not be reached or refused the credentials; rechecked at a backoff (30 s doubling, capped at spec.refreshInterval and 5 min) — a grant made later heals it. */
  ValidationFailed: 'ValidationFailed',
  /** Ready=Unknown: the provider cannot tell whether the configuration works (it has no cheap check). */
  ValidationUnknown: 'ValidationUnknown',
  /** Ready=False: spec.provider names a provider this version of secret-relay does not include. */
  ProviderNotAvailable: 'ProviderNotAvailable',
  /** Ready=False: the store refers to a namespace it may not use (a SecretStore reading a Secret outside its own namespace). */
  NamespaceNotAllowed: 'NamespaceNotAllowed',
  /** Ready=False: the store would act as the operator's own identity, which --operator-identity does not allow for it. */
  OperatorIdentityNotAllowed: 'OperatorIdentityNotAllowed',
  /** Ready=False: a SecretStore overrides an endpoint with a host not on the operator's --trusted-endpoint-hosts. */
  EndpointNotAllowed: 'EndpointNotAllowed',
  /** Ready=False: plain http to a host other than loopback (credentials in clear text) without --allow-insecure-http. */
  InsecureEndpoint: 'InsecureEndpoint',
  /** Ready=False: the store names a file of the operator's pod it may not (only ClusterSecretStores, only --operator-token-files). */
  OperatorFileNotAllowed: 'OperatorFileNotAllowed',
} as const;
export type StoreReasonName = (typeof StoreReason)[keyof typeof StoreReason];

/** Reasons of a ClusterExternalSecret's Ready condition. */
export const ClusterExternalSecretReason = {
  /** Ready=True: every selected namespace holds the ExternalSecret as specified (or none is selected). */
  Provisioned: 'Provisioned',
  /** Ready=False: some selected namespaces could not get it (status.failedNamespaces says which and why). */
  PartiallyProvisioned: 'PartiallyProvisioned',
  /** Ready=False: no selected namespace could get it. */
  NotProvisioned: 'NotProvisioned',
  /** Ready=False: the object passed the CRD's validation but cannot be served (written under an older CRD). */
  InvalidSpec: 'InvalidSpec',
} as const;
export type ClusterExternalSecretReasonName = (typeof ClusterExternalSecretReason)[keyof typeof ClusterExternalSecretReason];

/** Reasons of a PushSecret's Ready condition (and its Events). */
export const PushSecretReason = {
  /** Ready=True: every destination holds what the source holds (or, under IfNotExists, already existed). */
  Synced: 'Synced',
  /** Ready=False: reading the source or writing a destination failed; retried with backoff. */
  Errored: 'Errored',
  /** Ready=False: a remote secret exists that secret-relay did not create (no mark naming this PushSecret); it is left untouched. Opt in to adopting it with the secret-relay.dev/adopt annotation. */
  RemoteExistsNotOwned: 'RemoteExistsNotOwned',
  /** Ready=False: the source Secret (or generator) does not exist. */
  SourceMissing: 'SourceMissing',
  /** Ready=False: a store named is missing, not ready, or does not admit this namespace. */
  StoreNotReady: 'StoreNotReady',
  /** Ready=False: the store's provider cannot write (no push support). */
  PushNotSupported: 'PushNotSupported',
  /** Ready=False: the spec passed the CRD's validation but cannot be served; fix it. */
  InvalidSpec: 'InvalidSpec',
  /** Event: a remote secret was created, updated, or deleted. */
  Pushed: 'Pushed',
  RemoteDeleted: 'RemoteDeleted',
} as const;
export type PushSecretReasonName = (typeof PushSecretReason)[keyof typeof PushSecretReason];

/** On a PushSecret or ExternalSecret: a new value asks for generated values (Password, SSHKey, UUID) to be generated anew. */
export const ROTATE_ANNOTATION = 'secret-relay.dev/rotate';
/** On a Secret holding generated values: the secret-relay.dev/rotate value they answer (the last rotation acted on). */
export const ROTATED_ANNOTATION = 'secret-relay.dev/rotated';

/** Reasons of the Events recorded on an ExternalSecret (Warning for UpdateFailed); never carry a value. */
export const EventReason = {
  Created: 'Created',
  Updated: 'Updated',
  Deleted: 'Deleted',
  UpdateFailed: 'UpdateFailed',
  /** On the ExternalSecret and each workload: a rollout was started because the Secret's data changed (docs/rollouts.md). */
  RolledOut: 'RolledOut',
  /** On the ExternalSecret and the workload: a consumer left alone on purpose (a whole-volume mount under Auto). */
  RolloutSkipped: 'RolloutSkipped',
  /** Warning on the ExternalSecret: a rollout could not be done (a target missing, no permission, a patch refused). */
  RolloutFailed: 'RolloutFailed',
  /** Warning: the target Secret exists and is not ours; nothing was written (Ready=False SecretExistsNotOwned). */
  SecretExistsNotOwned: 'SecretExistsNotOwned',
  /** Normal: an existing Secret was taken over on the secret-relay.dev/adopt opt-in. */
  Adopted: 'Adopted',
  /** Warning on a store: its change feed cannot connect or lost its subscription; refreshes fall back to refreshInterval (docs/change-feeds.md). */
  ChangeFeedDisconnected: 'ChangeFeedDisconnected',
  /** Normal on a store: its change feed is subscribed (again). */
  ChangeFeedConnected: 'ChangeFeedConnected',
} as const;
export type EventReasonName = (typeof EventReason)[keyof typeof EventReason];
