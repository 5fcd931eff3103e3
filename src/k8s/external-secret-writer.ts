// Writes of ExternalSecrets made by a ClusterExternalSecret (and of PushSecrets made by a ClusterPushSecret): server-side apply under one field manager, and
// deletes guarded by the uid we saw (so a same-named ExternalSecret created meanwhile is never deleted).
import { API_GROUP, API_VERSION, Plural } from '../api/meta.ts';
import type { KubeRequester } from './kube-client.ts';
import { apiErrorCode } from './kube-client.ts';
import { deleteObject, patchObject, PatchType } from './resources.ts';

export interface ExternalSecretWriter {
  /**
   * Applies the body. `force` false: a field another manager owns (an ExternalSecret someone else wrote) makes the
   * apiserver refuse with 409 instead of taking it over.
   */
  apply(body: { metadata: { name: string; namespace: string } }, fieldManager: string, force: boolean): Promise<void>;
  delete(namespace: string, name: string, precondition: { uid: string }): Promise<'deleted' | 'absent'>;
}

export function createExternalSecretWriter(kube: KubeRequester, plural: string = Plural.ExternalSecret): ExternalSecretWriter {
  const where = { group: API_GROUP, version: API_VERSION, plural } as const;
  return {
    async apply(body, fieldManager, force) {
      await patchObject(kube, { ...where, namespace: body.metadata.namespace, name: body.metadata.name }, PatchType.Apply, body, { fieldManager, force });
    },
    async delete(namespace, name, precondition) {
      try {
        await deleteObject(kube, { ...where, namespace, name }, { preconditions: { uid: precondition.uid } });
        return 'deleted';
      } catch (err) {
        const code = apiErrorCode(err);
        // 409: the uid precondition failed — it is another object now, not ours to delete.
        if (code === 404 || code === 409) return 'absent';
        throw err;
      }
    },
  };
}
