// Writes and reads of Secrets: server-side apply under a per-ExternalSecret field manager, so each
// ExternalSecret owns exactly the keys it wrote, and removing a key from the spec removes it from the Secret.
import * as k8s from '@kubernetes/client-node';
import type { KubeClient } from './kube-client.ts';
import { apiErrorCode } from './kube-client.ts';

export const FIELD_MANAGER_PREFIX = 'secret-relay.dev/';

export function fieldManagerFor(externalSecretName: string): string {
  // Field managers are limited to 128 characters.
  return `${FIELD_MANAGER_PREFIX}${externalSecretName}`.slice(0, 128);
}

export interface SecretWriter {
  /** Applies the body; returns the resulting resourceVersion. */
  apply(body: { metadata: { name: string; namespace: string } }, fieldManager: string): Promise<k8s.V1Secret>;
  delete(namespace: string, name: string, precondition?: { uid: string }): Promise<'deleted' | 'absent'>;
  /** A direct read, for Secrets our managed-only cache cannot see (Merge targets before first sync). */
  read(namespace: string, name: string): Promise<k8s.V1Secret | undefined>;
}

export function createSecretWriter(kube: KubeClient): SecretWriter {
  const applyOptions = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
  return {
    async apply(body, fieldManager) {
      return kube.core.patchNamespacedSecret(
        { name: body.metadata.name, namespace: body.metadata.namespace, body, fieldManager, force: true },
        applyOptions,
      );
    },
    async delete(namespace, name, precondition) {
      try {
        await kube.core.deleteNamespacedSecret({
          name,
          namespace,
          ...(precondition ? { body: { preconditions: { uid: precondition.uid } } } : {}),
        });
        return 'deleted';
      } catch (err) {
        if (apiErrorCode(err) === 404) return 'absent';
        throw err;
      }
    },
    async read(namespace, name) {
      try {
        return await kube.core.readNamespacedSecret({ name, namespace });
      } catch (err) {
        if (apiErrorCode(err) === 404) return undefined;
        throw err;
      }
    },
  };
}
