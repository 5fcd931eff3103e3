// What leader election (src/controller/runtime/leader-election.ts) reads and writes of a Lease, with no client
// library behind it, so the runtime and its tests need not load @kubernetes/client-node.

/** The fields of a Lease that election reads and writes. Times are milliseconds since the epoch. */
export interface LeaseRecord {
  readonly namespace: string;
  readonly name: string;
  /** Set on records read from the cluster; `replace` must send the one it read. */
  readonly resourceVersion?: string | undefined;
  /** Empty or absent: nobody holds the lease. */
  readonly holderIdentity?: string | undefined;
  readonly leaseDurationSeconds?: number | undefined;
  readonly acquireTime?: number | undefined;
  readonly renewTime?: number | undefined;
  readonly leaseTransitions?: number | undefined;
}

/**
 * How election talks to the cluster; src/k8s/leases.ts implements it over the client's leader-election lane;
 * src/controller/runtime/leader-election.ts uses it. `signal` ends a request the elector no longer waits for
 * (a renewal past the renew deadline).
 */
export interface LeaseStore {
  /** The lease, or undefined when it does not exist. */
  get(namespace: string, name: string, signal?: AbortSignal): Promise<LeaseRecord | undefined>;
  /** Throws LeaseConflictError when it already exists. */
  create(lease: LeaseRecord, signal?: AbortSignal): Promise<LeaseRecord>;
  /** Throws LeaseConflictError when `lease.resourceVersion` is no longer current. */
  replace(lease: LeaseRecord, signal?: AbortSignal): Promise<LeaseRecord>;
}

/** Someone else wrote the lease since we read it (HTTP 409). Read it again and decide again. */
export class LeaseConflictError extends Error {
  override readonly name = 'LeaseConflictError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
