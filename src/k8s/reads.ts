// Direct reads the controllers make (not cached): one object, or undefined when it does not exist.
import type * as k8s from '@kubernetes/client-node';
import type { KubeRequester } from './kube-client.ts';
import { apiErrorCode } from './kube-client.ts';
import { core, getObject, type ResourceLocation } from './resources.ts';

async function readOrUndefined<T>(kube: KubeRequester, at: ResourceLocation): Promise<T | undefined> {
  try {
    return await getObject<T>(kube, at);
  } catch (err) {
    if (apiErrorCode(err) === 404) return undefined;
    throw err;
  }
}

/** A ConfigMap's data (text keys), or undefined when it does not exist. */
export async function readConfigMapData(kube: KubeRequester, namespace: string, name: string): Promise<Record<string, string> | undefined> {
  const configMap = await readOrUndefined<k8s.V1ConfigMap>(kube, core('configmaps', namespace, name));
  return configMap ? (configMap.data ?? {}) : undefined;
}

/** A custom object, or undefined when it does not exist. */
export function readCustomObject(kube: KubeRequester, at: { group: string; version: string; plural: string; namespace: string; name: string }): Promise<unknown> {
  return readOrUndefined<unknown>(kube, at);
}
