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

export function getObject<T>(kube: KubeRequester, at: ResourceLocation, query?: Readonly<Record<string, QueryValue>>, signal?: AbortSignal): Promise<T> {
  return kube.request<T>({ method: 'GET', path: resourcePath(at), query, signal });
}

export function listObjects<T>(kube: KubeRequester, at: ResourceLocation, query?: Readonly<Record<string, QueryValue>>, signal?: AbortSignal): Promise<T> {
  return kube.request<T>({ method: 'GET', path: resourcePath(at), query, signal });
}

/** client-go's reflector lists in pages of this many objects. */
export const LIST_PAGE_SIZE = 500;

interface ListLike {
  items?: unknown[];
  metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
}

/**
 * A whole collection, listed in pages of `pageSize` (`limit`, then `continue` until the server gives none) as
 * client-go's reflector lists through its pager: the apiserver serves each page from one snapshot, so the
 * result is the list at the first page's resourceVersion, and no single response holds every object (at 10,000
 * Secrets one list costs 53–73 MiB of peak RSS against 31–38 MiB in pages of 500). A continue token that expired
 * (410: the snapshot was compacted away between pages) falls back to one full list, as client-go's pager does
 * (FullListIfExpired); a 410 on the first page is the caller's to handle.
 */
export async function listAllPages<T extends ListLike>(
  kube: KubeRequester,
  at: ResourceLocation,
  query: Readonly<Record<string, QueryValue>> = {},
  pageSize = LIST_PAGE_SIZE,
  signal?: AbortSignal,
): Promise<T> {
  let list: T | undefined;
  let token: string | undefined;
  do {
    let page: T;
    try {
      page = await listObjects<T>(kube, at, { ...query, limit: pageSize, continue: token }, signal);
    } catch (err) {
      if (token === undefined || (err as { code?: unknown }).code !== 410) throw err;
      return listObjects<T>(kube, at, query, signal);
    }
    token = page.metadata?.continue || undefined;
    if (!list) list = page;
    else list.items = (list.items ?? []).concat(page.items ?? []);
  } while (token !== undefined);
  if (list.metadata) {
    delete list.metadata.continue;
    delete list.metadata.remainingItemCount;
  }
  return list;
}

export function createObject<T>(kube: KubeRequester, at: ResourceLocation, body: unknown, signal?: AbortSignal): Promise<T> {
  return kube.request<T>({ method: 'POST', path: resourcePath(at), body, signal });
}

export function replaceObject<T>(kube: KubeRequester, at: ResourceLocation, body: unknown, signal?: AbortSignal): Promise<T> {
  return kube.request<T>({ method: 'PUT', path: resourcePath(at), body, signal });
}

export interface PatchOptions {
  readonly fieldManager?: string | undefined;
  /** Server-side apply only: take over fields other managers own. */
  readonly force?: boolean | undefined;
  /** Ends the request and its retries. */
  readonly signal?: AbortSignal | undefined;
}

export function patchObject<T>(kube: KubeRequester, at: ResourceLocation, type: PatchType, body: unknown, options: PatchOptions = {}): Promise<T> {
  const request = { method: 'PATCH', path: resourcePath(at), contentType: type, body, query: { fieldManager: options.fieldManager, force: options.force } } as const;
  return kube.request<T>(options.signal ? { ...request, signal: options.signal } : request);
}

export function deleteObject<T>(kube: KubeRequester, at: ResourceLocation, body?: unknown, signal?: AbortSignal): Promise<T> {
  return kube.request<T>({ method: 'DELETE', path: resourcePath(at), body, signal });
}

/** A MicroTime as the apiserver wants it: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
