// Applying YAML manifests (CRDs, examples) with server-side apply — for the demo, as `kubectl apply
// --server-side` would. Each object's resource (plural, namespaced or not) comes from the apiserver's discovery
// document of its group version, read once per group version.
import { parseAllDocuments } from 'yaml';
import type { KubeRequester } from './kube-client.ts';
import { getObject, patchObject, PatchType } from './resources.ts';

export interface AppliedObject {
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string;
}

interface ManifestObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

interface ApiResourceList {
  resources?: Array<{ name: string; kind: string; namespaced: boolean }>;
}

export async function applyManifests(kube: KubeRequester, yamlText: string, fieldManager: string): Promise<AppliedObject[]> {
  const objects = parseAllDocuments(yamlText)
    .map((doc) => doc.toJS() as unknown)
    .filter((o): o is ManifestObject => !!o && typeof o === 'object');
  const discovery = new Map<string, Promise<ApiResourceList>>();
  const applied: AppliedObject[] = [];
  for (const object of objects) {
    const apiVersion = object.apiVersion ?? '';
    const kind = object.kind ?? '';
    const name = object.metadata?.name ?? '';
    if (!apiVersion || !kind || !name) throw new Error(`a manifest object needs apiVersion, kind and metadata.name (got ${apiVersion || '?'} ${kind || '?'} ${name || '?'})`);
    const [group, version] = apiVersion.includes('/') ? (apiVersion.split('/', 2) as [string, string]) : ['', apiVersion];
    if (!discovery.has(apiVersion)) discovery.set(apiVersion, kube.request<ApiResourceList>({ method: 'GET', path: group === '' ? `/api/${version}` : `/apis/${group}/${version}` }));
    const resource = (await discovery.get(apiVersion)!).resources?.find((r) => r.kind === kind && !r.name.includes('/'));
    if (!resource) throw new Error(`the apiserver serves no ${kind} in ${apiVersion} (is its CRD installed?)`);
    const namespace = resource.namespaced ? (object.metadata?.namespace ?? 'default') : undefined;
    await patchObject(kube, { group, version, plural: resource.name, namespace, name }, PatchType.Apply, object, { fieldManager, force: true });
    applied.push({ kind, namespace, name });
  }
  return applied;
}

/** Waits until every CustomResourceDefinition named is Established (served). */
export async function waitForCrdsEstablished(kube: KubeRequester, names: readonly string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await getObject<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(kube, { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', name });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CustomResourceDefinition ${name} is not Established after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
