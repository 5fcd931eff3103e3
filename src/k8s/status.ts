// Status writes for our custom resources: one merge patch on the status subresource per reconcile.
import type { KubeRequester } from './kube-client.ts';
import { apiErrorCode } from './kube-client.ts';
import { patchObject, PatchType } from './resources.ts';

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

export function createStatusWriter(kube: KubeRequester): StatusWriter {
  return {
    async patch(ref, status) {
      const body = { status };
      try {
        await patchObject(kube, { ...ref, subresource: 'status' }, PatchType.Merge, body);
        return 'patched';
      } catch (err) {
        if (apiErrorCode(err) === 404) return 'absent';
        throw err;
      }
    },
  };
}
