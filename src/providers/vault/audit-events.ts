// Which remote keys a Vault / OpenBao audit entry names, for the vault change feed. Pure. Audit entries carry
// HMACs, not values (the audit device's default), and only the request's path, mount and operation are read here:
// a successful write, patch, delete, undelete, destroy or metadata change of a KV secret.

/** The parts of an audit entry the feed uses. */
export interface KvChange {
  /** The request id (the same in the request and response entries). */
  readonly id: string;
  readonly time: number | undefined;
  /** The Vault namespace's path without slashes at either end; '' for the root namespace. */
  readonly namespace: string;
  /** The mount without its trailing slash, e.g. secret. */
  readonly mount: string;
  /** The request path inside the mount, e.g. data/app. */
  readonly rest: string;
  readonly operation: string;
}

const CHANGING = new Set(['create', 'update', 'delete', 'patch']);
const V2_PREFIXES = ['data/', 'metadata/', 'delete/', 'undelete/', 'destroy/'];
const trim = (s: string) => s.replace(/^\/+|\/+$/g, '');

type Json = Record<string, unknown>;
const object = (v: unknown): Json | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);

/** A KV change from one audit log line, or undefined (a request entry, a read, a failure, another engine). Pure. */
export function kvChangeFromAuditLine(line: string): KvChange | undefined {
  let entry: Json | undefined;
  try {
    entry = object(JSON.parse(line));
  } catch {
    return undefined;
  }
  // The response entry: the change happened (a request entry may still be refused).
  if (!entry || entry['type'] !== 'response' || entry['error'] !== undefined) return undefined;
  const request = object(entry['request']);
  const response = object(entry['response']);
  const operation = request?.['operation'];
  const path = request?.['path'];
  const mountPoint = request?.['mount_point'] ?? response?.['mount_point'];
  const mountType = request?.['mount_type'] ?? response?.['mount_type'];
  const id = request?.['id'];
  if (typeof operation !== 'string' || !CHANGING.has(operation) || typeof path !== 'string' || typeof mountPoint !== 'string' || typeof id !== 'string') return undefined;
  if (mountType !== 'kv') return undefined;
  const mount = trim(mountPoint);
  if (!path.startsWith(`${mount}/`)) return undefined;
  const namespace = object(request?.['namespace'])?.['path'];
  const time = typeof entry['time'] === 'string' ? Date.parse(entry['time']) : NaN;
  return { id, time: Number.isFinite(time) ? time : undefined, namespace: typeof namespace === 'string' ? trim(namespace) : '', mount, rest: path.slice(mount.length + 1), operation };
}

/** The keys a store (its mount, KV version and namespace) would name the changed secret by; [] when not its. Pure. */
export function keysForStore(change: KvChange, store: { readonly mount?: string | undefined; readonly version: 'v1' | 'v2'; readonly namespace?: string | undefined }): string[] {
  if (trim(store.namespace ?? '') !== change.namespace) return [];
  if (store.mount !== undefined && trim(store.mount) !== change.mount) return [];
  let inner: string | undefined;
  if (store.version === 'v2') {
    const prefix = V2_PREFIXES.find((p) => change.rest.startsWith(p));
    inner = prefix === undefined ? undefined : change.rest.slice(prefix.length);
  } else inner = change.rest;
  inner = inner === undefined ? undefined : trim(inner);
  if (!inner) return [];
  return store.mount !== undefined ? [inner, `${change.mount}/${inner}`] : [`${change.mount}/${inner}`];
}
