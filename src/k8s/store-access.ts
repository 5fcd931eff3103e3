// The narrow slice of the cluster a provider sees while authenticating: one Secret or ConfigMap key, one
// ServiceAccount's annotations and token. A SecretStore may only reach into its own namespace; that rule lives here, not in each provider.
import type * as k8s from '@kubernetes/client-node';
import type { KubeRequester } from './kube-client.ts';
import { apiErrorCode } from './kube-client.ts';
import { core, createObject, getObject } from './resources.ts';
import type { StoreKubeAccess } from '../providers/provider.ts';
import { TerminalError } from '../providers/provider.ts';

export interface StoreAccessScope {
  /** undefined = any namespace (ClusterSecretStore); otherwise the only namespace allowed. */
  readonly onlyNamespace: string | undefined;
  readonly storeDescription: string; // e.g. 'SecretStore team-a/vault'
}

export function createStoreKubeAccess(kube: KubeRequester, scope: StoreAccessScope): StoreKubeAccess {
  const checkNamespace = (namespace: string, what: string) => {
    if (scope.onlyNamespace !== undefined && namespace !== scope.onlyNamespace) {
      throw new TerminalError(
        `${scope.storeDescription} may not use ${what} in namespace ${namespace}: a SecretStore only reaches its own namespace (${scope.onlyNamespace}); use a ClusterSecretStore to cross namespaces`,
      );
    }
  };
  return {
    async readSecretKey(ref) {
      checkNamespace(ref.namespace, `Secret ${ref.name}`);
      let secret;
      try {
        secret = await getObject<k8s.V1Secret>(kube, core('secrets', ref.namespace, ref.name));
      } catch (err) {
        const code = apiErrorCode(err);
        if (code === 404) throw new TerminalError(`Secret ${ref.namespace}/${ref.name} referenced by ${scope.storeDescription} does not exist`);
        if (code === 403) throw new TerminalError(`secret-relay may not read Secret ${ref.namespace}/${ref.name} referenced by ${scope.storeDescription} (RBAC)`);
        throw err;
      }
      const encoded = secret.data?.[ref.key];
      if (encoded === undefined) {
        throw new TerminalError(`Secret ${ref.namespace}/${ref.name} referenced by ${scope.storeDescription} has no key ${ref.key}`);
      }
      return Buffer.from(encoded, 'base64');
    },
    async readConfigMapKey(ref) {
      checkNamespace(ref.namespace, `ConfigMap ${ref.name}`);
      let configMap;
      try {
        configMap = await getObject<k8s.V1ConfigMap>(kube, core('configmaps', ref.namespace, ref.name));
      } catch (err) {
        const code = apiErrorCode(err);
        if (code === 404) throw new TerminalError(`ConfigMap ${ref.namespace}/${ref.name} referenced by ${scope.storeDescription} does not exist`);
        if (code === 403) throw new TerminalError(`secret-relay may not read ConfigMap ${ref.namespace}/${ref.name} referenced by ${scope.storeDescription} (RBAC: configmaps get)`);
        throw err;
      }
      const text = configMap.data?.[ref.key];
      if (text !== undefined) return text;
      const binary = configMap.binaryData?.[ref.key];
      if (binary !== undefined) return Buffer.from(binary, 'base64').toString('utf8');
      throw new TerminalError(`ConfigMap ${ref.namespace}/${ref.name} referenced by ${scope.storeDescription} has no key ${ref.key}`);
    },
    async readServiceAccountAnnotations(ref) {
      checkNamespace(ref.namespace, `ServiceAccount ${ref.name}`);
      try {
        const account = await getObject<k8s.V1ServiceAccount>(kube, core('serviceaccounts', ref.namespace, ref.name));
        return { ...(account.metadata?.annotations ?? {}) };
      } catch (err) {
        const code = apiErrorCode(err);
        if (code === 404) throw new TerminalError(`ServiceAccount ${ref.namespace}/${ref.name} referenced by ${scope.storeDescription} does not exist`);
        if (code === 403) throw new TerminalError(`secret-relay may not read ServiceAccount ${ref.namespace}/${ref.name} referenced by ${scope.storeDescription} (RBAC: serviceaccounts get)`);
        throw err;
      }
    },
    async createServiceAccountToken(ref) {
      checkNamespace(ref.namespace, `ServiceAccount ${ref.name}`);
      try {
        const result = await createObject<{ status?: { token?: string; expirationTimestamp?: string } }>(kube, core('serviceaccounts', ref.namespace, ref.name, 'token'), {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { audiences: [...ref.audiences], expirationSeconds: ref.expirationSeconds ?? 600 },
        });
        const token = result.status?.token;
        const expiresAt = result.status?.expirationTimestamp ? new Date(result.status.expirationTimestamp).getTime() : NaN;
        if (!token || Number.isNaN(expiresAt)) throw new Error(`TokenRequest for ServiceAccount ${ref.namespace}/${ref.name} returned no token`);
        return { token, expiresAt };
      } catch (err) {
        const code = apiErrorCode(err);
        if (code === 404) throw new TerminalError(`ServiceAccount ${ref.namespace}/${ref.name} referenced by ${scope.storeDescription} does not exist`);
        if (code === 403) throw new TerminalError(`secret-relay may not create tokens for ServiceAccount ${ref.namespace}/${ref.name} (RBAC: serviceaccounts/token create)`);
        throw err;
      }
    },
  };
}
