// Adding and removing one finalizer of a custom object of ours: read, change the list, merge-patch it with the
// resourceVersion read (so a concurrent edit of the list is never overwritten), retry on conflict.
import * as k8s from '@kubernetes/client-node';
import type { KubeClient } from './kube-client.ts';
import { apiErrorCode } from './kube-client.ts';

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

export function createFinalizerEditor(kube: KubeClient, resource: CustomObjectRef): FinalizerEditor {
  const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  const edit = async (namespace: string, name: string, change: (list: readonly string[]) => string[] | undefined): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      let current: { metadata?: { finalizers?: string[]; resourceVersion?: string } };
      try {
        current = (await kube.custom.getNamespacedCustomObject({ ...resource, namespace, name })) as typeof current;
      } catch (err) {
        if (apiErrorCode(err) === 404) return;
        throw err;
      }
      const next = change(current.metadata?.finalizers ?? []);
      if (next === undefined) return;
      try {
        await kube.custom.patchNamespacedCustomObject(
          { ...resource, namespace, name, body: { metadata: { finalizers: next, resourceVersion: current.metadata?.resourceVersion } } },
          mergePatch,
        );
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
