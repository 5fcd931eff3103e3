// Status writes for our custom resources: one merge patch on the status subresource per reconcile.
import * as k8s from '@kubernetes/client-node';
import type { KubeClient } from './kube-client.ts';
import { apiErrorCode } from './kube-client.ts';

export interface ResourceRef {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespace?: string | undefined;
  readonly name: string;
}

export interface StatusWriter {
  /** Merge-patches .status; a vanished object is not an error (it was deleted meanwhile). */
  patch(ref: ResourceRef, status: Record<string, unknown>): Promise<'patched' | 'absent'>;
}

export function createStatusWriter(kube: KubeClient): StatusWriter {
  const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  return {
    async patch(ref, status) {
      const body = { status };
      try {
        if (ref.namespace) {
          await kube.custom.patchNamespacedCustomObjectStatus(
            { group: ref.group, version: ref.version, namespace: ref.namespace, plural: ref.plural, name: ref.name, body },
            mergePatch,
          );
        } else {
          await kube.custom.patchClusterCustomObjectStatus(
            { group: ref.group, version: ref.version, plural: ref.plural, name: ref.name, body },
            mergePatch,
          );
        }
        return 'patched';
      } catch (err) {
        if (apiErrorCode(err) === 404) return 'absent';
        throw err;
      }
    },
  };
}
