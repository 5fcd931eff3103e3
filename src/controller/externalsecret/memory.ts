// What the reconciler remembers between reconciles of an ExternalSecret: only what makes up for a cache that
// lags behind our own writes. It is never the truth about the object, only about our own last write.

/**
 * What this process last wrote to an ExternalSecret's status. The informer cache can lag behind our own
 * status patch; deciding from that stale copy would refetch (and break CreatedOnce) right after a sync.
 */
export interface WrittenStatus {
  /** Whose: an ExternalSecret deleted and recreated under the same name must not inherit its predecessor's sync. */
  readonly uid: string;
  readonly syncedResourceVersion: string;
  /** When this process last refreshed it (ms, second precision): what the refresh schedule counts from. */
  readonly refreshTime: number;
  /** The status.refreshTime this process last wrote; older than refreshTime while a write is deferred. */
  readonly persistedRefreshTime: number;
  readonly boundTargetName: string;
}

export interface ReconcilerMemory {
  /** By key (namespace/name). */
  readonly written: Map<string, WrittenStatus>;
  /** The refusal message last reported per key, so a recheck that reads a lagging cache does not repeat its Event and audit record. */
  readonly refusals: Map<string, string>;
}

export function emptyMemory(): ReconcilerMemory {
  return { written: new Map(), refusals: new Map() };
}
