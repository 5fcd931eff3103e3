// Addressing the apiserver's REST paths, and the wire forms its requests need. Plain functions over
// KubeRequester (./kube-client.ts): each src/k8s file says which object it reads or writes and how.
import type { KubeRequester, QueryValue } from './kube-client.ts';

/** The Content-Type of each kind of PATCH the apiserver accepts. */
export const PatchType = {
  Merge: 'application/merge-patch+json',
  Json: 'application/json-patch+json',
  /** Server-side apply; the body may be JSON (a subset of YAML). */
  Apply: 'application/apply-patch+yaml',
} as const;
export type PatchType = (typeof PatchType)[keyof typeof PatchType];

export interface ResourceLocation {
  /** '' for the core group (/api/v1). */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
  readonly subresource?: string | undefined;
}

/** `/api/v1/namespaces/ns/secrets/name`, `/apis/group/version/plural/name/status` … Names are path-escaped. */
export function resourcePath(at: ResourceLocation): string {
  let path = at.group === '' ? `/api/${at.version}` : `/apis/${at.group}/${at.version}`;
  if (at.namespace) path += `/namespaces/${encodeURIComponent(at.namespace)}`;
  path += `/${at.plural}`;
  if (at.name !== undefined) path += `/${encodeURIComponent(at.name)}`;
  if (at.subresource) path += `/${at.subresource}`;
  return path;
}

export const core = (plural: string, namespace?: string, name?: string, subresource?: string): ResourceLocation => ({ group: '', version: 'v1', plural, namespace, name, subresource });

export function getObject<T>(kube: KubeRequester, at: ResourceLocation, query?: Readonly<Record<string, QueryValue>>): Promise<T> {
  return kube.request<T>({ method: 'GET', path: resourcePath(at), query });
}

export function listObjects<T>(kube: KubeRequester, at: ResourceLocation, query?: Readonly<Record<string, QueryValue>>): Promise<T> {
  return kube.request<T>({ method: 'GET', path: resourcePath(at), query });
}

export function createObject<T>(kube: KubeRequester, at: ResourceLocation, body: unknown): Promise<T> {
  return kube.request<T>({ method: 'POST', path: resourcePath(at), body });
}

export function replaceObject<T>(kube: KubeRequester, at: ResourceLocation, body: unknown): Promise<T> {
  return kube.request<T>({ method: 'PUT', path: resourcePath(at), body });
}

export interface PatchOptions {
  readonly fieldManager?: string | undefined;
  /** Server-side apply only: take over fields other managers own. */
  readonly force?: boolean | undefined;
}

export function patchObject<T>(kube: KubeRequester, at: ResourceLocation, type: PatchType, body: unknown, options: PatchOptions = {}): Promise<T> {
  return kube.request<T>({ method: 'PATCH', path: resourcePath(at), contentType: type, body, query: { fieldManager: options.fieldManager, force: options.force } });
}

export function deleteObject<T>(kube: KubeRequester, at: ResourceLocation, body?: unknown): Promise<T> {
  return kube.request<T>({ method: 'DELETE', path: resourcePath(at), body });
}

/** A MicroTime as the apiserver wants it: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
