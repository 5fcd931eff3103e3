// The kinds the operator's controllers cache. A descriptor is plain data: a controller that needs another kind
// (Deployments, ClusterExternalSecrets …) may declare it in its own folder and ask the manager for its informer.
// Any resource, of any API group, is listed and watched the same way (listKind, kindPath in informer.ts).
import type { V1Namespace, V1Secret } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, MANAGED_LABEL, Plural } from '../api/meta.ts';
import type { KindDescriptor, KubernetesObject, RawCustomObject } from './informer.ts';

export type { KindDescriptor, RawCustomObject, KubernetesObject, V1Namespace, V1Secret };

const ours = (kind: string, plural: string, namespaced: boolean): KindDescriptor<RawCustomObject> => ({ kind, group: API_GROUP, version: API_VERSION, plural, namespaced });

export const ExternalSecretKind = ours('ExternalSecret', Plural.ExternalSecret, true);
export const SecretStoreKind = ours('SecretStore', Plural.SecretStore, true);
export const ClusterSecretStoreKind = ours('ClusterSecretStore', Plural.ClusterSecretStore, false);

export const MANAGED_SECRET_SELECTOR = `${MANAGED_LABEL}=true`;

/** Only Secrets labelled secret-relay.dev/managed=true, so memory does not grow with unrelated Secrets. */
export const ManagedSecretKind: KindDescriptor<V1Secret> = { kind: 'Secret', group: '', version: 'v1', plural: 'secrets', namespaced: true, labelSelector: MANAGED_SECRET_SELECTOR };

/** All Namespaces (cluster-scoped: watched whatever --watch-namespaces says), for ClusterSecretStore conditions. */
export const NamespaceKind: KindDescriptor<V1Namespace> = { kind: 'Namespace', group: '', version: 'v1', plural: 'namespaces', namespaced: false };
