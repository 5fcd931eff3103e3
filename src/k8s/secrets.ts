// Writes and reads of Secrets: server-side apply under a per-ExternalSecret field manager, so each
// ExternalSecret owns exactly the keys it wrote, and removing a key from the spec removes it from the Secret.
import type * as k8s from '@kubernetes/client-node';
import type { KubeRequester } from './kube-client.ts';
import { apiErrorCode } from './kube-client.ts';
import { core, deleteObject, getObject, patchObject, PatchType } from './resources.ts';

export const FIELD_MANAGER_PREFIX = 'secret-relay.dev/';

export function fieldManagerFor(externalSecretName: string): string {
  // Field managers are limited to 128 characters.
  return `${FIELD_MANAGER_PREFIX}${externalSecretName}`.slice(0, 128);
}

/**
 * An apply whose body carries a resourceVersion is refused with 409 when the object exists at another version, and
 * creates it when absent (measured against kube-apiserver 1.36: absent → created, present → 409). No Secret is ever
 * at version 1 (etcd's first revision is spent when the cluster bootstraps), so this one makes an apply create-only.
 */
const CREATE_ONLY_RESOURCE_VERSION = '1';

export interface SecretWriter {
  /** Applies the body; returns the resulting resourceVersion. */
  apply(body: { metadata: { name: string; namespace: string } }, fieldManager: string): Promise<k8s.V1Secret>;
  /**
   * The same apply, but only if no Secret of that name exists: 'exists' (nothing written) otherwise. One call
   * where a read and an apply would be two, for a target the managed-Secret cache does not hold.
   */
  applyIfAbsent(body: { metadata: { name: string; namespace: string } }, fieldManager: string): Promise<'created' | 'exists'>;
  delete(namespace: string, name: string, precondition?: { uid: string }): Promise<'deleted' | 'absent'>;
  /** A direct read, for Secrets our managed-only cache cannot see (a target not (yet) labelled as ours). */
  read(namespace: string, name: string): Promise<k8s.V1Secret | undefined>;
  /**
   * The first half of an adoption: replaces the ownerReferences and removes data keys, only if the Secret is
   * still at `resourceVersion` (409 otherwise). The apply that follows takes the remaining fields over.
   */
  releaseForAdoption(
    target: { namespace: string; name: string; resourceVersion: string },
    change: { ownerReferences: readonly k8s.V1OwnerReference[]; removedKeys: readonly string[]; managedFields: readonly object[] },
    fieldManager: string,
  ): Promise<k8s.V1Secret>;
}

export function createSecretWriter(kube: KubeRequester): SecretWriter {
  const secret = (namespace: string, name: string) => core('secrets', namespace, name);
  return {
    async apply(body, fieldManager) {
      return patchObject<k8s.V1Secret>(kube, secret(body.metadata.namespace, body.metadata.name), PatchType.Apply, body, { fieldManager, force: true });
    },
    async applyIfAbsent(body, fieldManager) {
      const guarded = { ...body, metadata: { ...body.metadata, resourceVersion: CREATE_ONLY_RESOURCE_VERSION } };
      try {
        await patchObject(kube, secret(body.metadata.namespace, body.metadata.name), PatchType.Apply, guarded, { fieldManager, force: true });
        return 'created';
      } catch (err) {
        if (apiErrorCode(err) === 409) return 'exists';
        throw err;
      }
    },
    async delete(namespace, name, precondition) {
      try {
        await deleteObject(kube, secret(namespace, name), precondition ? { preconditions: { uid: precondition.uid } } : undefined);
        return 'deleted';
      } catch (err) {
        if (apiErrorCode(err) === 404) return 'absent';
        throw err;
      }
    },
    async releaseForAdoption(target, change, fieldManager) {
      const body = {
        // A JSON merge patch carrying resourceVersion is refused with 409 when the Secret changed since we read it.
        // managedFields given in a patch replace the recorded ones: how other managers' claims are released.
        // An empty list would be ignored (the apiserver keeps the live entries); [{}] clears them.
        metadata: {
          resourceVersion: target.resourceVersion,
          ownerReferences: change.ownerReferences,
          managedFields: change.managedFields.length > 0 ? change.managedFields : [{}],
        },
        ...(change.removedKeys.length > 0 ? { data: Object.fromEntries(change.removedKeys.map((key) => [key, null])) } : {}),
      };
      return patchObject<k8s.V1Secret>(kube, secret(target.namespace, target.name), PatchType.Merge, body, { fieldManager });
    },
    async read(namespace, name) {
      try {
        return await getObject<k8s.V1Secret>(kube, secret(namespace, name));
      } catch (err) {
        if (apiErrorCode(err) === 404) return undefined;
        throw err;
      }
    },
  };
}
