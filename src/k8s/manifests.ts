// Applying YAML manifests (CRDs, examples) with server-side apply — for the demo and tests, as `kubectl apply
// --server-side` would. loadAllYaml keeps the typed model's field names (a plain YAML parse would lose
// `default`, `enum` and `x-kubernetes-validations` of CRDs on the way through the typed client).
import * as k8s from '@kubernetes/client-node';
import type { KubeClient } from './kube-client.ts';

export interface AppliedObject {
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string;
}

export async function applyManifests(kube: KubeClient, yamlText: string, fieldManager: string): Promise<AppliedObject[]> {
  const objects = k8s.loadAllYaml(yamlText).filter((o): o is k8s.KubernetesObject => !!o && typeof o === 'object');
  const client = k8s.KubernetesObjectApi.makeApiClient(kube.config);
  const applied: AppliedObject[] = [];
  for (const object of objects) {
    await client.patch(object, undefined, undefined, fieldManager, true, k8s.PatchStrategy.ServerSideApply);
    applied.push({ kind: object.kind ?? '?', namespace: object.metadata?.namespace, name: object.metadata?.name ?? '?' });
  }
  return applied;
}

/** Waits until every CustomResourceDefinition named is Established (served). */
export async function waitForCrdsEstablished(kube: KubeClient, names: readonly string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await kube.apiextensions.readCustomResourceDefinition({ name });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CustomResourceDefinition ${name} is not Established after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
