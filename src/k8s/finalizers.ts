// Adding and removing one finalizer of a custom object of ours: read, change the list, merge-patch it with the
// resourceVersion read (so a concurrent edit of the list is never overwritten), retry on conflict.
import type { KubeRequester } from './kube-client.ts';
import { apiErrorCode } from './kube-client.ts';
import { getObject, patchObject, PatchType } from './resources.ts';

export interface CustomObjectRef {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}

export interface FinalizerEditor {
  add(namespace: string, name: string, finalizer: string): Promise<void>;
  remove(namespace: string, name: string, finalizer: string): Promise<void>;
}

const MAX_CONFLICTS = 5;

export function createFinalizerEditor(kube: KubeRequester, resource: CustomObjectRef): FinalizerEditor {
  const edit = async (namespace: string, name: string, change: (list: readonly string[]) => string[] | undefined): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      let current: { metadata?: { finalizers?: string[]; resourceVersion?: string } };
      try {
        current = await getObject<typeof current>(kube, { ...resource, namespace, name });
      } catch (err) {
        if (apiErrorCode(err) === 404) return;
        throw err;
      }
      const next = change(current.metadata?.finalizers ?? []);
      if (next === undefined) return;
      try {
        await patchObject(kube, { ...resource, namespace, name }, PatchType.Merge, { metadata: { finalizers: next, resourceVersion: current.metadata?.resourceVersion } });
        return;
      } catch (err) {
        const code = apiErrorCode(err);
        if (code === 404) return;
        if (code === 409 && attempt < MAX_CONFLICTS) continue;
        throw err;
      }
    }
  };
  return {
    add: (namespace, name, finalizer) => edit(namespace, name, (list) => (list.includes(finalizer) ? undefined : [...list, finalizer])),
    remove: (namespace, name, finalizer) => edit(namespace, name, (list) => (list.includes(finalizer) ? list.filter((f) => f !== finalizer) : undefined)),
  };
}
